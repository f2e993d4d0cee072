/**
 * Interleaved A/B of LeNet-5 training throughput between two checkouts of this project, in one
 * process: each tree's library trains on its own device, and short runs alternate (A B, B A,
 * ...), so load from other jobs on a shared machine falls on both alike. Prints images/s per
 * run and the ratio B/A per pair, then the median ratio.
 *
 *   deno run --allow-read bench/ab_train.ts A_ROOT B_ROOT [STEPS] [PAIRS]   (reads both trees)
 *
 * @module
 */
import { loadMnistSplit } from "../mod_deno.ts";

/** What the harness uses of a tree's `mod.ts` (typed here: its path is only known at run time). */
interface Library {
  acquireGpu(): Promise<unknown>;
  subset(d: unknown, n: number): unknown;
  ADAM_DEFAULTS: unknown;
  Trainer: {
    create(ctx: unknown, model: unknown, data: unknown, opts: unknown): Promise<TrainerLike>;
  };
}
interface TrainerLike {
  stepDispatches: readonly unknown[];
  run(): Promise<unknown>;
}
type Bench = (ctx: unknown, split: unknown, label: string) => { data: unknown; model: unknown };

const BATCH = 64;

async function setup(root: string, split: unknown) {
  const lib: Library = await import(`${root}/mod.ts`);
  const { lenet5Bench }: { lenet5Bench: Bench } = await import(`${root}/bench/common.ts`);
  const ctx = await lib.acquireGpu();
  const { data, model } = lenet5Bench(ctx, split, "train");
  const make = (seed: number) =>
    lib.Trainer.create(ctx, model, data, {
      batchSize: BATCH,
      epochs: 1,
      optimizer: lib.ADAM_DEFAULTS,
      seed,
    });
  const warm = await make(1);
  await warm.run(); // compiles the pipelines, wakes the adapter's threads
  return { make, dispatches: warm.stepDispatches.length };
}

async function main() {
  const [a, b, steps = "200", pairs = "10"] = Deno.args;
  if (!a || !b || !(Number(steps) >= 1) || !(Number(pairs) >= 1)) {
    console.error("usage: bench/ab_train.ts A_ROOT B_ROOT [STEPS] [PAIRS] (absolute paths)");
    Deno.exit(2);
  }
  const lib: Library = await import(`${a}/mod.ts`);
  const split = lib.subset(await loadMnistSplit("train"), Number(steps) * BATCH);
  const trees = [await setup(a, split), await setup(b, split)];
  console.log(
    `dispatches/step: A ${trees[0].dispatches}, B ${trees[1].dispatches}; ${steps} steps per run`,
  );
  const rate = async (t: (typeof trees)[number], seed: number) => {
    const trainer = await t.make(seed);
    const t0 = performance.now();
    await trainer.run();
    return (Number(steps) * BATCH) / ((performance.now() - t0) / 1000);
  };
  const ratios: number[] = [];
  for (let i = 0; i < Number(pairs); i++) {
    // alternate which tree runs first
    const order = i % 2 === 0 ? [0, 1] : [1, 0];
    const r = [0, 0];
    for (const k of order) r[k] = await rate(trees[k], 2 + i);
    ratios.push(r[1] / r[0]);
    console.log(
      `pair ${i + 1}: A ${Math.round(r[0])} images/s, B ${Math.round(r[1])} images/s, ` +
        `B/A ${(r[1] / r[0]).toFixed(3)}`,
    );
  }
  const s = [...ratios].sort((x, y) => x - y), h = s.length >> 1;
  const median = s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
  console.log(
    `median B/A ${median.toFixed(3)} (min ${s[0].toFixed(3)}, max ${s.at(-1)!.toFixed(3)})`,
  );
}

if (import.meta.main) await main();
