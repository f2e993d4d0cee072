/**
 * Data sets on the GPU and batch gathering (`shaders/batch_gather.wgsl`), with the CPU reference
 * of the noisy pixel values.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { GpuLimitError } from "../gpu/errors.ts";
import { type Dispatch, makeDispatch } from "../gpu/program.ts";
import type { StepParamsBuffer } from "../gpu/step_params.ts";
import { type Tensor, TexelStore, writeTexels } from "../gpu/tensor.ts";
import { counterUniform } from "../util/rng.ts";
import { expectShape } from "./common.ts";
import {
  type AffineAugment,
  affineImageRef,
  affineParams,
  checkAffineRanges,
  squareWidth,
} from "./augment.ts";
import { type ElasticAugment, elasticFieldRef, elasticImageRef } from "./elastic.ts";
import SOURCE from "../../shaders/batch_gather.wgsl" with { type: "text" };

/** Images (as bytes) and labels resident on the GPU. */
export interface GpuDataset {
  /** Number of images. */
  readonly count: number;
  /** Bytes (pixels) per image, a multiple of 4 (784 for MNIST). */
  readonly pixels: number;
  /** The images as rgba8unorm texels (4 pixels each), image i from texel i * pixels / 4. */
  readonly images: TexelStore;
  /** The labels as rgba32uint texels, 4 labels per texel. */
  readonly labels: TexelStore;
}

/** Uploads `count` images of `pixels` bytes and their labels. */
export function uploadDataset(
  ctx: GpuContext,
  images: Uint8Array,
  labels: ArrayLike<number>,
  count: number,
  pixels: number,
  label = "dataset",
): GpuDataset {
  if (pixels % 4 !== 0) throw new Error(`images of ${pixels} pixels: a multiple of 4 is required`);
  if (images.length !== count * pixels) {
    throw new Error(`expected ${count * pixels} image bytes, got ${images.length}`);
  }
  if (labels.length !== count) throw new Error(`expected ${count} labels, got ${labels.length}`);
  const texels = (count * pixels) / 4;
  const limitTexels = ctx.maxTextureRows * 2048;
  if (texels > limitTexels) {
    throw new GpuLimitError(
      `${label}: ${count} images of ${pixels} pixels need ${texels} texels, more than one texture ` +
        `holds on this adapter (${limitTexels}); use fewer images`,
    );
  }
  const imgStore = new TexelStore(ctx, texels, `${label} images`, "rgba8unorm");
  // no copy of the image bytes unless they sit in a SharedArrayBuffer (WebGPU wants an ArrayBuffer)
  const bytes = images.buffer instanceof ArrayBuffer
    ? images as Uint8Array<ArrayBuffer>
    : new Uint8Array(images);
  writeTexels(ctx, imgStore, 0, bytes);
  const labelStore = uploadUints(ctx, labels, `${label} labels`);
  return { count, pixels, images: imgStore, labels: labelStore };
}

/** Uploads unsigned integers, 4 per texel (rgba32uint). */
export function uploadUints(ctx: GpuContext, values: ArrayLike<number>, label: string): TexelStore {
  const texels = Math.max(1, Math.ceil(values.length / 4));
  const store = new TexelStore(ctx, texels, label, "rgba32uint");
  writeUints(ctx, store, values);
  return store;
}

/** Overwrites an rgba32uint store with values (e.g. a new epoch's permutation). */
export function writeUints(ctx: GpuContext, store: TexelStore, values: ArrayLike<number>): void {
  const data = new Uint32Array(Math.max(1, Math.ceil(values.length / 4)) * 4);
  for (let i = 0; i < values.length; i++) data[i] = values[i];
  writeTexels(ctx, store, 0, data);
}

/** Noise applied while gathering: sigma on the 0..255 scale and the noise seed. */
export interface PixelNoise {
  /** Standard deviation of the Gaussian noise, in 0..255 pixel units (0: no noise). */
  sigma: number;
  /** Noise seed (u32); the noise depends only on (seed, image index, pixel), not batch order. */
  seed: number;
}

const SHADER = { name: "batch_gather.wgsl", source: SOURCE };

/**
 * Gathers rows perm[batch_start + i] of the data set into `x` (B, pixels) scaled to [0, 1] and
 * their labels into `labels` (1, B); batch_start comes from the step-parameter slot.
 */
export async function gatherBatch(
  ctx: GpuContext,
  a: {
    data: GpuDataset;
    perm: TexelStore;
    x: Tensor;
    labels: Tensor;
    params: StepParamsBuffer;
    noise?: PixelNoise;
    /** Random affine distortion, drawn per (seed, image, epoch of the step slot). */
    augment?: AffineAugment;
  },
): Promise<Dispatch> {
  const B = a.x.rows;
  expectShape("gatherBatch", "images", a.x, B, a.data.pixels);
  expectShape("gatherBatch", "labels", a.labels, 1, B);
  const sigma = a.noise?.sigma ?? 0;
  if (!(sigma >= 0) || !Number.isFinite(sigma)) {
    throw new Error(`noise sigma must be >= 0, got ${sigma}`);
  }
  const aug = a.augment;
  if (aug) checkAffineRanges(aug);
  const augConstants: Record<string, number | boolean> = aug
    ? {
      AUGMENT: true,
      AUG_SEED: aug.seed >>> 0,
      IMG_W: squareWidth(a.data.pixels),
      MAX_SHIFT: aug.maxShift,
      MAX_ROT: aug.maxRotation * Math.PI / 180,
      MIN_SCALE: aug.minScale,
      MAX_SCALE: aug.maxScale,
    }
    : {};
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint: "gather_batch",
    constants: {
      B,
      PIX: a.data.pixels,
      SIGMA: sigma,
      NOISE_SEED: (a.noise?.seed ?? 0) >>> 0,
      ...augConstants,
    },
    reads: { images: a.data.images, image_labels: a.data.labels, perm: a.perm },
    writes: { x: a.x, labels: a.labels },
    buffers: { params: a.params },
    size: { lanes: Math.ceil(B / 4) + (B * a.data.pixels) / 4 },
  });
}

/** Standard normal for (seed, image, pixel), as the shader computes it (in float64). */
export function pixelNormal(seed: number, img: number, p: number): number {
  const u1 = counterUniform(seed, img, 2 * p), u2 = counterUniform(seed, img, 2 * p + 1);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Noisy pixel value on the 0..255 scale (clipped, not re-quantized): the CPU reference. */
export function noisyPixelRef(value: number, noise: PixelNoise, img: number, p: number): number {
  if (noise.sigma === 0) return value;
  return Math.min(255, Math.max(0, value + noise.sigma * pixelNormal(noise.seed, img, p)));
}

/**
 * Reference of a gathered batch: (B, pixels) in [0, 1]; with `augment`, each image distorted
 * as drawn for `epoch` (affine, then elastic: the gather, then `elasticDistort`), before
 * the noise.
 */
export function gatherBatchRef(
  images: Uint8Array,
  pixels: number,
  perm: ArrayLike<number>,
  start: number,
  B: number,
  noise?: PixelNoise,
  augment?: { affine?: AffineAugment; elastic?: ElasticAugment; epoch: number },
): Float64Array {
  const out = new Float64Array(B * pixels);
  const width = augment ? squareWidth(pixels) : 0;
  for (let i = 0; i < B; i++) {
    const img = perm[start + i];
    let src: ArrayLike<number> = images.subarray(img * pixels, (img + 1) * pixels);
    if (augment?.affine) {
      src = affineImageRef(src, width, affineParams(augment.affine, img, augment.epoch));
    }
    if (augment?.elastic) {
      const field = elasticFieldRef(augment.elastic, img, augment.epoch, width, pixels / width);
      src = elasticImageRef(src, width, field);
    }
    for (let p = 0; p < pixels; p++) {
      const v = src[p];
      out[i * pixels + p] = (noise ? noisyPixelRef(v, noise, img, p) : v) / 255;
    }
  }
  return out;
}
