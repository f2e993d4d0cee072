/**
 * Small summary statistics for repeated runs (accuracy over seeds, and so on) and the rule the
 * report generator uses before it calls a difference between two settings real.
 *
 * @module
 */

export interface Summary {
  mean: number;
  /** Sample standard deviation (n - 1 in the denominator); 0 for a single value. */
  std: number;
  min: number;
  max: number;
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

/**
 * True when the two groups' means differ by no more than the larger of their sample standard
 * deviations: |mean(a) - mean(b)| <= max(std(a), std(b)).
 *
 * This is a deliberately cautious rule of thumb, not a significance test: a report may only call
 * a difference real when this returns false. With one value per group both spreads are 0, so any
 * non-zero difference counts as outside the spread; callers should require several runs (and say
 * how many) before drawing conclusions.
 */
export function differenceIsWithinSpread(a: readonly number[], b: readonly number[]): boolean {
  const spread = Math.max(std(a), std(b));
  return Math.abs(mean(a) - mean(b)) <= spread;
}
