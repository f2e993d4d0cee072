/**
 * Dispatch records and programs: bind groups are created once and reused; a program is a list of
 * dispatches recorded into one compute pass, many steps per command buffer.
 *
 * @module
 */
import type { GpuContext, Kernel } from "./context.ts";
import { Tensor, type TexelStore } from "./tensor.ts";

/**
 * Something a kernel binding can point at: a tensor or texel store for texture bindings (the
 * whole texture is bound; kernels address a tensor by its base texel), a buffer or buffer range
 * for uniform and storage bindings.
 */
export type Resource = Tensor | TexelStore | GPUBuffer | GPUBufferBinding;

/** One recorded dispatch. */
export interface Dispatch {
  /** The compiled kernel (pipeline) to run. */
  readonly kernel: Kernel;
  /** Bind group with the dispatch's resources, created once and reused every time it runs. */
  readonly bindGroup: GPUBindGroup;
  /** Workgroup counts along x, y and z. */
  readonly workgroups: readonly [number, number, number];
  /** True when the bind group has a dynamic uniform offset (the per-step parameters). */
  readonly stepped: boolean;
}

function entry(kind: string, binding: number, r: Resource): GPUBindGroupEntry {
  if (kind === "read" || kind === "write" || kind === "bytes" || kind === "uints") {
    const store = r instanceof Tensor ? r.store : r as TexelStore;
    if (!("texture" in store)) throw new Error(`binding ${binding} needs a tensor or texel store`);
    return { binding, resource: store.texture.createView() };
  }
  if (r instanceof Tensor || "texture" in (r as object)) {
    throw new Error(`binding ${binding} (${kind}) needs a buffer`);
  }
  const resource = "buffer" in (r as object) ? r as GPUBufferBinding : { buffer: r as GPUBuffer };
  return { binding, resource };
}

/**
 * Builds a dispatch of `lanes` invocations (1D, rounded up to whole workgroups) or explicit
 * workgroup counts (missing y and z are 1). `resources[i]` is bound at binding i.
 *
 * @throws Error when the number of resources differs from the kernel's bindings, a resource does
 *   not suit its binding kind, or `lanes` needs more workgroups than the device allows
 */
export function makeDispatch(
  ctx: GpuContext,
  kernel: Kernel,
  resources: readonly Resource[],
  size: { lanes: number } | { workgroups: readonly [number, number?, number?] },
): Dispatch {
  if (resources.length !== kernel.bindings.length) {
    throw new Error(
      `${kernel.name}: expected ${kernel.bindings.length} bindings, got ${resources.length}`,
    );
  }
  // WebGPU forbids one texture in two writable bindings of a dispatch (Chromium rejects it;
  // Deno's wgpu does not check, so check here)
  const written = new Map<GPUTexture, number>();
  resources.forEach((r, i) => {
    if (kernel.bindings[i] !== "write") return;
    const texture = (r instanceof Tensor ? r.store : r as TexelStore).texture;
    const first = written.get(texture);
    if (first !== undefined) {
      throw new Error(
        `${kernel.name}: bindings ${first} and ${i} both write texture '${texture.label}'; ` +
          `WebGPU forbids that (see KernelSpec.out1InOut0)`,
      );
    }
    written.set(texture, i);
  });
  const bindGroup = ctx.device.createBindGroup({
    label: kernel.name,
    layout: kernel.layout,
    entries: resources.map((r, i) => entry(kernel.bindings[i], i, r)),
  });
  let wg: [number, number, number];
  if ("lanes" in size) {
    const n = Math.ceil(size.lanes / kernel.workgroupSize);
    const max = ctx.device.limits.maxComputeWorkgroupsPerDimension;
    if (n > max) {
      throw new Error(`${kernel.name}: ${size.lanes} invocations exceed the dispatch limit`);
    }
    wg = [Math.max(1, n), 1, 1];
  } else {
    wg = [size.workgroups[0], size.workgroups[1] ?? 1, size.workgroups[2] ?? 1];
  }
  return {
    kernel,
    bindGroup,
    workgroups: wg,
    stepped: kernel.bindings.includes("uniform-dynamic"),
  };
}

/** Records dispatches into a pass; `stepOffset` is the dynamic offset of the per-step uniforms. */
export function recordDispatches(
  pass: GPUComputePassEncoder,
  dispatches: readonly Dispatch[],
  stepOffset = 0,
): void {
  for (const d of dispatches) {
    pass.setPipeline(d.kernel.pipeline);
    if (d.stepped) pass.setBindGroup(0, d.bindGroup, [stepOffset]);
    else pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
  }
}

/** Runs dispatches once and waits for the GPU. */
export async function runDispatches(
  ctx: GpuContext,
  dispatches: readonly Dispatch[],
  stepOffset = 0,
): Promise<void> {
  ctx.check();
  const enc = ctx.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  recordDispatches(pass, dispatches, stepOffset);
  pass.end();
  ctx.device.queue.submit([enc.finish()]);
  await ctx.device.queue.onSubmittedWorkDone();
  ctx.check();
}
