/**
 * Inverted dropout (`shaders/dropout.wgsl`) and its float64 references. The mask of element e
 * (a tensor's stored float index, row * pitch + col) in training step t is a function of
 * (seed, t, e) only, so it does not depend on dispatch order, and the backward pass recomputes
 * it. Kept values are scaled by 1 / (1 - p); evaluation skips dropout (the identity).
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, makeDispatch } from "../gpu/program.ts";
import type { StepParamsBuffer } from "../gpu/step_params.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { deriveSeed, hash32 } from "../util/rng.ts";
import SOURCE from "../../shaders/dropout.wgsl" with { type: "text" };

const SHADER = { name: "dropout.wgsl", source: SOURCE };

/** The largest drop probability accepted (a layer that drops everything learns nothing). */
export const MAX_DROP = 0.95;

/**
 * Checks a drop probability.
 *
 * @throws RangeError unless 0 <= p <= {@link MAX_DROP}
 */
export function checkDropProbability(p: number): void {
  if (!(p >= 0 && p <= MAX_DROP)) {
    throw new RangeError(`dropout probability must be in [0, ${MAX_DROP}], got ${p}`);
  }
}

/** The mask seed of a model's dropout layer (`dropout1`, ...) under the model's dropout seed. */
export function layerDropoutSeed(seed: number, layer: string): number {
  return deriveSeed(seed, layer);
}

/** round(p * 2^24): an element is kept when the high 24 bits of its hash reach this. */
export function dropThreshold(p: number): number {
  return Math.round(p * 16777216);
}

/** True when element `e` is kept in step `step` (as the shader decides it). */
export function dropoutKeeps(seed: number, step: number, e: number, p: number): boolean {
  const k = hash32((hash32(seed >>> 0) + (step >>> 0)) >>> 0);
  return hash32((k + (e >>> 0)) >>> 0) >>> 8 >= dropThreshold(p);
}

function sameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.rows !== b.rows || a.pitch !== b.pitch) {
    throw new Error(`${op}: '${a.label}' and '${b.label}' differ in shape`);
  }
}

/** What both dropout kernels need: the drop probability, the layer's seed and the step slots. */
export interface DropoutArgs {
  /** Drop probability in [0, {@link MAX_DROP}]. */
  p: number;
  /** The layer's seed (u32). */
  seed: number;
  /** Per-step parameters: the mask is drawn for the slot's `globalStep`. */
  params: StepParamsBuffer;
}

function constants(a: DropoutArgs, texels: number) {
  checkDropProbability(a.p);
  return {
    TEXELS: texels,
    SEED: a.seed >>> 0,
    DROP_THRESHOLD: dropThreshold(a.p),
    SCALE: 1 / (1 - a.p),
  };
}

/** Y = X * mask / (1 - p), the mask drawn for the step's globalStep. */
export async function dropoutForward(
  ctx: GpuContext,
  a: DropoutArgs & { x: Tensor; y: Tensor },
): Promise<Dispatch> {
  sameShape("dropoutForward", a.x, a.y);
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint: "dropout_forward",
    constants: { ...constants(a, a.x.texels), MASK_INPUT: false },
    reads: { x: a.x },
    writes: { y: a.y },
    buffers: { params: a.params },
    size: { lanes: a.x.texels },
  });
}

/**
 * dX = dY * mask / (1 - p), and also zero where `reluMaskFrom` (the forward input) is <= 0: the
 * producer's ReLU, whose gradient the consumer applies (the planner's gradient convention).
 */
export async function dropoutBackward(
  ctx: GpuContext,
  a: DropoutArgs & { dy: Tensor; dx: Tensor; reluMaskFrom?: Tensor },
): Promise<Dispatch> {
  sameShape("dropoutBackward", a.dy, a.dx);
  if (a.reluMaskFrom) sameShape("dropoutBackward", a.dy, a.reluMaskFrom);
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint: "dropout_backward",
    constants: { ...constants(a, a.dy.texels), MASK_INPUT: a.reluMaskFrom !== undefined },
    reads: { dy: a.dy, x: a.reluMaskFrom },
    writes: { dx: a.dx },
    buffers: { params: a.params },
    size: { lanes: a.dy.texels },
  });
}

/**
 * Float64 reference of {@link dropoutForward} on a (rows, pitch) array in stored order (the
 * element index is the position in `x`).
 */
export function dropoutRef(
  x: ArrayLike<number>,
  p: number,
  seed: number,
  step: number,
): Float64Array {
  const scale = 1 / (1 - p);
  return Float64Array.from(x, (v, e) => (dropoutKeeps(seed, step, e, p) ? v * scale : 0));
}

/** Float64 reference of {@link dropoutBackward}; `x` (the forward input) masks by x > 0. */
export function dropoutBackwardRef(
  dy: ArrayLike<number>,
  p: number,
  seed: number,
  step: number,
  x?: ArrayLike<number>,
): Float64Array {
  const scale = 1 / (1 - p);
  return Float64Array.from(
    dy,
    (g, e) => (dropoutKeeps(seed, step, e, p) && (!x || x[e] > 0) ? g * scale : 0),
  );
}
