/**
 * Standalone ReLU kernels (`shaders/activation.wgsl`) and references.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, makeDispatch } from "../gpu/program.ts";
import type { Tensor } from "../gpu/tensor.ts";
import SOURCE from "../../shaders/activation.wgsl" with { type: "text" };

const SHADER = { name: "activation.wgsl", source: SOURCE };

function sameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.rows !== b.rows || a.pitch !== b.pitch) {
    throw new Error(`${op}: '${a.label}' and '${b.label}' differ in shape`);
  }
}

/** Y = max(X, 0). */
export async function reluForward(ctx: GpuContext, a: { x: Tensor; y: Tensor }): Promise<Dispatch> {
  sameShape("reluForward", a.x, a.y);
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint: "relu_forward",
    constants: { TEXELS: a.x.texels },
    reads: { x: a.x },
    writes: { y: a.y },
    size: { lanes: a.x.texels },
  });
}

/** dX = dY * (Y > 0), with Y the forward output. */
export async function reluBackward(
  ctx: GpuContext,
  a: { dy: Tensor; y: Tensor; dx: Tensor },
): Promise<Dispatch> {
  sameShape("reluBackward", a.dy, a.y);
  sameShape("reluBackward", a.dy, a.dx);
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint: "relu_backward",
    constants: { TEXELS: a.dy.texels },
    reads: { dy: a.dy, fwd_y: a.y },
    writes: { dx: a.dx },
    size: { lanes: a.dy.texels },
  });
}

/** Float64 reference of {@link reluForward}: max(x, 0) elementwise. */
export function reluRef(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => Math.max(v, 0));
}

/** Float64 reference of {@link reluBackward}: dy where y > 0, else 0. */
export function reluBackwardRef(dy: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  return Float64Array.from(dy, (g, i) => (y[i] > 0 ? g : 0));
}
