/**
 * The best single model: trains the documented recipe (below) on the MNIST training set and
 * reports its test error against the target of at most 0.45 %.
 *
 *   deno task best [--seed 1] [--val 5000] [--out results/best]
 *
 * By default 5,000 training images are held out and the validation error is reported after
 * every epoch (the split the recipe was chosen on; `--val 0` trains on all 60,000).
 *
 * The recipe was chosen on a validation split held out from the training set (`--val`), never on
 * the test set: the test set is evaluated once per epoch for the learning curve and once at the
 * end, and nothing is selected by it. Writes what `deno task part1` writes (metrics.json, the
 * model, charts) into the output folder, atomically at the end; Ctrl-C keeps a checkpoint that
 * `deno task part1 --resume` continues.
 *
 * @module
 */
import { formatHelp, type OptionSpec, parseOptions, UsageError } from "../mod_deno.ts";
import { checkWritable, pct, runExperiment } from "./common.ts";
import {
  PART1_FILES,
  PART1_SPEC,
  type Part1Options,
  refuseUnfinishedRun,
  runPart1,
} from "./part1.ts";

/**
 * The recipe: the wider CNN (conv 32 and 64 @3x3, dense 256, dropout 0.5) with random affine
 * distortion (shift <= 2 px, rotation <= 10 degrees, scale 0.9-1.1) drawn per image and epoch on
 * the GPU, Adam at 0.001 with 5 % warm-up and cosine decay to 0, batch 64, 30 epochs (what fits
 * 30 minutes on a 2-core CPU adapter, where the cnn trains at about 1,500 images/s).
 *
 * Chosen on 5,000 held-out training images (`--val`), seed 1: the cnn with affine distortion
 * reached 0.86 % validation error after 3 epochs; with elastic distortion (after the affine map,
 * alpha 34, sigma 4) at Adam 0.002 its validation error stayed between 1.2 and 2.9 % for all 25
 * epochs (1.98 % at the end), and at 0.001 it was 1.88 % after 10 epochs, so elastic distortion
 * was not chosen.
 */
export const BEST_RECIPE = {
  model: "cnn",
  augment: "affine",
  optimizer: "adam",
  lr: 0.001,
  schedule: "cosine",
  batch: 64,
  epochs: 30,
} as const;

/** Training images held out by default: the validation split the recipe was chosen on. */
export const BEST_VALIDATION = 5000;

/** The target test error of the best single model. */
export const BEST_TARGET = 0.0045;

const BEST_SPEC: Record<string, OptionSpec> = {
  seed: PART1_SPEC.seed,
  epochs: { ...PART1_SPEC.epochs, default: BEST_RECIPE.epochs },
  val: {
    ...PART1_SPEC.val,
    default: BEST_VALIDATION,
    description: "hold out N training images (seeded) and report the validation error after " +
      "every epoch, as when the recipe was chosen (the model trains on the rest; 0: on all)",
  },
  data: PART1_SPEC.data,
  trainCount: {
    ...PART1_SPEC.trainCount,
    description: "use only the first N training images (a quick look, not the recipe)",
  },
  testCount: PART1_SPEC.testCount,
  out: { type: "path", default: "results/best", description: "output folder" },
  force: PART1_SPEC.force,
};

const PROGRAM = {
  name: "deno task best",
  summary: "Train the best single model (documented recipe: cnn, affine distortion, 30 epochs) " +
    "and check it reaches at most 0.45 %.",
};

async function main(): Promise<number> {
  const { options, help } = parseOptions<
    {
      seed: number;
      epochs: number;
      val: number;
      data?: string;
      trainCount?: number;
      testCount?: number;
      out: string;
      force?: boolean;
    }
  >(Deno.args, BEST_SPEC, PROGRAM);
  if (help) {
    console.log(formatHelp(BEST_SPEC, PROGRAM));
    return 0;
  }
  const defaults = parseOptions<Part1Options>([], PART1_SPEC, PROGRAM).options;
  const o: Part1Options = {
    ...defaults,
    ...BEST_RECIPE,
    seed: options.seed,
    epochs: options.epochs,
    val: options.val,
    data: options.data,
    trainCount: options.trainCount,
    testCount: options.testCount,
    out: options.out,
    force: options.force,
    keep: options.val > 0 ? "best" : "last",
    curvePoints: 1,
  };
  if (o.out === "results/part1") {
    throw new UsageError("--out results/part1 is Part 1's folder; choose another");
  }
  await checkWritable(o.out, PART1_FILES); // Part 1's files
  if (!o.force) await refuseUnfinishedRun(o.out);
  const t0 = performance.now();
  const { runs: [r] } = await runPart1(o);
  const minutes = (performance.now() - t0) / 60_000;
  const met = r.testError <= BEST_TARGET;
  console.log(
    `\nbest single model (${BEST_RECIPE.model}, augment ${BEST_RECIPE.augment}, ${o.epochs} ` +
      `epochs, seed ${o.seed}${o.val ? `, ${o.val} images held out` : ""}): test error ` +
      `${pct(r.testError)}, target <= ${pct(BEST_TARGET)} ${met ? "met" : "NOT met"}; ` +
      `${minutes.toFixed(1)} min in total (training ${(r.trainSeconds / 60).toFixed(1)} min)`,
  );
  return 0;
}

if (import.meta.main) runExperiment(main, PROGRAM.name);
