/**
 * Dropout forward and backward (with and without the producer's ReLU mask) against the float64
 * references, on padded tensors of odd widths, at a random step: the mask must be the one keyed
 * by (seed, step, element), the kept values scaled by 1 / (1 - p), and padding must stay 0.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, runDispatches } from "../gpu/program.ts";
import { StepParamsBuffer } from "../gpu/step_params.ts";
import { downloadPadded, Tensor, uploadPadded } from "../gpu/tensor.ts";
import { dropoutBackward, dropoutBackwardRef, dropoutForward, dropoutRef } from "../ops/dropout.ts";
import type { Rng } from "../util/rng.ts";
import { type CaseRun, Checks, defineFamily } from "./family.ts";

/** A (rows, cols) tensor and a drop probability. */
export interface DropoutCase {
  rows: number;
  /** Any count: a row's last texel may be partly padding. */
  cols: number;
  /** Drop probability. */
  p: number;
  /** The backward pass also applies the producer's ReLU mask (x > 0). */
  maskInput: boolean;
  quick?: boolean;
}

export const DROPOUT_CASES: readonly DropoutCase[] = [
  { rows: 3, cols: 7, p: 0.5, maskInput: false, quick: true },
  { rows: 64, cols: 256, p: 0.5, maskInput: true, quick: true },
  { rows: 5, cols: 13, p: 0.2, maskInput: true },
  { rows: 1, cols: 1, p: 0.9, maskInput: false },
  { rows: 9, cols: 30, p: 0, maskInput: true },
];

/** The dispatches a dropout case validated. */
export interface DropoutKernels {
  forward: Dispatch;
  backward: Dispatch;
}

/** Random values with zero padding, in stored order (rows, pitch). */
function paddedRandom(r: Rng, t: Tensor): Float32Array<ArrayBuffer> {
  const a = new Float32Array(t.rows * t.pitch);
  for (let i = 0; i < t.rows; i++) {
    for (let c = 0; c < t.cols; c++) a[i * t.pitch + c] = r.uniform(-1, 1);
  }
  return a;
}

/** Runs the dropout kernels of a case and compares them with the float64 references. */
export async function checkDropout(
  ctx: GpuContext,
  { rows, cols, p, maskInput }: DropoutCase,
  r: Rng,
): Promise<CaseRun<DropoutKernels>> {
  const tx = Tensor.create(ctx, rows, cols, "x"), ty = Tensor.create(ctx, rows, cols, "y");
  const tdy = Tensor.create(ctx, rows, cols, "dy"), tdx = Tensor.create(ctx, rows, cols, "dx");
  const x = paddedRandom(r, tx), dy = paddedRandom(r, tdy);
  uploadPadded(ctx, tx, x);
  uploadPadded(ctx, tdy, dy);
  const seed = r.int(2 ** 32), step = r.int(100000);
  const params = new StepParamsBuffer(ctx, 2);
  params.write(0, [{ step: 0, batchStart: 0 }, { step: 1, batchStart: 0, globalStep: step }]);
  const args = { p, seed, params };
  const kernels: DropoutKernels = {
    forward: await dropoutForward(ctx, { ...args, x: tx, y: ty }),
    backward: await dropoutBackward(ctx, {
      ...args,
      dy: tdy,
      dx: tdx,
      reluMaskFrom: maskInput ? tx : undefined,
    }),
  };
  await runDispatches(ctx, [kernels.forward, kernels.backward], params.offset(1));
  const ck = new Checks("dropout", `${rows}x${cols} p=${p}${maskInput ? " relu-masked" : ""}`);
  const shape = [rows, tx.pitch];
  // float32 products by float32(1 / (1 - p)) against float64: a few ulps
  ck.close("forward", await downloadPadded(ctx, ty), dropoutRef(x, p, seed, step), 1e-6, shape);
  const want = dropoutBackwardRef(dy, p, seed, step, maskInput ? x : undefined);
  ck.close("backward", await downloadPadded(ctx, tdx), want, 1e-6, shape);
  params.destroy();
  for (const t of [tx, ty, tdy, tdx]) t.store.destroy();
  return ck.done(kernels);
}

/** The dropout family of the suite. */
export const DROPOUT_FAMILY = defineFamily(
  "dropout",
  "dropout forward and backward (mask keyed by seed, step and element) match the float64 " +
    "reference",
  DROPOUT_CASES,
  (c) => `${c.rows}x${c.cols} p=${c.p}${c.maskInput ? " relu-masked" : ""}`,
  checkDropout,
);
