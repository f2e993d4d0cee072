/**
 * Image noise for Part 2. The noise itself is added on the GPU by the batch-gather kernel
 * (`shaders/batch_gather.wgsl`, keyed by (seed, image index, pixel), clipped to [0, 255], not
 * re-quantized); this module gathers chosen training images through that same kernel, so the
 * report can show exactly what the network saw, and measures what the noise does to the pixels
 * with the kernel's CPU reference.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { runDispatches } from "../gpu/program.ts";
import { StepParamsBuffer } from "../gpu/step_params.ts";
import { download, Tensor } from "../gpu/tensor.ts";
import {
  gatherBatch,
  type GpuDataset,
  type PixelNoise,
  pixelNormal,
  uploadUints,
} from "../ops/gather.ts";
import { deriveSeed } from "../util/rng.ts";
import type { NoiseStats } from "./results.ts";

/** The noise of a training run: sigma with the seed derived from the run seed. */
export function runNoise(sigma: number, runSeed: number): PixelNoise {
  return { sigma, seed: deriveSeed(runSeed, "noise") };
}

/**
 * Gathers images `indices` of `data` on the GPU, with noise, exactly as the training step does.
 * Returns one Float32Array of pixel values on the 0..255 scale per index, in the order given.
 */
export async function gatherImages(
  ctx: GpuContext,
  data: GpuDataset,
  indices: readonly number[],
  noise?: PixelNoise,
): Promise<Float32Array[]> {
  const B = indices.length;
  if (B === 0) return [];
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= data.count) {
      throw new RangeError(`image index ${i} is outside 0..${data.count - 1}`);
    }
  }
  const perm = uploadUints(ctx, indices, "sample indices");
  const x = Tensor.create(ctx, B, data.pixels, "sample images");
  const labels = Tensor.create(ctx, 1, B, "sample labels");
  const params = new StepParamsBuffer(ctx, 1, "sample gather");
  try {
    params.write(0, [{ step: 0, batchStart: 0 }]);
    await runDispatches(ctx, [
      await gatherBatch(ctx, { data, perm, x, labels, params, noise }),
    ], params.offset(0));
    const values = await download(ctx, x);
    return indices.map((_, i) =>
      Float32Array.from(values.subarray(i * data.pixels, (i + 1) * data.pixels), (v) => v * 255)
    );
  } finally {
    perm.destroy();
    x.store.destroy();
    labels.store.destroy();
    params.destroy();
  }
}

/** Rounds 0..255 floats to bytes, for display (training uses the unrounded values). */
export function toBytes(values: Float32Array): Uint8Array {
  return Uint8Array.from(values, (v) => Math.min(255, Math.max(0, Math.round(v))));
}

/**
 * Pixel statistics of the noisy images `0 .. count-1` (CPU reference of the kernel's values):
 * how many pixels clip, how far pixels move, what the background becomes.
 */
export function noiseStatistics(
  images: Uint8Array,
  pixels: number,
  count: number,
  noise: PixelNoise,
): NoiseStats {
  let low = 0, high = 0, absSum = 0, sum = 0, sumSq = 0, bgSum = 0, bgCount = 0;
  const n = count * pixels;
  for (let img = 0; img < count; img++) {
    for (let p = 0; p < pixels; p++) {
      const v = images[img * pixels + p];
      // the kernel's formula (noisyPixelRef), with the unclipped value kept to count clipping
      const raw = noise.sigma === 0 ? v : v + noise.sigma * pixelNormal(noise.seed, img, p);
      const x = Math.min(255, Math.max(0, raw));
      if (raw < 0) low++;
      else if (raw > 255) high++;
      const d = x - v;
      absSum += Math.abs(d);
      sum += d;
      sumSq += d * d;
      if (v === 0) {
        bgSum += x;
        bgCount++;
      }
    }
  }
  const meanChange = sum / n;
  return {
    images: count,
    clippedLow: low / n,
    clippedHigh: high / n,
    meanAbsChange: absSum / n,
    backgroundMean: bgCount > 0 ? bgSum / bgCount : 0,
    changeStd: Math.sqrt(Math.max(0, sumSq / n - meanChange * meanChange)),
  };
}

/** The first image of each class in `labels` (for a grid that shows every digit once). */
export function firstOfEachClass(labels: ArrayLike<number>, classes = 10): number[] {
  const found = new Array<number>(classes).fill(-1);
  let left = classes;
  for (let i = 0; i < labels.length && left > 0; i++) {
    const c = labels[i];
    if (c >= 0 && c < classes && found[c] < 0) {
      found[c] = i;
      left--;
    }
  }
  return found.filter((i) => i >= 0);
}
