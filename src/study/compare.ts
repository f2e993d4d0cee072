/**
 * The rules the report judges measurements by. The one rule before it calls a difference between
 * two conditions real: the difference of the means must exceed the larger of the two standard
 * deviations (over seeds); with a single run per condition there is no spread, and no difference
 * is called real. On top of it: how far along a sweep every condition stays acceptable
 * ({@link toleratedUpTo}), and whether a learning curve is still falling ({@link trend}).
 *
 * Browser-safe.
 *
 * @module
 */
import { linearFit } from "../util/stats.ts";
import type { MeanCurve } from "./results.ts";

/** What the rule needs from a condition: a mean, its sample standard deviation and run count. */
export interface Measured {
  /** Mean of the measurement over the runs. */
  mean: number;
  /** Sample standard deviation over the runs (0 for a single run). */
  std: number;
  /** Number of runs. */
  n: number;
}

/** Outcome of {@link compare}. */
export type Verdict =
  /** `a` is higher than `b` by more than the spread. */
  | "higher"
  /** `a` is lower than `b` by more than the spread. */
  | "lower"
  /** The difference is not larger than the larger standard deviation. */
  | "within-spread"
  /** At least one condition ran once: there is no spread to judge the difference against. */
  | "single-run";

/** Outcome of {@link compare}: the difference, the spread it is judged by, the verdict. */
export interface Comparison {
  /** a.mean - b.mean. */
  diff: number;
  /** max(a.std, b.std), or null when a condition ran only once. */
  spread: number | null;
  /** Whether the difference is real by the spread rule, and its sign. */
  verdict: Verdict;
}

/** Compares `a` with `b` (e.g. a noisy condition with the clean baseline). */
export function compare(a: Measured, b: Measured): Comparison {
  const diff = a.mean - b.mean;
  if (a.n < 2 || b.n < 2) return { diff, spread: null, verdict: "single-run" };
  const spread = Math.max(a.std, b.std);
  if (!(Math.abs(diff) > spread)) return { diff, spread, verdict: "within-spread" };
  return { diff, spread, verdict: diff > 0 ? "higher" : "lower" };
}

/** True when the rule calls the difference real (only possible with two or more runs each). */
export function isReal(c: Comparison): boolean {
  return c.verdict === "higher" || c.verdict === "lower";
}

/** A measurement from one value: no spread. */
export function once(value: number): Measured {
  return { mean: value, std: 0, n: 1 };
}

/**
 * The largest condition value (sorted ascending) up to which every condition stays acceptable
 * against the baseline (the first): by the spread rule (no real increase), or within a budget.
 */
export function toleratedUpTo(
  values: number[],
  summaries: Measured[],
  acceptable: (c: Comparison) => boolean,
): { upTo: number; firstBad: number | null } {
  let upTo = values[0];
  for (let i = 1; i < values.length; i++) {
    if (!acceptable(compare(summaries[i], summaries[0]))) return { upTo, firstBad: values[i] };
    upTo = values[i];
  }
  return { upTo, firstBad: null };
}

/** The trend of a curve over its last part (from `fromFraction` of the x range on). */
export interface Trend {
  /** Number of curve points in the fitted part. */
  points: number;
  /** X (images seen) of the first fitted point. */
  fromX: number;
  /** X (images seen) of the last fitted point. */
  toX: number;
  /** Mean curve value at the first fitted point. */
  first: number;
  /** Mean curve value at the last fitted point. */
  last: number;
  /** Least-squares change per 10,000 images (null with fewer than 3 points). */
  slopePer10k: number | null;
  /** Standard error of `slopePer10k` (null with fewer than 3 points). */
  slopeSePer10k: number | null;
  /** "falling" or "rising" when |slope| > 2 standard errors, "flat" otherwise, null if unknown. */
  direction: "falling" | "rising" | "flat" | null;
}

/** Fits a line to the mean curve from `fromFraction` of its last x on; null for an empty curve. */
export function trend(curve: MeanCurve, fromFraction = 0.5): Trend | null {
  const xs = curve.imagesSeen;
  if (xs.length === 0) return null;
  const end = xs[xs.length - 1];
  const idx = xs.map((x, i) => [x, i] as const).filter(([x]) => x >= fromFraction * end);
  if (idx.length === 0) return null;
  const x = idx.map(([v]) => v), y = idx.map(([, i]) => curve.mean[i]);
  const fit = linearFit(x, y);
  let direction: Trend["direction"] = null;
  if (fit) {
    direction = Math.abs(fit.slope) > 2 * fit.slopeSe
      ? (fit.slope < 0 ? "falling" : "rising")
      : "flat";
  }
  return {
    points: x.length,
    fromX: x[0],
    toX: x[x.length - 1],
    first: y[0],
    last: y[y.length - 1],
    slopePer10k: fit ? fit.slope * 10_000 : null,
    slopeSePer10k: fit ? fit.slopeSe * 10_000 : null,
    direction,
  };
}
