/**
 * Label audit by confident learning: every training image gets out-of-sample probabilities from
 * k-fold models trained by the engine (each fold predicted by a model that never saw it); the
 * confident joint, the calibrated joint Q, the estimated noise rate 1 - trace(Q), the noise
 * matrix and a ranked list of suspicious labels follow. The test set is audited with the fold
 * models (trained on the training set), their probabilities averaged.
 *
 *   deno task audit [--data DIR | --data train.csv] [--split both|train|test] [--folds 4]
 *                   [--epochs 2] [--seed 1] [--train-count N] [--list 200] [--top 60]
 *                   [--out results/audit]
 *
 * Writes, atomically, in OUT: SPLIT_suspects.csv (rank, index, given label, suggested label,
 * confidence: lower is more suspicious, suspect: flagged by confident learning; the flagged
 * images first, then the least self-confident others up to --list rows), SPLIT_suspects.png (the
 * top of that list as a digit grid),
 * SPLIT_noise_matrix.png (the confident joint) and audit.json (rates, matrices, thresholds).
 * A Kaggle CSV has no labelled test file: only its training labels are audited.
 *
 * @module
 */
import {
  acquireGpu,
  confidentLearning,
  type ConfidentLearningResult,
  confusionMatrixChart,
  type Dataset,
  type LabelSuspect,
  lenet5,
  outOfSampleProbabilities,
  rankedLabels,
  subset,
  suspectsCsv,
  uploadDataset,
} from "../mod.ts";
import {
  digitGridPng,
  formatCount,
  formatDuration,
  formatHelp,
  loadKaggleCsv,
  loadMnistSplit,
  type OptionSpec,
  OutputDir,
  parseOptions,
  ProgressBar,
  renderChartPng,
  UsageError,
} from "../mod_deno.ts";
import {
  checkWritable,
  installInterruptHandler,
  InterruptedError,
  NO_ADAPTER_ENV,
  pct,
  recipeOf,
  runExperiment,
  sessionRecipeOf,
  TRAINING_OPTIONS,
  type TrainingOptions,
} from "./common.ts";

export const AUDIT_SPEC: Record<string, OptionSpec> = {
  data: TRAINING_OPTIONS.data,
  split: {
    type: "enum",
    values: ["both", "train", "test"],
    default: "both",
    description: "which labels to audit: the training set (k-fold), the test set (models " +
      "trained on the training set), or both",
  },
  folds: { type: "int", default: 4, min: 2, max: 20, description: "cross-validation folds" },
  epochs: { ...TRAINING_OPTIONS.epochs, default: 2 },
  batch: TRAINING_OPTIONS.batch,
  lr: TRAINING_OPTIONS.lr,
  seed: TRAINING_OPTIONS.seed,
  loss: TRAINING_OPTIONS.loss,
  trainCount: TRAINING_OPTIONS.trainCount,
  list: {
    type: "int",
    default: 200,
    min: 1,
    max: 10_000_000,
    description: "rows of each ranked CSV: every flagged suspect, then the least self-confident " +
      "other images up to this many",
  },
  top: {
    type: "int",
    default: 60,
    min: 1,
    max: 1000,
    description: "images shown in the PNG grid (most suspicious first)",
  },
  out: { type: "path", default: "results/audit", description: "output folder" },
};

interface AuditOptions {
  data?: string;
  split: "both" | "train" | "test";
  folds: number;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  loss: TrainingOptions["loss"];
  trainCount?: number;
  top: number;
  list: number;
  out: string;
}

const PROGRAM = {
  name: "deno task audit",
  summary: "Find mislabeled images by confident learning with k-fold models trained by the " +
    "engine; writes a ranked list and a picture of the top suspects.",
};

/** The digit grid of the top suspects, 10 per row, captions "given→suggested" per row. */
export async function suspectsGrid(
  ds: Dataset,
  suspects: readonly LabelSuspect[],
  top: number,
  title: string,
): Promise<Uint8Array> {
  const pixels = ds.rows * ds.cols;
  const shown = suspects.slice(0, top);
  const rows = [];
  for (let k = 0; k < shown.length; k += 10) {
    const part = shown.slice(k, k + 10);
    rows.push({
      label: part.map((s) => `${s.givenLabel}→${s.suggestedLabel}`).join(" "),
      images: part.map((s) => ds.images.slice(s.index * pixels, (s.index + 1) * pixels)),
    });
  }
  return await digitGridPng(rows, { scale: 2, title });
}

/** The audit's summary of one split for audit.json. */
export function auditRecord(r: ConfidentLearningResult, extra: Record<string, unknown>) {
  return {
    ...extra,
    images: r.count,
    noiseRate: r.noiseRate,
    suspects: r.suspects.length,
    thresholds: r.thresholds,
    givenCounts: r.givenCounts,
    confidentJoint: r.confidentJoint,
    joint: r.joint,
    noiseMatrix: r.noiseMatrix,
    labelErrorsByClass: r.labelErrorsByClass,
    top: r.suspects.slice(0, 25),
  };
}

async function main(): Promise<number> {
  const { options: o, help } = parseOptions<AuditOptions>(Deno.args, AUDIT_SPEC, PROGRAM);
  if (help) {
    console.log(formatHelp(AUDIT_SPEC, PROGRAM));
    return 0;
  }
  await checkWritable(o.out);
  const csv = o.data !== undefined && /\.csv(\.gz)?$/i.test(o.data);
  if (csv && o.split === "test") {
    throw new UsageError(
      `--split test: ${o.data} is a Kaggle CSV, which has no labelled test file; use --split train`,
    );
  }
  let train: Dataset, test: Dataset | undefined;
  if (csv) {
    const parsed = await loadKaggleCsv(o.data!);
    if (!parsed.hasLabels) {
      throw new UsageError(
        `--data ${o.data} has no label column (a Kaggle test file): nothing to audit`,
      );
    }
    train = parsed.dataset;
  } else {
    train = await loadMnistSplit("train", o.data);
    test = await loadMnistSplit("test", o.data);
  }
  if (o.trainCount !== undefined) {
    if (o.trainCount > train.count) {
      throw new UsageError(
        `--train-count must be at most ${train.count} (the training set size), got ${o.trainCount}`,
      );
    }
    train = subset(train, o.trainCount);
  }
  if (train.count < o.folds * o.batch) {
    throw new UsageError(
      `--folds ${o.folds} with --batch ${o.batch} needs at least ${o.folds * o.batch} training ` +
        `images, got ${train.count}`,
    );
  }
  const splits = csv ? ["train"] : o.split === "both" ? ["train", "test"] : [o.split];
  let noAdapter = false;
  try {
    noAdapter = Deno.env.get(NO_ADAPTER_ENV) === "1";
  } catch { /* no env permission */ }
  const ctx = await acquireGpu({ simulateNoAdapter: noAdapter });
  const t0 = performance.now();
  const pixels = train.rows * train.cols;
  const gpuTest = test
    ? uploadDataset(ctx, test.images, test.labels, test.count, pixels, "test")
    : undefined;
  const recipe = recipeOf({
    ...o,
    model: "lenet5",
    hidden: [],
    augment: "none",
    dataset: "mnist",
    optimizer: "adam",
    momentum: 0.9,
    weightDecay: 0,
    schedule: "cosine",
    seeds: 1,
    val: 0,
  });
  const foldImages = Math.round(train.count * (1 - 1 / o.folds));
  console.error(
    `audit: ${o.folds} folds on ${formatCount(train.count)} training images (${train.name}), ` +
      `${o.epochs} epoch(s) each: ${formatCount(o.folds * o.epochs * foldImages)} image-steps; ` +
      `auditing ${splits.join(" and ")} labels`,
  );
  const signal = installInterruptHandler();
  const oos = await outOfSampleProbabilities({
    ctx,
    spec: lenet5(),
    recipe: sessionRecipeOf(recipe, o.seed),
    data: train,
    folds: o.folds,
    // a Kaggle CSV has no test set: fold models are measured on the training images themselves
    test: gpuTest ?? train,
    extra: splits.includes("test") ? gpuTest : undefined,
    signal,
    hooks: (f) => {
      const bar = new ProgressBar({
        total: o.epochs * Math.floor(foldImages / o.batch) * o.batch,
        label: `fold ${f + 1}/${o.folds}`,
        unit: "img",
      });
      return {
        onProgress: (p) => bar.update(p.imagesSeen, `epoch ${Math.min(p.epoch + 1, o.epochs)}`),
        afterTraining: () => Promise.resolve(bar.finish("trained")),
      };
    },
  });
  if (oos.interrupted) throw new InterruptedError("interrupted; no results were written");
  const out = new OutputDir(o.out);
  const record: Record<string, unknown> = {
    schema: "webgpu-mnist/audit@1",
    createdAt: new Date().toISOString(),
    adapter: ctx.adapterName,
    recipe,
    folds: o.folds,
    seed: o.seed,
    foldTestErrors: oos.foldTestErrors,
    trainSeconds: oos.trainSeconds,
  };
  const lines: string[] = [];
  for (const split of splits) {
    const ds = split === "train" ? train : test!;
    const probs = split === "train" ? oos.probs : oos.extraProbs!;
    const r = confidentLearning(probs, ds.labels, 10);
    const ranked = rankedLabels(probs, ds.labels, 10, r.suspects, o.list);
    out.stage(`${split}_suspects.csv`, suspectsCsv(ranked));
    out.stage(
      `${split}_suspects.png`,
      await suspectsGrid(
        ds,
        ranked,
        o.top,
        `${ds.name}: the ${Math.min(o.top, ranked.length)} most suspicious labels, ` +
          `${formatCount(r.suspects.length)} flagged (given→suggested)`,
      ),
    );
    out.stage(
      `${split}_noise_matrix.png`,
      await renderChartPng(
        confusionMatrixChart(r.confidentJoint, Array.from({ length: 10 }, (_, i) => String(i)), {
          title: `${ds.name}: confident joint (rows: given label, columns: estimated true label)`,
          xLabel: "estimated true label",
          yLabel: "given label",
        }),
        { width: 640, height: 640 },
      ),
    );
    record[split] = auditRecord(r, { data: ds.name });
    lines.push(
      `${split}: ${formatCount(ds.count)} images, estimated label-noise rate ${
        pct(r.noiseRate)
      }, ` +
        `${formatCount(r.suspects.length)} suspects; top 5: ${
          r.suspects.slice(0, 5).map((s) => `#${s.index} ${s.givenLabel}→${s.suggestedLabel}`)
            .join(", ")
        }`,
    );
  }
  out.stageJson("audit.json", record);
  const written = await out.commit();
  console.log(
    `fold models' test error: ${oos.foldTestErrors.map(pct).join(", ")} (training ${
      formatDuration(oos.trainSeconds)
    }, total ${formatDuration((performance.now() - t0) / 1000)})`,
  );
  for (const l of lines) console.log(l);
  console.log(`wrote ${written.join(", ")}`);
  return 0;
}

if (import.meta.main) runExperiment(main, PROGRAM.name);
