/**
 * The statistics of Part 2's test-time measurements: paired differences with 95% intervals
 * (per seed, and per image where both sides were measured on the same test images), the train x
 * test noise grid, the tolerated test noise for an error budget, the corruption suite, the median
 * filter, per-epoch noise and per-class changes.
 *
 * Pairing: conditions with the same seed index share initialization and shuffling, and every
 * test-time condition uses the same noise for every model, so differences are paired per seed
 * and per image. An effect is established only when both its interval over seeds (t, n - 1
 * degrees of freedom) and its interval over images (normal, on the per-image differences averaged
 * over seeds) exclude 0 on the same side; with one seed nothing is established.
 *
 * Browser-safe.
 *
 * @module
 */
import { mean, type PairedDifference, pairedDifference, std, tQuantile } from "../util/stats.ts";
import { decodeWrong } from "./noise_eval.ts";
import type {
  Part2Condition,
  Part2Run,
  Part2TestResult,
  Part2TestTime,
  Part2TestTimeSetup,
} from "./results.ts";

/** A paired difference a - b of error rates with its intervals. */
export interface PairedEffect {
  /** Mean difference (fraction; positive: a has the higher error). */
  mean: number;
  /** The wider of the two 95% intervals' ends (seed and image). */
  low: number;
  /** Upper end (see low). */
  high: number;
  /** 95% t interval over seeds (±Infinity with one seed). */
  seedLow: number;
  /** Upper end of the interval over seeds. */
  seedHigh: number;
  /** 95% normal interval over images (NaN where no per-image data exists). */
  imageLow: number;
  /** Upper end of the interval over images. */
  imageHigh: number;
  /** Seeds (pairs of runs). */
  seeds: number;
  /** Images per run (0 where the comparison is per run only). */
  images: number;
  /** Both intervals exclude 0 on the same side. */
  established: boolean;
}

/** The effect from a per-seed paired difference only (no per-image data). */
export function fromSeeds(d: PairedDifference): PairedEffect {
  return {
    mean: d.mean,
    low: d.low,
    high: d.high,
    seedLow: d.low,
    seedHigh: d.high,
    imageLow: NaN,
    imageHigh: NaN,
    seeds: d.n,
    images: 0,
    established: d.established,
  };
}

/**
 * a - b for wrong flags per seed (a[s][i] = 1 where seed s's model got image i wrong), paired per
 * seed and image.
 */
export function pairedWrong(a: readonly Uint8Array[], b: readonly Uint8Array[]): PairedEffect {
  if (a.length !== b.length || a.length === 0) {
    throw new RangeError(`pairedWrong: ${a.length} seeds against ${b.length}`);
  }
  const n = a[0].length;
  const errA = a.map((w) => w.reduce((x, y) => x + y, 0) / n);
  const errB = b.map((w) => w.reduce((x, y) => x + y, 0) / n);
  const bySeed = pairedDifference(errA, errB);
  const perImage = new Float64Array(n);
  for (let s = 0; s < a.length; s++) {
    if (a[s].length !== n || b[s].length !== n) throw new RangeError("pairedWrong: image counts");
    for (let i = 0; i < n; i++) perImage[i] += (a[s][i] - b[s][i]) / a.length;
  }
  const d = Array.from(perImage);
  const half = n > 1 ? 1.959964 * std(d) / Math.sqrt(n) : Infinity;
  const m = mean(d);
  const imageLow = m - half, imageHigh = m + half;
  const low = Math.min(bySeed.low, imageLow), high = Math.max(bySeed.high, imageHigh);
  return {
    mean: m,
    low,
    high,
    seedLow: bySeed.low,
    seedHigh: bySeed.high,
    imageLow,
    imageHigh,
    seeds: a.length,
    images: n,
    established: a.length > 1 && (low > 0 || high < 0),
  };
}

/** Mean with a 95% t interval over seeds (the band of a curve). */
export interface MeanBand {
  /** Mean over seeds. */
  mean: number;
  /** Lower end of the 95% interval. */
  low: number;
  /** Upper end of the 95% interval. */
  high: number;
  /** Seeds. */
  n: number;
}

/** Mean of values over seeds with its 95% t interval (±Infinity with one value). */
export function meanBand(values: readonly number[]): MeanBand {
  const m = mean(values), n = values.length;
  if (n < 2) return { mean: m, low: -Infinity, high: Infinity, n };
  const half = tQuantile(0.975, n - 1) * std(values) / Math.sqrt(n);
  return { mean: m, low: m - half, high: m + half, n };
}

/** The wrong flags of each run of a condition for one test-time result. */
export function wrongOf(
  runs: readonly Part2Run[],
  pick: (t: Part2TestTime) => Part2TestResult | undefined,
  images: number,
): Uint8Array[] {
  return runs.map((r) => {
    const t = r.testTime && pick(r.testTime);
    if (!t) throw new RangeError(`run with seed ${r.seed} has no test-time result for this`);
    return decodeWrong(t.wrong, images);
  });
}

/** Runs of two conditions matched by seed (only seeds both have), in `a`'s order. */
export function matchSeeds<R extends { seed: number }>(
  a: readonly R[],
  b: readonly R[],
): [R[], R[]] {
  const byB = new Map(b.map((r) => [r.seed, r]));
  const left = a.filter((r) => byB.has(r.seed));
  return [left, left.map((r) => byB.get(r.seed)!)];
}

/** True when every run of the conditions carries test-time results. */
export function hasTestTime(conds: readonly { runs: readonly Part2Run[] }[]): boolean {
  return conds.length > 0 && conds.every((c) => c.runs.every((r) => r.testTime !== undefined));
}

/** Grid cell: mean error over seeds at (training sigma, test sigma) with its 95% band. */
export function gridBands(c: Part2Condition, setup: Part2TestTimeSetup): MeanBand[] {
  return setup.testSigmas.map((_, j) => meanBand(c.runs.map((r) => r.testTime!.grid[j].error)));
}

/** How much test noise a model trained at one sigma tolerates within an error budget. */
export interface Tolerance {
  /** Training sigma of the models. */
  trainSigma: number;
  /** Error on the clean grid images (test sigma 0), mean over seeds. */
  clean: number;
  /** Increase over the clean error at each test sigma (paired per seed and image). */
  increase: PairedEffect[];
  /** Largest test sigma up to which every mean increase stays within the budget. */
  tolerated: number;
  /**
   * Largest test sigma up to which every increase is within the budget with 95% confidence
   * (interval's upper end <= budget); null when not even the first noisy level is.
   */
  surelyWithin: number | null;
  /** First test sigma whose increase exceeds the budget with 95% confidence (lower end > budget). */
  surelyOver: number | null;
}

/** The tolerated test noise of a condition (test sigma 0 must be the grid's first). */
export function tolerance(
  c: Part2Condition,
  setup: Part2TestTimeSetup,
  budget: number,
): Tolerance {
  const n = setup.gridImages;
  const clean = wrongOf(c.runs, (t) => t.grid[0], n);
  const increase = setup.testSigmas.map((_, j) =>
    pairedWrong(wrongOf(c.runs, (t) => t.grid[j], n), clean)
  );
  let tolerated = setup.testSigmas[0];
  let surelyWithin: number | null = setup.testSigmas[0];
  let surelyOver: number | null = null;
  let meanOk = true, sureOk = true;
  for (let j = 1; j < setup.testSigmas.length; j++) {
    const e = increase[j], sigma = setup.testSigmas[j];
    meanOk &&= e.mean <= budget;
    if (meanOk) tolerated = sigma;
    sureOk &&= e.high <= budget;
    if (sureOk) surelyWithin = sigma;
    if (surelyOver === null && e.low > budget) surelyOver = sigma;
  }
  if (surelyWithin === setup.testSigmas[0] && setup.testSigmas.length > 1) surelyWithin = null;
  return {
    trainSigma: c.sigma,
    clean: mean(clean.map((w) => w.reduce((x, y) => x + y, 0) / n)),
    increase,
    tolerated,
    surelyWithin,
    surelyOver,
  };
}

/** Suite entry j of a condition against its clean entry (same models, same images). */
export function suiteVsClean(
  c: { runs: readonly Part2Run[] },
  j: number,
  images: number,
): PairedEffect {
  return pairedWrong(
    wrongOf(c.runs, (t) => t.suite[j], images),
    wrongOf(c.runs, (t) => t.suite[0], images),
  );
}

/** Suite entry j: model a against model b (matched by seed, same images). */
export function suiteVsModel(
  a: { runs: readonly Part2Run[] },
  b: { runs: readonly Part2Run[] },
  j: number,
  images: number,
): PairedEffect {
  const [ra, rb] = matchSeeds(a.runs, b.runs);
  return pairedWrong(
    wrongOf(ra, (t) => t.suite[j], images),
    wrongOf(rb, (t) => t.suite[j], images),
  );
}

/** The median filter's effect on suite entry j (with median minus without; negative helps). */
export function medianEffect(
  c: { runs: readonly Part2Run[] },
  j: number,
  images: number,
): PairedEffect | null {
  if (c.runs.some((r) => !r.testTime?.suite[j]?.median)) return null;
  return pairedWrong(
    wrongOf(c.runs, (t) => t.suite[j].median, images),
    wrongOf(c.runs, (t) => t.suite[j], images),
  );
}

/** Per-class error change of `to` against `base`, paired by seed, one entry per class. */
export function perClassChange(
  base: { runs: readonly Part2Run[] },
  to: { runs: readonly Part2Run[] },
): PairedDifference[] {
  const [rt, rb] = matchSeeds(to.runs, base.runs);
  const classes = rb[0]?.perClassError.length ?? 0;
  return Array.from(
    { length: classes },
    (_, k) =>
      pairedDifference(rt.map((r) => r.perClassError[k]), rb.map((r) => r.perClassError[k])),
  );
}

/**
 * Change of the confusion rates [true][predicted] (share of the true class's images, summed over
 * seeds) from `base` to `to`, in fractions.
 */
export function confusionRateChange(base: number[][], to: number[][]): number[][] {
  const rates = (m: number[][]) =>
    m.map((row) => {
      const sum = row.reduce((a, b) => a + b, 0);
      return row.map((v) => (sum > 0 ? v / sum : 0));
    });
  const a = rates(base), b = rates(to);
  return b.map((row, t) => row.map((v, p) => v - a[t][p]));
}

/** Condition b against a by test error over seeds (paired by seed). */
export function runsDifference(
  a: { runs: readonly { seed: number; testError: number }[] },
  b: { runs: readonly { seed: number; testError: number }[] },
): PairedEffect {
  const [ra, rb] = matchSeeds(a.runs, b.runs);
  return fromSeeds(pairedDifference(ra.map((r) => r.testError), rb.map((r) => r.testError)));
}
