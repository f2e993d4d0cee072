/**
 * Dispatch records and programs: an op describes a dispatch by the binding names of its shader
 * ({@link KernelCall}), bind groups are created once and reused; a program is a list of
 * dispatches recorded into one compute pass, many steps per command buffer.
 *
 * @module
 */
import { type BindingDecl, declaredBindings } from "./bindings.ts";
import type { BindingKind, GpuContext, Kernel } from "./context.ts";
import { StepParamsBuffer } from "./step_params.ts";
import { Tensor, type TexelStore } from "./tensor.ts";
import type { ConstValue } from "./wgsl.ts";

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

/** A WGSL op family: its file name (for messages) and source text. */
export interface Shader {
  /** File name under `shaders/`, e.g. `dense.wgsl`. */
  readonly name: string;
  /** WGSL source (without the prelude). */
  readonly source: string;
}

/** A texture binding's resource: a tensor (bound with its base texel) or a whole texel store. */
export type TextureResource = Tensor | TexelStore;

/** A buffer binding's resource; per-step parameters bind with a dynamic offset. */
export type BufferResource = GPUBuffer | GPUBufferBinding | StepParamsBuffer;

/**
 * One dispatch of a kernel, described by the names its shader declares. `undefined` marks a
 * tensor the kernel variant does not need (constant-disabled code): its reads give 0 and its
 * stores are dropped, so it needs no binding.
 */
export interface KernelCall {
  /** The op family. */
  shader: Shader;
  /** Name of the `@compute` function to run. */
  entryPoint: string;
  /** Values for module-scope constants (see `specialize`). */
  constants?: Record<string, ConstValue>;
  /** Tensors (or images, labels: `bytes`/`uints` stores) the kernel reads, by binding name. */
  reads?: Record<string, TextureResource | undefined>;
  /** Tensors the kernel writes, by binding name. */
  writes?: Record<string, TextureResource | undefined>;
  /** Uniform and storage buffers, by binding name. */
  buffers?: Record<string, BufferResource>;
  /**
   * The written tensors may share one texture (dW and db in the gradient arena); they are then
   * stored through one binding. Otherwise two writes into one texture are refused.
   */
  sharedWrites?: boolean;
  /** Invocations (1D, rounded up to whole workgroups) or workgroup counts (missing y, z: 1). */
  size: { lanes: number } | { workgroups: readonly [number, number?, number?] };
}

function textureOf(r: TextureResource): TexelStore {
  return r instanceof Tensor ? r.store : r;
}

function labelOf(r: TextureResource): string {
  return r instanceof Tensor ? r.label : r.texture.label;
}

function bufferEntry(binding: number, r: BufferResource): GPUBindGroupEntry {
  if (r instanceof StepParamsBuffer) return { binding, resource: r.binding };
  return { binding, resource: "buffer" in r ? r : { buffer: r } };
}

/** Texel format of each texture binding kind. */
const TEXTURE_FORMATS = {
  read: "rgba32float",
  write: "rgba32float",
  bytes: "rgba8unorm",
  uints: "rgba32uint",
} as const;

type Named = readonly (readonly [string, TextureResource | undefined])[];

/**
 * Checks what WebGPU forbids in one dispatch: a texture both read and written, or in two writable
 * bindings. With `shared`, a write into an earlier write's texture is allowed and stored through
 * that write's binding: returns those names and the names they are stored via.
 */
function writeAliases(where: string, reads: Named, writes: Named, shared: boolean) {
  const storedVia: Record<string, string> = {};
  const firstWriter = new Map<GPUTexture, [string, TextureResource]>();
  for (const [name, r] of writes) {
    if (r === undefined) continue;
    const texture = textureOf(r).texture;
    const first = firstWriter.get(texture);
    if (first && !shared) {
      throw new Error(
        `${where}: '${labelOf(first[1])}' and '${labelOf(r)}' both write texture ` +
          `'${texture.label}'; WebGPU forbids that (see KernelCall.sharedWrites)`,
      );
    }
    if (first) storedVia[name] = first[0];
    else firstWriter.set(texture, [name, r]);
    const read = reads.find(([, rd]) => rd !== undefined && textureOf(rd).texture === texture);
    if (read) {
      throw new Error(
        `${where}: '${labelOf(r)}' is written in the same texture that '${labelOf(read[1]!)}' ` +
          `is read from`,
      );
    }
  }
  return storedVia;
}

/** Workgroup counts for `lanes` invocations (1D) or explicit counts. */
function workgroups(
  ctx: GpuContext,
  kernel: Kernel,
  size: KernelCall["size"],
): [number, number, number] {
  const limit = ctx.device.limits.maxComputeWorkgroupsPerDimension;
  if (!("lanes" in size)) {
    const counts: [number, number, number] = [
      size.workgroups[0],
      size.workgroups[1] ?? 1,
      size.workgroups[2] ?? 1,
    ];
    const over = counts.find((n) => n > limit);
    if (over !== undefined) {
      throw new Error(`${kernel.name}: ${over} workgroups exceed the dispatch limit`);
    }
    return counts;
  }
  const n = Math.ceil(size.lanes / kernel.workgroupSize);
  if (n > limit) {
    throw new Error(`${kernel.name}: ${size.lanes} invocations exceed the dispatch limit`);
  }
  return [Math.max(1, n), 1, 1];
}

/**
 * Compiles (once) the kernel for a call and records a dispatch of it: the bind group holds the
 * named resources at their declared binding numbers, tensors are addressed through their
 * `NAME_BASE` constants.
 *
 * @throws Error when a name is not declared with that use, a resource does not suit its binding,
 *   a texture is both read and written or written twice, or the size exceeds the dispatch limit
 */
export async function makeDispatch(ctx: GpuContext, call: KernelCall): Promise<Dispatch> {
  const { shader, entryPoint } = call;
  const where = `${shader.name}:${entryPoint}`;
  const decls = declaredBindings(shader.source, shader.name);
  const bound: BindingDecl[] = [];
  const entries: GPUBindGroupEntry[] = [];
  const bases: Record<string, number> = {};
  const absent: string[] = [];
  const declared = (name: string, use: string, kinds: readonly BindingKind[]) => {
    const d = decls.get(name);
    if (!d || !kinds.includes(d.kind)) {
      throw new Error(`${where}: the shader declares no ${use} binding '${name}'`);
    }
    return d;
  };
  const reads = Object.entries(call.reads ?? {});
  const writes = Object.entries(call.writes ?? {});
  const storedVia = writeAliases(where, reads, writes, call.sharedWrites ?? false);
  const textures = [
    ...reads.map(([n, r]) => [declared(n, "read", ["read", "bytes", "uints"]), r] as const),
    ...writes.map(([n, r]) => [declared(n, "write", ["write"]), r] as const),
  ];
  for (const [d, r] of textures) {
    if (r === undefined) {
      absent.push(d.name);
      continue;
    }
    const store = textureOf(r);
    const format = TEXTURE_FORMATS[d.kind as keyof typeof TEXTURE_FORMATS];
    if (store.format !== format) {
      throw new Error(`${where}: '${d.name}' needs an ${format} texture, got '${labelOf(r)}'`);
    }
    if (d.kind === "read" || d.kind === "write") bases[d.name] = r instanceof Tensor ? r.base : 0;
    if (storedVia[d.name]) continue;
    bound.push(d);
    entries.push({ binding: d.binding, resource: store.texture.createView() });
  }
  let stepped = false;
  for (const [name, r] of Object.entries(call.buffers ?? {})) {
    const d = declared(name, "buffer", ["uniform", "storage", "storage-read"]);
    const dynamic = r instanceof StepParamsBuffer;
    if (dynamic && d.kind !== "uniform") {
      throw new Error(`${where}: step parameters need a uniform binding, '${name}' is not one`);
    }
    stepped ||= dynamic;
    bound.push(dynamic ? { ...d, kind: "uniform-dynamic" } : d);
    entries.push(bufferEntry(d.binding, r));
  }
  bound.sort((a, b) => a.binding - b.binding);
  const kernel = await ctx.kernel({
    shader: shader.name,
    source: shader.source,
    entryPoint,
    constants: call.constants,
    bindings: { bound, bases, absent, storedVia },
  });
  const bindGroup = ctx.device.createBindGroup({
    label: kernel.name,
    layout: kernel.layout,
    entries,
  });
  return { kernel, bindGroup, workgroups: workgroups(ctx, kernel, call.size), stepped };
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
