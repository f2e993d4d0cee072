/**
 * Part 3: label noise. Exactly round(frac x N) training images, chosen without replacement
 * (seeded), get a uniformly random label in 0..9 (which can equal the true one; the number that
 * actually changed is recorded), or with `--label-mode different` a random different label. The
 * network is trained on the corrupted labels and tested on the clean test set.
 *
 *   deno task part3 [--frac 0.15 | --fracs 0,0.05,0.15,0.5] [--label-mode uniform|different]
 *                   [--seeds 1] [--seed 1] [--out results/part3]
 *
 * After training, each model is also evaluated on the first 10,000 training images against the
 * labels it was trained on: the fraction it disagrees with is a label-noise detector the report
 * discusses.
 *
 * Writes metrics.json, error_vs_frac.png, per_class_error.png and learning_curves.png at the end,
 * atomically.
 *
 * @module
 */
import { formatHelp, type OptionSpec, parseOptions } from "../src/cli/args.ts";
import { formatCount } from "../src/cli/progress.ts";
import { corruptLabels, LABEL_MODES, type LabelMode } from "../src/study/label_noise.ts";
import { type Part3Condition, type Part3Run, summarizeRuns } from "../src/study/results.ts";
import { Evaluator } from "../src/train/evaluator.ts";
import { OutputDir } from "../src/util/atomic_write.ts";
import { deriveSeed } from "../src/util/rng.ts";
import { summarize } from "../src/util/stats.ts";
import {
  checkWritable,
  environmentRecord,
  pct,
  recipeOf,
  reusable,
  runExperiment,
  runRecord,
  type RunResult,
  runSeeds,
  type Setup,
  setup,
  stageSweepCharts,
  sweepValues,
  TRAINING_OPTIONS,
  type TrainingOptions,
  trainRun,
} from "./common.ts";

export const DEFAULT_FRACS = [0, 0.05, 0.15, 0.5] as const;

export const PART3_FRAC_OPTIONS: Record<string, OptionSpec> = {
  frac: {
    type: "number",
    min: 0,
    max: 1,
    description: "run one label-noise level: the fraction of training images given a random label",
  },
  fracs: {
    type: "number-list",
    min: 0,
    max: 1,
    description: `run these fractions (default: ${DEFAULT_FRACS.join(",")})`,
  },
  labelMode: {
    type: "enum",
    values: LABEL_MODES,
    default: "uniform",
    description: "uniform: a random label in 0..9 (may equal the true one); different: a random " +
      "label other than the true one",
  },
};

export const PART3_SPEC: Record<string, OptionSpec> = {
  ...TRAINING_OPTIONS,
  ...PART3_FRAC_OPTIONS,
  out: { type: "path", default: "results/part3", description: "output folder" },
};

export interface Part3Options extends TrainingOptions {
  fracs: number[];
  labelMode: LabelMode;
  out: string;
}

const PROGRAM = {
  name: "deno task part3",
  summary: "Part 3: train with a fraction of the training labels replaced by random labels, " +
    "test on the clean test set.",
};

/** Parses and validates the command line (UsageError on a mistake); null after --help. */
export function parsePart3(argv: string[]): Part3Options | null {
  const { options, help } = parseOptions<
    TrainingOptions & { frac?: number; fracs?: number[]; labelMode: LabelMode; out: string }
  >(argv, PART3_SPEC, PROGRAM);
  if (help) {
    console.log(formatHelp(PART3_SPEC, PROGRAM));
    return null;
  }
  const fracs = sweepValues(options.frac, options.fracs, DEFAULT_FRACS, {
    single: "frac",
    list: "fracs",
    program: PROGRAM.name,
  });
  return { ...options, fracs };
}

const fracLabel = (frac: number) => `${+(frac * 100).toFixed(4)}% noisy`;

/** Training images the label audit evaluates (the first N): enough for a ±0.5-point estimate. */
const AUDIT_IMAGES = 10_000;

/**
 * Runs Part 3 and writes its results. `shared` reuses a set-up and `baseline` Part 1's runs as
 * the fraction-0 runs when their seeds match (both from `deno task all`).
 */
export async function runPart3(
  options: Part3Options,
  shared?: Setup,
  baseline?: RunResult[],
): Promise<void> {
  const t0 = performance.now();
  const s = shared ?? await setup(options);
  const recipe = recipeOf(options);
  const seeds = runSeeds(options.seed, options.seeds);
  const N = s.train.count;
  console.error(
    `part 3: label noise ${options.fracs.join(", ")} (${options.labelMode} labels); ` +
      `${seeds.length} seed(s) each; ${N} training and ${s.test.count} clean test images`,
  );
  const conditions: Part3Condition[] = [];
  for (const frac of options.fracs) {
    const runs: Part3Run[] = [];
    for (const [i, seed] of seeds.entries()) {
      const corrupted = corruptLabels(s.train.labels, frac, seed, options.labelMode);
      const reuse = frac === 0 ? reusable(baseline, seed) : undefined;
      if (reuse) {
        console.error(`${fracLabel(frac)}: Part 1's run with seed ${seed} (same recipe and data)`);
        runs.push({
          ...runRecord(reuse),
          labelSeed: deriveSeed(seed, "labels"),
          corrupted: 0,
          changed: 0,
          reusedFrom: "part1",
        });
        continue;
      }
      let trainDisagreement: number | undefined;
      const auditImages = Math.min(AUDIT_IMAGES, N);
      const r = await trainRun(s, {
        recipe,
        seed,
        label: fracLabel(frac) + (seeds.length > 1 ? ` seed ${i + 1}/${seeds.length}` : ""),
        labels: frac > 0 ? corrupted.labels : undefined,
        // the trained model against the labels it was trained on (first training images)
        afterTraining: async (model, trained) => {
          const evaluator = await Evaluator.create(s.ctx, model, trained, { count: auditImages });
          trainDisagreement = (await evaluator.run()).error;
        },
      });
      runs.push({
        ...runRecord(r),
        labelSeed: deriveSeed(seed, "labels"),
        corrupted: corrupted.corrupted.length,
        changed: corrupted.changed,
        trainDisagreement,
        auditImages,
      });
      console.error(
        `  ${formatCount(corrupted.corrupted.length)} labels randomized, ` +
          `${formatCount(corrupted.changed)} changed; the trained model disagrees with ` +
          `${pct(trainDisagreement ?? NaN)} of the labels of the first ${
            formatCount(auditImages)
          } training images`,
      );
    }
    const summary = summarizeRuns(runs);
    conditions.push({
      frac,
      corrupted: runs[0].corrupted,
      changed: summarize(runs.map((r) => r.changed)),
      changedFraction: summarize(runs.map((r) => r.changed / N)),
      ...(runs.every((r) => r.trainDisagreement !== undefined)
        ? { trainDisagreement: summarize(runs.map((r) => r.trainDisagreement!)) }
        : {}),
      ...summary,
    });
  }

  const sweep = conditions.map((c) => ({ label: fracLabel(c.frac), value: c.frac, summary: c }));
  const out = new OutputDir(options.out);
  const charts = await stageSweepCharts(out, sweep, {
    part: "Part 3",
    what: "label-noise level",
    errorKey: "errorVsFrac",
    errorFile: "error_vs_frac.png",
    errorTitle: "Part 3: test error vs label noise",
    xLabel: `fraction of training images given a random label (${options.labelMode})`,
  });
  out.stageJson("metrics.json", {
    schema: "webgpu-mnist/part3@1",
    createdAt: new Date().toISOString(),
    ...environmentRecord(s),
    recipe,
    seed: options.seed,
    seeds,
    labelMode: options.labelMode,
    labelAudit:
      "each trained model evaluated on the first min(10,000, N) training images against " +
      "the labels it was trained on (trainDisagreement)",
    labelNoise: {
      selection: "exactly round(frac x N) training images, without replacement",
      newLabel: options.labelMode === "uniform"
        ? "uniform in 0..9 (can equal the true label)"
        : "uniform over the 9 other labels",
      labelSeed: 'deriveSeed(run seed, "labels")',
      testSet: "clean (true labels)",
    },
    conditions,
    timings: {
      setupSeconds: s.setupSeconds,
      setupShared: shared !== undefined,
      // runs trained here (not those reused from Part 1)
      trainSeconds: conditions.reduce(
        (a, c) => a + c.runs.reduce((b, r) => b + (r.reusedFrom ? 0 : r.trainSeconds), 0),
        0,
      ),
      totalSeconds: (performance.now() - t0) / 1000,
    },
    charts,
  });
  const written = await out.commit();

  console.log(`\nPart 3: test error on the clean test set (${s.test.count} images)`);
  console.log(
    "fraction   randomized   changed   test error" + (seeds.length > 1 ? " (mean +- sd)" : ""),
  );
  for (const c of conditions) {
    const e = c.testError;
    console.log(
      `${String(c.frac).padStart(8)}   ${formatCount(c.corrupted).padStart(10)}   ` +
        `${formatCount(c.changed.mean).padStart(7)}   ${pct(e.mean).padStart(9)}` +
        (seeds.length > 1 ? ` +- ${pct(e.std)}` : ""),
    );
  }
  console.log(`\nwrote ${written.join(", ")}`);
}

async function main(): Promise<number> {
  const options = parsePart3(Deno.args);
  if (!options) return 0;
  await checkWritable(options.out);
  await runPart3(options);
  return 0;
}

if (import.meta.main) runExperiment(main, PROGRAM.name);
