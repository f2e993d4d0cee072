/**
 * The whole study in one process: Part 1 and its ablation (what else improves accuracy), Parts 2
 * and 3, the classical baselines (naive Bayes, k-NN, logistic regression, MLP; LeNet-5 and the
 * wider CNN come from Part 1 and its ablation), then the report. The device and the data are
 * set up once and shared; each part writes its results folder when it finishes (atomically), so
 * an interruption keeps the parts already done. Prints the total time at the end.
 *
 * Fraction 0 (Part 3) is Part 1's recipe; with the same seeds and data it would give
 * bit-identical numbers, so `all` reuses Part 1's runs for it (recorded as `reusedFrom: "part1"`
 * and stated in the report); `--rerun-baselines` trains it again. Sigma 0 (Part 2) is trained
 * again in any case: the test-time evaluation needs its models (same numbers as Part 1).
 *
 *   deno task all [--epochs 1] [--seeds 5] [--seed 1] [--sigmas 0,8,32,128]
 *                 [--fracs 0,0.05,0.15,0.5] [--label-mode uniform] [--rerun-baselines]
 *                 [--ablation standard|full|none] [--full] [--results results]
 *
 * Every condition runs over 5 seeds by default (paired: the same seed index shares
 * initialization and shuffling), so differences get 95% intervals; `--seeds 1` is a quick look
 * that establishes nothing. The standard profile evaluates subsets of the test set for the
 * large test-time suites (stated in the report); `--full` evaluates everything at every seed.
 * Before training, the plan (runs, run-epochs, evaluations) and an estimated time are printed.
 *
 * Every option is checked before any work starts.
 *
 * Interrupted (Ctrl-C or SIGTERM, exit 130), the same command continues: a finished Part 1 of the
 * same configuration is kept (results/part1/metrics.json), the ablation and Parts 2 and 3 train
 * only the runs not yet in results/part1/ablation/runs/ and results/part{2,3}/runs/, and the
 * baselines are kept when results/baselines/metrics.json has the same configuration.
 *
 * @module
 */
import { join } from "node:path";
import {
  type AblationChoice,
  canonicalJson,
  type LabelMode,
  type Part1Ensemble,
  type RunRecord,
} from "../mod.ts";
import { formatDuration, formatHelp, type OptionSpec, parseOptions } from "../mod_deno.ts";
import {
  checkWritable,
  runExperiment,
  runRecord,
  setup,
  sweepValues,
  TRAINING_OPTIONS,
  type TrainingOptions,
} from "./common.ts";
import { part1Configuration, runPart1 } from "./part1.ts";
import {
  checkAblationWritable,
  PART1_ABLATION_OPTIONS,
  part1AblationPlan,
  runPart1Ablation,
} from "./part1_ablation.ts";
import { ALL_BASELINES, baselinesPlan, runBaselinesStep } from "./baselines.ts";
import { checkPart2Test, DEFAULT_SIGMAS, PART2_SIGMA_OPTIONS, runPart2 } from "./part2.ts";
import {
  PART2_TEST_OPTIONS,
  part2Plan,
  type Part2TestOptions,
  SECONDS_PER_EVAL_IMAGE,
  SECONDS_PER_TRAIN_IMAGE,
} from "./part2_testtime.ts";
import {
  DEFAULT_FRACS,
  PART3_FRAC_OPTIONS,
  PART3_STUDY_OPTIONS,
  part3Plan,
  PLANNED_IMAGES_PER_SECOND,
  runPart3,
  type StudiesChoice,
} from "./part3.ts";
import { runReport } from "./report.ts";

export const ALL_SPEC: Record<string, OptionSpec> = {
  ...TRAINING_OPTIONS,
  seeds: {
    ...TRAINING_OPTIONS.seeds,
    default: 5,
    description: "runs per condition (paired seeds; 1 is a quick look that establishes nothing)",
  },
  ...PART2_SIGMA_OPTIONS,
  ...PART2_TEST_OPTIONS,
  ...PART3_FRAC_OPTIONS,
  ...PART3_STUDY_OPTIONS,
  ...PART1_ABLATION_OPTIONS,
  full: {
    type: "boolean",
    description: "the full profile: every run at 5 seeds or more, test-time suites on the whole " +
      "test set, the full label-noise studies on the whole training set; without it the " +
      "standard profile (test subsets, fewer seeds for the long studies) fits about 30 minutes " +
      "on a 2-core CPU",
  },
  rerunBaselines: {
    type: "boolean",
    description: "train sigma 0 and fraction 0 again instead of reusing Part 1's runs (same " +
      "seeds, recipe and data, so the numbers are identical; costs two more runs per seed)",
  },
  results: {
    type: "path",
    default: "results",
    description: "results folder: part1/, part2/, part3/, REPORT.md and report.html go there",
  },
};

const PROGRAM = {
  name: "deno task all",
  summary: "The whole study: Part 1 (clean), Part 2 (image noise), Part 3 (label noise), then " +
    "the report (results/REPORT.md, results/report.html).",
};

type AllOptions = TrainingOptions & Part2TestOptions & {
  sigma?: number;
  sigmas?: number[];
  frac?: number;
  fracs?: number[];
  labelMode: LabelMode;
  studies: StudiesChoice;
  ablation: AblationChoice;
  full: boolean;
  rerunBaselines: boolean;
  results: string;
};

/** Prints what will run and the estimated time of the whole study, before training. */
function printPlan(
  o: AllOptions,
  sigmas: number[],
  trainImages: number,
  testImages: number,
  part3: { imageSteps: number; text: string },
  extra: {
    ablation: { seconds: number; text: string };
    baselines: { seconds: number; text: string };
  },
): { part1Seconds: number; totalSeconds: number } {
  const perRun = o.epochs * (trainImages * SECONDS_PER_TRAIN_IMAGE +
    10 * testImages * SECONDS_PER_EVAL_IMAGE);
  const part1 = o.seeds * perRun;
  const part2 = part2Plan({ ...o, sigmas }, trainImages, testImages, o.seeds);
  const part3Seconds = part3.imageSteps / PLANNED_IMAGES_PER_SECOND;
  const total = part1 + extra.ablation.seconds + part2.seconds + part3Seconds +
    extra.baselines.seconds + 60;
  const lines = [
    o.seeds === 1
      ? "plan: QUICK LOOK (--seeds 1): one run per condition, no interval, nothing established"
      : `plan: ${o.seeds} paired seeds per condition${
        o.full ? " (--full)" : " (standard profile)"
      }`,
    `Part 1: ${o.seeds} runs, ${(o.seeds * o.epochs * trainImages / 60_000).toFixed(1)} ` +
    `run-epochs; about ${(part1 / 60).toFixed(1)} min`,
    `Part 1 ablation: ${extra.ablation.text}`,
    part2.line,
    `Part 3: ${part3.text.replace(/^plan \(part 3\): /, "")}`,
    `Baselines: ${extra.baselines.text}`,
    `estimated total: about ${(total / 60).toFixed(0)} min on the calibrated 2-core CPU ` +
    `adapter (15 s per 60,000-image epoch, 0.6 s per 10,000-image evaluation; report 1 min)`,
  ];
  for (const l of lines) console.error(l);
  return { part1Seconds: part1, totalSeconds: total };
}

/**
 * After Part 1 trained here: the plan's remaining time rescaled by the training speed this
 * machine measured against the calibrated 4,000 images/s (training dominates the plan).
 */
function printMeasuredEta(
  runs: readonly RunRecord[],
  plan: { part1Seconds: number; totalSeconds: number },
): void {
  const speeds = runs.map((r) => r.imagesPerSecond).filter((v) => v > 0);
  if (speeds.length === 0) return;
  const measured = speeds.reduce((a, b) => a + b, 0) / speeds.length;
  const calibrated = 1 / SECONDS_PER_TRAIN_IMAGE; // images/s
  const rest = (plan.totalSeconds - plan.part1Seconds) * calibrated / measured;
  console.error(
    `Part 1 trained at ${Math.round(measured).toLocaleString("en-US")} images/s here ` +
      `(the plan assumes ${calibrated.toLocaleString("en-US")}): the rest should take about ${
        (rest / 60).toFixed(0)
      } min`,
  );
}

/** The runs (and ensemble) of `dir/metrics.json` if it records Part 1 with this configuration. */
async function finishedPart1(
  dir: string,
  config: unknown,
): Promise<{ runs: RunRecord[]; ensemble?: Part1Ensemble } | undefined> {
  try {
    const m = JSON.parse(await Deno.readTextFile(join(dir, "metrics.json")));
    if (canonicalJson(m.configuration) === canonicalJson(config)) {
      return { runs: m.runs, ensemble: m.ensemble };
    }
  } catch {
    // missing or unreadable: train Part 1
  }
  return undefined;
}

async function main(): Promise<number> {
  const t0 = performance.now();
  const { options, help } = parseOptions<AllOptions>(Deno.args, ALL_SPEC, PROGRAM);
  if (help) {
    console.log(formatHelp(ALL_SPEC, PROGRAM));
    return 0;
  }
  if (options.full) options.seeds = Math.max(options.seeds, 5);
  const sigmas = sweepValues(options.sigma, options.sigmas, DEFAULT_SIGMAS, {
    single: "sigma",
    list: "sigmas",
    program: PROGRAM.name,
  });
  const fracs = sweepValues(options.frac, options.fracs, DEFAULT_FRACS, {
    single: "frac",
    list: "fracs",
    program: PROGRAM.name,
  });
  checkPart2Test(options, PROGRAM.name);
  if (options.full) {
    const all = 10_000_000; // capped at the test set size
    Object.assign(options, {
      gridCount: all,
      suiteCount: all,
      compensationSeeds: options.seeds,
    });
  }
  const dir = options.results;
  await checkWritable(dir, ["REPORT.md", "report.html"], "--results");
  for (const part of ["part1", "part2", "part3"]) {
    await checkWritable(join(dir, part), ["metrics.json"], "--results");
  }
  const ablation = options.full && options.ablation === "standard" ? "full" : options.ablation;
  await checkAblationWritable(join(dir, "part1"), ablation);
  await checkWritable(join(dir, "baselines"), ["metrics.json", "baselines.md"], "--results");
  const s = await setup(options);
  const studies = options.full && options.studies === "standard" ? "full" : options.studies;
  const part3 = part3Plan(
    { ...options, fracs, studies },
    s.train.count,
    options.seeds,
    !options.rerunBaselines,
  );
  const plan = printPlan(options, sigmas, s.train.count, s.test.count, part3, {
    ablation: part1AblationPlan(
      { ...options, ablation },
      s.train.count,
      s.test.count,
      options.seeds,
    ),
    baselines: baselinesPlan(s.train.count, s.test.count, options.epochs),
  });
  const times: string[] = [];
  const step = async (name: string, run: () => Promise<unknown>) => {
    console.error(`\n=== ${name} (${formatDuration((performance.now() - t0) / 1000)} elapsed)`);
    const start = performance.now();
    await run();
    times.push(`${name.split(":")[0]} ${formatDuration((performance.now() - start) / 1000)}`);
  };
  let part1: readonly RunRecord[] = [];
  let ensemble: Part1Ensemble | undefined;
  const command = { task: "all", argv: Deno.args };
  const part1Dir = join(dir, "part1");
  await step("Part 1: clean training set", async () => {
    // a finished Part 1 of the same configuration (an earlier, interrupted `all`) is kept
    const done = await finishedPart1(part1Dir, part1Configuration(options, s));
    if (done) {
      console.error(
        `${part1Dir}/metrics.json has Part 1 with this recipe, these seeds and this data; ` +
          `not trained again`,
      );
      ({ runs: part1, ensemble } = done);
      return;
    }
    const p1 = await runPart1({ ...options, out: part1Dir }, s);
    part1 = p1.runs.map(runRecord);
    ensemble = p1.ensemble;
    if (options.model === "lenet5") printMeasuredEta(part1, plan);
  });
  if (ablation !== "none") {
    await step(
      "Part 1 ablation: what else improves accuracy",
      () =>
        runPart1Ablation(
          s,
          { ...options, out: part1Dir, ablation },
          { runs: part1, ensemble },
          command,
        ),
    );
  }
  // Sigma 0 and fraction 0 are Part 1's recipe with Part 1's seeds on the same data: reuse those
  // runs (training is deterministic) unless asked to train them again.
  const baseline = options.rerunBaselines ? undefined : part1;
  await step(
    "Part 2: image noise",
    () => runPart2({ ...options, sigmas, out: join(dir, "part2") }, s, baseline, command),
  );
  await step(
    "Part 3: label noise",
    () =>
      runPart3(
        {
          ...options,
          fracs,
          out: join(dir, "part3"),
          studies,
        },
        s,
        baseline,
        command,
      ),
  );
  await step(
    "Baselines: naive Bayes, k-NN, logistic regression, MLP",
    () => runBaselinesStep({ ...options, out: join(dir, "baselines") }, s, ALL_BASELINES),
  );
  await step(
    "Report",
    () => runReport({ results: dir, allSeconds: (performance.now() - t0) / 1000 }),
  );
  const total = (performance.now() - t0) / 1000;
  console.log(
    `\ndeno task all: total time ${formatDuration(total)} (${total.toFixed(1)} s; set-up ${
      formatDuration(s.setupSeconds)
    }, ${times.join(", ")}); report: ${join(dir, "REPORT.md")}, ${join(dir, "report.html")}`,
  );
  return 0;
}

if (import.meta.main) runExperiment(main, PROGRAM.name);
