/**
 * An in-memory labelled image set (MNIST and look-alikes) and its validation.
 *
 * Browser-safe.
 *
 * @module
 */
import { Rng } from "../util/rng.ts";
import { DataFormatError, type IdxArray } from "./idx.ts";

/** Labelled grayscale images. The arrays are shared, not copied: treat them as read-only. */
export interface Dataset {
  /** Shown in logs and error messages, e.g. "mnist-train". */
  name: string;
  /** Number of images (and labels). */
  count: number;
  /** Image height in pixels (28 for MNIST). */
  rows: number;
  /** Image width in pixels (28 for MNIST). */
  cols: number;
  /** [count, rows, cols] row-major, 0..255 (0 = background for MNIST). */
  images: Uint8Array;
  /** [count], 0..9. */
  labels: Uint8Array;
}

/** Number of classes; labels must be 0..NUM_CLASSES-1. */
export const NUM_CLASSES = 10;

/** Where the images and labels came from, for error messages. */
export interface DatasetFileNames {
  /** Path or name of the images file. */
  images: string;
  /** Path or name of the labels file. */
  labels: string;
}

/**
 * Pairs a parsed images file with a parsed labels file after checking that they belong together.
 *
 * @throws DataFormatError when the files have the wrong kind, differ in count, hold no images, or
 *   a label is outside 0..9; the message names the files and the values found.
 */
export function makeDataset(
  name: string,
  images: IdxArray,
  labels: IdxArray,
  fileNames: DatasetFileNames,
): Dataset {
  // parseIdx without `expect` accepts either kind, so check here too.
  if (images.dims.length !== 3) {
    throw new DataFormatError(
      `${fileNames.images}: expected an images file (3 dimensions) but it has ` +
        `${images.dims.length}; pass the images file`,
    );
  }
  if (labels.dims.length !== 1) {
    throw new DataFormatError(
      `${fileNames.labels}: expected a labels file (1 dimension) but it has ` +
        `${labels.dims.length}; pass the labels file`,
    );
  }
  const [count, rows, cols] = images.dims;
  const labelCount = labels.dims[0];
  if (count !== labelCount) {
    throw new DataFormatError(
      `image/label count mismatch: ${fileNames.images} has ${count} images but ` +
        `${fileNames.labels} has ${labelCount} labels; pass the images and labels of the same split`,
    );
  }
  if (count === 0 || rows === 0 || cols === 0) {
    throw new DataFormatError(
      `${fileNames.images}: holds no image data (${count}x${rows}x${cols}); pass a non-empty file`,
    );
  }
  const bad = firstBadLabel(labels.data);
  if (bad >= 0) {
    throw new DataFormatError(
      `${fileNames.labels}: label at index ${bad} is ${labels.data[bad]}, expected 0..9; ` +
        `this is not a digit labels file or it is damaged, re-download the file`,
    );
  }
  return { name, count, rows, cols, images: images.data, labels: labels.data };
}

/** Index of the first label outside 0..9, or -1. */
export function firstBadLabel(labels: ArrayLike<number>): number {
  for (let i = 0; i < labels.length; i++) {
    if (!(labels[i] >= 0 && labels[i] < NUM_CLASSES)) return i;
  }
  return -1;
}

/**
 * Images `offset .. offset+count-1` of `ds` as a Dataset sharing the same memory.
 *
 * @throws RangeError when count/offset are not integers or the range does not fit in `ds`
 */
export function subset(ds: Dataset, count: number, offset = 0): Dataset {
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(offset) || offset < 0) {
    throw new RangeError(
      `cannot take ${count} images at offset ${offset} from ${ds.name}: count must be an ` +
        `integer >= 1 and offset an integer >= 0`,
    );
  }
  if (offset + count > ds.count) {
    const fix = offset < ds.count
      ? `use a count of at most ${ds.count - offset}`
      : `use an offset below ${ds.count}`;
    throw new RangeError(
      `cannot take ${count} images at offset ${offset} from ${ds.name}: it has only ` +
        `${ds.count} images; ${fix}`,
    );
  }
  if (offset === 0 && count === ds.count) return ds;
  const pixels = ds.rows * ds.cols;
  return {
    name: `${ds.name}[${offset}:${offset + count}]`,
    count,
    rows: ds.rows,
    cols: ds.cols,
    images: ds.images.subarray(offset * pixels, (offset + count) * pixels),
    labels: ds.labels.subarray(offset, offset + count),
  };
}

/**
 * Splits `holdout` images off a data set, chosen without replacement by a seeded permutation:
 * `{ train, holdout }` (copies, in the original order within each part).
 */
export function splitHoldout(
  ds: Dataset,
  holdout: number,
  seed: number,
): { train: Dataset; holdout: Dataset } {
  if (!Number.isInteger(holdout) || holdout < 1 || holdout >= ds.count) {
    throw new RangeError(
      `cannot hold out ${holdout} of the ${ds.count} images of ${ds.name}: use 1..${ds.count - 1}`,
    );
  }
  const chosen = new Uint8Array(ds.count);
  for (const i of new Rng(seed).permutation(ds.count).subarray(0, holdout)) chosen[i] = 1;
  const pixels = ds.rows * ds.cols;
  const part = (flag: number, count: number, name: string): Dataset => {
    const images = new Uint8Array(count * pixels), labels = new Uint8Array(count);
    let k = 0;
    for (let i = 0; i < ds.count; i++) {
      if (chosen[i] !== flag) continue;
      images.set(ds.images.subarray(i * pixels, (i + 1) * pixels), k * pixels);
      labels[k++] = ds.labels[i];
    }
    return { name, count, rows: ds.rows, cols: ds.cols, images, labels };
  };
  return {
    train: part(0, ds.count - holdout, `${ds.name} (without ${holdout} held out)`),
    holdout: part(1, holdout, `${ds.name} (${holdout} held out)`),
  };
}

/** `rows x cols` as people write image sizes (height x width). */
function sizeText(rows: number, cols: number): string {
  return `${rows}x${cols}`;
}

/**
 * Checks that the training and test images have the same size and that the model takes that
 * size (single-channel images of `model.input.height x model.input.width`).
 *
 * @throws DataFormatError naming both sizes and the data sets or model they belong to
 */
export function checkImageGeometry(
  train: Dataset,
  test: Dataset,
  model: { name: string; input: { height: number; width: number; channels: number } },
): void {
  const trainSize = sizeText(train.rows, train.cols), testSize = sizeText(test.rows, test.cols);
  if (trainSize !== testSize) {
    throw new DataFormatError(
      `the training images (${train.name}) are ${trainSize} but the test images (${test.name}) ` +
        `are ${testSize}; pass training and test files of the same data set`,
    );
  }
  const { height, width, channels } = model.input;
  const modelSize = sizeText(height, width);
  if (trainSize !== modelSize || channels !== 1) {
    throw new DataFormatError(
      `the images (${train.name}) are ${trainSize} but the model ${model.name} takes ` +
        `${modelSize}${channels === 1 ? "" : `x${channels}`} inputs; pass ${modelSize} images ` +
        `(MNIST-format data)`,
    );
  }
}
