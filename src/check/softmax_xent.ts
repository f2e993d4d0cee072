/**
 * Softmax cross-entropy against its float64 reference: per-sample losses, the input gradient,
 * the batch-mean loss written only at the step's loss-log slot, the same with the logits layer
 * fused in (also bit for bit against the dense forward and loss kernels), and the softmax.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, runDispatches } from "../gpu/program.ts";
import { StepParamsBuffer } from "../gpu/step_params.ts";
import { download, Tensor, upload } from "../gpu/tensor.ts";
import { denseForward, denseForwardRef } from "../ops/dense.ts";
import {
  type CrossEntropyArgs,
  denseSoftmaxCrossEntropy,
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
  /** Also the logits layer fused in, with K input features (checked against the two kernels). */
  K?: number;
  /** Part of the quick tier (the in-browser self-test); every case runs in the Deno tests. */
  quick?: boolean;
}

export const SOFTMAX_CASES: readonly SoftmaxCase[] = [
  { B: 7, N: 3, K: 5, quick: true },
  { B: 64, N: 10, K: 84, quick: true },
  { B: 5, N: 13, K: 1, quick: true },
  { B: 1, N: 1, K: 2, quick: true },
  { B: 300, N: 13, K: 37 },
  { B: 5, N: 4 },
];

/** The dispatches a softmax case validated (the loss at step slot 0). */
export interface SoftmaxKernels {
  /** Fused softmax cross-entropy: dZ, per-sample losses and the batch mean loss. */
  crossEntropy: Dispatch;
  /** Softmax probabilities alone (prediction). */
  softmax: Dispatch;
  /** The logits layer and the loss in one dispatch (cases with K). */
  denseCrossEntropy?: Dispatch;
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
  { B, N, K }: SoftmaxCase,
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
  if (K !== undefined) kernels.denseCrossEntropy = await checkDenseSoftmax(ctx, ck, B, N, K, r);
  return ck.done(kernels);
}

/**
 * The logits layer fused into the loss: against the float64 references (dense forward, then
 * softmax cross-entropy), and bit for bit against the two kernels it replaces.
 */
async function checkDenseSoftmax(
  ctx: GpuContext,
  ck: Checks,
  B: number,
  N: number,
  K: number,
  r: Rng,
): Promise<Dispatch> {
  const x = randomArray(r, B * K, -2, 2), w = randomArray(r, N * K), b = randomArray(r, N);
  const tx = Tensor.create(ctx, B, K, "x"), tw = Tensor.create(ctx, N, K, "w");
  const tb = Tensor.create(ctx, 1, N, "b");
  for (const [t, v] of [[tx, x], [tw, w], [tb, b]] as const) upload(ctx, t, v);
  const zRef = denseForwardRef(x, w, b, B, K, N, false);
  const labels = Array.from({ length: B }, () => r.int(N));
  const ref = softmaxCrossEntropyRef(zRef, labels, B, N);
  // each run gets its own outputs: the inputs of crossEntropyInputs, minus its random logits
  const run = async (fused: boolean) => {
    const { a } = crossEntropyInputs(ctx, B, N, r, SLOTS, 16 * SLOTS);
    upload(ctx, a.labels, labels);
    const d = fused ? [await denseSoftmaxCrossEntropy(ctx, { ...a, x: tx, w: tw, b: tb })] : [
      await denseForward(ctx, { x: tx, w: tw, b: tb, y: a.logits, relu: false }),
      await softmaxCrossEntropy(ctx, a),
    ];
    upload(ctx, a.logits, new Float64Array(B * N).fill(7)); // a stale logit would show
    await runDispatches(ctx, d, a.params.offset(STEP));
    return {
      dispatch: d[0],
      logits: await download(ctx, a.logits),
      dz: await download(ctx, a.dz),
      losses: await download(ctx, a.losses),
      log: new Float32Array(await readBuffer(ctx, a.lossLog, 4 * SLOTS)),
    };
  };
  const apart = await run(false), fused = await run(true);
  ck.close(`dense+xent logits, K=${K}`, fused.logits, zRef, 1e-5, [B, N]);
  ck.close(`dense+xent losses, K=${K}`, fused.losses, ref.losses, 1e-5);
  ck.close(`dense+xent dZ, K=${K}`, fused.dz, ref.dz, 1e-5, [B, N]);
  const want = Array.from({ length: SLOTS }, (_, i) => (i === STEP ? ref.mean : 0));
  ck.close(`dense+xent mean loss in step slot ${STEP} only, K=${K}`, fused.log, want, 1e-5);
  for (const k of ["logits", "dz", "losses", "log"] as const) {
    ck.bits(`dense+xent ${k} bits (the two kernels'), K=${K}`, fused[k], apart[k]);
  }
  return fused.dispatch;
}

/** The softmax cross-entropy family of the suite. */
export const SOFTMAX_FAMILY = defineFamily(
  "softmax-xent",
  "softmax cross-entropy (losses, mean loss at the step slot, dZ; also with the logits layer " +
    "fused in, bit for bit as the two kernels) and softmax match the float64 reference",
  SOFTMAX_CASES,
  (c) => `B=${c.B} N=${c.N}`,
  checkSoftmax,
);
