/**
 * Standalone 2x2 max-pool against its float64 reference: the forward output and its argmax
 * codes, and the gather backward, exactly (inputs that float32 represents exactly).
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, runDispatches } from "../gpu/program.ts";
import { download, pad4, Tensor, upload } from "../gpu/tensor.ts";
import { packNHWC, unpackNHWC } from "../ops/conv2d.ts";
import {
  maxPool2BackwardRef,
  maxPool2Ref,
  maxPoolBackward,
  maxPoolForward,
} from "../ops/maxpool.ts";
import type { Rng } from "../util/rng.ts";
import { bindFamily, type CaseRun, Checks, f32, type FamilySpec, randomArray } from "./family.ts";

/** Input (B, H, W, C). */
export interface PoolCase {
  /** Batch size. */
  B: number;
  /** Odd heights and widths drop the last row or column. */
  H: number;
  /** Input width, in pixels (odd drops the last column). */
  W: number;
  /** Channels, stored padded to a multiple of 4. */
  C: number;
  /** Part of the quick tier (the in-browser self-test); every case runs in the Deno tests. */
  quick?: boolean;
}

/** The maxpool family: what its checks establish and its cases. */
const POOL: FamilySpec<PoolCase> = {
  name: "maxpool",
  title: "standalone max-pool forward (with codes) and gather backward match the float64 reference",
  cases: [
    { B: 3, H: 7, W: 9, C: 5, quick: true },
    { B: 2, H: 11, W: 4, C: 16, quick: true },
    { B: 1, H: 2, W: 2, C: 1, quick: true },
    { B: 4, H: 28, W: 28, C: 6 },
  ],
  describe: (c) => `B=${c.B} ${c.H}x${c.W} C=${c.C}`,
};

/** The dispatches a pool case validated. */
export interface PoolKernels {
  /** Forward pass: 2x2 max (stride 2) and the argmax codes. */
  forward: Dispatch;
  /** Backward pass: the gradient routed to each window's argmax. */
  backward: Dispatch;
}

/** Runs the max-pool kernels of a case and compares them with the float64 reference. */
export async function checkMaxPool(
  ctx: GpuContext,
  { B, H, W, C }: PoolCase,
  r: Rng,
): Promise<CaseRun<PoolKernels>> {
  const CP = pad4(C), PH = Math.floor(H / 2), PW = Math.floor(W / 2);
  const x = f32(randomArray(r, B * H * W * C)), dy = f32(randomArray(r, B * PH * PW * C));
  const tx = Tensor.create(ctx, B, H * W * CP, "x"), ty = Tensor.create(ctx, B, PH * PW * CP, "y");
  const tc = Tensor.create(ctx, B, PH * PW * CP, "code");
  const tdy = Tensor.create(ctx, B, PH * PW * CP, "dy");
  const tdx = Tensor.create(ctx, B, H * W * CP, "dx");
  upload(ctx, tx, packNHWC(x, B, H, W, C, CP));
  upload(ctx, tdy, packNHWC(dy, B, PH, PW, C, CP));
  const shape = { batch: B, height: H, width: W, stored: CP };
  const kernels: PoolKernels = {
    forward: await maxPoolForward(ctx, { shape, x: tx, y: ty, code: tc }),
    backward: await maxPoolBackward(ctx, { shape, dy: tdy, code: tc, dx: tdx }),
  };
  await runDispatches(ctx, [kernels.forward, kernels.backward]);
  const ref = maxPool2Ref(x, B, H, W, C);
  const ck = new Checks("maxpool", `B=${B} ${H}x${W} C=${C}`);
  const read = async (t: Tensor, h: number, w: number) =>
    unpackNHWC(await download(ctx, t), B, h, w, C, CP);
  ck.close("forward", await read(ty, PH, PW), ref.y, 0, [B, PH, PW, C]);
  ck.close("codes", await read(tc, PH, PW), ref.code, 0, [B, PH, PW, C]);
  const dxRef = maxPool2BackwardRef(dy, ref.code, B, H, W, C);
  ck.close("backward", await read(tdx, H, W), dxRef, 0, [B, H, W, C]);
  return ck.done(kernels);
}

/** The max-pool family of the suite. */
export const MAXPOOL_FAMILY = bindFamily(POOL, checkMaxPool);
