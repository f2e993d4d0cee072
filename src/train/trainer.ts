/**
 * The training loop. Everything per step happens on the GPU: the batch is gathered from the
 * GPU-resident data set through the epoch's permutation, forward, loss, backward and optimizer
 * run as one recorded program, and per-step values (batch offset, learning rate, Adam's bias
 * corrections, loss-log slot) come from a uniform slot chosen by a dynamic offset. The host
 * records many steps per command buffer and reads back only the loss log (every `lossEvery`
 * steps) and the confusion counts at evaluation points.
 *
 * Determinism: a master seed derives the initialization, each epoch's shuffle and the noise;
 * every GPU reduction runs in a fixed order; so the same seed on the same adapter gives the same
 * numbers.
 *
 * @module
 */
import { EngineError } from "../util/errors.ts";
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, recordDispatches } from "../gpu/program.ts";
import { StepParamsBuffer } from "../gpu/step_params.ts";
import { TEX_WIDTH } from "../gpu/context.ts";
import { Tensor, type TexelStore } from "../gpu/tensor.ts";
import {
  gatherBatch,
  type GpuDataset,
  type PixelNoise,
  uploadUints,
  writeUints,
} from "../ops/gather.ts";
import {
  type LrSchedule,
  type OptimizerConfig,
  optimizerStepValues,
  optimizerUpdate,
  scheduledLr,
} from "../ops/optimizer.ts";
import { type AffineAugment, squareWidth } from "../ops/augment.ts";
import { type ElasticAugment, elasticDistort } from "../ops/elastic.ts";
import { robustCrossEntropy, type RobustLoss } from "../ops/robust_xent.ts";
import type { Model } from "../nn/model.ts";
import { deriveSeed, Rng } from "../util/rng.ts";
import type { Evaluator } from "./evaluator.ts";
import { type ClassMetrics, metricsFromConfusion } from "./metrics.ts";
import { CheckpointError } from "./checkpoint.ts";

/** Training recipe. */
export interface TrainOptions {
  /** Images per optimizer step; an epoch is floor(N / batchSize) full batches. */
  batchSize: number;
  /** Passes over the training set (a positive integer). */
  epochs: number;
  /** Optimizer and hyper-parameters, e.g. `ADAM_DEFAULTS` or `{ ...SGD_DEFAULTS, lr: 0.05 }`. */
  optimizer: OptimizerConfig;
  /** Learning-rate schedule over all epochs (default constant). */
  schedule?: LrSchedule;
  /** Master seed: shuffles use deriveSeed(seed, "shuffle", epoch). */
  seed: number;
  /** Mean training loss is recorded every this many batches (default 50). */
  lossEvery?: number;
  /** Test error is measured at this many evenly spaced points within each epoch (default 10). */
  evalPointsPerEpoch?: number;
  /** Gaussian pixel noise applied to training images while gathering. */
  noise?: PixelNoise;
  /** Random affine distortion of the training images, drawn per (seed, image, epoch). */
  augment?: AffineAugment;
  /** Elastic distortion after the affine one (and before the noise), per (seed, epoch, image). */
  elastic?: ElasticAugment;
  /**
   * Draw the noise afresh every epoch (augmentation): epoch e uses the seed
   * {@link epochNoiseSeed}(noise.seed, e), so epoch 0 sees the fixed noise and later epochs new
   * draws. Default false: every epoch sees the same noise per image.
   */
  noisePerEpoch?: boolean;
  /** Steps recorded per command buffer (default 25). */
  stepsPerSubmit?: number;
  /** A noise-robust loss (GCE, SCE) instead of softmax cross-entropy. */
  loss?: RobustLoss;
}

/**
 * The noise seed of epoch `epoch` with per-epoch noise: the run's noise seed in epoch 0, a seed
 * derived from it and the epoch afterwards (keyed, so a resumed run draws the same noise).
 */
export function epochNoiseSeed(seed: number, epoch: number): number {
  return epoch === 0 ? seed : deriveSeed(seed, "noise epoch", epoch);
}

/** One point of the training-loss curve: mean loss over the last `lossEvery` batches. */
export interface LossPoint {
  /** Epoch (0-based) the window's batches belong to. */
  epoch: number;
  /** Optimizer steps taken since the start of training, at the end of the window. */
  step: number;
  /** Training images processed at the end of the window (step * batchSize). */
  imagesSeen: number;
  /** Mean of the window's batch-mean cross-entropy losses. */
  loss: number;
}

/** One test-error measurement. */
export interface EvalPoint {
  /** Epoch (0-based) in which it was measured. */
  epoch: number;
  /** Epochs completed, fractional (e.g. 0.1 after a tenth of the first epoch). */
  epochs: number;
  /** Training images processed when it was measured. */
  imagesSeen: number;
  /** Test error: the fraction of evaluated images misclassified (0..1). */
  error: number;
}

/** Progress report sent to the caller while training. */
export interface TrainProgress {
  /** Current epoch, 0-based (equal to the number of epochs once training is done). */
  epoch: number;
  /** Steps completed in the current epoch. */
  stepInEpoch: number;
  /** Steps per epoch, floor(N / batchSize). */
  stepsPerEpoch: number;
  /** Training images processed so far. */
  imagesSeen: number;
  /** Training images of the whole run: epochs * stepsPerEpoch * batchSize. */
  totalImages: number;
  /** Latest point of the loss curve, or null before the first. */
  lastLoss: number | null;
  /** Latest test error (0..1), or null before the first evaluation or without an evaluator. */
  lastError: number | null;
}

/** Where training can resume from: the end of a step. */
export interface TrainState {
  /** Epochs completed, i.e. the 0-based epoch in progress. */
  epoch: number;
  /** Steps completed in that epoch. */
  stepInEpoch: number;
  /** Optimizer steps taken so far (Adam's t). */
  globalStep: number;
  /** The training-loss curve so far. */
  lossCurve: LossPoint[];
  /** The test-error curve so far. */
  testCurve: EvalPoint[];
  /** Wall-clock seconds spent training, evaluation excluded, over all resumed sessions. */
  trainSeconds: number;
  /** Wall-clock seconds spent evaluating, over all resumed sessions. */
  evalSeconds: number;
}

/** The state before the first step: nothing trained, no time spent. */
export function initialTrainState(): TrainState {
  return {
    epoch: 0,
    stepInEpoch: 0,
    globalStep: 0,
    lossCurve: [],
    testCurve: [],
    trainSeconds: 0,
    evalSeconds: 0,
  };
}

/** Result of {@link Trainer.run}. */
export interface TrainResult {
  /** The state at the end (after the last epoch, or where training stopped). */
  state: TrainState;
  /** Metrics of the final evaluation (absent if training stopped early). */
  final?: ClassMetrics;
  /** True when `shouldStop` ended training before the last epoch finished. */
  interrupted: boolean;
}

/** Callbacks for long runs. */
export interface TrainHooks {
  /** Called after every submitted group of steps and after every epoch. */
  onProgress?: (p: TrainProgress) => void;
  /** Called with each new point of the test-error curve. */
  onEval?: (p: EvalPoint) => void;
  /** Called after each epoch (checkpoints). */
  onEpochEnd?: (state: TrainState) => Promise<void> | void;
  /** Polled between submissions; true stops after the steps already recorded. */
  shouldStop?: () => boolean;
}

/**
 * Mean batch loss beyond which training has diverged: 100 ln(classes), i.e. the right class gets
 * on average a probability below e^-230 for 10 classes. Untrained models start near ln(classes);
 * no working run comes close, while an absurd learning rate reaches 1e20 and more without ever
 * producing NaN (the loss is computed stably), which would otherwise be a silent failure.
 */
export function divergenceLimit(classes: number): number {
  return 100 * Math.log(Math.max(classes, 2));
}

/** Raised when the loss becomes NaN, infinite, or explodes beyond {@link divergenceLimit}. */
export class DivergenceError extends EngineError {
  /** Always `"DivergenceError"`. */
  override name = "DivergenceError";
  /** Step (1-based, counted from the start of training) whose loss was not finite. */
  readonly step: number;
  /** An error about global step `step`; the message says what to try. */
  constructor(message: string, step: number) {
    super(message);
    this.step = step;
  }
}

/** Trains a model on GPU-resident data. */
export class Trainer {
  /** GPU context of the model and the data. */
  readonly ctx: GpuContext;
  /** The model being trained; its parameter arena is updated in place. */
  readonly model: Model;
  /** The training set on the GPU. */
  readonly data: GpuDataset;
  /**
   * The options with defaults filled in: lossEvery 50, evalPointsPerEpoch 10, stepsPerSubmit 25,
   * a constant schedule.
   */
  readonly options:
    & Required<
      Omit<TrainOptions, "noise" | "augment" | "elastic" | "schedule" | "noisePerEpoch" | "loss">
    >
    & {
      noise?: PixelNoise;
      augment?: AffineAugment;
      elastic?: ElasticAugment;
      noisePerEpoch?: boolean;
      loss?: RobustLoss;
      schedule: LrSchedule;
    };
  /** Full batches per epoch, floor(N / batchSize). */
  readonly stepsPerEpoch: number;
  readonly #evaluator: Evaluator | null;
  readonly #stepDispatches: Dispatch[];
  readonly #params: StepParamsBuffer;
  readonly #perm: TexelStore;
  readonly #lossLog: GPUBuffer;
  /** Rebuilds the noise-adding dispatch for an epoch's noise seed (per-epoch noise only). */
  readonly #gatherFor: (noise: PixelNoise) => Promise<Dispatch>;
  /** The noise seed the step program's gather dispatch draws from now. */
  #gatherSeed: number | undefined;
  /** Where training stands, with the curves; advanced by `run`, replaced by `restore`. */
  state: TrainState;

  private constructor(
    ctx: GpuContext,
    model: Model,
    data: GpuDataset,
    options: Trainer["options"],
    evaluator: Evaluator | null,
    dispatches: Dispatch[],
    params: StepParamsBuffer,
    perm: TexelStore,
    lossLog: GPUBuffer,
    gatherFor: (noise: PixelNoise) => Promise<Dispatch>,
  ) {
    this.ctx = ctx;
    this.#gatherFor = gatherFor;
    this.#gatherSeed = options.noise?.seed;
    this.model = model;
    this.data = data;
    this.options = options;
    this.stepsPerEpoch = Math.floor(data.count / options.batchSize);
    this.#evaluator = evaluator;
    this.#stepDispatches = dispatches;
    this.#params = params;
    this.#perm = perm;
    this.#lossLog = lossLog;
    this.state = initialTrainState();
  }

  /**
   * Records the training step program. Each epoch uses floor(N / batch) full batches of a fresh
   * permutation; the N mod batch images left over (different ones each epoch) are skipped.
   */
  static async create(
    ctx: GpuContext,
    model: Model,
    data: GpuDataset,
    options: TrainOptions,
    evaluator: Evaluator | null = null,
  ): Promise<Trainer> {
    const opts: Trainer["options"] = {
      lossEvery: 50,
      evalPointsPerEpoch: 10,
      stepsPerSubmit: 25,
      ...options,
      schedule: options.schedule ?? { kind: "constant" },
    };
    const B = opts.batchSize;
    if (!Number.isInteger(B) || B < 1) {
      throw new Error(`batch size must be a positive integer, got ${B}`);
    }
    if (B > data.count) {
      throw new Error(`batch size ${B} exceeds the ${data.count} training images`);
    }
    if (!Number.isInteger(opts.epochs) || opts.epochs < 1) {
      throw new Error(`epochs must be a positive integer`);
    }
    if (data.pixels !== model.inputFloats) {
      throw new Error(
        `data has ${data.pixels} pixels per image, the model expects ${model.inputFloats}`,
      );
    }
    const steps = Math.floor(data.count / B);
    const params = new StepParamsBuffer(ctx, steps, "training steps");
    const perm = uploadUints(ctx, new Uint32Array(data.count), "epoch permutation");
    const lossLog = ctx.device.createBuffer({
      label: "loss log",
      size: Math.max(steps, 1) * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    const x = Tensor.create(ctx, B, model.inputFloats, "batch images");
    const labels = Tensor.create(ctx, 1, B, "batch labels");
    const dlogits = Tensor.create(ctx, B, model.classes, "dlogits");
    const losses = Tensor.create(ctx, 1, B, "per-sample losses");
    // dropout masks: deriveSeed(seed, "dropout") per layer, drawn for each step's global step
    const dropoutSeed = deriveSeed(opts.seed, "dropout");
    const fwd = await model.forward(B, x, { step: params, dropoutSeed });
    const arena = model.arena;
    // elastic distortion: the gather writes a raw batch, the elastic kernel writes x and adds
    // the noise; gatherFor builds the dispatch that adds the noise (per-epoch noise replaces it)
    const raw = opts.elastic ? Tensor.create(ctx, B, model.inputFloats, "raw batch") : x;
    const gatherFor = (noise?: PixelNoise) =>
      opts.elastic
        ? elasticDistort(ctx, {
          x: raw,
          y: x,
          perm,
          params,
          elastic: opts.elastic,
          width: squareWidth(data.pixels),
          noise,
        })
        : gatherBatch(ctx, { data, perm, x, labels, params, noise, augment: opts.augment });
    const xent = { logits: fwd.logits, labels, dz: dlogits, losses, lossLog, params };
    const dispatches = [
      ...(opts.elastic
        ? [await gatherBatch(ctx, { data, perm, x: raw, labels, params, augment: opts.augment })]
        : []),
      await gatherFor(opts.noise),
      ...(opts.loss
        ? [...fwd.dispatches, await robustCrossEntropy(ctx, { ...xent, loss: opts.loss })]
        : await model.forwardWithCrossEntropy(fwd, xent)),
      ...await model.backward(fwd, dlogits),
      await optimizerUpdate(ctx, {
        config: opts.optimizer,
        texels: arena.texels,
        params: arena.values,
        grads: arena.grads,
        state: arena.state,
        paramsOut: arena.valuesNext,
        stateOut: arena.stateNext,
        step: params,
      }),
    ];
    const trainer = new Trainer(
      ctx,
      model,
      data,
      opts,
      evaluator,
      dispatches,
      params,
      perm,
      lossLog,
      gatherFor,
    );
    trainer.#owned.push(x.store, labels.store, dlogits.store, losses.store);
    if (raw !== x) trainer.#owned.push(raw.store);
    return trainer;
  }

  /** Batch tensors created for the step program (freed by destroy). */
  readonly #owned: { destroy(): void }[] = [];

  /**
   * Frees the GPU resources of the step program (not the model's, not the data's, not the
   * evaluator's). Call when training is over and nothing is in flight.
   */
  destroy(): void {
    for (const r of this.#owned) r.destroy();
    this.#owned.length = 0;
    this.#params.destroy();
    this.#perm.destroy();
    this.#lossLog.destroy();
  }

  /** Dispatches per training step (for profiling). */
  get stepDispatches(): readonly Dispatch[] {
    return this.#stepDispatches;
  }

  /** The permutation of epoch `epoch` (0-based). */
  permutation(epoch: number): Uint32Array {
    return new Rng(deriveSeed(this.options.seed, "shuffle", epoch)).permutation(this.data.count);
  }

  /** With per-epoch noise: points the gather dispatch at the epoch's noise seed. */
  async #epochNoise(epoch: number): Promise<void> {
    const noise = this.options.noise;
    if (!this.options.noisePerEpoch || !noise || noise.sigma === 0) return;
    const seed = epochNoiseSeed(noise.seed, epoch);
    if (seed === this.#gatherSeed) return;
    // the noise is added by the gather, or with elastic distortion by the kernel after it
    const at = this.options.elastic ? 1 : 0;
    this.#stepDispatches[at] = await this.#gatherFor({ sigma: noise.sigma, seed });
    this.#gatherSeed = seed;
  }

  /** Prepares the per-step slots and permutation of an epoch. */
  #beginEpoch(epoch: number): void {
    writeUints(this.ctx, this.#perm, this.permutation(epoch));
    const B = this.options.batchSize;
    const t0 = epoch * this.stepsPerEpoch, total = this.options.epochs * this.stepsPerEpoch;
    const { optimizer, schedule } = this.options;
    this.#params.write(
      0,
      Array.from({ length: this.stepsPerEpoch }, (_, s) => ({
        step: s,
        batchStart: s * B,
        epoch,
        globalStep: t0 + s,
        ...optimizerStepValues(
          optimizer,
          t0 + s + 1,
          scheduledLr(optimizer.lr, schedule, t0 + s + 1, total),
        ),
      })),
    );
  }

  /** Records training steps [from, to) of the current epoch. */
  #recordSteps(enc: GPUCommandEncoder, from: number, to: number): void {
    const arena = this.model.arena;
    const rows = (s: TexelStore) => Math.ceil(s.texels / TEX_WIDTH);
    for (let s = from; s < to; s++) {
      const pass = enc.beginComputePass();
      recordDispatches(pass, this.#stepDispatches, this.#params.offset(s));
      pass.end();
      enc.copyTextureToTexture({ texture: arena.valuesNext.texture }, {
        texture: arena.values.texture,
      }, [TEX_WIDTH, rows(arena.values)]);
      enc.copyTextureToTexture({ texture: arena.stateNext.texture }, {
        texture: arena.state.texture,
      }, [TEX_WIDTH, rows(arena.state)]);
    }
  }

  /** Copies loss-log slots [from, to) for reading; returns the reader. */
  #recordLossRead(enc: GPUCommandEncoder, from: number, to: number): () => Promise<Float32Array> {
    const bytes = (to - from) * 4;
    const staging = this.ctx.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
    });
    enc.copyBufferToBuffer(this.#lossLog, from * 4, staging, 0, bytes);
    return async () => {
      await staging.mapAsync(GPUMapMode.READ);
      const v = new Float32Array(staging.getMappedRange().slice(0));
      staging.unmap();
      staging.destroy();
      return v;
    };
  }

  /** Runs (or resumes) training until the configured number of epochs. */
  async run(hooks: TrainHooks = {}): Promise<TrainResult> {
    const o = this.options, st = this.state, B = o.batchSize, S = this.stepsPerEpoch;
    const device = this.ctx.device;
    const evalSteps = new Set<number>();
    if (this.#evaluator && o.evalPointsPerEpoch > 0) {
      for (let j = 1; j <= o.evalPointsPerEpoch; j++) {
        evalSteps.add(Math.max(1, Math.round((j * S) / o.evalPointsPerEpoch)));
      }
    }
    const totalImages = o.epochs * S * B;
    let interrupted = false;
    let lastLoss: number | null = st.lossCurve.at(-1)?.loss ?? null;
    let lastError: number | null = st.testCurve.at(-1)?.error ?? null;
    let lastMetrics: { imagesSeen: number; metrics: ClassMetrics } | null = null;
    const progress = () =>
      hooks.onProgress?.({
        epoch: st.epoch,
        stepInEpoch: st.stepInEpoch,
        stepsPerEpoch: S,
        imagesSeen: (st.epoch * S + st.stepInEpoch) * B,
        totalImages,
        lastLoss,
        lastError,
      });

    type Pending = {
      upTo: number;
      epoch: number;
      losses: (() => Promise<Float32Array>) | null;
      from: number;
      evalRead: (() => Promise<number[][]>) | null;
    };
    const pending: Pending[] = [];
    // settle the oldest submission: check its losses for divergence, record the curves
    const settle = async (p: Pending) => {
      if (p.losses) {
        const v = await p.losses();
        const limit = divergenceLimit(this.model.classes);
        for (let i = 0; i < v.length; i++) {
          if (!Number.isFinite(v[i]) || v[i] > limit) {
            const step = p.epoch * S + p.from + i + 1;
            const what = Number.isFinite(v[i])
              ? `exploded to ${v[i].toExponential(2)}`
              : `became ${v[i]}`;
            throw new DivergenceError(
              `training diverged: the loss ${what} at step ${step} (epoch ${p.epoch + 1}, batch ` +
                `${p.from + i + 1}); try a smaller learning rate (now ${o.optimizer.lr})`,
              step,
            );
          }
        }
        const mean = v.reduce((a, b) => a + b, 0) / v.length;
        lastLoss = mean;
        st.lossCurve.push({
          epoch: p.epoch,
          step: p.epoch * S + p.upTo,
          imagesSeen: (p.epoch * S + p.upTo) * B,
          loss: mean,
        });
      }
      if (p.evalRead) {
        const m = metricsFromConfusion(await p.evalRead());
        lastError = m.error;
        const point = {
          epoch: p.epoch,
          epochs: p.epoch + p.upTo / S,
          imagesSeen: (p.epoch * S + p.upTo) * B,
          error: m.error,
        };
        st.testCurve.push(point);
        lastMetrics = { imagesSeen: point.imagesSeen, metrics: m };
        hooks.onEval?.(point);
      }
      this.ctx.check();
    };

    const t0 = performance.now();
    let evalMs = 0;
    try {
      while (st.epoch < o.epochs && !interrupted) {
        await this.#epochNoise(st.epoch);
        this.#beginEpoch(st.epoch);
        while (st.stepInEpoch < S) {
          if (hooks.shouldStop?.()) {
            interrupted = true;
            break;
          }
          const from = st.stepInEpoch;
          // stop at the next loss-log boundary, evaluation point or submit size
          let to = Math.min(S, from + o.stepsPerSubmit);
          const nextLog = (Math.floor(from / o.lossEvery) + 1) * o.lossEvery;
          if (nextLog < to) to = nextLog;
          for (const e of evalSteps) if (e > from && e < to) to = e;
          const enc = device.createCommandEncoder();
          this.#recordSteps(enc, from, to);
          const logStart = Math.floor((to - 1) / o.lossEvery) * o.lossEvery;
          const logEnd = to === S ? S : to;
          const logBoundary = to % o.lossEvery === 0 || to === S;
          const losses = logBoundary
            ? this.#recordLossRead(enc, Math.max(logStart, 0), logEnd)
            : null;
          let evalRead: (() => Promise<number[][]>) | null = null;
          device.queue.submit([enc.finish()]);
          if (evalSteps.has(to) && this.#evaluator) {
            // time evaluation separately: wait for training work, then for the evaluation
            await device.queue.onSubmittedWorkDone();
            const e0 = performance.now();
            const evalEnc = device.createCommandEncoder();
            evalRead = this.#evaluator.record(evalEnc);
            device.queue.submit([evalEnc.finish()]);
            await device.queue.onSubmittedWorkDone();
            evalMs += performance.now() - e0;
          }
          st.stepInEpoch = to;
          st.globalStep = st.epoch * S + to;
          pending.push({ upTo: to, epoch: st.epoch, losses, from: logStart, evalRead });
          // keep at most two submissions in flight so the GPU never waits for the host
          while (pending.length > 2) await settle(pending.shift()!);
          progress();
        }
        if (interrupted) break;
        while (pending.length) await settle(pending.shift()!);
        st.epoch++;
        st.stepInEpoch = 0;
        progress();
        await hooks.onEpochEnd?.(this.#snapshotState(t0, evalMs));
      }
      while (pending.length) await settle(pending.shift()!);
    } finally {
      // let anything still queued finish before the caller reads or destroys resources
      await device.queue.onSubmittedWorkDone();
    }
    const elapsed = (performance.now() - t0) / 1000;
    this.state = {
      ...st,
      trainSeconds: this.#baseTrain + elapsed - evalMs / 1000,
      evalSeconds: this.#baseEval + evalMs / 1000,
    };
    this.#baseTrain = this.state.trainSeconds;
    this.#baseEval = this.state.evalSeconds;
    let final: ClassMetrics | undefined;
    if (!interrupted && this.#evaluator) {
      // the last evaluation point is the end of training; otherwise evaluate now
      const last = lastMetrics as { imagesSeen: number; metrics: ClassMetrics } | null; // set in settle()
      final = last?.imagesSeen === totalImages ? last.metrics : await this.#evaluator.run();
    }
    return { state: this.state, final, interrupted };
  }

  #baseTrain = 0;
  #baseEval = 0;

  /** A copy of the state with times as of now (for epoch-end hooks). */
  #snapshotState(t0: number, evalMs: number): TrainState {
    const elapsed = (performance.now() - t0) / 1000;
    return {
      ...this.state,
      lossCurve: [...this.state.lossCurve],
      testCurve: [...this.state.testCurve],
      trainSeconds: this.#baseTrain + elapsed - evalMs / 1000,
      evalSeconds: this.#baseEval + evalMs / 1000,
    };
  }

  /** Restores a state saved by a checkpoint (the arena must be restored separately). */
  restore(state: TrainState, pendingLosses: readonly number[] = []): void {
    if (state.stepInEpoch < 0 || state.stepInEpoch > this.stepsPerEpoch) {
      throw new CheckpointError(
        `checkpoint is at step ${state.stepInEpoch} of an epoch, but this data gives ` +
          `${this.stepsPerEpoch} steps per epoch; resume with the data and batch size it was trained with`,
      );
    }
    if (state.epoch < 0 || state.epoch > this.options.epochs) {
      throw new CheckpointError(
        `checkpoint is at epoch ${state.epoch}, outside this run's ${this.options.epochs} epoch(s)`,
      );
    }
    this.state = { ...state, lossCurve: [...state.lossCurve], testCurve: [...state.testCurve] };
    this.#baseTrain = state.trainSeconds;
    this.#baseEval = state.evalSeconds;
    // the losses of the unfinished window go back into their loss-log slots
    const start = this.#windowStart(state.stepInEpoch);
    if (pendingLosses.length !== state.stepInEpoch - start) {
      throw new CheckpointError(
        `checkpoint has ${pendingLosses.length} pending losses, expected ${
          state.stepInEpoch - start
        }`,
      );
    }
    if (pendingLosses.length > 0) {
      this.ctx.device.queue.writeBuffer(this.#lossLog, start * 4, Float32Array.from(pendingLosses));
    }
  }

  /** First step of the loss window that contains `step` (its slot range is [start, step)). */
  #windowStart(step: number): number {
    return Math.floor(step / this.options.lossEvery) * this.options.lossEvery;
  }

  /**
   * Per-step losses of the unfinished loss window at the current position (what a mid-epoch
   * checkpoint must keep to resume with identical curves).
   */
  async pendingLosses(): Promise<number[]> {
    const start = this.#windowStart(this.state.stepInEpoch), end = this.state.stepInEpoch;
    if (end === start || end === this.stepsPerEpoch) return [];
    const enc = this.ctx.device.createCommandEncoder();
    const read = this.#recordLossRead(enc, start, end);
    this.ctx.device.queue.submit([enc.finish()]);
    return Array.from(await read());
  }
}
