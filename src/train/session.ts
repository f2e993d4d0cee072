/**
 * One training session: model, evaluators, trainer, resume, checkpoints, validation and the
 * best-epoch checkpoint, progress and cancellation, and the release of every GPU resource it
 * created. The command-line experiments and the training page are thin adapters over it (files
 * and a terminal progress bar; page widgets).
 *
 * Browser-safe: checkpoints leave as bytes through hooks; writing them is the caller's business.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import type { Dataset } from "../data/dataset.ts";
import { type GpuDataset, type PixelNoise, uploadDataset, uploadUints } from "../ops/gather.ts";
import type { LrSchedule, OptimizerConfig } from "../ops/optimizer.ts";
import type { AffineAugment } from "../ops/augment.ts";
import type { ElasticAugment } from "../ops/elastic.ts";
import { Model } from "../nn/model.ts";
import type { ModelSpec } from "../nn/spec.ts";
import type { RobustLoss } from "../ops/robust_xent.ts";
import { deriveSeed } from "../util/rng.ts";
import {
  type CheckpointInfo,
  decodeCheckpoint,
  encodeCheckpoint,
  restoreCheckpoint,
} from "./checkpoint.ts";
import { Evaluator } from "./evaluator.ts";
import type { ClassMetrics } from "./metrics.ts";
import {
  type EvalPoint,
  type LossPoint,
  Trainer,
  type TrainProgress,
  type TrainState,
} from "./trainer.ts";
import type { NamedTensor } from "../io/safetensors.ts";

/** A checkpoint as {@link decodeCheckpoint} returns it. */
export type DecodedCheckpoint = { info: CheckpointInfo; tensors: Map<string, NamedTensor> };

/** How one model is trained: everything that decides its weights. */
export interface SessionRecipe {
  /** The model's name as the checkpoint's recipe records it (e.g. "lenet5"), if wanted there. */
  model?: string;
  /** Optimizer and hyper-parameters, e.g. `{ ...ADAM_DEFAULTS, lr: 0.002 }`. */
  optimizer: OptimizerConfig;
  /** Learning-rate schedule over all epochs. */
  schedule: LrSchedule;
  /** Images per optimizer step. */
  batchSize: number;
  /** Passes over the training set. */
  epochs: number;
  /** Master seed: the initialization uses deriveSeed(seed, "init"), the shuffles derive from it. */
  seed: number;
  /** Gaussian pixel noise on the training images (Part 2). */
  noise?: PixelNoise;
  /** Random affine distortion of the training images (kept in the checkpoint's recipe). */
  augment?: AffineAugment;
  /** Elastic distortion after the affine one (kept in the checkpoint's recipe). */
  elastic?: ElasticAugment;
  /** Draw the noise afresh every epoch (see `TrainOptions.noisePerEpoch`); default fixed. */
  noisePerEpoch?: boolean;
  /** Training labels that replace the data set's (Part 3's corrupted labels), one per image. */
  labels?: ArrayLike<number>;
  /** A noise-robust loss instead of cross-entropy (recorded in the checkpoint's recipe). */
  loss?: RobustLoss;
}

/** A data set already on the GPU (kept) or in host memory (uploaded, freed at the end). */
export type SessionDataset = GpuDataset | Dataset;

/** The data of a session. */
export interface SessionData {
  /** The training images (their labels unless the recipe replaces them). */
  train: SessionDataset;
  /** The images the test error is measured on. */
  test: SessionDataset;
  /** Held-out training images, evaluated after every epoch. */
  validation?: SessionDataset;
}

/** Readable by the session between submissions; an `AbortSignal` fits. */
export interface StopSignal {
  /** True once stopping was asked for. */
  readonly aborted: boolean;
}

/** Why checkpoint bytes are handed out. */
export type CheckpointReason = "epoch" | "best" | "interrupted";

/** Callbacks of a session; all optional. */
export interface SessionHooks {
  /** After every submitted group of steps and after every epoch, with the live curves. */
  onProgress?: (p: TrainProgress, state: Readonly<TrainState>) => void;
  /** Each new point of the test-error curve. */
  onEval?: (p: EvalPoint) => void;
  /** The validation error after an epoch (with validation data). */
  onValidation?: (v: { epoch: number; error: number; count: number; best: boolean }) => void;
  /**
   * Checkpoint bytes: after every epoch ("epoch"), after an epoch with a new lowest validation
   * error ("best", before "epoch"), and where training stopped ("interrupted"). Without this hook
   * no checkpoint is encoded during training.
   */
  onCheckpoint?: (bytes: Uint8Array, reason: CheckpointReason) => Promise<void> | void;
  /**
   * After training, before anything is released, with the model and the training data it was
   * trained on (with the replaced labels when the recipe has `labels`).
   */
  afterTraining?: (model: Model, trained: GpuDataset) => Promise<void>;
  /** After every epoch (1-based), before validation, with the model (probes of memorization). */
  afterEpoch?: (model: Model, epoch: number) => Promise<void>;
}

/** Everything a session needs. */
export interface SessionConfig {
  /** The device the model, the data and the programs live on. */
  ctx: GpuContext;
  /** The architecture (e.g. `lenet5()`). */
  spec: ModelSpec;
  /** Training, test and optional validation data. */
  data: SessionData;
  /** What decides the weights. */
  recipe: SessionRecipe;
  /** Progress, checkpoints, validation and after-training callbacks. */
  hooks?: SessionHooks;
  /** Polled between submissions: true stops after the recorded steps. */
  signal?: StopSignal;
  /** Continue from this checkpoint (same recipe, seed and data; the caller checks). */
  resume?: DecodedCheckpoint;
  /** More facts for the checkpoint metadata (data identity, command-line options for resume). */
  checkpointExtra?: Record<string, unknown>;
  /** Return the trained model as checkpoint bytes ({@link SessionResult.checkpoint}). */
  wantCheckpoint?: boolean;
  /** Return the model instead of freeing it ({@link SessionResult.model}; the caller destroys it). */
  keepModel?: boolean;
  /** Evaluate the test set when stopped early too (the page shows a result; the CLI exits). */
  evaluateWhenStopped?: boolean;
  /** Mean training loss every this many steps (default 50); changes no weight. */
  lossEvery?: number;
  /** Test-error points per epoch (default 10); changes no weight. */
  evalPointsPerEpoch?: number;
  /** Steps recorded per command buffer (default 25); changes no weight. */
  stepsPerSubmit?: number;
  /** Images per evaluation chunk (default: the Evaluator's). */
  evalBatch?: number;
}

/** What a session produced. */
export interface SessionResult {
  /** The recipe's seed. */
  seed: number;
  /** True when the signal stopped training before the last epoch finished. */
  interrupted: boolean;
  /** Final test metrics (absent when stopped early without `evaluateWhenStopped`). */
  metrics?: ClassMetrics;
  /** Where training ended, with the curves. */
  state: TrainState;
  /** The training-loss curve. */
  lossCurve: LossPoint[];
  /** The test-error curve. */
  testCurve: EvalPoint[];
  /** Validation error after each epoch (with validation data). */
  valCurve: { epoch: number; error: number }[];
  /** Wall-clock seconds training (evaluation excluded), over resumed sessions too. */
  trainSeconds: number;
  /** Wall-clock seconds evaluating. */
  evalSeconds: number;
  /** Training images processed (all epochs, or up to where it stopped). */
  imagesTrained: number;
  /** imagesTrained / trainSeconds. */
  imagesPerSecond: number;
  /** Full batches per epoch, floor(N / batchSize). */
  stepsPerEpoch: number;
  /** The trained model as a checkpoint, with `wantCheckpoint` (or after an interruption). */
  checkpoint?: Uint8Array;
  /** The trained model, with `keepModel`. */
  model?: Model;
}

function isHost(d: SessionDataset): d is Dataset {
  return (d as Dataset).rows !== undefined;
}

/** Trains one model and returns its results; frees every GPU resource it created. */
export async function trainSession(c: SessionConfig): Promise<SessionResult> {
  const { ctx, spec, recipe } = c;
  const hooks = c.hooks ?? {};
  const release: { destroy(): void }[] = [];
  const gpu = (d: SessionDataset, label: string): GpuDataset => {
    if (!isHost(d)) return d;
    const up = uploadDataset(ctx, d.images, d.labels, d.count, d.rows * d.cols, label);
    release.push(up.images, up.labels);
    return up;
  };
  let model: Model | null = null;
  let keep = false;
  try {
    const trainSet = gpu(c.data.train, "train");
    const testSet = gpu(c.data.test, "test");
    const valSet = c.data.validation ? gpu(c.data.validation, "validation") : undefined;
    let data = trainSet;
    if (recipe.labels) {
      const labels = uploadUints(ctx, recipe.labels, "replaced labels");
      release.push(labels);
      data = { ...trainSet, labels };
    }
    model = Model.create(ctx, spec, { seed: deriveSeed(recipe.seed, "init") });
    const m = model;
    const evaluator = await Evaluator.create(ctx, m, testSet, { batch: c.evalBatch });
    release.push(evaluator);
    const trainer = await Trainer.create(ctx, m, data, {
      batchSize: recipe.batchSize,
      epochs: recipe.epochs,
      optimizer: recipe.optimizer,
      schedule: recipe.schedule,
      seed: recipe.seed,
      noise: recipe.noise,
      augment: recipe.augment,
      elastic: recipe.elastic,
      ...(recipe.noisePerEpoch ? { noisePerEpoch: true } : {}),
      loss: recipe.loss,
      ...(c.lossEvery !== undefined ? { lossEvery: c.lossEvery } : {}),
      ...(c.evalPointsPerEpoch !== undefined ? { evalPointsPerEpoch: c.evalPointsPerEpoch } : {}),
      ...(c.stepsPerSubmit !== undefined ? { stepsPerSubmit: c.stepsPerSubmit } : {}),
    }, evaluator);
    release.push(trainer);
    const valEvaluator = valSet
      ? await Evaluator.create(ctx, m, valSet, { batch: c.evalBatch })
      : null;
    if (valEvaluator) release.push(valEvaluator);

    let valCurve: { epoch: number; error: number }[] = [];
    let lastError: number | null = null;
    if (c.resume) {
      restoreCheckpoint(m, c.resume, true, "--resume");
      trainer.restore(c.resume.info.state, c.resume.info.pendingLosses);
      valCurve = (c.resume.info.extra.valCurve as typeof valCurve | undefined) ?? [];
      lastError = c.resume.info.testError;
    }
    // the recipe fields in the caller's order (the checkpoint bytes depend on it)
    const { noise: _noise, noisePerEpoch: _perEpoch, labels: _labels, ...checkpointRecipe } =
      recipe;
    const encode = async () =>
      encodeCheckpoint(m, {
        model: spec,
        recipe: checkpointRecipe,
        state: trainer.state,
        pendingLosses: await trainer.pendingLosses(),
        testError: lastError,
        extra: {
          ...c.checkpointExtra,
          noise: recipe.noise ?? null,
          ...(recipe.noisePerEpoch ? { noisePerEpoch: true } : {}),
          corruptedLabels: recipe.labels !== undefined,
          valCurve,
        },
      });

    const result = await trainer.run({
      shouldStop: c.signal ? () => c.signal!.aborted : undefined,
      onEval: (p) => {
        lastError = p.error;
        hooks.onEval?.(p);
      },
      onProgress: hooks.onProgress && ((p) => hooks.onProgress!(p, trainer.state)),
      onEpochEnd: async (state) => {
        await hooks.afterEpoch?.(m, state.epoch);
        let best = false;
        if (valEvaluator) {
          const v = await valEvaluator.run();
          best = valCurve.every((x) => v.error < x.error);
          valCurve.push({ epoch: state.epoch, error: v.error });
          hooks.onValidation?.({ epoch: state.epoch, error: v.error, count: v.count, best });
        }
        if (hooks.onCheckpoint) {
          const bytes = await encode();
          if (best) await hooks.onCheckpoint(bytes, "best");
          await hooks.onCheckpoint(bytes, "epoch");
        }
      },
    });
    const st = result.state;
    const B = recipe.batchSize, S = trainer.stepsPerEpoch;
    let checkpoint: Uint8Array | undefined;
    let metrics = result.final;
    if (result.interrupted && c.evaluateWhenStopped) metrics = await evaluator.run();
    if (metrics) lastError = metrics.error;
    if (result.interrupted) {
      if (hooks.onCheckpoint || c.wantCheckpoint) checkpoint = await encode();
      if (checkpoint && hooks.onCheckpoint) await hooks.onCheckpoint(checkpoint, "interrupted");
    }
    if (!result.interrupted && c.wantCheckpoint) checkpoint = await encode();
    if (!result.interrupted) await hooks.afterTraining?.(m, data);
    const imagesTrained = (st.epoch * S + st.stepInEpoch) * B;
    keep = c.keepModel === true;
    return {
      seed: recipe.seed,
      interrupted: result.interrupted,
      metrics,
      state: st,
      lossCurve: st.lossCurve,
      testCurve: st.testCurve,
      valCurve,
      trainSeconds: st.trainSeconds,
      evalSeconds: st.evalSeconds,
      imagesTrained,
      imagesPerSecond: imagesTrained / Math.max(st.trainSeconds, 1e-9),
      stepsPerEpoch: S,
      checkpoint,
      model: keep ? m : undefined,
    };
  } finally {
    // every GPU resource of the session: each run of a sweep starts from the same memory
    for (const r of release.reverse()) r.destroy();
    if (!keep) model?.destroy();
  }
}

/** A model for prediction from checkpoint bytes (e.g. one saved by the page or `part1`). */
export function modelFromCheckpoint(
  ctx: GpuContext,
  bytes: Uint8Array,
  name = "checkpoint",
): { model: Model; info: CheckpointInfo } {
  const ck = decodeCheckpoint(bytes, name);
  const model = Model.create(ctx, ck.info.model, { seed: 0 });
  try {
    restoreCheckpoint(model, ck, false, name);
  } catch (e) {
    model.destroy();
    throw e;
  }
  return { model, info: ck.info };
}
