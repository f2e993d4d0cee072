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
 * @module
 */
import { formatHelp, type OptionSpec, parseOptions } from "../src/cli/args.ts";
import { digitGridPng } from "../src/render/png.ts";
import {
  firstOfEachClass,
  gatherImages,
  noiseStatistics,
  runNoise,
  toBytes,
} from "../src/study/image_noise.ts";
import { type Part2Condition, type Part2Run, summarizeRuns } from "../src/study/results.ts";
import { OutputDir } from "../src/util/atomic_write.ts";
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

export const DEFAULT_SIGMAS = [0, 8, 32, 128] as const;

/** Largest accepted sigma: far beyond the pixel range, where every pixel clips. */
const MAX_SIGMA = 1000;

/** Training images the pixel statistics are computed on (the first N). */
const STATS_IMAGES = 2000;

export const PART2_SIGMA_OPTIONS: Record<string, OptionSpec> = {
  sigma: {
    type: "number",
    min: 0,
    max: MAX_SIGMA,
    description: "run one noise level: standard deviation on the 0..255 pixel scale",
  },
  sigmas: {
    type: "number-list",
    min: 0,
    max: MAX_SIGMA,
    description: `run these noise levels (default: ${DEFAULT_SIGMAS.join(",")})`,
  },
};

export const PART2_SPEC: Record<string, OptionSpec> = {
  ...TRAINING_OPTIONS,
  ...PART2_SIGMA_OPTIONS,
  out: { type: "path", default: "results/part2", description: "output folder" },
};

export interface Part2Options extends TrainingOptions {
  sigmas: number[];
  out: string;
}

const PROGRAM = {
  name: "deno task part2",
  summary: "Part 2: train on images with Gaussian pixel noise (clipped to 0..255), test on " +
    "the clean test set.",
};

/** Parses and validates the command line (UsageError on a mistake); null after --help. */
export function parsePart2(argv: string[]): Part2Options | null {
  const { options, help } = parseOptions<
    TrainingOptions & { sigma?: number; sigmas?: number[]; out: string }
  >(argv, PART2_SPEC, PROGRAM);
  if (help) {
    console.log(formatHelp(PART2_SPEC, PROGRAM));
    return null;
  }
  const sigmas = sweepValues(options.sigma, options.sigmas, DEFAULT_SIGMAS, {
    single: "sigma",
    list: "sigmas",
    program: PROGRAM.name,
  });
  return { ...options, sigmas };
}

const sigmaLabel = (sigma: number) => `sigma ${sigma}`;

/**
 * Runs Part 2 and writes its results. `shared` reuses a set-up and `baseline` Part 1's runs as
 * the sigma-0 runs when their seeds match (both from `deno task all`, where the recipe and data
 * are the same, so training them again would give identical numbers).
 */
export async function runPart2(
  options: Part2Options,
  shared?: Setup,
  baseline?: RunResult[],
): Promise<void> {
  const t0 = performance.now();
  const s = shared ?? await setup(options);
  const recipe = recipeOf(options);
  const seeds = runSeeds(options.seed, options.seeds);
  console.error(
    `part 2: image noise sigma ${options.sigmas.join(", ")} (0..255 scale); ${seeds.length} ` +
      `seed(s) each; ${s.train.count} training and ${s.test.count} clean test images`,
  );
  const pixels = s.train.rows * s.train.cols;
  const conditions: Part2Condition[] = [];
  for (const sigma of options.sigmas) {
    const runs: Part2Run[] = [];
    for (const [i, seed] of seeds.entries()) {
      const noise = runNoise(sigma, seed);
      const reuse = sigma === 0 ? reusable(baseline, seed) : undefined;
      if (reuse) {
        console.error(
          `${sigmaLabel(sigma)}: Part 1's run with seed ${seed} (same recipe and data)`,
        );
        runs.push({ ...runRecord(reuse), noiseSeed: noise.seed, reusedFrom: "part1" });
        continue;
      }
      const r = await trainRun(s, {
        recipe,
        seed,
        label: sigmaLabel(sigma) + (seeds.length > 1 ? ` seed ${i + 1}/${seeds.length}` : ""),
        noise: sigma > 0 ? noise : undefined,
      });
      runs.push({ ...runRecord(r), noiseSeed: noise.seed });
    }
    const noiseStats = noiseStatistics(
      s.train.images,
      pixels,
      Math.min(STATS_IMAGES, s.train.count),
      runNoise(sigma, seeds[0]),
    );
    conditions.push({ sigma, noiseStats, ...summarizeRuns(runs) });
  }

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

  const sweep = conditions.map((c) => ({
    label: sigmaLabel(c.sigma),
    value: c.sigma,
    summary: c,
  }));
  const out = new OutputDir(options.out);
  const charts = await stageSweepCharts(out, sweep, {
    part: "Part 2",
    what: "noise level",
    errorKey: "errorVsSigma",
    errorFile: "error_vs_sigma.png",
    errorTitle: "Part 2: test error vs training-image noise",
    xLabel: "noise standard deviation sigma (pixel units, 0..255 scale)",
  });
  out.stage(
    "samples.png",
    await digitGridPng(rows, {
      scale: 3,
      title: "Training digits as the network saw them (noise clipped to 0..255)",
    }),
  );
  out.stageJson("metrics.json", {
    schema: "webgpu-mnist/part2@1",
    createdAt: new Date().toISOString(),
    ...environmentRecord(s),
    recipe,
    seed: options.seed,
    seeds,
    noise: {
      distribution: "N(0, sigma^2) added to each pixel on the 0..255 scale",
      clipping: "clipped to [0, 255]",
      requantized: false,
      generator: "counter-based hash of (noise seed, image index, pixel), Box-Muller; on the GPU",
      noiseSeed: 'deriveSeed(run seed, "noise")',
      perImage: "drawn once per image: the same noise in every epoch and any batch order",
      testSet: "clean (no noise)",
    },
    conditions,
    samples: {
      file: "samples.png",
      indices,
      labels: indices.map((i) => s.train.labels[i]),
    },
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

  console.log(`\nPart 2: test error on the clean test set (${s.test.count} images)`);
  console.log(
    "sigma   test error" + (seeds.length > 1 ? "  (mean +- sd)" : "") + "   pixels clipped",
  );
  for (const c of conditions) {
    const e = c.testError;
    const clipped = c.noiseStats.clippedLow + c.noiseStats.clippedHigh;
    console.log(
      `${String(c.sigma).padStart(5)}   ${pct(e.mean).padStart(7)}` +
        (seeds.length > 1 ? ` +- ${pct(e.std)}` : "") + `   ${pct(clipped).padStart(7)}`,
    );
  }
  console.log(`\nwrote ${written.join(", ")}`);
}

async function main(): Promise<number> {
  const options = parsePart2(Deno.args);
  if (!options) return 0;
  await checkWritable(options.out);
  await runPart2(options);
  return 0;
}

if (import.meta.main) runExperiment(main, PROGRAM.name);
