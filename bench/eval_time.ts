/**
 * Evaluation time: LeNet-5 (seed 1, untrained: the time does not depend on the weights) on all
 * 10,000 MNIST test images, forward + argmax + confusion matrix on the GPU, in chunks of
 * `--batch` images. Prints the median wall time of `--runs` runs after one warm-up run.
 *
 *   deno run --allow-read=. bench/eval_time.ts [--batch 256] [--runs 5]
 *
 * @module
 */
import { acquireGpu, Evaluator } from "../mod.ts";
import { loadMnistSplit, runCli } from "../mod_deno.ts";
import { benchOptions, lenet5Bench } from "./common.ts";

const SPEC = {
  batch: { type: "int", default: 0, min: 0, max: 10000, description: "chunk size (0: default)" },
  runs: { type: "int", default: 5, min: 1, max: 50, description: "timed runs" },
} as const;
const PROGRAM = { name: "bench/eval_time.ts", summary: "Evaluation time on the MNIST test set." };

async function main(): Promise<number> {
  const o = benchOptions<{ batch: number; runs: number }>(SPEC, PROGRAM);
  if (!o) return 0;
  const ctx = await acquireGpu();
  const { data, model } = lenet5Bench(ctx, await loadMnistSplit("test"), "test");
  const ev = await Evaluator.create(ctx, model, data, o.batch ? { batch: o.batch } : {});
  await ev.run(); // warm-up: pipelines compiled, caches filled
  const ms: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    const t0 = performance.now();
    await ev.run();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  console.log(
    `${ev.count} test images in chunks of ${o.batch || "default"}: median ${
      ms[ms.length >> 1].toFixed(0)
    } ms (min ${ms[0].toFixed(0)}, max ${
      ms.at(-1)!.toFixed(0)
    }; ${o.runs} runs) on ${ctx.adapterName}`,
  );
  return 0;
}

if (import.meta.main) runCli(main);
