/**
 * Part 2's test-time measurements and the compensation experiment, for `deno task part2` and
 * `deno task all`: every trained model is evaluated on test images with Gaussian noise of each
 * test sigma (the train x test grid) and on the corruption suite (camera-like noise, blur,
 * contrast), each with and without the 3x3 median filter before the model; and noise redrawn
 * every epoch is trained against fixed per-image noise. Also the plan (run-epochs, evaluations,
 * estimated minutes) printed before training.
 *
 * @module
 */
import {
  type CorruptionName,
  CORRUPTIONS,
  deriveSeed,
  type Model,
  type Part2Compensation,
  type Part2Run,
  type Part2SuiteEntry,
  type Part2TestResult,
  type Part2TestTime,
  type Part2TestTimeSetup,
  runNoise,
  subset,
  summarizeRuns,
  TestTimeEvaluator,
  uploadDataset,
  wrongBits,
} from "../mod.ts";
import { type OptionSpec, UsageError } from "../mod_deno.ts";
import { recipeOf, runRecord, type Setup, type TrainingOptions, trainRun } from "./common.ts";
import { sweepConditions } from "./sweep_files.ts";

export const DEFAULT_TEST_SIGMAS = [0, 8, 16, 32, 64, 96, 128] as const;
/** Camera-like corruptions of the suite (all their severities unless NAME:S picks one). */
export const SUITE_CORRUPTIONS = ["shot", "poisson-gaussian", "impulse", "blur", "contrast"];
/** Error budget over the clean error for the tolerated test noise: 1 percentage point. */
export const TOLERANCE_BUDGET = 0.01;

// Calibrated cost on the 2-core CPU adapter (STUDY.md): one 60,000-image epoch about 15 s, one
// 10,000-image evaluation about 0.6 s; every run evaluates the test set 10 times per epoch.
export const SECONDS_PER_TRAIN_IMAGE = 15 / 60_000;
export const SECONDS_PER_EVAL_IMAGE = 0.6 / 10_000;

export const PART2_TEST_OPTIONS: Record<string, OptionSpec> = {
  testSigmas: {
    type: "number-list",
    min: 0,
    max: 1000,
    description: `test-time Gaussian noise levels of the grid (default: ${
      DEFAULT_TEST_SIGMAS.join(",")
    }; 0 is always included)`,
  },
  corruptions: {
    type: "string",
    default: SUITE_CORRUPTIONS.join(","),
    description: "corruption suite: NAME (every severity) or NAME:S, comma-separated; names: " +
      Object.keys(CORRUPTIONS).filter((n) => n !== "median").join(", "),
  },
  gridCount: {
    type: "int",
    default: 5000,
    min: 1,
    max: 10_000_000,
    description: "test images of the noise grid (the first N; at most the test set)",
  },
  suiteCount: {
    type: "int",
    default: 1000,
    min: 1,
    max: 10_000_000,
    description: "test images of the corruption suite (the first N; at most the test set)",
  },
  noisePerEpoch: {
    type: "boolean",
    description: "draw the training noise afresh every epoch instead of once per image",
  },
  compensationSigma: {
    type: "number",
    default: 64,
    min: 0,
    max: 1000,
    description: "per-epoch against fixed noise at this sigma (0: skip the experiment)",
  },
  compensationEpochs: {
    type: "int",
    default: 3,
    min: 2,
    max: 1000,
    description: "epochs of the compensation runs (per-epoch noise differs from epoch 2 on)",
  },
  compensationTrain: {
    type: "int",
    default: 10_000,
    min: 1,
    max: 10_000_000,
    description: "training images of the compensation runs (the first N)",
  },
  compensationSeeds: {
    type: "int",
    default: 3,
    min: 1,
    max: 100,
    description: "seeds of the compensation runs (at most --seeds)",
  },
};

/** Parsed values of {@link PART2_TEST_OPTIONS}. */
export interface Part2TestOptions {
  testSigmas?: number[];
  corruptions: string;
  gridCount: number;
  suiteCount: number;
  noisePerEpoch: boolean;
  compensationSigma: number;
  compensationEpochs: number;
  compensationTrain: number;
  compensationSeeds: number;
}

/**
 * The suite's entries from `--corruptions` (clean first), checked against the corruption table.
 *
 * @throws UsageError naming the bad entry and what is accepted
 */
export function parseSuite(spec: string): Part2SuiteEntry[] {
  const names = Object.keys(CORRUPTIONS).filter((n) => n !== "median");
  const entries: Part2SuiteEntry[] = [{ name: "clean", severity: 0, label: "clean" }];
  const seen = new Set<string>();
  for (const raw of spec.split(",").map((x) => x.trim()).filter((x) => x !== "")) {
    const [name, sev, extra] = raw.split(":");
    if (!names.includes(name) || extra !== undefined) {
      throw new UsageError(
        `--corruptions: unknown corruption '${raw}'; use NAME or NAME:S with NAME one of ${
          names.join(", ")
        }`,
      );
    }
    const levels = CORRUPTIONS[name as CorruptionName].levels;
    let severities = levels.map((_, i) => i + 1);
    if (sev !== undefined) {
      const s = Number(sev);
      if (!Number.isInteger(s) || s < 1 || s > levels.length) {
        throw new UsageError(
          `--corruptions: '${name}' has severities 1..${levels.length}, got '${sev}'`,
        );
      }
      severities = [s];
    }
    for (const s of severities) {
      const key = `${name}:${s}`;
      if (seen.has(key)) throw new UsageError(`--corruptions lists ${key} twice; give it once`);
      seen.add(key);
      const level = levels[s - 1];
      const short: Record<string, string> = {
        shot: `c=${level.value}`,
        "poisson-gaussian": `c=${level.value}, s=${level.readSigma}`,
        impulse: `p=${level.value}`,
        blur: `sigma=${level.value}`,
        contrast: `x${level.value}`,
        gaussian: `sigma=${level.value}`,
      };
      entries.push({ name, severity: s, label: `${name} ${short[name]}` });
    }
  }
  if (entries.length === 1) throw new UsageError("--corruptions is empty; name at least one");
  return entries;
}

/** The test-time set-up of a run (recorded in every run's configuration and in metrics.json). */
export function testTimeSetup(
  o: Part2TestOptions & { seed: number },
  testImages: number,
): Part2TestTimeSetup {
  const sigmas = [...new Set([0, ...(o.testSigmas ?? DEFAULT_TEST_SIGMAS)])].sort((a, b) => a - b);
  return {
    testSigmas: sigmas,
    gridImages: Math.min(o.gridCount, testImages),
    testSeed: deriveSeed(o.seed, "test noise"),
    suiteImages: Math.min(o.suiteCount, testImages),
    suite: parseSuite(o.corruptions),
    budget: TOLERANCE_BUDGET,
  };
}

const result = (predictions: Uint8Array, labels: ArrayLike<number>): Part2TestResult => {
  let wrong = 0;
  for (let i = 0; i < predictions.length; i++) if (predictions[i] !== labels[i]) wrong++;
  return { error: wrong / predictions.length, wrong: wrongBits(predictions, labels) };
};

/** Evaluates a trained model on the grid (`grid` false: none) and the suite. */
export async function evaluateTestTime(
  s: Setup,
  model: Model,
  t: Part2TestTimeSetup,
  grid = true,
): Promise<Part2TestTime> {
  const out: Part2TestTime = { grid: [], suite: [] };
  const labels = s.test.labels;
  if (grid) {
    const ev = TestTimeEvaluator.create(s.ctx, model, s.gpuTest, { count: t.gridImages });
    try {
      for (const sigma of t.testSigmas) {
        const p = await ev.predict({ noise: { sigma, seed: t.testSeed } });
        out.grid.push(result(p, labels));
      }
    } finally {
      ev.destroy();
    }
  }
  const ev = TestTimeEvaluator.create(s.ctx, model, s.gpuTest, { count: t.suiteImages });
  try {
    for (const e of t.suite) {
      const corruption = e.name === "clean" ? [] : [{
        name: e.name,
        severity: e.severity,
        seed: deriveSeed(t.testSeed, e.name, e.severity),
      }];
      const plain = result(await ev.predict({ corruptions: corruption }), labels);
      const median = result(
        await ev.predict({ corruptions: [...corruption, { name: "median", severity: 1 }] }),
        labels,
      );
      out.suite.push({ name: e.name, severity: e.severity, ...plain, median });
    }
  } finally {
    ev.destroy();
  }
  return out;
}

/** Per-epoch against fixed noise at one sigma on a training subset, with the suite. */
export async function runCompensation(
  s: Setup,
  o: TrainingOptions & Part2TestOptions & { out: string },
  t: Part2TestTimeSetup,
  seeds: number[],
  continueWith: string,
): Promise<Part2Compensation | undefined> {
  const sigma = o.compensationSigma;
  if (sigma === 0) return undefined;
  const count = Math.min(o.compensationTrain, s.train.count);
  const train = subset(s.train, count);
  const gpuTrain = uploadDataset(
    s.ctx,
    train.images,
    train.labels,
    count,
    train.rows * train.cols,
    "compensation train",
  );
  const sub: Setup = { ...s, train, gpuTrain };
  const recipe = { ...recipeOf(o), epochs: o.compensationEpochs };
  const kinds = [
    { key: "fixed", label: `fixed noise sigma ${sigma}`, noisePerEpoch: false },
    { key: "per-epoch", label: `per-epoch noise sigma ${sigma}`, noisePerEpoch: true },
  ];
  try {
    const runs = await sweepConditions<Part2Run>(sub, {
      out: `${o.out}/compensation`,
      recipe,
      seeds: seeds.slice(0, Math.max(1, Math.min(o.compensationSeeds, seeds.length))),
      continueWith,
      conditions: kinds.map((k) => ({
        key: k.key,
        label: k.label,
        condition: { sigma, noisePerEpoch: k.noisePerEpoch, testTime: { ...t, grid: false } },
        train: async (seed: number, label: string) => {
          const noise = runNoise(sigma, seed);
          let testTime: Part2TestTime | undefined;
          const r = await trainRun(sub, {
            recipe,
            seed,
            label,
            noise,
            noisePerEpoch: k.noisePerEpoch,
            evalPointsPerEpoch: 1,
            afterTraining: async (model) => {
              testTime = await evaluateTestTime(sub, model, t, false);
            },
          });
          return {
            ...runRecord(r),
            noiseSeed: noise.seed,
            noisePerEpoch: k.noisePerEpoch,
            testTime,
          };
        },
      })),
    });
    return {
      sigma,
      epochs: recipe.epochs,
      trainImages: count,
      conditions: kinds.map((k, i) => ({ ...k, ...summarizeRuns(runs[i]) })),
    };
  } finally {
    gpuTrain.images.destroy();
    gpuTrain.labels.destroy();
  }
}

/** What Part 2 will run, and its estimated cost on the calibrated CPU adapter. */
export interface Part2Plan {
  /** Training runs. */
  runs: number;
  /** Epochs over 60,000 training images, summed over the runs. */
  runEpochs: number;
  /** Evaluations in 10,000-test-image equivalents (learning curves, grid, suite). */
  evaluations: number;
  /** Estimated seconds. */
  seconds: number;
  /** One line for the plan printed before training. */
  line: string;
}

/** The plan of Part 2 with these options, data sizes and seeds. */
export function part2Plan(
  o: TrainingOptions & Part2TestOptions & { sigmas: number[] },
  trainImages: number,
  testImages: number,
  seeds: number,
): Part2Plan {
  const t = testTimeSetup(o, testImages);
  const suiteEvals = 2 * t.suite.length * t.suiteImages;
  const runs = o.sigmas.length * seeds;
  let trainImgs = runs * o.epochs * trainImages;
  let evalImgs = runs * (o.epochs * 10 * testImages + t.testSigmas.length * t.gridImages +
    suiteEvals);
  let compRuns = 0;
  if (o.compensationSigma > 0) {
    compRuns = 2 * Math.min(o.compensationSeeds, seeds);
    trainImgs += compRuns * o.compensationEpochs * Math.min(o.compensationTrain, trainImages);
    evalImgs += compRuns * (o.compensationEpochs * testImages + suiteEvals);
  }
  const seconds = trainImgs * SECONDS_PER_TRAIN_IMAGE + evalImgs * SECONDS_PER_EVAL_IMAGE;
  const runEpochs = trainImgs / 60_000, evaluations = evalImgs / 10_000;
  return {
    runs: runs + compRuns,
    runEpochs,
    evaluations,
    seconds,
    line: `Part 2: ${runs} runs (${o.sigmas.length} sigmas x ${seeds} seeds)` +
      (compRuns ? ` + ${compRuns} compensation runs (sigma ${o.compensationSigma})` : "") +
      `; grid ${t.testSigmas.length} test sigmas on ${t.gridImages} images, suite ${
        t.suite.length - 1
      } corruption levels (+ clean) x 2 (median) on ${t.suiteImages} images; ` +
      `${runEpochs.toFixed(1)} run-epochs, ${evaluations.toFixed(0)} evaluations ` +
      `(10,000-image equivalents); about ${(seconds / 60).toFixed(1)} min`,
  };
}
