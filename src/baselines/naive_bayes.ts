/**
 * Gaussian naive Bayes on raw pixels (CPU, float64), as scikit-learn's `GaussianNB`: per class,
 * each pixel is an independent Gaussian with the class's mean and (population) variance of that
 * pixel; every variance is increased by epsilon = varSmoothing * (the largest variance of any
 * pixel over the whole training set), varSmoothing = 1e-9 by default (sklearn's default), so
 * pixels that are constant within a class (MNIST's borders) stay finite. Class priors are the
 * training frequencies; a test image gets the class of highest joint log-likelihood (the first
 * on a tie). Because epsilon is relative, the predictions do not depend on the pixel scale.
 * On MNIST this gives about 44.4% test error: the independence assumption is a poor fit.
 *
 * Browser-safe.
 *
 * @module
 */

/** sklearn's default `var_smoothing`. */
export const NB_VAR_SMOOTHING = 1e-9;

/** A fitted Gaussian naive Bayes model. */
export interface GaussianNb {
  /** Number of classes (labels 0..classes-1). */
  classes: number;
  /** Features (pixels) per image. */
  pixels: number;
  /** log P(class); -Infinity for a class without training images (never predicted). */
  logPriors: Float64Array;
  /** Per-class pixel means, (classes, pixels). */
  means: Float64Array;
  /** Per-class pixel variances plus epsilon, (classes, pixels). */
  variances: Float64Array;
  /** The variance added: varSmoothing * max over pixels of the whole training set's variance. */
  epsilon: number;
}

/**
 * Fits per-class pixel means and variances. `images` is row-major (count, pixels) in any scale
 * (e.g. bytes 0..255); `labels` are 0..classes-1.
 *
 * @throws Error when the sizes disagree, a label is out of range, or varSmoothing is negative
 */
export function fitGaussianNb(
  images: ArrayLike<number>,
  labels: ArrayLike<number>,
  pixels: number,
  options: { classes?: number; varSmoothing?: number } = {},
): GaussianNb {
  const count = labels.length;
  if (!(pixels >= 1) || images.length !== count * pixels || count < 1) {
    throw new Error(
      `naive Bayes: ${images.length} values are not ${count} images of ${pixels} pixels`,
    );
  }
  const smoothing = options.varSmoothing ?? NB_VAR_SMOOTHING;
  if (!(smoothing >= 0)) {
    throw new Error(`naive Bayes: varSmoothing must be >= 0, got ${smoothing}`);
  }
  let classes = options.classes ?? 0;
  if (options.classes === undefined) {
    for (let i = 0; i < count; i++) classes = Math.max(classes, labels[i] + 1);
  }
  for (let i = 0; i < count; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0 || l >= classes) {
      throw new Error(`naive Bayes: label ${l} of image ${i} is outside 0..${classes - 1}`);
    }
  }
  const P = pixels, C = classes;
  const counts = new Float64Array(C);
  const means = new Float64Array(C * P), variances = new Float64Array(C * P);
  const allMean = new Float64Array(P), allVar = new Float64Array(P);
  // two passes (mean, then squared deviations) for accuracy
  for (let i = 0; i < count; i++) {
    const c = labels[i];
    counts[c]++;
    for (let p = 0; p < P; p++) {
      const v = images[i * P + p];
      means[c * P + p] += v;
      allMean[p] += v;
    }
  }
  for (let c = 0; c < C; c++) {
    for (let p = 0; p < P; p++) means[c * P + p] = counts[c] > 0 ? means[c * P + p] / counts[c] : 0;
  }
  for (let p = 0; p < P; p++) allMean[p] /= count;
  for (let i = 0; i < count; i++) {
    const c = labels[i];
    for (let p = 0; p < P; p++) {
      const v = images[i * P + p];
      const d = v - means[c * P + p], e = v - allMean[p];
      variances[c * P + p] += d * d;
      allVar[p] += e * e;
    }
  }
  let maxVar = 0;
  for (let p = 0; p < P; p++) maxVar = Math.max(maxVar, allVar[p] / count);
  const epsilon = smoothing * maxVar;
  for (let c = 0; c < C; c++) {
    for (let p = 0; p < P; p++) {
      variances[c * P + p] = (counts[c] > 0 ? variances[c * P + p] / counts[c] : 0) + epsilon;
    }
  }
  const logPriors = counts.map((n) => (n > 0 ? Math.log(n / count) : -Infinity));
  return { classes: C, pixels: P, logPriors, means, variances, epsilon };
}

/**
 * Joint log-likelihoods log P(c) + sum_p log N(x_p; mean_cp, var_cp), (count, classes).
 *
 * @throws Error when `images` is not a whole number of images, or a variance is 0 (a constant
 *   training set fitted with varSmoothing 0)
 */
export function gaussianNbLogLikelihoods(
  model: GaussianNb,
  images: ArrayLike<number>,
): Float64Array {
  const { classes: C, pixels: P, means, variances } = model;
  const count = images.length / P;
  if (!Number.isInteger(count)) {
    throw new Error(`naive Bayes: ${images.length} values are not whole ${P}-pixel images`);
  }
  const halfInv = new Float64Array(C * P);
  const base = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let s = model.logPriors[c];
    for (let p = 0; p < P; p++) {
      const v = variances[c * P + p];
      if (!(v > 0)) throw new Error("naive Bayes: a variance is 0; fit with varSmoothing > 0");
      s -= 0.5 * Math.log(2 * Math.PI * v);
      halfInv[c * P + p] = 0.5 / v;
    }
    base[c] = s;
  }
  const out = new Float64Array(count * C);
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let p = 0; p < P; p++) {
        const d = images[i * P + p] - means[c * P + p];
        s += d * d * halfInv[c * P + p];
      }
      out[i * C + c] = base[c] - s;
    }
  }
  return out;
}

/** The most likely class of each image (the first maximum of the joint log-likelihood). */
export function predictGaussianNb(model: GaussianNb, images: ArrayLike<number>): Int32Array {
  const ll = gaussianNbLogLikelihoods(model, images);
  const C = model.classes, count = ll.length / C;
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (ll[i * C + c] > ll[i * C + best]) best = c;
    out[i] = best;
  }
  return out;
}
