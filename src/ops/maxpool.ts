/**
 * Standalone 2x2 max-pool (`shaders/maxpool.wgsl`) with argmax codes and a gather backward, and
 * float64 references (also used for the pool fused into conv2d).
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, makeDispatch } from "../gpu/program.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { expectShape } from "./common.ts";
import SOURCE from "../../shaders/maxpool.wgsl" with { type: "text" };

/** Shape of a pooled map: `stored` channels per position, a multiple of 4. */
export interface PoolShape {
  /** Images in the batch (tensor rows). */
  batch: number;
  /** Input height; the output has floor(height / 2) rows. */
  height: number;
  /** Input width; the output has floor(width / 2) columns. */
  width: number;
  /** Stored channels per position (channels-last), a multiple of 4. */
  stored: number;
}

const SHADER = { name: "maxpool.wgsl", source: SOURCE };

/** Each binding's name in messages and whether it is input-sized or output-sized. */
const TENSORS = {
  x: ["input", "in"],
  y: ["output", "out"],
  code: ["code", "out"],
  dy: ["dY", "out"],
  fwd_code: ["code", "out"],
  dx: ["dX", "in"],
} as const;

type PoolTensors = Partial<Record<keyof typeof TENSORS, Tensor>>;

/** Checks the shape and every tensor's size; one invocation per texel of the `lanes` side. */
async function poolDispatch(
  ctx: GpuContext,
  op: string,
  s: PoolShape,
  entryPoint: string,
  io: { reads: PoolTensors; writes: PoolTensors; lanes: "in" | "out" },
): Promise<Dispatch> {
  if (s.stored % 4 !== 0) throw new Error(`${op}: stored channels must be a multiple of 4`);
  if (s.height < 2 || s.width < 2) {
    throw new Error(`${op}: input ${s.height}x${s.width} is too small to pool`);
  }
  const cols = {
    in: s.height * s.width * s.stored,
    out: Math.floor(s.height / 2) * Math.floor(s.width / 2) * s.stored,
  };
  for (const [name, t] of Object.entries({ ...io.reads, ...io.writes })) {
    const [label, side] = TENSORS[name as keyof typeof TENSORS];
    expectShape(op, label, t, s.batch, cols[side]);
  }
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint,
    constants: { B: s.batch, H: s.height, W: s.width, CP: s.stored },
    reads: io.reads,
    writes: io.writes,
    size: { lanes: (s.batch * cols[io.lanes]) / 4 },
  });
}

/** Y = maxpool2x2(X), code = first argmax in each window (0..3). */
export async function maxPoolForward(
  ctx: GpuContext,
  a: { shape: PoolShape; x: Tensor; y: Tensor; code: Tensor },
): Promise<Dispatch> {
  return await poolDispatch(ctx, "maxPoolForward", a.shape, "maxpool_forward", {
    reads: { x: a.x },
    writes: { y: a.y, code: a.code },
    lanes: "out",
  });
}

/** dX gathered from dY through the codes. */
export async function maxPoolBackward(
  ctx: GpuContext,
  a: { shape: PoolShape; dy: Tensor; code: Tensor; dx: Tensor },
): Promise<Dispatch> {
  return await poolDispatch(ctx, "maxPoolBackward", a.shape, "maxpool_backward", {
    reads: { dy: a.dy, fwd_code: a.code },
    writes: { dx: a.dx },
    lanes: "in",
  });
}

// ---------------------------------------------------------------------------------------------
// float64 references on logical (B, H, W, C) maps

/**
 * 2x2 max-pool. `reluCode`: windows whose maximum is <= 0 get code 4 (the fused ReLU passes no
 * gradient there) and output max(m, 0).
 */
export function maxPool2Ref(
  x: ArrayLike<number>,
  B: number,
  H: number,
  W: number,
  C: number,
  reluCode = false,
): { y: Float64Array; code: Float64Array } {
  const PH = Math.floor(H / 2), PW = Math.floor(W / 2);
  const y = new Float64Array(B * PH * PW * C), code = new Float64Array(B * PH * PW * C);
  for (let n = 0; n < B; n++) {
    for (let py = 0; py < PH; py++) {
      for (let px = 0; px < PW; px++) {
        for (let c = 0; c < C; c++) {
          let m = -Infinity, k = 0;
          for (let q = 0; q < 4; q++) {
            const v = x[((n * H + 2 * py + (q >> 1)) * W + 2 * px + (q & 1)) * C + c];
            if (v > m) {
              m = v;
              k = q;
            }
          }
          const o = ((n * PH + py) * PW + px) * C + c;
          if (reluCode && !(m > 0)) {
            y[o] = 0;
            code[o] = 4;
          } else {
            y[o] = m;
            code[o] = k;
          }
        }
      }
    }
  }
  return { y, code };
}

/** Gradient of the pool input from the output gradient and the codes. */
export function maxPool2BackwardRef(
  dy: ArrayLike<number>,
  code: ArrayLike<number>,
  B: number,
  H: number,
  W: number,
  C: number,
): Float64Array {
  const PH = Math.floor(H / 2), PW = Math.floor(W / 2);
  const dx = new Float64Array(B * H * W * C);
  for (let n = 0; n < B; n++) {
    for (let py = 0; py < PH; py++) {
      for (let px = 0; px < PW; px++) {
        for (let c = 0; c < C; c++) {
          const o = ((n * PH + py) * PW + px) * C + c;
          const k = code[o];
          if (k > 3) continue;
          dx[((n * H + 2 * py + (k >> 1)) * W + 2 * px + (k & 1)) * C + c] = dy[o];
        }
      }
    }
  }
  return dx;
}
