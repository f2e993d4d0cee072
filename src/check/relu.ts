/**
 * Standalone ReLU forward and backward against the float64 reference, exactly (inputs that
 * float32 represents exactly).
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, runDispatches } from "../gpu/program.ts";
import { download, Tensor, upload } from "../gpu/tensor.ts";
import { reluBackward, reluBackwardRef, reluForward, reluRef } from "../ops/relu.ts";
import type { Rng } from "../util/rng.ts";
import { bindFamily, type CaseRun, Checks, f32, type FamilySpec, randomArray } from "./family.ts";

/** A (rows, cols) tensor; ReLU is elementwise, so only the count and the row padding matter. */
export interface ReluCase {
  /** Rows of the tensor. */
  rows: number;
  /** Any count: a row's last texel may be partly padding. */
  cols: number;
  /** Part of the quick tier (the in-browser self-test); every case runs in the Deno tests. */
  quick?: boolean;
}

/** The relu family: what its checks establish and its cases. */
const RELU: FamilySpec<ReluCase> = {
  name: "relu",
  title: "standalone ReLU forward and backward match the float64 reference",
  cases: [
    { rows: 3, cols: 7, quick: true },
    { rows: 64, cols: 120, quick: true },
    { rows: 1, cols: 1, quick: true },
  ],
  describe: (c) => `${c.rows}x${c.cols}`,
};

/** The dispatches a ReLU case validated. */
export interface ReluKernels {
  /** Forward: max(x, 0). */
  forward: Dispatch;
  /** Backward: the gradient where the input was positive, else 0. */
  backward: Dispatch;
}

/** Runs the ReLU kernels of a case and compares them with the float64 reference. */
export async function checkRelu(
  ctx: GpuContext,
  { rows, cols }: ReluCase,
  r: Rng,
): Promise<CaseRun<ReluKernels>> {
  const x = f32(randomArray(r, rows * cols)), dy = f32(randomArray(r, rows * cols));
  const tx = Tensor.create(ctx, rows, cols, "x"), ty = Tensor.create(ctx, rows, cols, "y");
  const tdy = Tensor.create(ctx, rows, cols, "dy"), tdx = Tensor.create(ctx, rows, cols, "dx");
  upload(ctx, tx, x);
  upload(ctx, tdy, dy);
  const kernels: ReluKernels = {
    forward: await reluForward(ctx, { x: tx, y: ty }),
    backward: await reluBackward(ctx, { dy: tdy, y: ty, dx: tdx }),
  };
  await runDispatches(ctx, [kernels.forward, kernels.backward]);
  const ck = new Checks("relu", `${rows}x${cols}`);
  const y = reluRef(x);
  ck.close("forward", await download(ctx, ty), y, 0, [rows, cols]);
  ck.close("backward", await download(ctx, tdx), reluBackwardRef(dy, y), 0, [rows, cols]);
  return ck.done(kernels);
}

/** The ReLU family of the suite. */
export const RELU_FAMILY = bindFamily(RELU, checkRelu);
