/**
 * Augmented batch gathering against the float64 reference: random affine distortion drawn per
 * (seed, image, epoch of the step slot), bilinear sampling with zero outside, with and without
 * pixel noise; and the identity ranges, which must give the images unchanged.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, runDispatches } from "../gpu/program.ts";
import { StepParamsBuffer } from "../gpu/step_params.ts";
import { download, Tensor } from "../gpu/tensor.ts";
import { AFFINE_DEFAULTS, type AffineRanges } from "../ops/augment.ts";
import { ELASTIC_DEFAULTS, elasticDistort, type ElasticRanges } from "../ops/elastic.ts";
import { gatherBatch, gatherBatchRef, uploadDataset, uploadUints } from "../ops/gather.ts";
import type { Rng } from "../util/rng.ts";
import { bindFamily, type CaseRun, Checks, type FamilySpec } from "./family.ts";

/** A batch of B square images gathered with augmentation. */
export interface AugmentCase {
  /** Images in the data set. */
  count: number;
  B: number;
  /** Side of the square images, in pixels. */
  side: number;
  /** The batch's first position in the epoch permutation. */
  start: number;
  /** The epoch of the step slot (the draw changes with it). */
  epoch: number;
  ranges: AffineRanges;
  /** Elastic distortion after the affine one (a second kernel), if any. */
  elastic?: ElasticRanges;
  /** Standard deviation of the pixel noise on the 0..255 scale (0: none). */
  sigma: number;
  quick?: boolean;
}

const IDENTITY: AffineRanges = { maxShift: 0, maxRotation: 0, minScale: 1, maxScale: 1 };
const STRONG: AffineRanges = { maxShift: 6, maxRotation: 45, minScale: 0.5, maxScale: 2 };

/** The augment family: what its checks establish and its cases. */
const AUGMENT: FamilySpec<AugmentCase> = {
  name: "augment",
  title:
    "augmented batch gather (random affine per image and epoch, bilinear) matches the float64 " +
    "reference",
  cases: [
    {
      count: 20,
      B: 8,
      side: 28,
      start: 3,
      epoch: 0,
      ranges: AFFINE_DEFAULTS,
      sigma: 0,
      quick: true,
    },
    { count: 20, B: 5, side: 28, start: 0, epoch: 7, ranges: IDENTITY, sigma: 0, quick: true },
    { count: 30, B: 9, side: 28, start: 11, epoch: 2, ranges: STRONG, sigma: 0 },
    { count: 12, B: 7, side: 10, start: 2, epoch: 1, ranges: AFFINE_DEFAULTS, sigma: 0 },
    { count: 20, B: 6, side: 28, start: 9, epoch: 3, ranges: AFFINE_DEFAULTS, sigma: 32 },
    {
      count: 20,
      B: 5,
      side: 28,
      start: 4,
      epoch: 2,
      ranges: AFFINE_DEFAULTS,
      elastic: ELASTIC_DEFAULTS,
      sigma: 0,
      quick: true,
    },
    {
      count: 9,
      B: 3,
      side: 12,
      start: 5,
      epoch: 0,
      ranges: IDENTITY,
      elastic: { alpha: 8, sigma: 1.5 },
      sigma: 16,
    },
    {
      count: 10,
      B: 4,
      side: 28,
      start: 1,
      epoch: 1,
      ranges: IDENTITY,
      elastic: { alpha: 0, sigma: 4 },
      sigma: 0,
    },
  ],
  describe,
};

function describe(c: AugmentCase): string {
  const r = c.ranges;
  const e = c.elastic ? ` elastic alpha ${c.elastic.alpha} sigma ${c.elastic.sigma}` : "";
  return `B=${c.B} ${c.side}x${c.side} epoch ${c.epoch} shift ${r.maxShift} rot ${r.maxRotation} ` +
    `scale ${r.minScale}-${r.maxScale}${e} noise ${c.sigma}`;
}

/** Runs the augmented gather of a case and compares it with the float64 reference. */
export async function checkAugment(
  ctx: GpuContext,
  c: AugmentCase,
  r: Rng,
): Promise<CaseRun<{ gather: Dispatch[] }>> {
  const { count, B, side, start, epoch, sigma } = c, pixels = side * side;
  // sparse bright strokes on black, like digits: sharp edges stress the bilinear sampling
  const images = new Uint8Array(count * pixels).map(() => (r.next() < 0.3 ? r.int(256) : 0));
  const labels = Array.from({ length: count }, () => r.int(10));
  const data = uploadDataset(ctx, images, labels, count, pixels, "check images");
  const perm = r.permutation(count);
  const noise = sigma > 0 ? { sigma, seed: r.int(1 << 30) } : undefined;
  const augment = { ...c.ranges, seed: r.int(2 ** 32) };
  const elastic = c.elastic ? { ...c.elastic, seed: r.int(2 ** 32) } : undefined;
  const x = Tensor.create(ctx, B, pixels, "x"), tl = Tensor.create(ctx, 1, B, "labels");
  // with elastic distortion the gather writes a raw batch and the elastic kernel adds the noise
  const raw = elastic ? Tensor.create(ctx, B, pixels, "raw x") : x;
  const params = new StepParamsBuffer(ctx, 2);
  params.write(0, [{ step: 0, batchStart: 0 }, { step: 1, batchStart: start, epoch }]);
  const perms = uploadUints(ctx, perm, "perm");
  const gather = [
    await gatherBatch(ctx, {
      data,
      perm: perms,
      x: raw,
      labels: tl,
      params,
      noise: elastic ? undefined : noise,
      augment,
    }),
  ];
  if (elastic) {
    gather.push(
      await elasticDistort(ctx, { x: raw, y: x, perm: perms, params, elastic, width: side, noise }),
    );
  }
  await runDispatches(ctx, gather, params.offset(1));
  const ck = new Checks("augment", describe(c));
  const got = await download(ctx, x);
  const want = gatherBatchRef(images, pixels, perm, start, B, noise, {
    affine: augment,
    elastic,
    epoch,
  });
  // float32 sampling coordinates (and Box-Muller) against float64: ~1e-5 of the 0..1 scale
  ck.close("images", got, want, sigma > 0 ? 3e-4 : 5e-5, [B, pixels], 1);
  if (c.ranges === IDENTITY && (!c.elastic || c.elastic.alpha === 0) && sigma === 0) {
    const plain = gatherBatchRef(images, pixels, perm, start, B);
    ck.close("identity map leaves images unchanged", got, plain, 1e-6, [B, pixels], 1);
  }
  params.destroy();
  perms.destroy();
  for (const s of [data.images, data.labels, x.store, raw.store, tl.store]) s.destroy();
  return ck.done({ gather });
}

/** The augmentation family of the suite. */
export const AUGMENT_FAMILY = bindFamily(AUGMENT, checkAugment);
