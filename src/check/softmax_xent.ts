/**
 * Softmax cross-entropy against its float64 reference: per-sample losses, the input gradient,
 * the batch-mean loss written only at the step's loss-log slot, and the standalone softmax.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, runDispatches } from "../gpu/program.ts";
import { StepParamsBuffer } from "../gpu/step_params.ts";
import { download, Tensor, upload } from "../gpu/tensor.ts";
import {
  type CrossEntropyArgs,
  softmaxCrossEntropy,
  softmaxCrossEntropyRef,
  softmaxForward,
} from "../ops/softmax_xent.ts";
import type { Rng } from "../util/rng.ts";
import { type CaseRun, Checks, defineFamily, randomArray, readBuffer } from "./family.ts";

/** B rows of N logits. */
export interface SoftmaxCase {
  /** Batch rows. */
  B: number;
  /** Logits (classes) per row. */
  N: number;
  /** Part of the quick tier (the in-browser self-test); every case runs in the Deno tests. */
  quick?: boolean;
}

export const SOFTMAX_CASES: readonly SoftmaxCase[] = [
  { B: 7, N: 3, quick: true },
  { B: 64, N: 10, quick: true },
  { B: 5, N: 13, quick: true },
  { B: 1, N: 1, quick: true },
  { B: 300, N: 13 },
  { B: 5, N: 4 },
];

/** The dispatches a softmax case validated (the loss at step slot 0). */
export interface SoftmaxKernels {
  /** Fused softmax cross-entropy: dZ, per-sample losses and the batch mean loss. */
  crossEntropy: Dispatch;
  /** Softmax probabilities alone (prediction). */
  softmax: Dispatch;
}

/** Loss-log slots written by the check; the loss goes to slot STEP only. */
const SLOTS = 4, STEP = 2;

/**
 * A cross-entropy case's inputs drawn from `r` (logits in [-8, 8), then labels) and uploaded, with
 * the dZ and loss tensors, a loss log of `logBytes` bytes, and `slots` step-parameter slots
 * (slot i names step i).
 */
export function crossEntropyInputs(
  ctx: GpuContext,
  B: number,
  N: number,
  r: Rng,
  slots: number,
  logBytes: number,
): { z: Float64Array; labels: number[]; a: CrossEntropyArgs } {
  const z = randomArray(r, B * N, -8, 8);
  const labels = Array.from({ length: B }, () => r.int(N));
  const tz = Tensor.create(ctx, B, N, "logits"), tl = Tensor.create(ctx, 1, B, "labels");
  const tdz = Tensor.create(ctx, B, N, "dz"), tloss = Tensor.create(ctx, 1, B, "losses");
  upload(ctx, tz, z);
  upload(ctx, tl, labels);
  const lossLog = ctx.device.createBuffer({
    size: logBytes,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
  });
  const params = new StepParamsBuffer(ctx, slots);
  params.write(0, Array.from({ length: slots }, (_, step) => ({ step, batchStart: 0 })));
  return { z, labels, a: { logits: tz, labels: tl, dz: tdz, losses: tloss, lossLog, params } };
}

/** Runs the softmax kernels of a case and compares them with the float64 reference. */
export async function checkSoftmax(
  ctx: GpuContext,
  { B, N }: SoftmaxCase,
  r: Rng,
): Promise<CaseRun<SoftmaxKernels>> {
  const { z, labels, a } = crossEntropyInputs(ctx, B, N, r, SLOTS, 16 * SLOTS);
  const tp = Tensor.create(ctx, B, N, "probs");
  const kernels: SoftmaxKernels = {
    crossEntropy: await softmaxCrossEntropy(ctx, a),
    softmax: await softmaxForward(ctx, { logits: a.logits, probs: tp }),
  };
  await runDispatches(ctx, [kernels.crossEntropy], a.params.offset(STEP));
  await runDispatches(ctx, [kernels.softmax]);
  const ref = softmaxCrossEntropyRef(z, labels, B, N);
  const ck = new Checks("softmax-xent", `B=${B} N=${N}`);
  ck.close("losses", await download(ctx, a.losses), ref.losses, 1e-5);
  ck.close("dZ", await download(ctx, a.dz), ref.dz, 1e-5, [B, N]);
  ck.close("softmax", await download(ctx, tp), ref.probs, 1e-5, [B, N]);
  const logged = new Float32Array(await readBuffer(ctx, a.lossLog, 4 * SLOTS));
  const want = Array.from({ length: SLOTS }, (_, i) => (i === STEP ? ref.mean : 0));
  ck.close(`mean loss in step slot ${STEP} only`, logged, want, 1e-5);
  return ck.done(kernels);
}

/** The softmax cross-entropy family of the suite. */
export const SOFTMAX_FAMILY = defineFamily(
  "softmax-xent",
  "softmax cross-entropy (losses, mean loss at the step slot, dZ) and softmax match the " +
    "float64 reference",
  SOFTMAX_CASES,
  (c) => `B=${c.B} N=${c.N}`,
  checkSoftmax,
);
