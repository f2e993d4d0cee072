/**
 * Shared helpers of the kernel benchmarks: one device, the kernel-check suite's verdict before
 * timing (a wrong fast kernel is worthless), a bench body that waits for the GPU to finish, and a
 * table of GPU time per kernel with achieved GFLOP/s and GB/s from timestamp queries.
 *
 * @module
 */
import {
  acquireGpu,
  assertPassed,
  type CaseRun,
  type Dataset,
  type Dispatch,
  type GpuContext,
  type GpuDataset,
  lenet5,
  Model,
  profileDispatches,
  recordDispatches,
  Rng,
  Tuner,
  uploadDataset,
} from "../mod.ts";
import {
  FileTuningStore,
  formatHelp,
  type OptionSpec,
  parseOptions,
  type ProgramInfo,
} from "../mod_deno.ts";

let shared: Promise<GpuContext> | null = null;

/** One device per bench process. */
export function benchGpu(): Promise<GpuContext> {
  shared ??= acquireGpu();
  return shared;
}

export const benchRng = (salt: number): Rng => new Rng(0xbe4c + salt);

/** `--tuning`: the kernel variants of the whole-model benches. */
export const TUNING_OPTION = {
  type: "enum",
  values: ["off", "auto"],
  default: "off",
  description:
    "kernel variants: shape-based defaults, or measured on this adapter (cached in results/.cache)",
} as const;

/** A bench's options from `Deno.args`; null after printing the `--help` text (exit 0). */
export function benchOptions<T>(spec: Record<string, OptionSpec>, program: ProgramInfo): T | null {
  const { options, help } = parseOptions<T>(Deno.args, spec, program);
  if (help) {
    console.log(formatHelp(spec, program));
    return null;
  }
  return options;
}

/** LeNet-5 (seed 1), `split` uploaded to the GPU, and the kernel tuner `tuning` asks for. */
export function lenet5Bench(
  ctx: GpuContext,
  split: Dataset,
  label: string,
  tuning: "off" | "auto" = "off",
): { data: GpuDataset; model: Model; tuner: Tuner | null } {
  const data = uploadDataset(ctx, split.images, split.labels, split.count, 784, label);
  const model = Model.create(ctx, lenet5(), { seed: 1 });
  const tuner = tuning === "auto" ? new Tuner(ctx, "auto", new FileTuningStore()) : null;
  model.tuner = tuner;
  return { data, model, tuner };
}

/** The dispatches a kernel-check case validated; throws if any check failed (before timing). */
export function validated<K>(run: CaseRun<K>): K {
  assertPassed(run.checks, "before timing");
  return run.kernels;
}

/** What one kernel computes, for the GFLOP/s and GB/s columns. */
export interface KernelCase {
  name: string;
  dispatches: Dispatch[];
  /** Floating-point operations per run. */
  flops: number;
  /** Minimum bytes moved per run (each input read once, each output written once). */
  bytes: number;
  /** Runs per timed bench iteration (default: the group's). */
  reps?: number;
}

/** Records `reps` runs of the dispatches in one submission and waits for them. */
export async function runReps(
  ctx: GpuContext,
  dispatches: Dispatch[],
  reps: number,
): Promise<void> {
  const enc = ctx.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  for (let r = 0; r < reps; r++) recordDispatches(pass, dispatches);
  pass.end();
  ctx.device.queue.submit([enc.finish()]);
  await ctx.device.queue.onSubmittedWorkDone();
}

/** Registers a Deno.bench that times `reps` runs including waiting for the GPU. */
export function benchKernel(group: string, c: KernelCase, ctx: GpuContext, reps = 5): void {
  Deno.bench({
    name: c.name,
    group,
    async fn(b) {
      await runReps(ctx, c.dispatches, 1); // warm: compiled, caches filled
      b.start();
      await runReps(ctx, c.dispatches, reps);
      b.end();
    },
  });
}

/**
 * Prints GPU time per kernel (timestamp queries; min and median of sustained repetitions) with
 * GFLOP/s and GB/s, or a note when the adapter has no timestamp queries.
 */
export async function printKernelTable(
  ctx: GpuContext,
  title: string,
  cases: KernelCase[],
  reps = 10,
): Promise<void> {
  const lines = [`\n${title} on ${ctx.adapterName}`];
  if (!ctx.hasTimestamps) {
    lines.push("  (no timestamp-query on this adapter: see the deno bench times)");
    console.log(lines.join("\n"));
    return;
  }
  lines.push(
    `  ${"kernel".padEnd(44)} ${"GPU ms (min)".padStart(12)} ${"median".padStart(8)} ${
      "GFLOP/s".padStart(8)
    } ${"GB/s".padStart(7)}`,
  );
  for (const c of cases) {
    await runReps(ctx, c.dispatches, 2);
    const t = (await profileDispatches(ctx, c.dispatches, { reps }))!;
    const min = t.reduce((s, x) => s + x.min, 0), med = t.reduce((s, x) => s + x.median, 0);
    lines.push(
      `  ${c.name.padEnd(44)} ${min.toFixed(3).padStart(12)} ${med.toFixed(3).padStart(8)} ` +
        `${(c.flops / min / 1e6).toFixed(2).padStart(8)} ${
          (c.bytes / min / 1e6).toFixed(2).padStart(7)
        }`,
    );
  }
  console.log(lines.join("\n"));
}

/**
 * A bench file's whole life: acquires the device, builds (and validates) the kernels to time,
 * prints their GPU-time table under `title`, and registers one Deno.bench per kernel in `group`.
 */
export async function kernelBench(
  group: string,
  title: string,
  build: (ctx: GpuContext) => Promise<KernelCase[]>,
  reps = 20,
): Promise<void> {
  const ctx = await benchGpu();
  const cases = await build(ctx);
  await printKernelTable(ctx, title, cases);
  for (const c of cases) benchKernel(group, c, ctx, c.reps ?? reps);
}
