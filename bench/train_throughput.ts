/**
 * Training throughput: LeNet-5 on the full MNIST training set for one epoch (batch 64, Adam)
 * after a short warm-up, without evaluation. Prints images/s and the adapter.
 *
 *   deno task bench:train [--epochs 1] [--batch 64] [--warmup-steps 50] [--runs 1]
 *
 * @module
 */
import { acquireGpu, ADAM_DEFAULTS, subset, Trainer, uploadDataset } from "../mod.ts";
import { loadMnistSplit, runCli } from "../mod_deno.ts";
import { benchOptions, lenet5Bench, TUNING_OPTION } from "./common.ts";

const SPEC = {
  batch: { type: "int", default: 64, min: 1, max: 4096, description: "batch size" },
  warmupSteps: {
    type: "int",
    default: 50,
    min: 0,
    max: 100000,
    description: "steps trained before timing",
  },
  runs: { type: "int", default: 1, min: 1, max: 20, description: "timed epochs (each reported)" },
  tuning: TUNING_OPTION,
} as const;
const PROGRAM = {
  name: "deno task bench:train",
  summary: "LeNet-5 training throughput on MNIST (images/s).",
};

async function main(): Promise<number> {
  const o = benchOptions<
    { batch: number; warmupSteps: number; runs: number; tuning: "off" | "auto" }
  >(SPEC, PROGRAM);
  if (!o) return 0;
  const ctx = await acquireGpu();
  const train = await loadMnistSplit("train");
  const { data, model, tuner } = lenet5Bench(ctx, train, "train", o.tuning);
  if (o.warmupSteps > 0) {
    // warm-up: compile pipelines, fill Mesa's shader cache and wake the CPU adapter's threads
    const warm = subset(train, Math.min(train.count, o.warmupSteps * o.batch));
    const wdata = uploadDataset(ctx, warm.images, warm.labels, warm.count, 784, "warm-up");
    const wt = await Trainer.create(ctx, model, wdata, {
      batchSize: o.batch,
      epochs: 1,
      optimizer: ADAM_DEFAULTS,
      seed: 1,
    });
    await wt.run();
  }
  const rates: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    const trainer = await Trainer.create(ctx, model, data, {
      batchSize: o.batch,
      epochs: 1,
      optimizer: ADAM_DEFAULTS,
      seed: 1 + r,
    });
    const t0 = performance.now();
    const res = await trainer.run();
    const seconds = (performance.now() - t0) / 1000;
    const images = trainer.stepsPerEpoch * o.batch;
    rates.push(images / seconds);
    console.log(
      `${Math.round(images / seconds)} images/s  (${images} images in ${
        seconds.toFixed(2)
      } s, batch ${o.batch}, ` +
        `${trainer.stepDispatches.length} dispatches/step, final loss ${
          res.state.lossCurve.at(-1)?.loss.toFixed(4)
        })`,
    );
  }
  if (rates.length > 1) {
    const sorted = [...rates].sort((a, b) => a - b);
    console.log(
      `median ${Math.round(sorted[Math.floor(sorted.length / 2)])} images/s, min ${
        Math.round(sorted[0])
      }, max ${Math.round(sorted.at(-1)!)}`,
    );
  }
  await tuner?.flush();
  const seen = new Set<string>();
  for (const d of tuner?.decisions ?? []) {
    if (seen.has(d.key)) continue;
    seen.add(d.key);
    console.log(`variant ${d.key.slice(0, 90)} -> ${d.choice}${d.fromCache ? " (cached)" : ""}`);
  }
  console.log(
    `adapter: ${ctx.adapterName}; kernel variants: ${
      o.tuning === "auto" ? "measured" : "defaults"
    }`,
  );
  return 0;
}

if (import.meta.main) runCli(main);
