/**
 * Confident learning (Northcutt, Jiang & Chuang, "Confident Learning: Estimating Uncertainty in
 * Dataset Labels", JAIR 2021): from out-of-sample predicted probabilities and the given (possibly
 * noisy) labels, estimate the joint distribution of given and true labels, the label-noise rate,
 * the noise matrix, and which images are most likely mislabeled. Also a seeded k-fold split to
 * obtain those out-of-sample probabilities. Pure TypeScript, browser-safe (no Deno APIs).
 *
 * Notation (as in the paper): n images, C classes, ỹ the given label, y* the true label,
 * p̂_k(x) the predicted probability of class k. Matrices are `number[][]` indexed
 * `[given][true]`.
 *
 * @module
 */
import { deriveSeed, Rng } from "../util/rng.ts";

/**
 * Which images are reported as suspects (the paper's "rank and prune" methods):
 * - `confident-joint`: the off-diagonal members of the confident joint (the paper's C_ỹ,y*);
 * - `prune-by-noise-rate`: for each off-diagonal (i, j), the round(n·Q[i][j]) images given
 *   label i with the largest margin p̂_j − p̂_i (the paper's PBNR);
 * - `both`: images selected by both rules (the paper's C+NR).
 */
export type SuspectMethod = "confident-joint" | "prune-by-noise-rate" | "both";

/** The suspect methods, for validating user input. */
export const SUSPECT_METHODS: readonly SuspectMethod[] = [
  "confident-joint",
  "prune-by-noise-rate",
  "both",
];

/**
 * How suspects are ordered, most suspicious first:
 * - `self-confidence`: p̂_given ascending;
 * - `normalized-margin`: p̂_given − max over other classes of p̂_k, ascending.
 */
export type SuspectRanking = "self-confidence" | "normalized-margin";

/** The suspect rankings, for validating user input. */
export const SUSPECT_RANKINGS: readonly SuspectRanking[] = ["self-confidence", "normalized-margin"];

/** Options of {@link confidentLearning}. */
export interface ConfidentLearningOptions {
  /** Which images become suspects; default `prune-by-noise-rate`. */
  method?: SuspectMethod;
  /** Order of the suspects; default `self-confidence`. */
  rankBy?: SuspectRanking;
  /** Allowed |row sum − 1| of the probabilities; default 1e-3 (float32 softmax outputs). */
  sumTolerance?: number;
}

/** One image whose given label is probably wrong. */
export interface LabelSuspect {
  /** Row of the image in `probs` / `labels`. */
  index: number;
  /** The label it was given. */
  givenLabel: number;
  /** The label confident learning believes is true. */
  suggestedLabel: number;
  /** The ranking score (self-confidence or normalized margin): lower is more suspicious. */
  confidence: number;
}

/** Result of {@link confidentLearning}. */
export interface ConfidentLearningResult {
  /** Number of images n. */
  count: number;
  /** Number of classes C. */
  classes: number;
  /** Per class j, how many images are given label j. */
  givenCounts: number[];
  /**
   * Per class j, the threshold t_j: the mean of p̂_j over the images given label j; Infinity
   * for a class no image is given (no image is then counted as truly belonging to it).
   */
  thresholds: number[];
  /** (C, C) integer counts C[i][j]: images given label i whose confident true label is j. */
  confidentJoint: number[][];
  /** (C, C) calibrated joint Q[i][j] ≈ P(ỹ = i, y* = j); entries sum to 1. */
  joint: number[][];
  /** Estimated fraction of wrong labels: 1 − trace(Q). */
  noiseRate: number;
  /**
   * (C, C) noise matrix P(ỹ = i | y* = j) = Q[i][j] / Σ_i Q[i][j]; each column sums to 1. A
   * true class with no estimated mass gets the identity column.
   */
  noiseMatrix: number[][];
  /** Per given label i, the estimated number of wrong labels: n·(Σ_j Q[i][j] − Q[i][i]). */
  labelErrorsByClass: number[];
  /** Images whose label is probably wrong, most suspicious first. */
  suspects: LabelSuspect[];
}

/** Probabilities (N, C) row-major. */
export type ProbabilityMatrix = Float32Array | Float64Array;

/**
 * Checks the inputs of {@link confidentLearning}; throws a one-line RangeError naming the first
 * problem (shape mismatch, labels out of range, non-finite or negative probabilities, rows not
 * summing to 1).
 */
export function validateConfidentLearningInput(
  probs: ProbabilityMatrix,
  labels: ArrayLike<number>,
  classes: number,
  sumTolerance = 1e-3,
): void {
  if (!Number.isInteger(classes) || classes < 2) {
    throw new RangeError(`classes must be an integer >= 2, got ${classes}`);
  }
  if (!(probs instanceof Float32Array || probs instanceof Float64Array)) {
    throw new RangeError("probs must be a Float32Array or Float64Array of shape (N, classes)");
  }
  const n = labels.length;
  if (n === 0) throw new RangeError("no images: labels is empty");
  if (probs.length !== n * classes) {
    throw new RangeError(
      `probs has ${probs.length} values, expected ${n} labels x ${classes} classes = ${
        n * classes
      }`,
    );
  }
  if (!(sumTolerance >= 0 && sumTolerance < 1)) {
    throw new RangeError(`sumTolerance must be in [0, 1), got ${sumTolerance}`);
  }
  for (let r = 0; r < n; r++) {
    const y = labels[r];
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new RangeError(`label ${r} is ${y}, expected an integer in 0..${classes - 1}`);
    }
  }
  for (let r = 0; r < n; r++) {
    let sum = 0;
    for (let k = 0; k < classes; k++) {
      const p = probs[r * classes + k];
      if (!Number.isFinite(p) || p < 0) {
        throw new RangeError(
          `probability [${r}, ${k}] is ${p}, expected a finite value >= 0 (pass softmax outputs)`,
        );
      }
      sum += p;
    }
    if (Math.abs(sum - 1) > sumTolerance) {
      throw new RangeError(
        `probabilities of row ${r} sum to ${sum}, expected 1 ± ${sumTolerance} (pass softmax outputs)`,
      );
    }
  }
}

/**
 * Per-class thresholds t_j = mean of p̂_j over the images given label j (the paper's
 * per-class threshold); Infinity for a class no image is given.
 */
export function perClassThresholds(
  probs: ProbabilityMatrix,
  labels: ArrayLike<number>,
  classes: number,
): number[] {
  const sums = new Array<number>(classes).fill(0);
  const counts = new Array<number>(classes).fill(0);
  for (let r = 0; r < labels.length; r++) {
    const y = labels[r];
    sums[y] += probs[r * classes + y];
    counts[y]++;
  }
  return sums.map((s, j) => (counts[j] > 0 ? s / counts[j] : Infinity));
}

/**
 * The confident true label of each image: the class with the largest p̂_k among the classes with
 * p̂_k >= t_k (ties go to the lower class index), or -1 when no class reaches its threshold.
 */
export function confidentLabels(
  probs: ProbabilityMatrix,
  thresholds: readonly number[],
  classes: number,
): Int32Array {
  const n = probs.length / classes;
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let best = -1, bestP = -Infinity;
    for (let k = 0; k < classes; k++) {
      const p = probs[r * classes + k];
      if (p >= thresholds[k] && p > bestP) {
        best = k;
        bestP = p;
      }
    }
    out[r] = best;
  }
  return out;
}

/**
 * The confident joint C[i][j] of the paper: the number of images given label i whose
 * confident true label (see {@link confidentLabels}) is j. Images with no class at or above its
 * threshold are not counted.
 */
export function confidentJointCounts(
  labels: ArrayLike<number>,
  confident: Int32Array,
  classes: number,
): number[][] {
  const joint = zeros(classes);
  for (let r = 0; r < labels.length; r++) {
    if (confident[r] >= 0) joint[labels[r]][confident[r]]++;
  }
  return joint;
}

/**
 * Calibrates a confident joint into the paper's Q̂: each row i is rescaled to sum to the
 * number of images given label i, then the whole matrix is divided by its total so it sums to 1.
 * A row with images but no confident count carries no evidence of noise: its mass goes to the
 * diagonal.
 */
export function calibrateJoint(
  confidentJoint: readonly (readonly number[])[],
  givenCounts: readonly number[],
): number[][] {
  const classes = givenCounts.length;
  const calibrated = zeros(classes);
  let total = 0;
  for (let i = 0; i < classes; i++) {
    const rowSum = confidentJoint[i].reduce((a, b) => a + b, 0);
    for (let j = 0; j < classes; j++) {
      calibrated[i][j] = rowSum > 0
        ? (confidentJoint[i][j] / rowSum) * givenCounts[i]
        : (i === j ? givenCounts[i] : 0);
      total += calibrated[i][j];
    }
  }
  if (total > 0) {
    for (const row of calibrated) {
      for (let j = 0; j < classes; j++) row[j] /= total;
    }
  }
  return calibrated;
}

/** Noise matrix P(ỹ = i | y* = j) = Q[i][j] / Σ_i Q[i][j]; the identity column where Σ is 0. */
export function noiseMatrixFromJoint(joint: readonly (readonly number[])[]): number[][] {
  const classes = joint.length;
  const out = zeros(classes);
  for (let j = 0; j < classes; j++) {
    let column = 0;
    for (let i = 0; i < classes; i++) column += joint[i][j];
    for (let i = 0; i < classes; i++) {
      out[i][j] = column > 0 ? joint[i][j] / column : (i === j ? 1 : 0);
    }
  }
  return out;
}

/**
 * Confident learning on out-of-sample probabilities `probs` (N, C) row-major and given labels
 * (N): per-class thresholds, confident joint, calibrated joint, noise rate and matrix, and the
 * ranked suspects. Throws a one-line RangeError on bad input (see
 * {@link validateConfidentLearningInput}).
 *
 * The probabilities must be out-of-sample (each image scored by a model that did not train on
 * it, e.g. with {@link kFoldSplits}); in-sample probabilities memorize the noisy labels.
 */
export function confidentLearning(
  probs: ProbabilityMatrix,
  labels: ArrayLike<number>,
  classes: number,
  options: ConfidentLearningOptions = {},
): ConfidentLearningResult {
  const method = options.method ?? "prune-by-noise-rate";
  const rankBy = options.rankBy ?? "self-confidence";
  if (!SUSPECT_METHODS.includes(method)) {
    throw new RangeError(
      `unknown suspect method ${method}, expected ${SUSPECT_METHODS.join(", ")}`,
    );
  }
  if (!SUSPECT_RANKINGS.includes(rankBy)) {
    throw new RangeError(`unknown ranking ${rankBy}, expected ${SUSPECT_RANKINGS.join(", ")}`);
  }
  validateConfidentLearningInput(probs, labels, classes, options.sumTolerance);
  const n = labels.length;
  const givenCounts = new Array<number>(classes).fill(0);
  for (let r = 0; r < n; r++) givenCounts[labels[r]]++;

  const thresholds = perClassThresholds(probs, labels, classes);
  const confident = confidentLabels(probs, thresholds, classes);
  const confidentJoint = confidentJointCounts(labels, confident, classes);
  const joint = calibrateJoint(confidentJoint, givenCounts);
  // Off-diagonal sums (= 1 − trace(Q)) taken directly, so a clean dataset gives exactly 0.
  const offDiagonalByRow = joint.map((row, i) => row.reduce((a, q, j) => (j === i ? a : a + q), 0));
  const offDiagonal = offDiagonalByRow.reduce((a, b) => a + b, 0);
  const labelErrorsByClass = offDiagonalByRow.map((q) => n * q);

  // suggested[r] >= 0 marks image r as a suspect with that suggested label.
  const byJoint = new Int32Array(n).fill(-1);
  for (let r = 0; r < n; r++) {
    if (confident[r] >= 0 && confident[r] !== labels[r]) byJoint[r] = confident[r];
  }
  let suggested: Int32Array = byJoint;
  if (method !== "confident-joint") {
    const byRate = pruneByNoiseRate(probs, labels, classes, joint);
    if (method === "both") {
      for (let r = 0; r < n; r++) if (byRate[r] < 0) byJoint[r] = -1;
    } else suggested = byRate;
  }

  return {
    count: n,
    classes,
    givenCounts,
    thresholds,
    confidentJoint,
    joint,
    noiseRate: offDiagonal,
    noiseMatrix: noiseMatrixFromJoint(joint),
    labelErrorsByClass,
    suspects: rankSuspects(probs, labels, classes, suggested, rankBy),
  };
}

/**
 * Prune by noise rate: for each off-diagonal (i, j), the round(n·Q[i][j]) images given label i
 * with the largest margin p̂_j − p̂_i. An image picked for several j is suggested the one with
 * the largest margin. Returns the suggested label per image, -1 where not picked.
 */
function pruneByNoiseRate(
  probs: ProbabilityMatrix,
  labels: ArrayLike<number>,
  classes: number,
  joint: readonly (readonly number[])[],
): Int32Array {
  const n = labels.length;
  const suggested = new Int32Array(n).fill(-1);
  const bestMargin = new Float64Array(n).fill(-Infinity);
  const groups: number[][] = Array.from({ length: classes }, () => []);
  for (let r = 0; r < n; r++) groups[labels[r]].push(r);
  for (let i = 0; i < classes; i++) {
    const group = groups[i];
    for (let j = 0; j < classes; j++) {
      if (j === i) continue;
      const take = Math.min(group.length, Math.round(n * joint[i][j]));
      if (take === 0) continue;
      const margin = (r: number) => probs[r * classes + j] - probs[r * classes + i];
      // Largest margin first; index breaks ties so the choice is deterministic.
      const order = group.slice().sort((a, b) => margin(b) - margin(a) || a - b);
      for (let q = 0; q < take; q++) {
        const r = order[q];
        if (margin(r) > bestMargin[r]) {
          bestMargin[r] = margin(r);
          suggested[r] = j;
        }
      }
    }
  }
  return suggested;
}

/** The suspects (suggested[r] >= 0) ordered by the ranking score ascending, then by index. */
function rankSuspects(
  probs: ProbabilityMatrix,
  labels: ArrayLike<number>,
  classes: number,
  suggested: Int32Array,
  rankBy: SuspectRanking,
): LabelSuspect[] {
  const suspects: LabelSuspect[] = [];
  for (let r = 0; r < suggested.length; r++) {
    if (suggested[r] < 0) continue;
    const given = labels[r];
    const self = probs[r * classes + given];
    let confidence = self;
    if (rankBy === "normalized-margin") {
      let other = -Infinity;
      for (let k = 0; k < classes; k++) {
        if (k !== given) other = Math.max(other, probs[r * classes + k]);
      }
      confidence = self - other;
    }
    suspects.push({ index: r, givenLabel: given, suggestedLabel: suggested[r], confidence });
  }
  return suspects.sort((a, b) => a.confidence - b.confidence || a.index - b.index);
}

/**
 * Assigns each of `n` images to one of `k` folds, at random but determined by `seed`: fold sizes
 * differ by at most one. With `labels`, the split is stratified: each class is also spread over
 * the folds with counts differing by at most one. Returns the fold index (0..k-1) per image.
 */
export function kFoldSplits(
  n: number,
  k: number,
  seed: number,
  labels?: ArrayLike<number>,
): Uint32Array {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`image count must be a positive integer, got ${n}`);
  }
  if (!Number.isInteger(k) || k < 2 || k > n) {
    throw new RangeError(`fold count must be an integer in 2..${n} (the image count), got ${k}`);
  }
  if (labels !== undefined && labels.length !== n) {
    throw new RangeError(`labels has ${labels.length} entries, expected ${n} (one per image)`);
  }
  let order: ArrayLike<number> = new Rng(deriveSeed(seed, "kfold")).permutation(n);
  if (labels !== undefined) {
    // Stable sort of the random order by label: each class forms a consecutive run, so dealing
    // positions round-robin balances both the classes and the folds.
    for (let r = 0; r < n; r++) {
      if (!Number.isInteger(labels[r]) || labels[r] < 0) {
        throw new RangeError(`label ${r} is ${labels[r]}, expected a non-negative integer`);
      }
    }
    order = Array.from(order).sort((a, b) => labels[a] - labels[b]);
  }
  const folds = new Uint32Array(n);
  for (let p = 0; p < n; p++) folds[order[p]] = p % k;
  return folds;
}

function zeros(size: number): number[][] {
  return Array.from({ length: size }, () => new Array<number>(size).fill(0));
}
