/**
 * Dense layer kernels (`shaders/dense.wgsl`) and their float64 references.
 * Shapes: X (M, K), W (N, K) as PyTorch stores `Linear.weight`, b (N), Y (M, N).
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, makeDispatch } from "../gpu/program.ts";
import type { Tensor } from "../gpu/tensor.ts";
import type { ConstValue } from "../gpu/wgsl.ts";
import { expectShape } from "./common.ts";
import SOURCE from "../../shaders/dense.wgsl" with { type: "text" };

/** Register block of one invocation: `rm` rows by `rn4` texels (4 columns each). */
export interface DenseTile {
  /** Rows per invocation: rows m of Y (forward) or dX, rows n of dW (a multiple of 4). */
  rm: number;
  /** Texels (4 columns each) per invocation: of Y (forward), dX, or of k in dW. */
  rn4: number;
  /**
   * "registers" (default): each invocation computes an rm x 4*rn4 block, no workgroup memory
   * (fast on CPU adapters). "workgroup": 16x16 invocations share 64x64 output tiles staged in
   * workgroup memory (for GPUs; forward and input gradient only; rm and rn4 are then ignored).
   */
  variant?: "registers" | "workgroup";
}

/** Default blocks; `bench/` measures others (see {@link denseTileCandidates}). */
export const DENSE_TILES = {
  forward: { rm: 4, rn4: 2 },
  backwardInput: { rm: 4, rn4: 2 },
  backwardWeight: { rm: 4, rn4: 2 },
} satisfies Record<string, DenseTile>;

/** The workgroup-tiled variant (what GPUs prefer; CPU adapters prefer register blocks). */
export const DENSE_WORKGROUP_TILE: DenseTile = { rm: 4, rn4: 1, variant: "workgroup" };

/** Blocks worth measuring on a new adapter. */
export const denseTileCandidates: readonly DenseTile[] = [
  DENSE_WORKGROUP_TILE,
  { rm: 4, rn4: 1 },
  { rm: 4, rn4: 2 },
  { rm: 8, rn4: 1 },
  { rm: 8, rn4: 2 },
  { rm: 4, rn4: 4 },
];

/** The candidates the weight gradient takes: register blocks with rm a multiple of 4. */
export const denseWeightTileCandidates: readonly DenseTile[] = denseTileCandidates.filter(
  (t) => t.rm % 4 === 0 && t.variant !== "workgroup",
);

/** A tile's name in check and bench output. */
export const denseTileName = (t: DenseTile): string =>
  t.variant === "workgroup" ? "workgroup-tiled" : `tile rm=${t.rm} rn4=${t.rn4}`;

const SHADER = { name: "dense.wgsl", source: SOURCE };

const blocks = (n: number, b: number) => Math.ceil(n / b);

/**
 * The dispatch size: a 16x16 workgroup per 64x64 output tile (workgroup variant), else one
 * invocation per rm x 4*rn4 register block.
 */
function gemmSize(
  t: DenseTile,
  rows: number,
  cols: number,
): { lanes: number } | { workgroups: readonly [number, number] } {
  return t.variant === "workgroup"
    ? { workgroups: [Math.ceil(cols / 64), Math.ceil(rows / 64)] }
    : { lanes: blocks(Math.ceil(cols / 4), t.rn4) * blocks(rows, t.rm) };
}

/** The entry point of a GEMM and its tile constants (none for the workgroup variant). */
function gemmKernel(
  entryPoint: string,
  t: DenseTile,
  prefix: "" | "I" = "",
): { entryPoint: string; tile: Record<string, number> } {
  return t.variant === "workgroup"
    ? { entryPoint: `${entryPoint}_tiled`, tile: {} }
    : { entryPoint, tile: { [`${prefix}RM`]: t.rm, [`${prefix}RN4`]: t.rn4 } };
}

/** Y = act(X W^T + b). */
export async function denseForward(
  ctx: GpuContext,
  a: { x: Tensor; w: Tensor; b: Tensor; y: Tensor; relu: boolean; tile?: DenseTile },
): Promise<Dispatch> {
  const M = a.x.rows, K = a.x.cols, N = a.w.rows;
  expectShape("denseForward", "weight", a.w, N, K);
  expectShape("denseForward", "bias", a.b, 1, N);
  expectShape("denseForward", "output", a.y, M, N);
  const t: DenseTile = a.tile ?? DENSE_TILES.forward;
  const { entryPoint, tile } = gemmKernel("dense_forward", t);
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint,
    constants: { M, N, K, RELU: a.relu, ...tile },
    reads: { x: a.x, w: a.w, bias: a.b },
    writes: { y: a.y },
    size: gemmSize(t, M, N),
  });
}

/**
 * The pooled map a dense layer's input was flattened from, when its input gradient is to be
 * un-pooled: the 2x2 max-pool (stride 2) of an even-sized map, with its argmax codes (0..3, or 4
 * for a window the fused ReLU zeroed). dX is then the gradient of the map before the pool
 * (M, 2 height, 2 width, stored), as `maxPoolBackward` would gather it from dZ W.
 */
export interface DenseUnpool {
  /** Pool codes (M, K), as the forward pass wrote them. */
  code: Tensor;
  /** Pooled map: rows. */
  height: number;
  /** Pooled map: columns. */
  width: number;
  /** Pooled map: stored channels per position (a multiple of 4). */
  stored: number;
}

/**
 * Checks an un-pool's shape against the layer (K = height * width * stored) and that no ReLU mask
 * comes with it; its constants.
 */
function unpoolConstants(
  op: string,
  u: DenseUnpool | undefined,
  masked: boolean,
  M: number,
  K: number,
): Record<string, ConstValue> {
  if (!u) return { UNPOOL: false };
  if (masked) throw new Error(`${op}: a ReLU mask and an un-pool cannot be combined`);
  if (u.stored % 4 !== 0 || u.height * u.width * u.stored !== K) {
    throw new Error(
      `${op}: a pooled ${u.height}x${u.width}x${u.stored} map does not flatten to ${K} features`,
    );
  }
  expectShape(op, "pool codes", u.code, M, K);
  return { UNPOOL: true, PW: u.width, CT: u.stored / 4 };
}

/** Columns of dX: K, or the pre-pool map's 4 K when the gradient is un-pooled. */
const dxCols = (K: number, u?: DenseUnpool) => (u ? 4 * K : K);

/**
 * dX = dZ W, optionally masked by (X > 0) to give the producer's pre-activation gradient, or
 * un-pooled (see {@link DenseUnpool}; no mask then: the codes carry the fused ReLU).
 */
export async function denseBackwardInput(
  ctx: GpuContext,
  a: {
    dz: Tensor;
    w: Tensor;
    dx: Tensor;
    reluMaskFrom?: Tensor;
    unpool?: DenseUnpool;
    tile?: DenseTile;
  },
): Promise<Dispatch> {
  const M = a.dz.rows, N = a.dz.cols, K = a.w.cols;
  expectShape("denseBackwardInput", "weight", a.w, N, K);
  expectShape("denseBackwardInput", "dX", a.dx, M, dxCols(K, a.unpool));
  if (a.reluMaskFrom) expectShape("denseBackwardInput", "mask", a.reluMaskFrom, M, K);
  const unpool = unpoolConstants("denseBackwardInput", a.unpool, !!a.reluMaskFrom, M, K);
  const t: DenseTile = a.tile ?? DENSE_TILES.backwardInput;
  const { entryPoint, tile } = gemmKernel("dense_backward_input", t, "I");
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint,
    constants: { M, N, K, RELU: !!a.reluMaskFrom, ...unpool, ...tile },
    reads: { dz: a.dz, w: a.w, x: a.reluMaskFrom, pool_code: a.unpool?.code },
    writes: { dx: a.dx },
    size: gemmSize(t, M, K),
  });
}

/** Checks a weight-gradient tile (register blocks, rm a multiple of 4). */
function weightTile(op: string, tile: DenseTile | undefined): DenseTile {
  const t: DenseTile = tile ?? DENSE_TILES.backwardWeight;
  if (t.rm % 4 !== 0) throw new Error(`${op}: the weight tile's rm must be a multiple of 4`);
  if (t.variant === "workgroup") throw new Error(`${op}: no workgroup-tiled weight gradient`);
  return t;
}

/** Invocations of the weight gradient: its register blocks, then one per texel of db. */
const weightLanes = (t: DenseTile, N: number, K: number) =>
  blocks(Math.ceil(K / 4), t.rn4) * blocks(N, t.rm) + Math.ceil(N / 4);

/** dW = dZ^T X and db = sum over rows of dZ, in a fixed order (deterministic). */
export async function denseBackwardWeight(
  ctx: GpuContext,
  a: { dz: Tensor; x: Tensor; dw: Tensor; db: Tensor; tile?: DenseTile },
): Promise<Dispatch> {
  const M = a.dz.rows, N = a.dz.cols, K = a.x.cols;
  expectShape("denseBackwardWeight", "input", a.x, M, K);
  expectShape("denseBackwardWeight", "dW", a.dw, N, K);
  expectShape("denseBackwardWeight", "db", a.db, 1, N);
  const t = weightTile("denseBackwardWeight", a.tile);
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint: "dense_backward_weight",
    constants: { M, N, K, WRM: t.rm, WRN4: t.rn4 },
    reads: { dz: a.dz, x: a.x },
    writes: { dw: a.dw, db: a.db },
    sharedWrites: true, // dW and db usually share the gradient arena
    size: { lanes: weightLanes(t, N, K) },
  });
}

/** Invocations per workgroup of the register-blocked backward kernels (WG in dense.wgsl). */
const REGISTER_WG = 16;

/**
 * Both backward products of a dense layer in one dispatch: dW and db as
 * {@link denseBackwardWeight}, dX as {@link denseBackwardInput} (masked by (X > 0) with
 * `reluMask`, or un-pooled), each with its own tile and the same bits as its own kernel.
 */
export async function denseBackward(
  ctx: GpuContext,
  a: {
    dz: Tensor;
    x: Tensor;
    w: Tensor;
    dw: Tensor;
    db: Tensor;
    dx: Tensor;
    reluMask: boolean;
    unpool?: DenseUnpool;
    weightTile?: DenseTile;
    inputTile?: DenseTile;
  },
): Promise<Dispatch> {
  const op = "denseBackward";
  const M = a.dz.rows, N = a.dz.cols, K = a.x.cols;
  expectShape(op, "input", a.x, M, K);
  expectShape(op, "weight", a.w, N, K);
  expectShape(op, "dW", a.dw, N, K);
  expectShape(op, "db", a.db, 1, N);
  expectShape(op, "dX", a.dx, M, dxCols(K, a.unpool));
  const unpool = unpoolConstants(op, a.unpool, a.reluMask, M, K);
  const wt = weightTile(op, a.weightTile);
  const it: DenseTile = a.inputTile ?? DENSE_TILES.backwardInput;
  const tiled = it.variant === "workgroup";
  // the weight part runs in the entry point's workgroups: 256 invocations (tiled) or REGISTER_WG
  const weightGroups = Math.ceil(weightLanes(wt, N, K) / (tiled ? 256 : REGISTER_WG));
  const input = gemmSize(it, M, K);
  const inputGroups = "lanes" in input
    ? Math.ceil(input.lanes / REGISTER_WG)
    : input.workgroups[0] * input.workgroups[1];
  const groups = weightGroups + inputGroups;
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint: tiled ? "dense_backward_tiled" : "dense_backward",
    constants: {
      M,
      N,
      K,
      WG: REGISTER_WG,
      RELU: a.reluMask,
      ...unpool,
      WRM: wt.rm,
      WRN4: wt.rn4,
      GROUPS: groups,
      WEIGHT_GROUPS: weightGroups,
      ...gemmKernel("", it, "I").tile,
    },
    reads: { dz: a.dz, x: a.x, w: a.w, pool_code: a.unpool?.code },
    writes: { dw: a.dw, db: a.db, dx: a.dx },
    sharedWrites: true, // dW and db usually share the gradient arena
    size: { workgroups: [groups] },
  });
}

// ---------------------------------------------------------------------------------------------
// float64 references

/** Y (M, N) = act(X (M, K) W^T + b). */
export function denseForwardRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number>,
  M: number,
  K: number,
  N: number,
  relu: boolean,
): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = b[n];
      for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
      y[m * N + n] = relu ? Math.max(s, 0) : s;
    }
  }
  return y;
}

/** Gradients of a dense layer given dZ (M, N), the gradient of its pre-activation output. */
export function denseBackwardRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  dz: ArrayLike<number>,
  M: number,
  K: number,
  N: number,
  reluMaskInput: boolean,
): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const dx = new Float64Array(M * K), dw = new Float64Array(N * K), db = new Float64Array(N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      const g = dz[m * N + n];
      db[n] += g;
      for (let k = 0; k < K; k++) {
        dx[m * K + k] += g * w[n * K + k];
        dw[n * K + k] += g * x[m * K + k];
      }
    }
  }
  if (reluMaskInput) { for (let i = 0; i < dx.length; i++) if (!(x[i] > 0)) dx[i] = 0; }
  return { dx, dw, db };
}
