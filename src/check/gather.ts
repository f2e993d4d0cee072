/**
 * Batch gathering against its float64 reference: images picked by the epoch permutation from
 * the step's batch start, scaled to [0, 1], with and without Gaussian pixel noise, and labels.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, runDispatches } from "../gpu/program.ts";
import { StepParamsBuffer } from "../gpu/step_params.ts";
import { download, Tensor } from "../gpu/tensor.ts";
import { gatherBatch, gatherBatchRef, uploadDataset, uploadUints } from "../ops/gather.ts";
import type { Rng } from "../util/rng.ts";
import { bindFamily, type CaseRun, Checks, type FamilySpec } from "./family.ts";

/** A batch of B 28x28 images gathered from a data set. */
export interface GatherCase {
  /** Images in the data set. */
  count: number;
  B: number;
  /** The batch's first position in the epoch permutation. */
  start: number;
  /** Standard deviation of the pixel noise on the 0..255 scale (0: none). */
  sigma: number;
  quick?: boolean;
}

/** The gather family: what its checks establish and its cases. */
const GATHER: FamilySpec<GatherCase> = {
  name: "gather",
  title:
    "batch gather (by permutation, scaled to [0,1], with and without noise) matches the float64 " +
    "reference",
  cases: [
    { count: 50, B: 8, start: 0, sigma: 0, quick: true },
    { count: 50, B: 13, start: 20, sigma: 0, quick: true },
    { count: 50, B: 7, start: 43, sigma: 32, quick: true },
    { count: 50, B: 16, start: 5, sigma: 128 },
  ],
  describe: (c) => `B=${c.B} of ${c.count} from ${c.start}, sigma ${c.sigma}`,
};

const PIXELS = 28 * 28;

/** Runs the gather kernel of a case and compares it with the float64 reference. */
export async function checkGather(
  ctx: GpuContext,
  { count, B, start, sigma }: GatherCase,
  r: Rng,
): Promise<CaseRun<{ gather: Dispatch }>> {
  const images = new Uint8Array(count * PIXELS).map(() => r.int(256));
  const labels = Array.from({ length: count }, () => r.int(10));
  const data = uploadDataset(ctx, images, labels, count, PIXELS, "check images");
  const perm = r.permutation(count);
  const noise = sigma > 0 ? { sigma, seed: r.int(1 << 30) } : undefined;
  const x = Tensor.create(ctx, B, PIXELS, "x"), tl = Tensor.create(ctx, 1, B, "labels");
  const params = new StepParamsBuffer(ctx, 2);
  params.write(0, [{ step: 0, batchStart: 0 }, { step: 1, batchStart: start }]);
  const perms = uploadUints(ctx, perm, "perm");
  const gather = await gatherBatch(ctx, { data, perm: perms, x, labels: tl, params, noise });
  await runDispatches(ctx, [gather], params.offset(1));
  const ck = new Checks("gather", `B=${B} start=${start} sigma=${sigma}`);
  // float32 Box-Muller vs float64: differences of ~1e-4 of the 0..255 scale
  const want = gatherBatchRef(images, PIXELS, perm, start, B, noise);
  ck.close("images", await download(ctx, x), want, sigma > 0 ? 2e-4 : 1e-7, [B, PIXELS]);
  const wantLabels = Array.from({ length: B }, (_, i) => labels[perm[start + i]]);
  ck.close("labels", await download(ctx, tl), wantLabels, 0);
  return ck.done({ gather });
}

/** The batch-gather family of the suite. */
export const GATHER_FAMILY = bindFamily(GATHER, checkGather);
