/**
 * The dense input gradient un-pooled through a 2x2 max-pool's codes (a dense layer over a pooled
 * conv map writes the gradient before the pool): against the float64 references (dense dX, then
 * the max-pool's gather backward), and bit for bit against the two kernels it replaces (dense dX,
 * then `maxPoolBackward`), alone and fused with the weight gradient, for every tile kind.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, runDispatches } from "../gpu/program.ts";
import { download, pad4, Tensor, upload } from "../gpu/tensor.ts";
import {
  DENSE_TILES,
  DENSE_WORKGROUP_TILE,
  denseBackward,
  denseBackwardInput,
  denseBackwardRef,
  denseTileCandidates,
  denseTileName,
  type DenseUnpool,
  denseWeightTileCandidates,
} from "../ops/dense.ts";
import { maxPool2BackwardRef, maxPoolBackward } from "../ops/maxpool.ts";
import type { Rng } from "../util/rng.ts";
import { type CaseRun, Checks, randomArray } from "./family.ts";

/** dZ (M, N), and the pooled map (height, width, channels) the layer's K inputs flatten. */
export interface DenseUnpoolCase {
  /** Rows of dZ (the batch). */
  M: number;
  /** Output features of the layer. */
  N: number;
  /** The pooled map: half the pre-pool rows and columns; channels stored padded to 4. */
  pooled: { height: number; width: number; channels: number };
  /** Part of the quick tier (the in-browser self-test); every case runs in the Deno tests. */
  quick?: boolean;
  /** Every tile candidate (else the default and the workgroup-tiled one). */
  allTiles?: boolean;
}

/** Odd sizes (padded channels, a one-column map) and LeNet-5's conv2 -> fc1. */
export const DENSE_UNPOOL_CASES: readonly DenseUnpoolCase[] = [
  { M: 5, N: 7, pooled: { height: 3, width: 1, channels: 5 }, quick: true },
  { M: 9, N: 13, pooled: { height: 2, width: 3, channels: 6 }, allTiles: true },
  { M: 64, N: 120, pooled: { height: 5, width: 5, channels: 16 } },
];

/** A case's name in the suite. */
export const describeUnpool = (c: DenseUnpoolCase): string =>
  `un-pooled dX, M=${c.M} N=${c.N} pooled ${c.pooled.height}x${c.pooled.width}x` +
  `${c.pooled.channels}${c.allTiles ? " (all tiles)" : ""}`;

/** The dispatches an un-pool case validated. */
export interface DenseUnpoolKernels {
  /** The un-pooled input gradient alone (default tile). */
  backwardInput: Dispatch;
  /** With the weight gradient in one dispatch (default tiles). */
  backward: Dispatch;
}

/** Runs the un-pooling kernels of a case and compares them with the references. */
export async function checkDenseUnpool(
  ctx: GpuContext,
  c: DenseUnpoolCase,
  r: Rng,
): Promise<CaseRun<DenseUnpoolKernels>> {
  const { M, N } = c, { height, width } = c.pooled, CP = pad4(c.pooled.channels);
  const K = height * width * CP, H = 2 * height, W = 2 * width;
  const ck = new Checks("dense", describeUnpool(c).replace("un-pooled dX, ", ""));
  const x = randomArray(r, M * K), w = randomArray(r, N * K), dz = randomArray(r, M * N);
  // codes 0..3 name the window's maximum, 4 a window the fused ReLU zeroed
  const code = Float64Array.from({ length: M * K }, () => r.int(5));
  const tensor = (rows: number, cols: number, label: string, v?: ArrayLike<number>) => {
    const t = Tensor.create(ctx, rows, cols, label);
    if (v) upload(ctx, t, v);
    return t;
  };
  const tx = tensor(M, K, "x", x), tw = tensor(N, K, "w", w), tdz = tensor(M, N, "dz", dz);
  const tcode = tensor(M, K, "pool codes", code);
  const dxPooled = tensor(M, K, "dX"), pre = tensor(M, 4 * K, "pre-pool dX");
  const dw = tensor(N, K, "dW"), db = tensor(1, N, "db");
  const unpool: DenseUnpool = { code: tcode, height, width, stored: CP };
  // every position is written: a stale value would show
  const stale = new Float64Array(M * 4 * K).fill(7);
  const run = async (ds: Dispatch[]) => {
    upload(ctx, pre, stale);
    await runDispatches(ctx, ds);
    return await download(ctx, pre);
  };

  const ref = denseBackwardRef(x, w, dz, M, K, N, false);
  const preRef = maxPool2BackwardRef(ref.dx, code, M, H, W, CP);
  const shape = [M, H, W, CP];
  // the two kernels the un-pool replaces: their bits are the ones to give
  const oldPath = [
    await denseBackwardInput(ctx, { dz: tdz, w: tw, dx: dxPooled }),
    await maxPoolBackward(ctx, {
      shape: { batch: M, height: H, width: W, stored: CP },
      dy: dxPooled,
      code: tcode,
      dx: pre,
    }),
  ];
  const want = await run(oldPath);
  ck.close("dX then max-pool backward", want, preRef, 1e-5, shape);

  const kernels: Partial<DenseUnpoolKernels> = {};
  const tiles = c.allTiles
    ? denseTileCandidates
    : [DENSE_TILES.backwardInput, DENSE_WORKGROUP_TILE];
  for (const [i, tile] of tiles.entries()) {
    const name = denseTileName(tile);
    const alone = await denseBackwardInput(ctx, { dz: tdz, w: tw, dx: pre, unpool, tile });
    kernels.backwardInput ??= alone;
    const got = await run([alone]);
    ck.close(`un-pooled dX, ${name}`, got, preRef, 1e-5, shape);
    ck.bits(`un-pooled dX bits, ${name}`, got, want);
    const weightTile = i === 0
      ? DENSE_TILES.backwardWeight
      : denseWeightTileCandidates[i % denseWeightTileCandidates.length];
    const fused = await denseBackward(ctx, {
      dz: tdz,
      x: tx,
      w: tw,
      dw,
      db,
      dx: pre,
      reluMask: false,
      unpool,
      inputTile: tile,
      weightTile,
    });
    kernels.backward ??= fused;
    const wname = `weight ${denseTileName(weightTile)}`;
    const gotFused = await run([fused]);
    ck.close(`fused backward un-pooled dX, ${name}, ${wname}`, gotFused, preRef, 1e-5, shape);
    ck.bits(`fused backward un-pooled dX bits, ${name}, ${wname}`, gotFused, want);
    ck.close(`fused backward dW, ${name}, ${wname}`, await download(ctx, dw), ref.dw, 1e-5, [N, K]);
    ck.close(`fused backward db, ${name}, ${wname}`, await download(ctx, db), ref.db, 1e-5);
  }
  return ck.done(kernels as DenseUnpoolKernels);
}
