/**
 * Small statistics for repeated runs: summaries over seeds, a least-squares line, Student's t
 * quantiles and the paired difference of two conditions with its confidence interval, and the
 * binomial sampling error of an error rate. Generic numbers only; the study's rules for calling a
 * difference real are in `src/study/compare.ts`.
 *
 * Browser-safe.
 *
 * @module
 */

export interface Summary {
  /** Arithmetic mean. */
  mean: number;
  /** Sample standard deviation (n - 1 in the denominator); 0 for a single value. */
  std: number;
  /** Smallest value. */
  min: number;
  /** Largest value. */
  max: number;
  /** Number of values. */
  n: number;
}

// An empty or non-finite input is a bug upstream (a run that produced nothing, a NaN loss);
// failing loudly beats printing "NaN%" in a report.
function checkValues(values: readonly number[], what: string): void {
  if (values.length === 0) throw new RangeError(`${what} of an empty list`);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new RangeError(`${what}: value ${i} is ${values[i]}, not a finite number`);
    }
  }
}

/** Arithmetic mean; throws a RangeError for an empty list or a non-finite value. */
export function mean(values: readonly number[]): number {
  checkValues(values, "mean");
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/**
 * Sample standard deviation (Bessel's n - 1), 0 for one value. Two passes (mean, then squared
 * deviations) so that values with a large common offset do not lose precision.
 */
export function std(values: readonly number[]): number {
  checkValues(values, "std");
  if (values.length === 1) return 0;
  const m = mean(values);
  let squares = 0;
  for (const v of values) squares += (v - m) * (v - m);
  return Math.sqrt(squares / (values.length - 1));
}

/** Mean, sample sd, min, max and count; throws a RangeError for empty or non-finite input. */
export function summarize(values: readonly number[]): Summary {
  checkValues(values, "summarize");
  // A loop, not Math.min(...values): spreading a long array overflows the call stack.
  let min = Infinity, max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { mean: mean(values), std: std(values), min, max, n: values.length };
}

/** A fraction as a percentage: `formatPercent(0.98765, 2)` is "98.77%"; non-finite gives "n/a". */
export function formatPercent(fraction: number, digits = 1): string {
  if (!Number.isFinite(fraction)) return "n/a";
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** Slope of a least-squares line and the slope's standard error. */
export interface LinearFit {
  /** Slope: change in y per unit of x. */
  slope: number;
  /** Standard error of the slope: residual sd / sqrt(sum of squared x deviations). */
  slopeSe: number;
}

/**
 * Least-squares line through (x, y): the slope and its standard error (residual variance with
 * n - 2 degrees of freedom). Null with fewer than 3 points or when every x is the same.
 */
export function linearFit(x: readonly number[], y: readonly number[]): LinearFit | null {
  const n = x.length;
  if (y.length !== n) throw new RangeError(`linearFit: ${n} x values but ${y.length} y values`);
  if (n < 3) return null;
  const mx = x.reduce((a, b) => a + b, 0) / n, my = y.reduce((a, b) => a + b, 0) / n;
  let sxx = 0, sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i] - mx) ** 2;
    sxy += (x[i] - mx) * (y[i] - my);
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  let rss = 0;
  for (let i = 0; i < n; i++) rss += (y[i] - my - slope * (x[i] - mx)) ** 2;
  return { slope, slopeSe: Math.sqrt(rss / (n - 2) / sxx) };
}

/** Test-set sampling standard error of an error rate p measured on n images (binomial). */
export function samplingError(p: number, n: number): number {
  return Math.sqrt(Math.max(0, p * (1 - p)) / n);
}

/** Images to audit to estimate a rate near p to within ±margin at 95% confidence (normal). */
export function auditSampleSize(p: number, margin: number): number {
  return Math.ceil((1.96 * 1.96 * p * (1 - p)) / (margin * margin));
}

// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms): about 15 significant digits.
const LANCZOS = [
  0.99999999999980993,
  676.5203681218851,
  -1259.1392167224028,
  771.32342877765313,
  -176.61502916214059,
  12.507343278686905,
  -0.13857109526572012,
  9.9843695780195716e-6,
  1.5056327351493116e-7,
];

function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = LANCZOS[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

// Continued fraction of the regularized incomplete beta function (modified Lentz).
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1, d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    for (
      const k of [
        (m * (b - m) * x) / ((a + m2 - 1) * (a + m2)),
        -((a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1)),
      ]
    ) {
      d = 1 + k * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + k / c;
      if (Math.abs(c) < tiny) c = tiny;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-16) break;
  }
  return h;
}

/** Regularized incomplete beta function I_x(a, b) for 0 <= x <= 1. */
function betaRegularized(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x),
  );
  // The fraction converges fast for x below the mean; use the symmetry I_x(a,b) = 1 - I_1-x(b,a).
  return x < (a + 1) / (a + b + 2)
    ? (front * betaFraction(x, a, b)) / a
    : 1 - (front * betaFraction(1 - x, b, a)) / b;
}

/** P(T <= t) for Student's t distribution with `df` degrees of freedom. */
export function tCdf(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`tCdf: degrees of freedom must be positive, got ${df}`);
  if (Number.isNaN(t)) return NaN;
  const tail = 0.5 * betaRegularized(df / (df + t * t), df / 2, 0.5);
  return t > 0 ? 1 - tail : tail;
}

/**
 * The quantile of Student's t distribution: the t with P(T <= t) = p for `df` degrees of
 * freedom (e.g. `tQuantile(0.975, 4)` = 2.776, the factor of a 95% interval from 5 values).
 * Inverts {@link tCdf} by bisection to full double precision.
 */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`tQuantile: p must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new RangeError(`tQuantile: degrees of freedom must be positive, got ${df}`);
  if (p < 0.5) return -tQuantile(1 - p, df);
  if (p === 0.5) return 0;
  let lo = 0, hi = 1;
  while (tCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Outcome of {@link pairedDifference}. */
export interface PairedDifference {
  /** Mean of a[i] - b[i]. */
  mean: number;
  /** Confidence interval of the mean difference (t over the pairs); ±Infinity when n < 2. */
  low: number;
  /** Upper end of the confidence interval; +Infinity when n < 2. */
  high: number;
  /** Number of pairs. */
  n: number;
  /** True when the interval excludes 0; never with fewer than two pairs. */
  established: boolean;
}

/**
 * The mean of the paired differences a[i] - b[i] (e.g. two conditions trained with the same
 * seeds) with its confidence interval, mean ± t(1 - (1 - confidence)/2, n - 1) · sd / sqrt(n).
 * A difference is established when the interval excludes 0. With one pair there is no spread:
 * the interval is unbounded and nothing is established.
 */
export function pairedDifference(
  a: readonly number[],
  b: readonly number[],
  confidence = 0.95,
): PairedDifference {
  if (a.length !== b.length) {
    throw new RangeError(`pairedDifference: ${a.length} values against ${b.length}; pair them`);
  }
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`pairedDifference: confidence must be in (0, 1), got ${confidence}`);
  }
  const d = a.map((v, i) => v - b[i]);
  checkValues(d, "pairedDifference");
  const n = d.length, m = mean(d);
  if (n < 2) return { mean: m, low: -Infinity, high: Infinity, n, established: false };
  const half = tQuantile(1 - (1 - confidence) / 2, n - 1) * std(d) / Math.sqrt(n);
  const low = m - half, high = m + half;
  return { mean: m, low, high, n, established: low > 0 || high < 0 };
}
