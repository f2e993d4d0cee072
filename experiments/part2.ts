/**
 * Part 2: Gaussian image noise. Every training image gets noise N(0, sigma^2) on the 0..255
 * pixel scale, clipped to [0, 255] (not re-quantized); the network is trained on the noisy set
 * and tested on the clean test set.
 *
 *   deno task part2 [--sigma 32 | --sigmas 0,8,32,128] [--seeds 1] [--seed 1] [--out results/part2]
 *
 * The noise is drawn on the GPU, inside the batch-gather kernel, from a counter-based generator
 * keyed by (noise seed, image index, pixel): an image gets the same noise in every epoch and in
 * any batch order. The noise seed of a run is deriveSeed(run seed, "noise").
 *
 * Writes metrics.json, error_vs_sigma.png, per_class_error.png, learning_curves.png and
 * samples.png (training digits as the network saw them) at the end, atomically.
 *
 * Each finished run is written at once to OUT/runs/<condition>-seed<seed>.json with its full
 * configuration; an interrupted sweep (Ctrl-C or SIGTERM: exit 130) keeps them, and the same
 * command again trains only the runs not yet there (a record of another configuration is
 * replaced, and the output says so).
 *
 * @module
 */
import {
  firstOfEachClass,
  gatherImages,
  noiseStatistics,
  type Part2Compensation,
  type Part2Condition,
  type Part2Run,
  part2TestFigures,
  type Part2TestTime,
  runNoise,
  type RunRecord,
  summarizeRuns,
  toBytes,
  tolerance,
} from "../mod.ts";
import { digitGridPng, type OptionSpec, renderChartPng, UsageError } from "../mod_deno.ts";
import {
  modelSpecOf,
  pct,
  recipeOf,
  runExperiment,
  runRecord,
  type Setup,
  TRAINING_OPTIONS,
  type TrainingOptions,
  trainRun,
} from "./common.ts";
import {
  evaluateTestTime,
  PART2_TEST_OPTIONS,
  part2Plan,
  type Part2TestOptions,
  runCompensation,
  testTimeSetup,
  TOLERANCE_BUDGET,
} from "./part2_testtime.ts";
import {
  commandLine,
  errorCell,
  parseStudyArgs,
  runStudyPart,
  studyMain,
  type StudyPart,
  sweptOptions,
} from "./sweep_files.ts";

export const DEFAULT_SIGMAS = [0, 8, 32, 128] as const;

/** Largest accepted sigma: far beyond the pixel range, where every pixel clips. */
const MAX_SIGMA = 1000;

/** Training images the pixel statistics are computed on (the first N). */
const STATS_IMAGES = 2000;

export const PART2_SIGMA_OPTIONS: Record<string, OptionSpec> = sweptOptions(
  "sigma",
  "sigmas",
  MAX_SIGMA,
  {
    one: "run one noise level: standard deviation on the 0..255 pixel scale",
    many: `run these noise levels (default: ${DEFAULT_SIGMAS.join(",")})`,
  },
);

export const PART2_SPEC: Record<string, OptionSpec> = {
  ...TRAINING_OPTIONS,
  ...PART2_SIGMA_OPTIONS,
  ...PART2_TEST_OPTIONS,
  out: { type: "path", default: "results/part2", description: "output folder" },
};

export interface Part2Options extends TrainingOptions, Part2TestOptions {
  sigmas: number[];
  out: string;
}

const PROGRAM = {
  name: "deno task part2",
  summary: "Part 2: train on images with Gaussian pixel noise (clipped to 0..255), test on " +
    "the clean test set.",
};

/** Parses and validates the command line (UsageError on a mistake); null after --help. */
export function parsePart2(argv: readonly string[]): Part2Options | null {
  const o = parseStudyArgs<Part2Options>(argv, PART2_SPEC, PROGRAM, {
    single: "sigma",
    list: "sigmas",
    defaults: DEFAULT_SIGMAS,
  });
  if (!o) return null;
  checkPart2Test(o, PROGRAM.name);
  return { ...o, sigmas: o.values };
}

/** Checks the test-time options (the corruption suite) before any work: UsageError, exit 2. */
export function checkPart2Test(o: Part2TestOptions & { seed: number }, program: string): void {
  try {
    testTimeSetup(o, Infinity);
  } catch (e) {
    if (e instanceof UsageError) e.program = program;
    throw e;
  }
}

const sigmaLabel = (sigma: number) => `sigma ${sigma}`;

/** Part 2's conditions over the sweep runner. */
function part2(
  options: Part2Options,
  continueWith: string,
): StudyPart<Part2Run, Part2Condition> {
  // tolerated test sigma per training sigma, for the summary table (filled after the sweep)
  const tolerated = new Map<number, string>();
  return {
    part: "Part 2",
    schema: "webgpu-mnist/part2@1",
    task: "part2",
    describe: (s, seeds) =>
      `part 2: image noise sigma ${options.sigmas.join(", ")} (0..255 scale); ${seeds.length} ` +
      `seed(s) each; ${s.train.count} training and ${s.test.count} clean test images\n` +
      part2Plan(options, s.train.count, s.test.count, seeds.length).line,
    conditions: (s) => {
      const t = testTimeSetup(options, s.test.count);
      return options.sigmas.map((sigma) => ({
        key: `sigma${sigma}`,
        label: sigmaLabel(sigma),
        condition: {
          sigma,
          noise: "gaussian, clipped to 0..255",
          ...(options.noisePerEpoch ? { noisePerEpoch: true } : {}),
          testTime: t,
        },
        // Part 1's runs are not reused as sigma 0: the test-time evaluation needs the model
        train: async (seed: number, label: string) => {
          const noise = runNoise(sigma, seed);
          let testTime: Part2TestTime | undefined;
          const r = await trainRun(s, {
            recipe: recipeOf(options),
            spec: modelSpecOf(options),
            seed,
            label,
            noise: sigma > 0 ? noise : undefined,
            noisePerEpoch: options.noisePerEpoch,
            afterTraining: async (model) => {
              testTime = await evaluateTestTime(s, model, t);
            },
          });
          return {
            ...runRecord(r),
            noiseSeed: noise.seed,
            ...(options.noisePerEpoch ? { noisePerEpoch: true } : {}),
            testTime,
          };
        },
      }));
    },
    summarize: (s, d, runs) => {
      const sigma = d.condition.sigma as number;
      const pixels = s.train.rows * s.train.cols;
      const sample = Math.min(STATS_IMAGES, s.train.count);
      const noiseStats = noiseStatistics(
        s.train.images,
        pixels,
        sample,
        runNoise(sigma, runs[0].seed),
      );
      return { sigma, noiseStats, ...summarizeRuns(runs) };
    },
    value: (c) => c.sigma,
    label: (c) => sigmaLabel(c.sigma),
    charts: {
      what: "noise level",
      errorKey: "errorVsSigma",
      errorFile: "error_vs_sigma.png",
      errorTitle: "Part 2: test error vs training-image noise",
      xLabel: "noise standard deviation sigma (pixel units, 0..255 scale)",
    },
    extra: async (s, out, conditions, seeds) => {
      // The digit grid: one digit of each class, gathered by the training kernel with each
      // sigma's noise (first seed), so it shows exactly what the network saw.
      const indices = firstOfEachClass(s.train.labels);
      const rows = [];
      for (const sigma of options.sigmas) {
        const images = await gatherImages(
          s.ctx,
          s.gpuTrain,
          indices,
          sigma > 0 ? runNoise(sigma, seeds[0]) : undefined,
        );
        rows.push({ label: `sigma ${sigma}`, images: images.map(toBytes) });
      }
      out.stage(
        "samples.png",
        await digitGridPng(rows, {
          scale: 3,
          title: "Training digits as the network saw them (noise clipped to 0..255)",
        }),
      );
      const t = testTimeSetup(options, s.test.count);
      const compensation: Part2Compensation | undefined = await runCompensation(
        s,
        options,
        t,
        seeds,
        continueWith,
      );
      for (const c of conditions) {
        const tol = tolerance(c, t, t.budget);
        const range = `${tol.surelyWithin ?? "<" + t.testSigmas[1]}..${tol.surelyOver ?? ">"}`;
        tolerated.set(c.sigma, `${tol.tolerated} (95%: within up to ${range})`);
      }
      const charts: Record<string, unknown> = {};
      for (const f of part2TestFigures(conditions, t, compensation, s.classNames)) {
        out.stage(f.file, await renderChartPng(f.spec, { width: f.width, height: f.height }));
        charts[f.key] = f.spec;
      }
      return {
        testTime: t,
        ...(compensation ? { compensation } : {}),
        testTimeCharts: charts,
        noise: {
          distribution: "N(0, sigma^2) added to each pixel on the 0..255 scale",
          clipping: "clipped to [0, 255]",
          requantized: false,
          generator:
            "counter-based hash of (noise seed, image index, pixel), Box-Muller; on the GPU",
          noiseSeed: 'deriveSeed(run seed, "noise")',
          perImage: options.noisePerEpoch
            ? "drawn afresh every epoch (epoch 0 as the fixed noise), any batch order"
            : "drawn once per image: the same noise in every epoch and any batch order",
          testSet: "clean (no noise) for the test error; noisy and corrupted test images " +
            "for the grid and the suite (testTime)",
        },
        samples: { file: "samples.png", indices, labels: indices.map((i) => s.train.labels[i]) },
      };
    },
    table: (conditions, seeds) => {
      const lines = [
        "sigma   test error" + (seeds.length > 1 ? "  (mean +- sd)" : "") + "   pixels clipped" +
        `   tolerated test sigma (error within +${pct(TOLERANCE_BUDGET)})`,
      ];
      for (const c of conditions) {
        lines.push(
          `${String(c.sigma).padStart(5)}   ${errorCell(c.testError, seeds, 7)}   ${
            pct(c.noiseStats.clippedLow + c.noiseStats.clippedHigh).padStart(7)
          }   ${tolerated.get(c.sigma) ?? "-"}`,
        );
      }
      return lines;
    },
  };
}

/**
 * Runs Part 2 and writes its results; `shared` reuses a set-up (from `deno task all`). Part 1's
 * runs are not reused as sigma 0 (`baseline` is accepted and ignored): the test-time evaluation
 * needs every trained model. Finished runs are kept in OUT/runs/ (and OUT/compensation/runs/);
 * the same command again continues an interrupted sweep.
 */
export async function runPart2(
  options: Part2Options,
  shared?: Setup,
  _baseline?: readonly RunRecord[],
  command: { task: string; argv: readonly string[] } = { task: "part2", argv: Deno.args },
): Promise<void> {
  const continueWith = commandLine(command.task, command.argv);
  await runStudyPart(part2(options, continueWith), options, command, shared);
}

if (import.meta.main) runExperiment(studyMain(parsePart2, (o) => runPart2(o)), PROGRAM.name);
