/**
 * The one rule the report uses before it calls a difference between two conditions real: the
 * difference of the means must exceed the larger of the two standard deviations (over seeds).
 * With a single run per condition there is no spread, and no difference is called real.
 *
 * Browser-safe.
 *
 * @module
 */

/** What the rule needs from a condition: a mean, its sample standard deviation and run count. */
export interface Measured {
  mean: number;
  std: number;
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

export interface Comparison {
  /** a.mean - b.mean. */
  diff: number;
  /** max(a.std, b.std), or null when a condition ran only once. */
  spread: number | null;
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
