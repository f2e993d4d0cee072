/**
 * Where one LeNet-5 training step's time goes, kernel by kernel, as a share of the step
 * (timestamp queries; sustained repetitions, min and median).
 *
 *   deno task profile [--batch 64] [--reps 20] [--tuning off|auto]
 *
 * @module
 */
import { acquireGpu, ADAM_DEFAULTS, profileDispatches, subset, Trainer } from "../mod.ts";
import { loadMnistSplit, runCli } from "../mod_deno.ts";
import { benchOptions, lenet5Bench, TUNING_OPTION } from "./common.ts";

const SPEC = {
  batch: { type: "int", default: 64, min: 1, max: 4096, description: "batch size" },
  reps: { type: "int", default: 20, min: 1, max: 1000, description: "repetitions per dispatch" },
  tuning: TUNING_OPTION,
} as const;
const PROGRAM = {
  name: "deno task profile",
  summary: "Per-kernel time of one LeNet-5 training step.",
};

async function main(): Promise<number> {
  const o = benchOptions<{ batch: number; reps: number; tuning: "off" | "auto" }>(SPEC, PROGRAM);
  if (!o) return 0;
  const ctx = await acquireGpu();
  if (!ctx.hasTimestamps) {
    console.error(
      `${ctx.adapterName} has no timestamp-query: no per-kernel times (use deno task bench:train)`,
    );
    return 1;
  }
  const train = subset(await loadMnistSplit("train"), Math.max(o.batch * 4, 256));
  const { data, model, tuner } = lenet5Bench(ctx, train, "train", o.tuning);
  const trainer = await Trainer.create(ctx, model, data, {
    batchSize: o.batch,
    epochs: 1,
    optimizer: ADAM_DEFAULTS,
    seed: 1,
  });
  await tuner?.flush();
  await trainer.run(); // warm-up with real data flowing through
  const t = (await profileDispatches(ctx, trainer.stepDispatches, { reps: o.reps }))!;
  const total = t.reduce((s, x) => s + x.median, 0);
  console.log(
    `LeNet-5 training step, batch ${o.batch}, ${ctx.adapterName}, ${o.reps} sustained repetitions\n`,
  );
  console.log(
    `  ${"#".padStart(2)}  ${"kernel".padEnd(42)} ${"workgroups".padStart(10)} ${
      "min ms".padStart(8)
    } ${"median ms".padStart(10)} ${"share".padStart(6)}`,
  );
  trainer.stepDispatches.forEach((d, i) => {
    console.log(
      `  ${String(i + 1).padStart(2)}  ${d.kernel.name.padEnd(42)} ${
        String(d.workgroups[0]).padStart(10)
      } ` +
        `${t[i].min.toFixed(3).padStart(8)} ${t[i].median.toFixed(3).padStart(10)} ${
          (100 * t[i].median / total).toFixed(1).padStart(5)
        }%`,
    );
  });
  const min = t.reduce((s, x) => s + x.min, 0);
  console.log(
    `\n  sum of kernels: ${min.toFixed(2)} ms (min), ${total.toFixed(2)} ms (median) per step`,
  );
  console.log(
    `  = ${
      Math.round((o.batch / total) * 1000)
    } images/s of kernel time alone (median); dispatch overhead comes on top`,
  );
  for (const d of tuner?.decisions ?? []) {
    console.log(`  tuned ${d.key.slice(0, 70)} -> ${d.choice}${d.fromCache ? " (cached)" : ""}`);
  }
  return 0;
}

if (import.meta.main) runCli(main);
