/** Helpers shared by the op modules. */
import type { GpuContext } from "../gpu/context.ts";
import { type Tensor, TexelStore } from "../gpu/tensor.ts";

const dummies = new WeakMap<GpuContext, { read: TexelStore; write: TexelStore }>();

/**
 * A 1-texel store bound where a kernel variant ignores a binding; reads and writes get different
 * textures because one texture cannot be read and written in the same dispatch.
 */
export function dummyStore(ctx: GpuContext, access: "read" | "write"): TexelStore {
  let d = dummies.get(ctx);
  if (!d) {
    d = {
      read: new TexelStore(ctx, 1, "unused read binding"),
      write: new TexelStore(ctx, 1, "unused write binding"),
    };
    dummies.set(ctx, d);
  }
  return d[access];
}

const dummyBuffers = new WeakMap<GpuContext, { storage: GPUBuffer; uniform: GPUBuffer }>();

/** A small buffer bound where a kernel variant ignores a buffer binding. */
export function dummyBuffer(ctx: GpuContext, kind: "storage" | "uniform"): GPUBufferBinding {
  let d = dummyBuffers.get(ctx);
  if (!d) {
    d = {
      storage: ctx.device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE }),
      uniform: ctx.device.createBuffer({ size: 256, usage: GPUBufferUsage.UNIFORM }),
    };
    dummyBuffers.set(ctx, d);
  }
  return { buffer: d[kind], offset: 0, size: kind === "uniform" ? 32 : 256 };
}

/** Throws a clear error when a tensor's shape is not what an op needs. */
export function expectShape(op: string, name: string, t: Tensor, rows: number, cols: number): void {
  if (t.rows !== rows || t.cols !== cols) {
    throw new Error(`${op}: ${name} '${t.label}' is ${t.rows}x${t.cols}, expected ${rows}x${cols}`);
  }
}

/** Throws when two tensors that a kernel reads and writes share a texture. */
export function expectDistinct(
  op: string,
  reads: readonly Tensor[],
  writes: readonly Tensor[],
): void {
  for (const w of writes) {
    for (const r of reads) {
      if (r.store === w.store) {
        throw new Error(
          `${op}: '${w.label}' is written in the same texture that '${r.label}' is read from`,
        );
      }
    }
  }
}
