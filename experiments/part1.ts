/**
 * Part 1: train modern LeNet-5 on the MNIST training set and report test error, per-class error,
 * the confusion matrix, precision/recall/F1 and learning curves.
 *
 *   deno task part1 [--epochs 1] [--batch 64] [--lr 0.001] [--optimizer adam|sgd] [--seed 1]
 *                   [--seeds 1] [--ablation standard|full|none] [--out results/part1]
 *
 * Writes metrics.json, learning_curve.png, per_class_error.png, confusion_matrix.png and the trained
 * model (model.safetensors, loadable by PyTorch and by `deno task predict`) into the output folder, all at the end and atomically: an interrupted or failed run writes nothing.
 * With several seeds, metrics.json also records the ensemble of the seeds' networks (softmax
 * probabilities averaged over the test set).
 *
 * With `--ablation standard` or `full` (what `deno task all` runs), then the ablation
 * (experiments/part1_ablation.ts; `--resume` does
 * not run it): more epochs, affine augmentation, the wider CNN, trained on Part 1's first seeds,
 * and the ensemble; written to OUT/ablation/, resumable run by run.
 *
 * @module
 */
import {
  type AblationChoice,
  CLASS_NAMES,
  decodeCheckpoint,
  EnsembleAccumulator,
  type ModelSpec,
  part1ChartSpecs,
  type Part1Ensemble,
  predictProbabilities,
  summarize,
  topConfusions,
} from "../mod.ts";
import {
  formatHelp,
  optionFlag,
  type OptionSpec,
  OutputDir,
  parseOptions,
  renderChartPng,
  UsageError,
} from "../mod_deno.ts";
import {
  checkWritable,
  dataRecord,
  type DecodedCheckpoint,
  environmentRecord,
  modelSpecOf,
  pct,
  recipeOf,
  runExperiment,
  runRecord,
  type RunResult,
  runSeeds,
  type Setup,
  setup,
  TRAINING_OPTIONS,
  type TrainingOptions,
  trainRun,
} from "./common.ts";
import { augmentNameOf } from "./model_options.ts";
import {
  checkAblationWritable,
  PART1_ABLATION_OPTIONS,
  runPart1Ablation,
} from "./part1_ablation.ts";

/** Options of `deno task part1`. */
export const PART1_SPEC: Record<string, OptionSpec> = {
  ...TRAINING_OPTIONS,
  // alone, Part 1 trains its network in seconds; the ablation (minutes) is asked for, or run by
  // `deno task all`
  ablation: { ...PART1_ABLATION_OPTIONS.ablation, default: "none" },
  out: { type: "path", default: "results/part1", description: "output folder" },
  resume: {
    type: "path",
    description:
      "continue from a checkpoint (OUT/checkpoint.safetensors) with its recipe, seed and data",
  },
  keep: {
    type: "enum",
    values: ["last", "best"],
    default: "last",
    description:
      "with --val: also keep OUT/best.safetensors, the epoch with the lowest validation error",
  },
  curvePoints: {
    type: "int",
    default: 10,
    min: 0,
    max: 1000,
    description: "test-error points of the learning curve per epoch (0: the final evaluation only)",
  },
  force: {
    type: "boolean",
    description:
      "start over although OUT holds the checkpoint of an unfinished run (it is replaced); " +
      "without it such a folder is refused, so an interrupted run is never lost by accident",
  },
};

export type Part1Options = TrainingOptions & {
  out: string;
  resume?: string;
  keep?: "last" | "best";
  /** Test-error points of the learning curve per epoch (default 10). */
  curvePoints?: number;
  force?: boolean;
  /** The ablation after Part 1 (absent: none). */
  ablation?: AblationChoice;
};

/** What Part 1 produced: its runs and, with two seeds or more, their ensemble. */
export interface Part1Outcome {
  runs: RunResult[];
  ensemble?: Part1Ensemble;
  /** The device and data it ran on (for the ablation after it). */
  setup: Setup;
}

/** Recipe options a resumed run takes from its checkpoint; giving one on the command line conflicts. */
const RECIPE_FLAGS = [
  "batch",
  "lr",
  "optimizer",
  "momentum",
  "weightDecay",
  "schedule",
  "seed",
  "seeds",
  "model",
  "hidden",
  "augment",
];

/** `--model` and `--hidden` of a checkpoint's network; null for a network no flag builds. */
function modelOptionsOf(spec: ModelSpec): Pick<TrainingOptions, "model" | "hidden"> | null {
  const units = spec.layers.flatMap((l) => (l.kind === "dense" ? [l.units] : []));
  const o = spec.name.startsWith("mlp-")
    ? { model: "mlp" as const, hidden: units.slice(0, -1) }
    : { model: spec.name as TrainingOptions["model"], hidden: [300, 100] };
  return JSON.stringify(modelSpecOf(o)) === JSON.stringify(spec) ? o : null;
}

/** Whether `--name` (or `--name=value`) appears among the arguments. */
function given(argv: readonly string[], key: string): boolean {
  const flag = optionFlag(key);
  return argv.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));
}

/** Data options a resumed run takes from its checkpoint unless they are given again. */
const DATA_FLAGS = ["dataset", "data", "trainCount", "testCount", "val"] as const;

/**
 * Reads a checkpoint for --resume and checks that the command line does not contradict it;
 * returns the checkpoint and the options with the checkpoint's data options filled in.
 */
async function prepareResume(
  o: Part1Options,
  argv: readonly string[],
): Promise<{ ck: DecodedCheckpoint; options: Part1Options }> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(o.resume!);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UsageError(`--resume ${o.resume}: no such file`);
    }
    throw e;
  }
  const ck = decodeCheckpoint(bytes, o.resume);
  for (const key of RECIPE_FLAGS) {
    if (given(argv, key)) {
      throw new UsageError(
        `--${
          optionFlag(key)
        } conflicts with --resume: a resumed run keeps its checkpoint's recipe and seed`,
      );
    }
  }
  const model = modelOptionsOf(ck.info.model);
  if (!model) {
    throw new UsageError(
      `--resume ${o.resume}: its network (${ck.info.model.name}) is none of --model's`,
    );
  }
  const saved = (ck.info.extra.dataOptions ?? {}) as Partial<Part1Options>;
  const options = {
    ...o,
    ...model,
    augment: augmentNameOf(ck.info.recipe),
  };
  for (const key of DATA_FLAGS) {
    if (!given(argv, key) && key in saved) (options as Record<string, unknown>)[key] = saved[key];
  }
  return { ck, options };
}

/** What decides Part 1's runs (recorded in metrics.json; `all` keeps a finished Part 1 by it). */
export function part1Configuration(o: TrainingOptions, s: Setup) {
  return { recipe: recipeOf(o), seeds: runSeeds(o.seed, o.seeds), data: dataRecord(s) };
}

const PROGRAM = {
  name: "deno task part1",
  summary: "Part 1: train LeNet-5 on MNIST and report test error.",
};

export { CLASS_NAMES };

/** Charts of the runs (every learning curve, per-class error mean ± sd, summed confusion) as PNGs. */
export async function part1Charts(
  runs: RunResult[],
  title: string,
  classNames?: readonly string[],
) {
  const specs = part1ChartSpecs(runs.map(runRecord), title, classNames);
  return {
    specs,
    png: {
      "learning_curve.png": await renderChartPng(specs.curve, { width: 900, height: 500 }),
      "per_class_error.png": await renderChartPng(specs.perClass, { width: 800, height: 450 }),
      "confusion_matrix.png": await renderChartPng(specs.confusion, { width: 700, height: 640 }),
    },
  };
}

/** Prints the short summary table of a run; `names` label the classes (default the digits). */
export function printSummary(r: RunResult, names: readonly string[] = CLASS_NAMES): void {
  const m = r.metrics;
  console.log(
    `\ntest error ${pct(m.error)} (${
      Math.round(m.error * m.count)
    } of ${m.count} test images wrong)`,
  );
  const w = Math.max(5, ...names.map((n) => n.length));
  const noun = names.every((n, i) => n === String(i)) ? "digit" : "class";
  console.log(
    `${noun.padEnd(w + 2)}error    precision  recall   F1      most often taken for`,
  );
  const confusions = topConfusions(m.confusion, 100);
  for (let c = 0; c < m.perClassError.length; c++) {
    const worst = confusions.find((x) => x.truth === c);
    console.log(
      `${(names[c] ?? String(c)).padEnd(w)}  ${pct(m.perClassError[c]).padStart(6)}   ` +
        `${m.precision[c].toFixed(4)}     ${m.recall[c].toFixed(4)}   ${m.f1[c].toFixed(4)}  ${
          worst ? `${names[worst.predicted] ?? worst.predicted} (${worst.count}x)` : "-"
        }`,
    );
  }
}

/**
 * Runs Part 1 with validated options and writes its results; `shared` reuses a device and data
 * already set up (by `deno task all`). Returns the runs (which `all` reuses as the clean
 * baselines of Parts 2 and 3) and, with two seeds or more, the ensemble of their networks (each
 * network's test-set probabilities are computed once after its training).
 */
export async function runPart1(
  options: Part1Options,
  shared?: Setup,
  resume?: DecodedCheckpoint,
): Promise<Part1Outcome> {
  const t0 = performance.now();
  if (options.keep === "best" && options.val === 0) {
    throw new UsageError(
      "--keep best needs --val N (the validation images that choose the best epoch)",
    );
  }
  if (resume) {
    // a resumed run trains with its checkpoint's recipe and seed (and the given --epochs)
    const r = resume.info.recipe;
    options = {
      ...options,
      seed: r.seed,
      seeds: 1,
      batch: r.batchSize,
      optimizer: r.optimizer.kind,
      lr: r.optimizer.lr,
      weightDecay: r.optimizer.weightDecay,
      momentum: r.optimizer.kind === "sgd" ? r.optimizer.momentum : options.momentum,
      schedule: r.schedule.kind,
      augment: augmentNameOf(r),
      epochs: options.epochs === 1 ? r.epochs : options.epochs,
    };
    if (r.schedule.kind !== "constant" && options.epochs !== r.epochs) {
      throw new UsageError(
        `--epochs ${options.epochs}: this checkpoint uses a ${r.schedule.kind} schedule over ${r.epochs} epochs, which cannot be changed`,
      );
    }
    if (resume.info.state.epoch >= options.epochs) {
      throw new UsageError(
        `--resume: the checkpoint already finished ${resume.info.state.epoch} epoch(s); give --epochs above that to train on`,
      );
    }
  }
  const s = shared ?? await setup(options);
  if (resume) {
    const want = JSON.stringify(resume.info.extra.data), got = JSON.stringify(dataRecord(s));
    if (want !== got) {
      throw new UsageError(
        `--resume: the checkpoint was trained on different data (${want}); this run has ${got}`,
      );
    }
  }
  const spec = modelSpecOf(options);
  const recipe = recipeOf(options, spec);
  console.error(
    `adapter: ${s.ctx.adapterName}; ${s.train.count} training and ${s.test.count} test images ` +
      `(${s.train.name}); ${recipe.model}${
        recipe.augment === "none" ? "" : ` (augment ${recipe.augment})`
      }, ${recipe.optimizer.kind} lr ${recipe.optimizer.lr}, batch ${recipe.batchSize}, ` +
      `${recipe.epochs} epoch(s)`,
  );
  const runs: RunResult[] = [];
  const seeds = runSeeds(options.seed, options.seeds);
  // the seeds' networks as one ensemble: each one's test-set probabilities, averaged
  const ensemble = seeds.length > 1 ? new EnsembleAccumulator(s.test.labels) : undefined;
  const testOrder = Array.from({ length: s.gpuTest.count }, (_, i) => i);
  let ensembleSeconds = 0;
  for (const [i, seed] of seeds.entries()) {
    runs.push(
      await trainRun(s, {
        recipe,
        spec,
        seed,
        label: seeds.length > 1 ? `seed ${i + 1}/${seeds.length}` : "train",
        evalPointsPerEpoch: options.curvePoints,
        // one run: keep a resumable checkpoint after every epoch (and on Ctrl-C)
        checkpointPath: seeds.length === 1 ? `${options.out}/checkpoint.safetensors` : undefined,
        keepBestPath: options.keep === "best" && seeds.length === 1
          ? `${options.out}/best.safetensors`
          : undefined,
        resume,
        resumeCommand: (path) =>
          `deno task part1 --resume ${path}${
            options.out === "results/part1" ? "" : ` --out ${options.out}`
          }`,
        wantCheckpoint: i === 0,
        afterTraining: ensemble
          ? async (model) => {
            const t = performance.now();
            ensemble.add(seed, await predictProbabilities(s.ctx, model, s.gpuTest, testOrder));
            ensembleSeconds += (performance.now() - t) / 1000;
          }
          : undefined,
        checkpointExtra: {
          dataOptions: {
            dataset: options.dataset,
            data: options.data,
            trainCount: options.trainCount,
            testCount: options.testCount,
            val: options.val,
          },
        },
      }),
    );
  }
  const r = runs[0];
  const out = new OutputDir(options.out);
  const charts = await part1Charts(runs, "Part 1", s.classNames);
  for (const [name, png] of Object.entries(charts.png)) out.stage(name, png);
  out.stage("model.safetensors", r.checkpoint!);
  const summary = summarize(runs.map((x) => x.testError));
  const ensembleRecord = ensemble?.result(ensembleSeconds);
  out.stageJson("metrics.json", {
    schema: "webgpu-mnist/part1@1",
    createdAt: new Date().toISOString(),
    ...environmentRecord(s, spec),
    recipe,
    seed: options.seed,
    testError: r.testError,
    testErrorSummary: summary,
    perClassError: r.metrics.perClassError,
    precision: r.metrics.precision,
    recall: r.metrics.recall,
    f1: r.metrics.f1,
    support: r.metrics.support,
    confusion: r.metrics.confusion,
    learningCurve: { trainLoss: r.lossCurve, testError: r.testCurve },
    validationCurve: r.valCurve,
    evaluatedOn: s.testIsHoldout
      ? `${s.test.count} images held out from ${options.data}`
      : s.test.name,
    resumedFrom: resume ? options.resume ?? null : null,
    seeds,
    timings: {
      setupSeconds: s.setupSeconds,
      setupShared: shared !== undefined,
      trainSeconds: r.trainSeconds,
      evalSeconds: r.evalSeconds,
      imagesPerSecond: r.imagesPerSecond,
      totalSeconds: (performance.now() - t0) / 1000,
    },
    runs: runs.map(runRecord),
    configuration: part1Configuration(options, s),
    ...(ensembleRecord ? { ensemble: ensembleRecord } : {}),
    charts: charts.specs,
  });
  const written = await out.commit();
  await removeStaleCheckpoints(options.out, [
    ...(seeds.length === 1 ? ["checkpoint.safetensors"] : []),
    ...(options.keep === "best" && seeds.length === 1 ? ["best.safetensors"] : []),
  ]);
  printSummary(r, s.classNames);
  if (runs.length > 1) {
    console.log(
      `\n${runs.length} seeds: test error ${pct(summary.mean)} +- ${pct(summary.std)} (mean +- sd)`,
    );
  }
  if (ensembleRecord) {
    console.log(
      `ensemble of the ${runs.length} networks (probabilities averaged): test error ` +
        pct(ensembleRecord.testError),
    );
  }
  console.log(`\nwrote ${written.join(", ")}`);
  return { runs, ensemble: ensembleRecord, setup: s };
}

/**
 * A new run in a folder that holds an unfinished run's checkpoint would overwrite it: refuse,
 * naming the two ways on (resume it, or --force to start over).
 */
export async function refuseUnfinishedRun(out: string): Promise<void> {
  const path = `${out}/checkpoint.safetensors`;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  let where = "a checkpoint that cannot be read";
  try {
    const { info } = decodeCheckpoint(bytes, path);
    if (info.state.epoch >= info.recipe.epochs) return; // a finished run: replaced by this one
    where = `an unfinished run (seed ${info.recipe.seed}, ${info.state.epoch} of ` +
      `${info.recipe.epochs} epochs done)`;
  } catch { /* damaged: refuse as well */ }
  throw new UsageError(
    `--out ${out} holds ${where}: continue it with 'deno task part1 --resume ${path}', or start ` +
      `over with --force (its files are replaced)`,
  );
}

/** Checkpoint files of an earlier run that this run did not write: removed once it succeeds. */
async function removeStaleCheckpoints(out: string, kept: readonly string[]): Promise<void> {
  for (const name of ["checkpoint.safetensors", "best.safetensors"]) {
    if (kept.includes(name)) continue;
    try {
      await Deno.remove(`${out}/${name}`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}

/** Every file Part 1 writes into its output folder. */
export const PART1_FILES = [
  "metrics.json",
  "model.safetensors",
  "checkpoint.safetensors",
  "best.safetensors",
  "learning_curve.png",
  "per_class_error.png",
  "confusion_matrix.png",
];

async function main(): Promise<number> {
  const { options, help } = parseOptions<Part1Options>(Deno.args, PART1_SPEC, PROGRAM);
  if (help) {
    console.log(formatHelp(PART1_SPEC, PROGRAM));
    return 0;
  }
  await checkWritable(options.out, PART1_FILES);
  // a resumed run continues one network; the ablation is a study of its own
  const ablation = options.resume ? "none" : options.ablation ?? "none";
  await checkAblationWritable(options.out, ablation);
  if (!options.resume && !options.force) await refuseUnfinishedRun(options.out);
  const prepared = options.resume ? await prepareResume(options, Deno.args) : undefined;
  const o = prepared?.options ?? options;

  const part1 = await runPart1(o, undefined, prepared?.ck);
  if (ablation !== "none") {
    await runPart1Ablation(
      part1.setup,
      { ...o, ablation },
      { runs: part1.runs.map(runRecord), ensemble: part1.ensemble },
      { task: "part1", argv: Deno.args },
    );
  } else if (options.resume && options.ablation !== "none") {
    console.error("--resume: the ablation is not run (run part1 without --resume for it)");
  }
  return 0;
}

if (import.meta.main) runExperiment(main, PROGRAM.name);
