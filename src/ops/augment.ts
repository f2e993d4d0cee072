/**
 * Random affine distortion of training images (rotation, scale and shift about the image
 * centre, bilinear sampling, zero outside), done on the GPU while gathering a batch
 * (`shaders/batch_gather.wgsl`). This module holds the parameters, their draw keyed by
 * (seed, image index, epoch), and the float64 reference of a distorted image.
 *
 * @module
 */
import { counterUniform } from "../util/rng.ts";

/** Ranges of the random affine distortion; each image draws uniformly within them. */
export interface AffineRanges {
  /** Largest shift along each axis, in pixels (0..8). */
  maxShift: number;
  /** Largest rotation either way, in degrees (0..45). */
  maxRotation: number;
  /** Smallest scale factor (0.5..maxScale). */
  minScale: number;
  /** Largest scale factor (minScale..2). */
  maxScale: number;
}

/** Random affine distortion of the training images, drawn from `seed`. */
export interface AffineAugment extends AffineRanges {
  /** Augmentation seed (u32); parameters depend only on (seed, image index, epoch). */
  seed: number;
}

/** Shift up to 2 pixels, rotation up to 10 degrees, scale 0.9..1.1. */
export const AFFINE_DEFAULTS: Readonly<AffineRanges> = {
  maxShift: 2,
  maxRotation: 10,
  minScale: 0.9,
  maxScale: 1.1,
};

/**
 * Checks the ranges.
 *
 * @throws RangeError naming the first value out of its range
 */
export function checkAffineRanges(a: AffineRanges): void {
  const bad = (what: string, v: number, range: string) => {
    throw new RangeError(`augmentation ${what} must be in ${range}, got ${v}`);
  };
  if (!(a.maxShift >= 0 && a.maxShift <= 8)) bad("maxShift", a.maxShift, "[0, 8] pixels");
  if (!(a.maxRotation >= 0 && a.maxRotation <= 45)) {
    bad("maxRotation", a.maxRotation, "[0, 45] degrees");
  }
  if (!(a.minScale >= 0.5 && a.minScale <= a.maxScale)) {
    bad("minScale", a.minScale, "[0.5, maxScale]");
  }
  if (!(a.maxScale <= 2)) bad("maxScale", a.maxScale, "[minScale, 2]");
}

/** The distortion of one image in one epoch. */
export interface AffineParams {
  /** Rotation in radians (counter-clockwise on screen is negative y-up; sign is a convention). */
  angle: number;
  /** Scale factor about the centre. */
  scale: number;
  /** Shift to the right, in pixels. */
  shiftX: number;
  /** Shift downwards, in pixels. */
  shiftY: number;
}

/** The parameters image `img` gets in epoch `epoch` (as the shader draws them, in float64). */
export function affineParams(aug: AffineAugment, img: number, epoch: number): AffineParams {
  const u = (k: number) => counterUniform(aug.seed, img, (epoch * 4 + k) >>> 0);
  return {
    angle: (2 * u(0) - 1) * aug.maxRotation * Math.PI / 180,
    scale: aug.minScale + (aug.maxScale - aug.minScale) * u(1),
    shiftX: (2 * u(2) - 1) * aug.maxShift,
    shiftY: (2 * u(3) - 1) * aug.maxShift,
  };
}

/**
 * Float64 reference: the distorted image (0..255 scale, not re-quantized) of a `width`-wide
 * image given as bytes. Output pixel (x, y) samples the source at c + R(-angle)((x, y) - c -
 * shift) / scale, c the image centre, bilinearly with zero outside.
 */
export function affineImageRef(
  image: ArrayLike<number>,
  width: number,
  m: AffineParams,
): Float64Array {
  const height = image.length / width;
  const cx = (width - 1) / 2, cy = (height - 1) / 2;
  const c = Math.cos(m.angle), s = Math.sin(m.angle);
  const at = (x: number, y: number) =>
    x < 0 || y < 0 || x >= width || y >= height ? 0 : image[y * width + x];
  const out = new Float64Array(image.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = (x - cx - m.shiftX) / m.scale, v = (y - cy - m.shiftY) / m.scale;
      const sx = cx + c * u + s * v, sy = cy - s * u + c * v;
      const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
      const top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx;
      const bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx;
      out[y * width + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** Width of square images of `pixels` pixels. @throws RangeError when they are not square */
export function squareWidth(pixels: number): number {
  const w = Math.round(Math.sqrt(pixels));
  if (w * w !== pixels) {
    throw new RangeError(`augmentation needs square images; ${pixels} pixels is not a square`);
  }
  return w;
}
