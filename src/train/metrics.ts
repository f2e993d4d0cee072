/**
 * Classification metrics from a confusion matrix ([true][predicted] counts).
 *
 * @module
 */

/** Per-class and overall metrics. */
export interface ClassMetrics {
  /** Number of evaluated samples. */
  count: number;
  /** Fraction misclassified. */
  error: number;
  /** Per class: fraction of that class's samples misclassified (1 - recall). */
  perClassError: number[];
  /** Per class: fraction of the predictions of that class that are right (0 if never predicted). */
  precision: number[];
  /** Per class: fraction of that class's samples predicted correctly (0 without samples). */
  recall: number[];
  /** Per class: harmonic mean of precision and recall (0 when both are 0). */
  f1: number[];
  /** Samples per true class. */
  support: number[];
  /** A copy of the confusion matrix, `confusion[true][predicted]` counts. */
  confusion: number[][];
}

/** Metrics of a confusion matrix; classes without samples or predictions get NaN-free zeros. */
export function metricsFromConfusion(confusion: number[][]): ClassMetrics {
  const n = confusion.length;
  let total = 0, correct = 0;
  const support = new Array<number>(n).fill(0), predicted = new Array<number>(n).fill(0);
  for (let t = 0; t < n; t++) {
    for (let p = 0; p < n; p++) {
      const c = confusion[t][p];
      total += c;
      support[t] += c;
      predicted[p] += c;
      if (t === p) correct += c;
    }
  }
  const recall = support.map((s, i) => (s > 0 ? confusion[i][i] / s : 0));
  const precision = predicted.map((s, i) => (s > 0 ? confusion[i][i] / s : 0));
  const f1 = recall.map((
    r,
    i,
  ) => (r + precision[i] > 0 ? (2 * r * precision[i]) / (r + precision[i]) : 0));
  return {
    count: total,
    error: total > 0 ? 1 - correct / total : 0,
    perClassError: recall.map((r, i) => (support[i] > 0 ? 1 - r : 0)),
    precision,
    recall,
    f1,
    support,
    confusion: confusion.map((row) => [...row]),
  };
}

/** The most frequent off-diagonal confusions, largest first. */
export function topConfusions(
  confusion: number[][],
  k = 5,
): { truth: number; predicted: number; count: number }[] {
  const out: { truth: number; predicted: number; count: number }[] = [];
  for (let t = 0; t < confusion.length; t++) {
    for (let p = 0; p < confusion.length; p++) {
      if (t !== p && confusion[t][p] > 0) {
        out.push({ truth: t, predicted: p, count: confusion[t][p] });
      }
    }
  }
  return out.sort((a, b) => b.count - a.count || a.truth - b.truth || a.predicted - b.predicted)
    .slice(0, k);
}
