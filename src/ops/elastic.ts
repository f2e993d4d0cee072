/**
 * Elastic distortion of a gathered batch (`shaders/elastic.wgsl`, Simard et al. 2003) and its
 * float64 reference: a random displacement field, uniform in [-1, 1] per pixel and axis and keyed
 * by (seed, epoch, image index, k), smoothed by a normalized Gaussian of std `sigma` pixels (zero
 * outside the image) and scaled by `alpha` pixels; each output pixel samples the input there
 * bilinearly, zero outside. Pixel noise, when asked for, is added after the distortion.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, makeDispatch } from "../gpu/program.ts";
import type { StepParamsBuffer } from "../gpu/step_params.ts";
import type { Tensor, TexelStore } from "../gpu/tensor.ts";
import { counterUniform, hash32 } from "../util/rng.ts";
import { expectShape } from "./common.ts";
import type { PixelNoise } from "./gather.ts";
import SOURCE from "../../shaders/elastic.wgsl" with { type: "text" };

const SHADER = { name: "elastic.wgsl", source: SOURCE };

/** Strength and smoothness of the elastic distortion. */
export interface ElasticRanges {
  /** Displacement scale in pixels (0..64; 0: none). */
  alpha: number;
  /** Smoothing standard deviation in pixels (0.5..8). */
  sigma: number;
}

/** Elastic distortion drawn from `seed`. */
export interface ElasticAugment extends ElasticRanges {
  /** Seed (u32); the field depends only on (seed, epoch, image index). */
  seed: number;
}

/** alpha 34, sigma 4 (Simard et al.'s values for MNIST-sized images). */
export const ELASTIC_DEFAULTS: Readonly<ElasticRanges> = { alpha: 34, sigma: 4 };

/**
 * Checks the strength and smoothness.
 *
 * @throws RangeError when alpha or sigma is out of range
 */
export function checkElasticRanges(e: ElasticRanges): void {
  if (!(e.alpha >= 0 && e.alpha <= 64)) {
    throw new RangeError(`elastic alpha must be in [0, 64] pixels, got ${e.alpha}`);
  }
  if (!(e.sigma >= 0.5 && e.sigma <= 8)) {
    throw new RangeError(`elastic sigma must be in [0.5, 8] pixels, got ${e.sigma}`);
  }
}

/** Taps either side of the smoothing kernel: ceil(3 sigma). */
function radius(sigma: number): number {
  return Math.ceil(3 * sigma);
}

/** The 1D Gaussian weights exp(-d^2 / (2 sigma^2)) for d = -R..R, unnormalized (float64). */
function rawWeights(sigma: number): Float64Array {
  const R = radius(sigma);
  return Float64Array.from(
    { length: 2 * R + 1 },
    (_, i) => Math.exp(-((i - R) ** 2) / (2 * sigma ** 2)),
  );
}

/** The normalized weights. */
function weights(sigma: number): Float64Array {
  const w = rawWeights(sigma), sum = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / sum);
}

/**
 * Distorts the B images of `x` (rows perm[batch_start + r]) into `y`, with the field of the
 * step slot's epoch, and adds `noise` afterwards.
 */
export async function elasticDistort(
  ctx: GpuContext,
  a: {
    x: Tensor;
    y: Tensor;
    perm: TexelStore;
    params: StepParamsBuffer;
    elastic: ElasticAugment;
    /** Image width in pixels (height = cols / width). */
    width: number;
    noise?: PixelNoise;
  },
): Promise<Dispatch> {
  checkElasticRanges(a.elastic);
  const B = a.x.rows, pix = a.x.cols, W = a.width, H = pix / W;
  if (!Number.isInteger(H) || pix % 4 !== 0) {
    throw new RangeError(`elasticDistort: ${pix} pixels do not make ${W}-wide images`);
  }
  if (pix > 4096) throw new RangeError(`elasticDistort: images above 4096 pixels (${pix})`);
  expectShape("elasticDistort", "output", a.y, B, pix);
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint: "elastic",
    constants: {
      W,
      H,
      SEED: a.elastic.seed >>> 0,
      ALPHA: a.elastic.alpha,
      SIGMA: a.elastic.sigma,
      RADIUS: radius(a.elastic.sigma),
      INV_NORM: 1 / rawWeights(a.elastic.sigma).reduce((s, v) => s + v, 0),
      NOISE_SIGMA: a.noise?.sigma ?? 0,
      NOISE_SEED: (a.noise?.seed ?? 0) >>> 0,
    },
    reads: { x: a.x, perm: a.perm },
    writes: { y: a.y },
    buffers: { params: a.params },
    size: { workgroups: [B] },
  });
}

/** The displacement field (dx, dy per pixel, in pixels) of image `img` in `epoch` (float64). */
export function elasticFieldRef(
  e: ElasticAugment,
  img: number,
  epoch: number,
  width: number,
  height: number,
): { dx: Float64Array; dy: Float64Array } {
  const pix = width * height, seed = hash32((e.seed + epoch) >>> 0);
  const noise = Float64Array.from(
    { length: 2 * pix },
    (_, k) => 2 * counterUniform(seed, img, k) - 1,
  );
  const w = weights(e.sigma), R = radius(e.sigma);
  const smooth = (axis: number) => {
    const f = noise.subarray(axis * pix, (axis + 1) * pix), rows = new Float64Array(pix);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let s = 0;
        for (let d = -R; d <= R; d++) {
          if (x + d >= 0 && x + d < width) s += w[d + R] * f[y * width + x + d];
        }
        rows[y * width + x] = s;
      }
    }
    const out = new Float64Array(pix);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let s = 0;
        for (let d = -R; d <= R; d++) {
          if (y + d >= 0 && y + d < height) s += w[d + R] * rows[(y + d) * width + x];
        }
        out[y * width + x] = e.alpha * s;
      }
    }
    return out;
  };
  return { dx: smooth(0), dy: smooth(1) };
}

/** Float64 reference: `image` (any scale) sampled at (x + dx, y + dy), bilinear, zero outside. */
export function elasticImageRef(
  image: ArrayLike<number>,
  width: number,
  field: { dx: ArrayLike<number>; dy: ArrayLike<number> },
): Float64Array {
  const height = image.length / width;
  const at = (x: number, y: number) =>
    x < 0 || y < 0 || x >= width || y >= height ? 0 : image[y * width + x];
  return Float64Array.from({ length: image.length }, (_, p) => {
    const sx = (p % width) + field.dx[p], sy = Math.floor(p / width) + field.dy[p];
    const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
    const top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx;
    const bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx;
    return top * (1 - fy) + bottom * fy;
  });
}
