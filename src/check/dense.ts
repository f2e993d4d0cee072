/**
 * Dense kernels against their float64 references: forward with and without ReLU, input gradient
 * with and without the ReLU mask (and un-pooled: `dense_unpool.ts`), weight and bias gradients
 * (also into a shared arena), both products in one dispatch with the separate kernels' bits,
 * for the default register blocks and the workgroup-memory tiles; one case runs every tile
 * candidate and requires the same bits as the default (tuning cannot change a run).
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, runDispatches } from "../gpu/program.ts";
import { download, Tensor, upload } from "../gpu/tensor.ts";
import {
  DENSE_WORKGROUP_TILE,
  denseBackward,
  denseBackwardInput,
  denseBackwardRef,
  denseBackwardWeight,
  denseForward,
  denseForwardRef,
  denseTileCandidates,
  denseTileName,
  denseWeightTileCandidates,
} from "../ops/dense.ts";
import type { Rng } from "../util/rng.ts";
import {
  checkDenseUnpool,
  DENSE_UNPOOL_CASES,
  type DenseUnpoolCase,
  describeUnpool,
} from "./dense_unpool.ts";
import { arenaPair, type CaseRun, Checks, defineFamily, randomArray } from "./family.ts";

/** X (M, K), W (N, K), Y (M, N). */
export interface DenseCase {
  /** Rows of X and Y (the batch). */
  M: number;
  /** Input features: columns of X and W. */
  K: number;
  /** Output features: rows of W, columns of Y. */
  N: number;
  /** Part of the quick tier (the in-browser self-test); every case runs in the Deno tests. */
  quick?: boolean;
  /** Every tile candidate, each against the reference and bit-identical to the default. */
  allTiles?: boolean;
}

/** Odd sizes that do not divide the blocks or workgroup tiles, 1s, and LeNet-5's layers. */
export const DENSE_CASES: readonly DenseCase[] = [
  { M: 7, K: 13, N: 5, quick: true },
  { M: 33, K: 67, N: 29, quick: true },
  { M: 8, K: 400, N: 120, quick: true },
  { M: 1, K: 1, N: 1, quick: true },
  { M: 64, K: 400, N: 120 },
  { M: 64, K: 120, N: 84 },
  { M: 64, K: 84, N: 10 },
  { M: 130, K: 9, N: 70 },
  { M: 37, K: 100, N: 45, allTiles: true },
];

/** Host values and their GPU copies: X, W, b and an output gradient dZ (M, N). */
export interface DenseInputs {
  /** Input X (M, K), row-major. */
  x: Float64Array;
  /** Weights W (N, K), row-major. */
  w: Float64Array;
  /** Bias b (N). */
  b: Float64Array;
  /** Output gradient dZ (M, N), row-major. */
  dz: Float64Array;
  /** GPU copy of X (M, K). */
  tx: Tensor;
  /** GPU copy of W (N, K). */
  tw: Tensor;
  /** GPU copy of b (1, N). */
  tb: Tensor;
  /** GPU copy of dZ (M, N). */
  tdz: Tensor;
}

/** Random inputs of a dense layer, uploaded. */
export function denseInputs(ctx: GpuContext, c: DenseCase, r: Rng): DenseInputs {
  const { M, K, N } = c;
  const x = randomArray(r, M * K), w = randomArray(r, N * K), b = randomArray(r, N);
  const dz = randomArray(r, M * N);
  const tx = Tensor.create(ctx, M, K, "x"), tw = Tensor.create(ctx, N, K, "w");
  const tb = Tensor.create(ctx, 1, N, "b"), tdz = Tensor.create(ctx, M, N, "dz");
  for (const [t, v] of [[tx, x], [tw, w], [tb, b], [tdz, dz]] as const) upload(ctx, t, v);
  return { x, w, b, dz, tx, tw, tb, tdz };
}

/** The default-tile dispatches a dense case validated. */
export interface DenseKernels {
  /** Y = X W^T + b. */
  forward: Dispatch;
  /** dX = dZ W. */
  backwardInput: Dispatch;
  /** dW = dZ^T X and db = column sums of dZ. */
  backwardWeight: Dispatch;
  /** dX, dW and db in one dispatch. */
  backward: Dispatch;
}

/** Runs every dense kernel of a case and compares it with the float64 reference. */
export async function checkDense(
  ctx: GpuContext,
  c: DenseCase,
  r: Rng,
): Promise<CaseRun<DenseKernels>> {
  const { M, K, N } = c;
  const { x, w, b, dz, tx, tw, tb, tdz } = denseInputs(ctx, c, r);
  const ck = new Checks("dense", `M=${M} K=${K} N=${N}`);
  const y = Tensor.create(ctx, M, N, "y"), dx = Tensor.create(ctx, M, K, "dx");
  const dw = Tensor.create(ctx, N, K, "dw"), db = Tensor.create(ctx, 1, N, "db");
  const run = async (ds: Dispatch[], out: Tensor) => {
    await runDispatches(ctx, ds);
    return await download(ctx, out);
  };
  const yRef = [false, true].map((relu) => denseForwardRef(x, w, b, M, K, N, relu));
  // the size of the terms each output sums: a tiny output is judged against them, not itself
  const abs = (a: Float64Array) => a.map(Math.abs);
  const yScale = denseForwardRef(abs(x), abs(w), abs(b), M, K, N, false).reduce(
    (m, v) => Math.max(m, v),
    0,
  );
  const gRef = [false, true].map((mask) => denseBackwardRef(x, w, dz, M, K, N, mask));

  // the default register blocks; their outputs are the bits every other tile must give
  const fwd: Dispatch[] = [], bin: Dispatch[] = [];
  const yDefault: Float32Array[] = [], dxDefault: Float32Array[] = [];
  for (const i of [0, 1]) {
    fwd.push(await denseForward(ctx, { x: tx, w: tw, b: tb, y, relu: i === 1 }));
    yDefault.push(await run([fwd[i]], y));
    ck.close(i ? "forward+relu" : "forward", yDefault[i], yRef[i], 1e-5, [M, N], yScale);
    const reluMaskFrom = i ? tx : undefined;
    bin.push(await denseBackwardInput(ctx, { dz: tdz, w: tw, dx, reluMaskFrom }));
    dxDefault.push(await run([bin[i]], dx));
    ck.close(i ? "dX relu-masked" : "dX", dxDefault[i], gRef[i].dx, 1e-5, [M, K]);
  }
  const backwardWeight = await denseBackwardWeight(ctx, { dz: tdz, x: tx, dw, db });
  const dwDefault = await run([backwardWeight], dw);
  const dbDefault = await download(ctx, db);
  ck.close("dW", dwDefault, gRef[0].dw, 1e-5, [N, K]);
  ck.close("db", dbDefault, gRef[0].db, 1e-5);
  const [adw, adb] = arenaPair(ctx, [N, K], [1, N]);
  await runDispatches(ctx, [await denseBackwardWeight(ctx, { dz: tdz, x: tx, dw: adw, db: adb })]);
  ck.close("dW in a shared arena", await download(ctx, adw), gRef[0].dw, 1e-5, [N, K]);
  ck.close("db in a shared arena", await download(ctx, adb), gRef[0].db, 1e-5);

  // both gradients in one dispatch (into the arena, as the model runs it): right, and the
  // separate kernels' bits
  const fused: Dispatch[] = [];
  for (const i of [0, 1]) {
    const tag = `fused backward${i ? " relu-masked" : ""}`;
    const args = { dz: tdz, x: tx, w: tw, dw: adw, db: adb, dx, reluMask: i === 1 };
    fused.push(await denseBackward(ctx, args));
    const dxf = await run([fused[i]], dx);
    ck.close(`${tag} dX`, dxf, gRef[i].dx, 1e-5, [M, K]);
    ck.bits(`${tag} dX bits`, dxf, dxDefault[i]);
    ck.bits(`${tag} dW bits`, await download(ctx, adw), dwDefault);
    ck.bits(`${tag} db bits`, await download(ctx, adb), dbDefault);
  }
  const kernels: DenseKernels = {
    forward: fwd[0],
    backwardInput: bin[0],
    backwardWeight,
    backward: fused[0],
  };

  // other tiles: right, and (for the tuner's candidates) the default's bits
  let fusedRuns = 0;
  for (const tile of c.allTiles ? denseTileCandidates : [DENSE_WORKGROUP_TILE]) {
    const name = denseTileName(tile);
    let dxTile: Float32Array = new Float32Array();
    for (const i of [0, 1]) {
      const relu = i === 1, reluMaskFrom = relu ? tx : undefined;
      const yt = await run([await denseForward(ctx, { x: tx, w: tw, b: tb, y, relu, tile })], y);
      ck.close(`forward${relu ? "+relu" : ""}, ${name}`, yt, yRef[i], 1e-5, [M, N], yScale);
      const args = { dz: tdz, w: tw, dx, reluMaskFrom, tile };
      const dxt = await run([await denseBackwardInput(ctx, args)], dx);
      if (relu) dxTile = dxt;
      ck.close(`dX${relu ? " relu-masked" : ""}, ${name}`, dxt, gRef[i].dx, 1e-5, [M, K]);
      if (c.allTiles) {
        ck.bits(`forward${relu ? "+relu" : ""} bits, ${name}`, yt, yDefault[i]);
        ck.bits(`dX${relu ? " relu-masked" : ""} bits, ${name}`, dxt, dxDefault[i]);
      }
    }
    if (c.allTiles && denseWeightTileCandidates.includes(tile)) {
      const dwt = await run([await denseBackwardWeight(ctx, { dz: tdz, x: tx, dw, db, tile })], dw);
      ck.close(`dW, ${name}`, dwt, gRef[0].dw, 1e-5, [N, K]);
      ck.bits(`dW bits, ${name}`, dwt, dwDefault);
    }
    // the fused kernel with this input tile and a weight tile of its own (every candidate of
    // both kinds over the loop): the bits of the separate kernels
    const weightTile = denseWeightTileCandidates[++fusedRuns % denseWeightTileCandidates.length];
    const args = { dz: tdz, x: tx, w: tw, dw, db, dx, reluMask: true, inputTile: tile, weightTile };
    const dxf = await run([await denseBackward(ctx, args)], dx);
    const wname = `weight ${denseTileName(weightTile)}`;
    ck.close(`fused backward relu-masked dX, ${name}, ${wname}`, dxf, gRef[1].dx, 1e-5, [M, K]);
    ck.bits(`fused backward relu-masked dX bits, ${name}, ${wname}`, dxf, dxTile);
    const dwf = await download(ctx, dw);
    ck.close(`fused backward dW, ${name}, ${wname}`, dwf, gRef[0].dw, 1e-5, [N, K]);
    if (c.allTiles) ck.bits(`fused backward dW bits, ${name}, ${wname}`, dwf, dwDefault);
  }
  return ck.done(kernels);
}

/** The dense family of the suite. */
export const DENSE_FAMILY = defineFamily<DenseCase | DenseUnpoolCase>(
  "dense",
  "dense forward (with and without ReLU) and backward (dX with and without mask or un-pooled, " +
    "dW, db, separate and in one dispatch) match the float64 reference for every kernel variant",
  [...DENSE_CASES, ...DENSE_UNPOOL_CASES],
  (c) =>
    "pooled" in c
      ? describeUnpool(c)
      : `M=${c.M} K=${c.K} N=${c.N}${c.allTiles ? " (all tiles)" : ""}`,
  (ctx, c, r) => "pooled" in c ? checkDenseUnpool(ctx, c, r) : checkDense(ctx, c, r),
);
