/**
 * Adapter and device acquisition, limits, and the per-device pipeline cache.
 *
 * Tensors are stored in `rgba32float` textures and read through read-only storage-texture
 * bindings: on Mesa's CPU adapters (llvmpipe/lavapipe) storage-buffer and workgroup-memory loads
 * go through a per-lane scalar loop (~4 ns per float) while storage-texture loads are vectorized
 * (~0.2 ns per float), a 20x difference that decides the speed of every kernel.
 *
 * @module
 */
import { GpuDeviceLostError, GpuUnavailableError, ShaderCompileError } from "./errors.ts";
import { type BindingDecl, type BindingPlan, bindTensors } from "./bindings.ts";
import { type ConstValue, sampledTextureReads, specialize } from "./wgsl.ts";
import PRELUDE from "../../shaders/tensor_texels.wgsl" with { type: "text" };
import STEP_PARAMS from "../../shaders/step_params.wgsl" with { type: "text" };
import KEYED_RNG from "../../shaders/keyed_rng.wgsl" with { type: "text" };

/** Texels per texture row; tensors are linear runs of texels, texel i at (i % W, i / W). */
export const TEX_WIDTH = 2048;
const TEX_WIDTH_LOG2 = 11;

/** Options for {@link acquireGpu}. */
export interface AcquireOptions {
  /** Pretend that no adapter exists (for testing the error path). */
  simulateNoAdapter?: boolean;
  /** Passed to `requestAdapter`. */
  powerPreference?: GPUPowerPreference;
  /** Request `timestamp-query` when the adapter offers it (default true). */
  timestamps?: boolean;
  /** How kernels read tensors (default "auto": storage textures when the adapter allows 8). */
  textureReads?: "auto" | TextureReads;
  /**
   * Unroll the loops marked in the WGSL (default: true, except on SwiftShader, whose shader
   * compiler takes minutes or crashes the GPU process on the unrolled conv2d kernels).
   */
  unrollLoops?: boolean;
}

/**
 * How kernels read tensors. "storage": read-only storage textures (vectorized on Mesa's CPU
 * adapters). "sampled": sampled textures read with textureLoad, for adapters that allow fewer
 * than 8 storage textures per shader stage (SwiftShader in Chromium allows 4); then only the
 * outputs (at most 2 per kernel) are storage textures. The WGSL is rewritten when compiled.
 */
export type TextureReads = "storage" | "sampled";

/** Storage textures per shader stage that "storage" reads need (the widest kernel uses 5). */
const STORAGE_READS_NEED = 8;

/**
 * Kind of a kernel binding, from its WGSL declaration (see bindings.ts). Textures: `"read"` and
 * `"write"` are rgba32float tensors, `"bytes"` rgba8unorm images, `"uints"` rgba32uint integers.
 * Buffers: `"uniform"`, `"uniform-dynamic"` (per-step parameters bound with a dynamic offset),
 * `"storage"` (read-write) and `"storage-read"`.
 */
export type BindingKind =
  | "read" // texture_storage_2d<rgba32float, read>
  | "write" // texture_storage_2d<rgba32float, write>
  | "bytes" // texture_storage_2d<rgba8unorm, read>
  | "uints" // texture_storage_2d<rgba32uint, read>
  | "uniform"
  | "uniform-dynamic"
  | "storage" // var<storage, read_write>
  | "storage-read";

/** A compiled kernel: pipeline plus its explicit bind group layout. */
export interface Kernel {
  /** `shader:entryPoint`, e.g. `dense.wgsl:dense_forward`; used as label and in error messages. */
  readonly name: string;
  /** The compiled compute pipeline. */
  readonly pipeline: GPUComputePipeline;
  /** Bind group layout shared by every kernel with the same bindings. */
  readonly layout: GPUBindGroupLayout;
  /** Invocations per workgroup along x, from the entry point's `@workgroup_size` (default 64). */
  readonly workgroupSize: number;
}

/** Description of a kernel to compile. */
export interface KernelSpec {
  /** Shader file name, used in error messages (e.g. `dense.wgsl`). */
  shader: string;
  /** WGSL source text of the op family (without the prelude). */
  source: string;
  /** Name of the `@compute` function to run. */
  entryPoint: string;
  /** Which declared names the kernel binds, their tensors' bases, and those it leaves out. */
  bindings: BindingPlan;
  /**
   * Values for module-scope `const NAME: T = ...;` declarations of the source (default: none, the
   * file's own values). Each distinct set compiles its own pipeline.
   */
  constants?: Record<string, ConstValue>;
}

/** Everything the engine needs from one WebGPU device. */
export class GpuContext {
  /** WebGPU device every kernel, pipeline and tensor of this context belongs to. */
  readonly device: GPUDevice;
  /** Adapter description (e.g. `llvmpipe (LLVM 15.0.7, 256 bits)`); keys the tuner's choices. */
  readonly adapterName: string;
  /** True for software adapters (llvmpipe, lavapipe, SwiftShader, WARP, fallback adapters). */
  readonly isCpuAdapter: boolean;
  /** True when the device has `timestamp-query`, so GPU time per dispatch can be measured. */
  readonly hasTimestamps: boolean;
  /** How kernels read tensors: storage textures, or sampled textures where the adapter has too few. */
  readonly textureReads: TextureReads;
  /** Whether marked loops are unrolled when shaders are specialized (off for SwiftShader). */
  readonly unrollLoops: boolean;
  /** Set when the device is lost; every later operation throws it. */
  lostReason: string | null = null;
  #uncaptured: string | null = null;
  readonly #pipelines = new Map<string, Promise<Kernel>>();
  readonly #layouts = new Map<string, GPUBindGroupLayout>();

  /**
   * Wraps a device that already exists (normally {@link acquireGpu} does this) and starts
   * watching it for device loss and uncaptured errors, which {@link GpuContext.check} reports.
   */
  constructor(
    device: GPUDevice,
    adapterName: string,
    isCpuAdapter: boolean,
    textureReads: TextureReads = "storage",
    unrollLoops = true,
  ) {
    this.device = device;
    this.adapterName = adapterName;
    this.isCpuAdapter = isCpuAdapter;
    this.textureReads = textureReads;
    this.unrollLoops = unrollLoops;
    this.hasTimestamps = device.features.has("timestamp-query");
    device.lost.then((info) => {
      if (info.reason !== "destroyed") this.lostReason = info.message || String(info.reason);
    });
    device.addEventListener("uncapturederror", (ev) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      this.#uncaptured ??= err.message;
    });
  }

  /** Max texture height, i.e. the largest tensor is `maxTextureRows * TEX_WIDTH` texels. */
  get maxTextureRows(): number {
    return this.device.limits.maxTextureDimension2D;
  }

  /** Throws if the device was lost or a WebGPU error escaped an error scope. */
  check(): void {
    if (this.lostReason !== null) {
      throw new GpuDeviceLostError(
        `WebGPU device lost (${this.lostReason}); results of this run are incomplete. ` +
          `Restart the run (use --resume with the last checkpoint if there is one).`,
      );
    }
    if (this.#uncaptured !== null) {
      const msg = this.#uncaptured;
      this.#uncaptured = null;
      throw new Error(`WebGPU error: ${msg}`);
    }
  }

  /** Compiles (once) and returns the kernel for a spec; keyed by shader, entry, constants, plan. */
  kernel(spec: KernelSpec): Promise<Kernel> {
    const consts = spec.constants ?? {};
    const sorted = (r: Readonly<Record<string, unknown>>) =>
      Object.keys(r).sort().map((k) => `${k}=${r[k]}`).join(",");
    const plan = spec.bindings;
    const key = [
      spec.shader,
      spec.entryPoint,
      sorted(consts),
      plan.bound.map((b) => `${b.binding}:${b.name}:${b.kind}`).join(","),
      sorted(plan.bases),
      plan.absent.join(","),
      sorted(plan.storedVia),
    ].join("|");
    let p = this.#pipelines.get(key);
    if (!p) {
      p = this.#compile(spec, consts);
      this.#pipelines.set(key, p);
      p.catch(() => this.#pipelines.delete(key));
    }
    return p;
  }

  /** Number of distinct pipelines compiled so far. */
  get pipelineCount(): number {
    return this.#pipelines.size;
  }

  /**
   * The bind group layout for a list of bindings (compute stage only), created once per distinct
   * list and shared by every kernel that uses it.
   */
  bindGroupLayout(bindings: readonly BindingDecl[]): GPUBindGroupLayout {
    const key = bindings.map((b) => `${b.binding}:${b.kind}`).join(",");
    let layout = this.#layouts.get(key);
    if (!layout) {
      layout = this.device.createBindGroupLayout({
        entries: bindings.map((b) => layoutEntry(b.kind, b.binding, this.textureReads)),
      });
      this.#layouts.set(key, layout);
    }
    return layout;
  }

  async #compile(spec: KernelSpec, consts: Record<string, ConstValue>): Promise<Kernel> {
    this.check();
    const specialized = specialize(spec.source, consts, spec.shader, this.unrollLoops);
    const body = bindTensors(specialized, spec.bindings, spec.shader);
    const texels = PRELUDE.replace(
      /const TEX_WIDTH_LOG2: u32 = \d+u;/,
      `const TEX_WIDTH_LOG2: u32 = ${TEX_WIDTH_LOG2}u;`,
    );
    const prelude = `${texels}\n${STEP_PARAMS}\n${KEYED_RNG}`;
    const source = `${prelude}\n${body}`;
    const code = this.textureReads === "sampled" ? sampledTextureReads(source) : source;
    const preludeLines = prelude.split("\n").length;
    const device = this.device;
    device.pushErrorScope("validation");
    device.pushErrorScope("internal");
    const module = device.createShaderModule({ code, label: spec.shader });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === "error");
    if (errors.length > 0) {
      await device.popErrorScope();
      await device.popErrorScope();
      const where = (line: number) =>
        line > preludeLines ? `${spec.shader}:${line - preludeLines}` : `prelude:${line}`;
      throw new ShaderCompileError(
        `shader ${spec.shader} (entry ${spec.entryPoint}) failed to compile:\n` +
          errors.map((m) => `  ${where(m.lineNum)}:${m.linePos}: ${m.message}`).join("\n"),
      );
    }
    const layout = this.bindGroupLayout(spec.bindings.bound);
    // a binding the entry point uses but the op did not name is missing from the layout
    const bound = ` (bound: ${spec.bindings.bound.map((b) => b.name).join(", ") || "none"})`;
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await device.createComputePipelineAsync({
        label: `${spec.shader}:${spec.entryPoint}`,
        layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: spec.entryPoint },
      });
    } catch (e) {
      await device.popErrorScope();
      await device.popErrorScope();
      throw new ShaderCompileError(
        `pipeline ${spec.shader}:${spec.entryPoint} failed: ${(e as Error).message}${bound}`,
      );
    }
    const internal = await device.popErrorScope();
    const validation = await device.popErrorScope();
    const err = validation ?? internal;
    if (err) {
      throw new ShaderCompileError(
        `pipeline ${spec.shader}:${spec.entryPoint} failed: ${err.message}${bound}`,
      );
    }
    return {
      name: `${spec.shader}:${spec.entryPoint}`,
      pipeline,
      layout,
      workgroupSize: workgroupSizeOf(body, spec.entryPoint, spec.shader),
    };
  }

  /** Releases the device. */
  destroy(): void {
    this.device.destroy();
  }
}

/** The x size of an entry point's `@workgroup_size`, a literal or a module-scope u32 constant. */
function workgroupSizeOf(body: string, entryPoint: string, shader: string): number {
  const m = new RegExp(`@workgroup_size\\(\\s*(\\w+)[^)]*\\)\\s*fn\\s+${entryPoint}\\s*\\(`).exec(
    body,
  );
  if (!m) throw new ShaderCompileError(`${shader}: ${entryPoint} has no @workgroup_size`);
  if (/^\d+u?$/.test(m[1])) return parseInt(m[1], 10);
  const c = new RegExp(`^const\\s+${m[1]}\\s*:\\s*u32\\s*=\\s*(\\d+)u\\s*;`, "m").exec(body);
  if (!c) {
    throw new ShaderCompileError(
      `${shader}: @workgroup_size(${m[1]}) is not a u32 literal constant`,
    );
  }
  return parseInt(c[1], 10);
}

function layoutEntry(
  kind: BindingKind,
  binding: number,
  reads: TextureReads,
): GPUBindGroupLayoutEntry {
  const visibility = GPUShaderStage.COMPUTE;
  if (reads === "sampled" && (kind === "read" || kind === "bytes" || kind === "uints")) {
    const sampleType = kind === "uints" ? "uint" : "unfilterable-float";
    return { binding, visibility, texture: { sampleType, viewDimension: "2d" } };
  }
  switch (kind) {
    case "read":
      return {
        binding,
        visibility,
        storageTexture: { access: "read-only", format: "rgba32float" },
      };
    case "write":
      return {
        binding,
        visibility,
        storageTexture: { access: "write-only", format: "rgba32float" },
      };
    case "bytes":
      return { binding, visibility, storageTexture: { access: "read-only", format: "rgba8unorm" } };
    case "uints":
      return { binding, visibility, storageTexture: { access: "read-only", format: "rgba32uint" } };
    case "uniform":
      return { binding, visibility, buffer: { type: "uniform" } };
    case "uniform-dynamic":
      return { binding, visibility, buffer: { type: "uniform", hasDynamicOffset: true } };
    case "storage":
      return { binding, visibility, buffer: { type: "storage" } };
    case "storage-read":
      return { binding, visibility, buffer: { type: "read-only-storage" } };
  }
}

/** What to install or enable when there is no WebGPU adapter. */
export function noAdapterAdvice(): string {
  const inBrowser = typeof (globalThis as { Deno?: unknown }).Deno === "undefined";
  return inBrowser
    ? "This browser offers no WebGPU adapter. Use a current Chrome/Edge (WebGPU on by default), " +
      "or start Chromium with --enable-unsafe-webgpu; in Firefox enable dom.webgpu.enabled."
    : "No WebGPU adapter was found. On Debian/Ubuntu install a Vulkan driver, e.g. " +
      "'sudo apt-get install mesa-vulkan-drivers' (CPU fallback: lavapipe), or a GPU vendor " +
      "driver; then run again. Check with: vulkaninfo --summary.";
}

/** Requests an adapter and a device with the limits the engine needs; fails with clear advice. */
export async function acquireGpu(options: AcquireOptions = {}): Promise<GpuContext> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu || options.simulateNoAdapter) throw new GpuUnavailableError(noAdapterAdvice());
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference });
  } catch (e) {
    throw new GpuUnavailableError(
      `${noAdapterAdvice()} (requestAdapter failed: ${(e as Error).message})`,
    );
  }
  if (!adapter) throw new GpuUnavailableError(noAdapterAdvice());
  const wgslFeatures =
    (gpu as GPU & { wgslLanguageFeatures?: ReadonlySet<string> }).wgslLanguageFeatures;
  if (wgslFeatures && !wgslFeatures.has("readonly_and_readwrite_storage_textures")) {
    throw new GpuUnavailableError(
      "This WebGPU implementation lacks the WGSL language feature " +
        "'readonly_and_readwrite_storage_textures' (read-only storage textures), which the engine " +
        "uses for every tensor. Update Deno (>= 2.1) or the browser (Chrome >= 124).",
    );
  }
  const storageTextures = adapter.limits.maxStorageTexturesPerShaderStage;
  const reads: TextureReads = options.textureReads && options.textureReads !== "auto"
    ? options.textureReads
    : storageTextures >= STORAGE_READS_NEED
    ? "storage"
    : "sampled";
  const need = reads === "storage" ? STORAGE_READS_NEED : 2;
  if (storageTextures < need) {
    throw new GpuUnavailableError(
      `adapter allows ${storageTextures} storage textures per shader stage; the engine needs ` +
        `${need}`,
    );
  }
  const features: GPUFeatureName[] = [];
  if ((options.timestamps ?? true) && adapter.features.has("timestamp-query")) {
    features.push("timestamp-query");
  }
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: features,
    requiredLimits: {
      maxStorageTexturesPerShaderStage: Math.min(l.maxStorageTexturesPerShaderStage, 16),
      maxTextureDimension2D: l.maxTextureDimension2D,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    },
  });
  const info = adapter.info;
  const name =
    [info.description, info.vendor && `vendor ${info.vendor}`].filter(Boolean).join(", ") ||
    "unknown adapter";
  const cpu = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader|softpipe|warp/i.test(
      `${info.description} ${info.device} ${info.architecture}`,
    );
  const swiftshader = /swiftshader/i.test(`${info.description} ${info.architecture}`);
  return new GpuContext(
    device,
    info.description || (swiftshader ? "SwiftShader" : name),
    cpu,
    reads,
    options.unrollLoops ?? !swiftshader,
  );
}
