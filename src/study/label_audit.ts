/**
 * Label auditing with the engine: softmax probabilities read back for chosen images of a GPU
 * data set, and k-fold out-of-sample probabilities for every training image (each fold's images
 * predicted by a model trained on the other folds) for confident learning
 * (src/study/confident_learning.ts). Browser-safe: no Deno APIs.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { runDispatches } from "../gpu/program.ts";
import { StepParamsBuffer } from "../gpu/step_params.ts";
import { download, Tensor } from "../gpu/tensor.ts";
import type { Dataset } from "../data/dataset.ts";
import { gatherBatch, type GpuDataset, uploadDataset, uploadUints } from "../ops/gather.ts";
import { softmaxForward } from "../ops/softmax_xent.ts";
import type { Model } from "../nn/model.ts";
import type { ModelSpec } from "../nn/spec.ts";
import { deriveSeed } from "../util/rng.ts";
import {
  type SessionHooks,
  type SessionRecipe,
  type StopSignal,
  trainSession,
} from "../train/session.ts";
import { kFoldSplits } from "./confident_learning.ts";

/**
 * Softmax probabilities (order.length, classes) of the images `order` of `data`, row r for image
 * order[r]: gather -> the model's inference forward program -> softmax, in chunks of `batch`.
 */
export async function predictProbabilities(
  ctx: GpuContext,
  model: Model,
  data: GpuDataset,
  order: ArrayLike<number>,
  batch = 256,
): Promise<Float32Array> {
  const n = order.length, C = model.classes;
  if (n === 0) return new Float32Array(0);
  for (let r = 0; r < n; r++) {
    if (!Number.isInteger(order[r]) || order[r] < 0 || order[r] >= data.count) {
      throw new RangeError(`image ${order[r]} is not in 0..${data.count - 1}`);
    }
  }
  const B = Math.min(batch, n), chunks = Math.ceil(n / B);
  // positions past n repeat the last image; their rows are dropped
  const padded = new Uint32Array(chunks * B).map((_, i) => order[Math.min(i, n - 1)]);
  const perm = uploadUints(ctx, padded, "probability order");
  const params = new StepParamsBuffer(ctx, chunks, "probability chunks");
  params.write(0, Array.from({ length: chunks }, (_, c) => ({ step: c, batchStart: c * B })));
  const x = Tensor.create(ctx, B, model.inputFloats, "probe input");
  const labels = Tensor.create(ctx, 1, B, "probe labels");
  const probs = Tensor.create(ctx, B, C, "probe probabilities");
  try {
    const fwd = await model.forward(B, x, { training: false });
    const dispatches = [
      await gatherBatch(ctx, { data, perm, x, labels, params }),
      ...fwd.dispatches,
      await softmaxForward(ctx, { logits: fwd.logits, probs }),
    ];
    const out = new Float32Array(n * C);
    for (let c = 0; c < chunks; c++) {
      await runDispatches(ctx, dispatches, params.offset(c));
      const rows = Math.min(B, n - c * B);
      out.set((await download(ctx, probs)).subarray(0, rows * C), c * B * C);
    }
    return out;
  } finally {
    for (const r of [perm, params, x.store, labels.store, probs.store]) r.destroy();
  }
}

/** The predicted class of each row of a probability matrix (lowest class on a tie). */
export function argmaxRows(probs: ArrayLike<number>, classes: number): Uint8Array {
  const n = probs.length / classes, out = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let k = 1; k < classes; k++) {
      if (probs[r * classes + k] > probs[r * classes + best]) best = k;
    }
    out[r] = best;
  }
  return out;
}

/** The images `indices` of a data set as a new data set (copies), with `labels` if given. */
export function pickImages(
  ds: Dataset,
  indices: ArrayLike<number>,
  labels: ArrayLike<number> = ds.labels,
  name = `${ds.name} (${indices.length} images)`,
): Dataset {
  const pixels = ds.rows * ds.cols, n = indices.length;
  const images = new Uint8Array(n * pixels), out = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const i = indices[k];
    images.set(ds.images.subarray(i * pixels, (i + 1) * pixels), k * pixels);
    out[k] = labels[i];
  }
  return { name, count: n, rows: ds.rows, cols: ds.cols, images, labels: out };
}

/** What {@link outOfSampleProbabilities} needs. */
export interface OutOfSampleConfig {
  /** The device. */
  ctx: GpuContext;
  /** The architecture. */
  spec: ModelSpec;
  /** The recipe of every fold's model; fold f trains with seed deriveSeed(recipe.seed, "fold", f). */
  recipe: Omit<SessionRecipe, "labels">;
  /** The images to audit. */
  data: Dataset;
  /** The labels to audit (default the data set's): the models train on these. */
  labels?: ArrayLike<number>;
  /** Folds (default 4). */
  folds?: number;
  /** Images the session measures each fold model's test error on (clean labels). */
  test: GpuDataset | Dataset;
  /** More images every fold model predicts; their probabilities are averaged over the folds. */
  extra?: GpuDataset;
  /** Session hooks of fold f (progress bars). */
  hooks?: (fold: number) => SessionHooks;
  /** Polled between submissions: true stops. */
  signal?: StopSignal;
}

/** What {@link outOfSampleProbabilities} returns. */
export interface OutOfSample {
  /** (n, classes): row i from the model that did not train on image i. */
  probs: Float32Array;
  /** The fold of each image. */
  folds: Uint32Array;
  /** (extra.count, classes), the mean over the fold models; with `extra`. */
  extraProbs?: Float32Array;
  /** Each fold model's error on the test images. */
  foldTestErrors: number[];
  /** Training seconds over the folds. */
  trainSeconds: number;
  /** True when the signal stopped training (the probabilities are then incomplete). */
  interrupted: boolean;
}

/**
 * k-fold out-of-sample probabilities: the folds (stratified by the audited labels, seeded by
 * recipe.seed) each train one model on the other folds and predict their own images.
 */
export async function outOfSampleProbabilities(c: OutOfSampleConfig): Promise<OutOfSample> {
  const { ctx, data } = c;
  const labels = c.labels ?? data.labels;
  const k = c.folds ?? 4;
  if (labels.length !== data.count) {
    throw new RangeError(`${labels.length} labels for ${data.count} images`);
  }
  const folds = kFoldSplits(data.count, k, c.recipe.seed, labels);
  const classes = 10;
  const probs = new Float32Array(data.count * classes);
  const extraProbs = c.extra ? new Float32Array(c.extra.count * classes) : undefined;
  const foldTestErrors: number[] = [];
  let trainSeconds = 0;
  const all = uploadDataset(ctx, data.images, labels, data.count, data.rows * data.cols, "audit");
  try {
    for (let f = 0; f < k; f++) {
      const inFold: number[] = [], outFold: number[] = [];
      for (let i = 0; i < data.count; i++) (folds[i] === f ? inFold : outFold).push(i);
      const r = await trainSession({
        ctx,
        spec: c.spec,
        data: {
          train: pickImages(data, outFold, labels, `${data.name} without fold ${f}`),
          test: c.test,
        },
        recipe: { ...c.recipe, seed: deriveSeed(c.recipe.seed, "fold", f) },
        signal: c.signal,
        hooks: c.hooks?.(f),
        keepModel: true,
        evalPointsPerEpoch: 0,
      });
      if (r.interrupted || !r.model) {
        r.model?.destroy();
        return { probs, folds, extraProbs, foldTestErrors, trainSeconds, interrupted: true };
      }
      try {
        trainSeconds += r.trainSeconds;
        foldTestErrors.push(r.metrics!.error);
        const p = await predictProbabilities(ctx, r.model, all, inFold);
        inFold.forEach((i, row) =>
          probs.set(p.subarray(row * classes, (row + 1) * classes), i * classes)
        );
        if (c.extra && extraProbs) {
          const order = Array.from({ length: c.extra.count }, (_, i) => i);
          const q = await predictProbabilities(ctx, r.model, c.extra, order);
          for (let j = 0; j < q.length; j++) extraProbs[j] += q[j] / k;
        }
      } finally {
        r.model.destroy();
      }
    }
  } finally {
    all.images.destroy();
    all.labels.destroy();
  }
  return { probs, folds, extraProbs, foldTestErrors, trainSeconds, interrupted: false };
}

/** One row of a ranked audit list. */
export interface RankedLabel {
  /** Row of the image. */
  index: number;
  /** The label it was given. */
  givenLabel: number;
  /** Confident learning's suggestion for a suspect, else the most probable other class. */
  suggestedLabel: number;
  /** Self-confidence or CL's ranking score: lower is more suspicious. */
  confidence: number;
  /** Flagged by confident learning. */
  suspect: boolean;
}

/**
 * The audit's ranked list: confident learning's suspects first (in its order), then the other
 * images by self-confidence p(given label) ascending, `length` rows in all (at least the suspects).
 */
export function rankedLabels(
  probs: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
  suspects: readonly {
    index: number;
    givenLabel: number;
    suggestedLabel: number;
    confidence: number;
  }[],
  length: number,
): RankedLabel[] {
  const out: RankedLabel[] = suspects.map((x) => ({ ...x, suspect: true }));
  const flagged = new Set(suspects.map((x) => x.index));
  const rest: number[] = [];
  for (let i = 0; i < labels.length; i++) if (!flagged.has(i)) rest.push(i);
  const self = (i: number) => probs[i * classes + labels[i]];
  rest.sort((a, b) => self(a) - self(b) || a - b);
  for (const i of rest.slice(0, Math.max(0, length - out.length))) {
    let best = -1;
    for (let k = 0; k < classes; k++) {
      if (k !== labels[i] && (best < 0 || probs[i * classes + k] > probs[i * classes + best])) {
        best = k;
      }
    }
    out.push({
      index: i,
      givenLabel: labels[i],
      suggestedLabel: best,
      confidence: self(i),
      suspect: false,
    });
  }
  return out;
}

/** A ranked list as CSV: rank, index, given label, suggested label, confidence, suspect (1/0). */
export function suspectsCsv(rows: readonly RankedLabel[]): string {
  const lines = ["rank,index,given_label,suggested_label,confidence,suspect"];
  rows.forEach((s, r) =>
    lines.push(
      `${r + 1},${s.index},${s.givenLabel},${s.suggestedLabel},${s.confidence.toFixed(6)},${
        s.suspect ? 1 : 0
      }`,
    )
  );
  return lines.join("\n") + "\n";
}
