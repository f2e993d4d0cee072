/**
 * The fixed cost of one dispatch on this adapter: wall time per dispatch of a kernel that does
 * almost nothing (one workgroup of 16 invocations adding 1 to a buffer), recorded as a training
 * step is (many dispatches per compute pass, many passes per command buffer, one submission after
 * another). On a CPU adapter this is the price of waking the driver's worker threads and waiting
 * for them; it is what fusing two dispatches into one saves, on top of the kernels' own time.
 *
 *   deno run --allow-read=. bench/dispatch_overhead.ts [--per-pass 20] [--runs 5]
 *
 * @module
 */
import { acquireGpu } from "../mod.ts";
import { runCli } from "../mod_deno.ts";
import { benchOptions } from "./common.ts";

const SPEC = {
  "per-pass": { type: "int", default: 20, min: 1, max: 1000, description: "dispatches per pass" },
  runs: {
    type: "int",
    default: 5,
    min: 1,
    max: 50,
    description: "timed runs (the median is shown)",
  },
} as const;
const PROGRAM = {
  name: "bench/dispatch_overhead.ts",
  summary: "Wall time per dispatch of a near-empty kernel on this adapter.",
};

const PASSES = 25; // a training submission holds 25 steps, one pass each
const SUBMITS = 8;

async function main(): Promise<number> {
  const o = benchOptions<{ "per-pass": number; runs: number }>(SPEC, PROGRAM);
  if (!o) return 0;
  const ctx = await acquireGpu();
  const device = ctx.device;
  const module = device.createShaderModule({
    code: `@group(0) @binding(0) var<storage, read_write> b: array<f32>;
@compute @workgroup_size(16) fn main(@builtin(global_invocation_id) g: vec3u) { b[g.x] += 1.0; }`,
  });
  const pipeline = device.createComputePipeline({
    layout: "auto",
    compute: { module, entryPoint: "main" },
  });
  const buffer = device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE });
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer } }],
  });
  const perPass = o["per-pass"];
  const run = async (): Promise<number> => {
    const t0 = performance.now();
    for (let s = 0; s < SUBMITS; s++) {
      const enc = device.createCommandEncoder();
      for (let p = 0; p < PASSES; p++) {
        const pass = enc.beginComputePass();
        for (let i = 0; i < perPass; i++) {
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, bindGroup);
          pass.dispatchWorkgroups(1);
        }
        pass.end();
      }
      device.queue.submit([enc.finish()]);
    }
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) * 1000 / (SUBMITS * PASSES * perPass);
  };
  await run(); // warm-up: pipeline compiled, threads started
  const us: number[] = [];
  for (let r = 0; r < o.runs; r++) us.push(await run());
  us.sort((a, b) => a - b);
  console.log(
    `${ctx.adapterName}: ${us[us.length >> 1].toFixed(1)} us per dispatch (median of ${o.runs}; ` +
      `min ${us[0].toFixed(1)}, max ${us.at(-1)!.toFixed(1)}; ${perPass} per pass, ` +
      `${PASSES} passes per submission)`,
  );
  buffer.destroy();
  return 0;
}

if (import.meta.main) runCli(main);
