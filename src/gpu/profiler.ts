/**
 * GPU time per dispatch with timestamp queries (where the adapter offers `timestamp-query`):
 * each dispatch runs in its own pass with begin/end timestamps, repeated, and the median kept.
 *
 * @module
 */
import type { GpuContext } from "./context.ts";
import type { Dispatch } from "./program.ts";

/** GPU milliseconds of one dispatch over the repetitions. */
export interface DispatchTiming {
  /** Fastest repetition, in milliseconds. */
  min: number;
  /** Median repetition, in milliseconds. */
  median: number;
}

/**
 * GPU milliseconds of each dispatch (minimum and median over `reps` after a warm-up), or null
 * without timestamp queries. On shared CPU adapters the minimum is the most repeatable figure.
 */
export async function profileDispatches(
  ctx: GpuContext,
  dispatches: readonly Dispatch[],
  opts: { reps?: number; stepOffset?: number } = {},
): Promise<DispatchTiming[] | null> {
  if (!ctx.hasTimestamps) return null;
  const reps = opts.reps ?? 10, n = dispatches.length, device = ctx.device;
  // all repetitions in one submission: the CPU adapter's threads stay busy as in training (cores
  // that idle between short submissions run the next kernel slower)
  const count = 2 * n * (reps + 1);
  const querySet = device.createQuerySet({ type: "timestamp", count });
  const resolve = device.createBuffer({
    size: 8 * count,
    usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  const staging = device.createBuffer({
    size: 8 * count,
    usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
  });
  const enc = device.createCommandEncoder();
  for (let r = 0; r <= reps; r++) {
    dispatches.forEach((d, i) => {
      const q = 2 * (r * n + i);
      const pass = enc.beginComputePass({
        timestampWrites: { querySet, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1 },
      });
      pass.setPipeline(d.kernel.pipeline);
      if (d.stepped) pass.setBindGroup(0, d.bindGroup, [opts.stepOffset ?? 0]);
      else pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
      pass.end();
    });
  }
  enc.resolveQuerySet(querySet, 0, count, resolve, 0);
  enc.copyBufferToBuffer(resolve, 0, staging, 0, 8 * count);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const t = new BigUint64Array(staging.getMappedRange().slice(0));
  staging.destroy();
  querySet.destroy();
  resolve.destroy();
  ctx.check();
  return dispatches.map((_, i) => {
    const s: number[] = [];
    for (let r = 1; r <= reps; r++) {
      s.push(Number(t[2 * (r * n + i) + 1] - t[2 * (r * n + i)]) / 1e6);
    }
    s.sort((a, b) => a - b);
    return { min: s[0], median: s[Math.floor(s.length / 2)] };
  });
}
