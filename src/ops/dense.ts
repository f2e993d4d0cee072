/**
 * Dense layer kernels (`shaders/dense.wgsl`) and their float64 references.
 * Shapes: X (M, K), W (N, K) as PyTorch stores `Linear.weight`, b (N), Y (M, N).
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, makeDispatch } from "../gpu/program.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { dummyStore, expectDistinct, expectShape } from "./common.ts";
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

/** Blocks worth measuring on a new adapter. */
export const denseTileCandidates: readonly DenseTile[] = [
  { rm: 4, rn4: 1, variant: "workgroup" },
  { rm: 4, rn4: 1 },
  { rm: 4, rn4: 2 },
  { rm: 8, rn4: 1 },
  { rm: 8, rn4: 2 },
  { rm: 4, rn4: 4 },
];

const BINDINGS = ["read", "read", "read", "write", "write"] as const;

function kernel(
  ctx: GpuContext,
  entryPoint: string,
  constants: Record<string, number | boolean>,
  out1InOut0 = false,
) {
  return ctx.kernel({
    shader: "dense.wgsl",
    source: SOURCE,
    entryPoint,
    bindings: BINDINGS,
    constants,
    out1InOut0,
  });
}

const blocks = (n: number, b: number) => Math.ceil(n / b);

/** Y = act(X W^T + b). */
export async function denseForward(
  ctx: GpuContext,
  a: { x: Tensor; w: Tensor; b: Tensor; y: Tensor; relu: boolean; tile?: DenseTile },
): Promise<Dispatch> {
  const M = a.x.rows, K = a.x.cols, N = a.w.rows;
  expectShape("denseForward", "weight", a.w, N, K);
  expectShape("denseForward", "bias", a.b, 1, N);
  expectShape("denseForward", "output", a.y, M, N);
  expectDistinct("denseForward", [a.x, a.w, a.b], [a.y]);
  const t: DenseTile = a.tile ?? DENSE_TILES.forward;
  if (t.variant === "workgroup") {
    const kt = await kernel(ctx, "dense_forward_tiled", {
      M,
      N,
      K,
      RELU: a.relu,
      T0_BASE: a.x.base,
      T1_BASE: a.w.base,
      T2_BASE: a.b.base,
      OUT0_BASE: a.y.base,
    });
    return makeDispatch(ctx, kt, [a.x, a.w, a.b, a.y, dummyStore(ctx, "write")], {
      workgroups: [Math.ceil(N / 64), Math.ceil(M / 64)],
    });
  }
  const k = await kernel(ctx, "dense_forward", {
    M,
    N,
    K,
    RELU: a.relu,
    RM: t.rm,
    RN4: t.rn4,
    T0_BASE: a.x.base,
    T1_BASE: a.w.base,
    T2_BASE: a.b.base,
    OUT0_BASE: a.y.base,
  });
  const lanes = blocks(Math.ceil(N / 4), t.rn4) * blocks(M, t.rm);
  return makeDispatch(ctx, k, [a.x, a.w, a.b, a.y, dummyStore(ctx, "write")], { lanes });
}

/** dX = dZ W, optionally masked by (X > 0) to give the producer's pre-activation gradient. */
export async function denseBackwardInput(
  ctx: GpuContext,
  a: { dz: Tensor; w: Tensor; dx: Tensor; reluMaskFrom?: Tensor; tile?: DenseTile },
): Promise<Dispatch> {
  const M = a.dz.rows, N = a.dz.cols, K = a.w.cols;
  expectShape("denseBackwardInput", "weight", a.w, N, K);
  expectShape("denseBackwardInput", "dX", a.dx, M, K);
  if (a.reluMaskFrom) expectShape("denseBackwardInput", "mask", a.reluMaskFrom, M, K);
  const mask = a.reluMaskFrom ?? dummyStore(ctx, "read");
  expectDistinct("denseBackwardInput", [a.dz, a.w, ...(a.reluMaskFrom ? [a.reluMaskFrom] : [])], [
    a.dx,
  ]);
  const t: DenseTile = a.tile ?? DENSE_TILES.backwardInput;
  if (t.variant === "workgroup") {
    const kt = await kernel(ctx, "dense_backward_input_tiled", {
      M,
      N,
      K,
      RELU: !!a.reluMaskFrom,
      T0_BASE: a.dz.base,
      T1_BASE: a.w.base,
      T2_BASE: a.reluMaskFrom?.base ?? 0,
      OUT0_BASE: a.dx.base,
    });
    return makeDispatch(ctx, kt, [a.dz, a.w, mask, a.dx, dummyStore(ctx, "write")], {
      workgroups: [Math.ceil(K / 64), Math.ceil(M / 64)],
    });
  }
  const k = await kernel(ctx, "dense_backward_input", {
    M,
    N,
    K,
    RELU: !!a.reluMaskFrom,
    RM: t.rm,
    RN4: t.rn4,
    T0_BASE: a.dz.base,
    T1_BASE: a.w.base,
    T2_BASE: a.reluMaskFrom?.base ?? 0,
    OUT0_BASE: a.dx.base,
  });
  const lanes = blocks(Math.ceil(K / 4), t.rn4) * blocks(M, t.rm);
  return makeDispatch(ctx, k, [a.dz, a.w, mask, a.dx, dummyStore(ctx, "write")], { lanes });
}

/** dW = dZ^T X and db = sum over rows of dZ, in a fixed order (deterministic). */
export async function denseBackwardWeight(
  ctx: GpuContext,
  a: { dz: Tensor; x: Tensor; dw: Tensor; db: Tensor; tile?: DenseTile },
): Promise<Dispatch> {
  const M = a.dz.rows, N = a.dz.cols, K = a.x.cols;
  expectShape("denseBackwardWeight", "input", a.x, M, K);
  expectShape("denseBackwardWeight", "dW", a.dw, N, K);
  expectShape("denseBackwardWeight", "db", a.db, 1, N);
  expectDistinct("denseBackwardWeight", [a.dz, a.x], [a.dw, a.db]);
  const t: DenseTile = a.tile ?? DENSE_TILES.backwardWeight;
  if (t.rm % 4 !== 0) throw new Error("denseBackwardWeight: tile.rm must be a multiple of 4");
  if (t.variant === "workgroup") throw new Error("denseBackwardWeight: no workgroup-tiled variant");
  const shared = a.dw.store === a.db.store; // both in the gradient arena
  const k = await kernel(ctx, "dense_backward_weight", {
    M,
    N,
    K,
    RM: t.rm,
    RN4: t.rn4,
    T0_BASE: a.dz.base,
    T1_BASE: a.x.base,
    OUT0_BASE: a.dw.base,
    OUT1_BASE: a.db.base,
  }, shared);
  const lanes = blocks(Math.ceil(K / 4), t.rn4) * blocks(N, t.rm) + Math.ceil(N / 4);
  const db = shared ? dummyStore(ctx, "write") : a.db;
  return makeDispatch(ctx, k, [a.dz, a.x, dummyStore(ctx, "read"), a.dw, db], { lanes });
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
