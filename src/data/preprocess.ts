/**
 * Turns a picture of a single handwritten digit into a 28x28 MNIST-style input (browser-safe).
 *
 * MNIST digits were size-normalised to fit a 20x20 box (keeping their aspect ratio, with
 * anti-aliasing), then placed in a 28x28 field so that the centre of mass of the ink sits at the
 * centre. Ink is bright (255) on a black (0) background. A model trained on MNIST only works on a
 * user's image prepared the same way.
 *
 * @module
 */
import { EngineError } from "../util/errors.ts";

/** A picture that cannot be turned into a digit input; the message says why. */
export class DigitImageError extends EngineError {
  /** Always `"DigitImageError"`. */
  override name = "DigitImageError";
}

/** Side of an MNIST image in pixels (28): inputs are MNIST_SIDE x MNIST_SIDE bytes. */
export const MNIST_SIDE = 28;
/** MNIST's size-normalisation box: the longer side of the digit becomes this many pixels. */
export const DIGIT_BOX = 20;
/** Where the centre of mass goes, in pixel-index coordinates (pixel i sits at i). */
export const MNIST_CENTRE = 14;

/** Ink below this fraction of full ink is noise (paper texture, JPEG ringing), not digit. */
const NOISE_FRACTION = 0.1;
/** Ink must stand out from the background by this much (of 255) for the image to hold a digit. */
const MIN_CONTRAST = 32;

/** Options for {@link toMnistInput}. */
export interface MnistInputOptions {
  /**
   * `true`: the digit is dark on a light background; `false`: light on dark; "auto" (default):
   * decided from the background seen along the image border.
   */
  invert?: "auto" | boolean;
}

function checkSize(length: number, width: number, height: number, channels: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new DigitImageError(`image size must be positive integers, got ${width}x${height}`);
  }
  if (length !== width * height * channels) {
    throw new DigitImageError(
      `expected ${width}x${height}x${channels} = ${
        width * height * channels
      } values, got ${length}`,
    );
  }
}

/**
 * Luma (ITU-R BT.601, the weights JPEG uses) of RGBA pixels, 0 = black .. 255 = white, with
 * transparent pixels composited over white so a digit drawn on a transparent canvas stays visible.
 */
export function rgbaToGray(
  rgba: Uint8ClampedArray | Uint8Array,
  width: number,
  height: number,
): Float32Array {
  checkSize(rgba.length, width, height, 4);
  const gray = new Float32Array(width * height);
  for (let i = 0; i < gray.length; i++) {
    const r = rgba[i * 4], g = rgba[i * 4 + 1], b = rgba[i * 4 + 2], a = rgba[i * 4 + 3] / 255;
    const luma = 0.299 * r + 0.587 * g + 0.114 * b;
    gray[i] = luma * a + 255 * (1 - a);
  }
  return gray;
}

function median(values: Float32Array): number {
  const sorted = values.slice().sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The border pixels: the background is whatever most of them show. */
function borderPixels(values: Float32Array, width: number, height: number): Float32Array {
  const out: number[] = [];
  for (let x = 0; x < width; x++) {
    out.push(values[x]);
    if (height > 1) out.push(values[(height - 1) * width + x]);
  }
  for (let y = 1; y < height - 1; y++) {
    out.push(values[y * width]);
    if (width > 1) out.push(values[y * width + width - 1]);
  }
  return Float32Array.from(out);
}

/**
 * Whether the digit is dark on a lighter background (like ink on paper). The background level is
 * the median of the border pixels; the digit is whichever extreme lies further from it, so a grey
 * photo of paper with pencil strokes is recognised as well as pure black on white.
 */
export function isDarkOnLight(gray: Float32Array, width: number, height: number): boolean {
  checkSize(gray.length, width, height, 1);
  const background = median(borderPixels(gray, width, height));
  let darkest = Infinity, lightest = -Infinity;
  for (const v of gray) {
    if (v < darkest) darkest = v;
    if (v > lightest) lightest = v;
  }
  return background - darkest >= lightest - background;
}

/** For each output index, the source indices and weights that make it up. */
type Taps = { index: number[]; weight: number[] }[];

/**
 * 1-D resampling weights from `inSize` to `outSize` pixels: area averaging (box filter) when
 * shrinking, so thin strokes fade instead of vanishing between samples; bilinear when enlarging.
 */
function resampleTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const taps: Taps = [];
  for (let o = 0; o < outSize; o++) {
    const index: number[] = [], weight: number[] = [];
    if (outSize < inSize) {
      const from = o * scale, to = (o + 1) * scale;
      for (let i = Math.floor(from); i < Math.min(Math.ceil(to), inSize); i++) {
        const overlap = Math.min(to, i + 1) - Math.max(from, i);
        if (overlap > 0) {
          index.push(i);
          weight.push(overlap / scale);
        }
      }
    } else {
      // Align pixel centres; clamp at the edges.
      const at = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), inSize - 1);
      const i0 = Math.floor(at), t = at - i0;
      index.push(i0);
      weight.push(1 - t);
      if (t > 0) {
        index.push(i0 + 1);
        weight.push(t);
      }
    }
    taps.push({ index, weight });
  }
  return taps;
}

/** Resamples a w x h image to outW x outH, one axis at a time. */
function resample(
  src: Float32Array,
  w: number,
  h: number,
  outW: number,
  outH: number,
): Float32Array {
  const xTaps = resampleTaps(w, outW), yTaps = resampleTaps(h, outH);
  const rows = new Float32Array(outW * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < outW; x++) {
      const { index, weight } = xTaps[x];
      let sum = 0;
      for (let k = 0; k < index.length; k++) sum += weight[k] * src[y * w + index[k]];
      rows[y * outW + x] = sum;
    }
  }
  const out = new Float32Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    const { index, weight } = yTaps[y];
    for (let x = 0; x < outW; x++) {
      let sum = 0;
      for (let k = 0; k < index.length; k++) sum += weight[k] * rows[index[k] * outW + x];
      out[y * outW + x] = sum;
    }
  }
  return out;
}

/**
 * Prepares a grey image (0 = black .. 255 = white, row-major, `width * height` values; see
 * `rgbaToGray`) the way MNIST was prepared, returning 28*28 bytes with 0 = background and
 * 255 = ink:
 * 1. convert to ink intensity, inverting dark-on-light pictures, and stretch it so the background
 *    (median of the border) is 0 and the strongest ink is 255; ink under 10% counts as background;
 * 2. crop to the bounding box of the ink;
 * 3. scale, keeping the aspect ratio, so the longer side is 20 px (area averaging when
 *    shrinking, bilinear when enlarging), then bring the strongest ink back to 255;
 * 4. place it in the 28x28 field with its centre of mass at (14, 14), shifted by whole pixels as
 *    LeCun's preparation did (the shift is clamped so no ink falls off the field).
 * Throws a DigitImageError when no digit stands out from the background.
 */
export function toMnistInput(
  gray: Float32Array,
  width: number,
  height: number,
  opts: MnistInputOptions = {},
): Uint8Array {
  checkSize(gray.length, width, height, 1);
  const invertChoice = opts.invert ?? "auto";
  const invert = invertChoice === "auto" ? isDarkOnLight(gray, width, height) : invertChoice;

  // 1. Ink intensity relative to the background, stretched to 0..255.
  const ink = new Float32Array(gray.length);
  for (let i = 0; i < gray.length; i++) ink[i] = invert ? 255 - gray[i] : gray[i];
  const background = median(borderPixels(ink, width, height));
  let peak = -Infinity;
  for (const v of ink) if (v > peak) peak = v;
  const contrast = peak - background;
  if (!(contrast >= MIN_CONTRAST)) {
    throw new DigitImageError("the image looks empty: no digit found");
  }
  const noiseFloor = 255 * NOISE_FRACTION;
  let left = width, right = -1, top = height, bottom = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const v = ((ink[i] - background) / contrast) * 255;
      ink[i] = v < noiseFloor ? 0 : v;
      if (ink[i] > 0) {
        if (x < left) left = x;
        if (x > right) right = x;
        if (y < top) top = y;
        if (y > bottom) bottom = y;
      }
    }
  }

  // 2. Crop to the ink's bounding box (non-empty: the peak pixel is in it).
  const cropW = right - left + 1, cropH = bottom - top + 1;
  const crop = new Float32Array(cropW * cropH);
  for (let y = 0; y < cropH; y++) {
    crop.set(ink.subarray((top + y) * width + left, (top + y) * width + left + cropW), y * cropW);
  }

  // 3. Longer side to DIGIT_BOX pixels, aspect ratio kept.
  const scale = DIGIT_BOX / Math.max(cropW, cropH);
  const boxW = Math.max(1, Math.min(DIGIT_BOX, Math.round(cropW * scale)));
  const boxH = Math.max(1, Math.min(DIGIT_BOX, Math.round(cropH * scale)));
  const digit = resample(crop, cropW, cropH, boxW, boxH);
  // Shrinking averages thin strokes with background; MNIST digits all peak at 250..255, so the
  // strongest ink is brought back to full strength.
  let digitPeak = 0;
  for (const v of digit) if (v > digitPeak) digitPeak = v;
  for (let i = 0; i < digit.length; i++) digit[i] *= 255 / digitPeak;

  // 4. Centre of mass to the field centre by a whole-pixel shift.
  let mass = 0, sumX = 0, sumY = 0;
  for (let y = 0; y < boxH; y++) {
    for (let x = 0; x < boxW; x++) {
      const v = digit[y * boxW + x];
      mass += v;
      sumX += v * x;
      sumY += v * y;
    }
  }
  const clampShift = (shift: number, size: number) =>
    Math.min(Math.max(shift, 0), MNIST_SIDE - size);
  const offsetX = clampShift(Math.round(MNIST_CENTRE - sumX / mass), boxW);
  const offsetY = clampShift(Math.round(MNIST_CENTRE - sumY / mass), boxH);

  const out = new Uint8Array(MNIST_SIDE * MNIST_SIDE);
  for (let y = 0; y < boxH; y++) {
    for (let x = 0; x < boxW; x++) {
      const v = digit[y * boxW + x];
      out[(offsetY + y) * MNIST_SIDE + offsetX + x] = Math.round(Math.min(Math.max(v, 0), 255));
    }
  }
  return out;
}
