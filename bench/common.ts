/**
 * Shared helpers of the kernel benchmarks: one device, correctness checks before timing (a
 * wrong fast kernel is worthless), a bench body that waits for the GPU to finish, and a table of
 * GPU time per kernel with achieved GFLOP/s and GB/s from timestamp queries.
 *
 * @module
 */
import { acquireGpu, type GpuContext } from "../src/gpu/context.ts";
import { type Dispatch, recordDispatches } from "../src/gpu/program.ts";
import { profileDispatches } from "../src/gpu/profiler.ts";
import { Rng } from "../src/util/rng.ts";

let shared: Promise<GpuContext> | null = null;

/** One device per bench process. */
export function benchGpu(): Promise<GpuContext> {
  shared ??= acquireGpu();
  return shared;
}

export function randomValues(rng: Rng, n: number, lo = -1, hi = 1): Float64Array {
  return Float64Array.from({ length: n }, () => rng.uniform(lo, hi));
}

export const benchRng = (salt: number) => new Rng(0xbe4c + salt);

/** Throws if the GPU result is off the reference by more than `tol` (relative to max |ref|). */
export function checkClose(
  what: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol = 1e-4,
): void {
  let err = 0, norm = 0, at = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= err)) {
      err = d;
      at = i;
    }
    norm = Math.max(norm, Math.abs(want[i]));
  }
  if (!(err <= tol * Math.max(norm, 1e-12))) {
    throw new Error(
      `${what}: GPU result differs from the reference (relative error ${
        (err / norm).toExponential(2)
      } at ${at}: ${got[at]} vs ${want[at]})`,
    );
  }
}

/** What one kernel computes, for the GFLOP/s and GB/s columns. */
export interface KernelCase {
  name: string;
  dispatches: Dispatch[];
  /** Floating-point operations per run. */
  flops: number;
  /** Minimum bytes moved per run (each input read once, each output written once). */
  bytes: number;
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
