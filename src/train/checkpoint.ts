/**
 * Checkpoints in the safetensors format, readable by PyTorch: parameters under the names and
 * layouts of the equivalent `nn.Module` (`conv1.weight` as (out, in, kh, kw), `fc1.weight` as
 * (out, in), biases separate), the optimizer state under `optimizer.<param>.<state>` in the same
 * layouts, and metadata (architecture, recipe, seed, position in training, curves) as JSON
 * strings. Everything needed to resume with bit-identical results is in the file.
 *
 * Browser-safe: works on bytes; writing files is the caller's business.
 *
 * @module
 */
import {
  decodeSafetensors,
  encodeSafetensors,
  type NamedTensor,
  SafetensorsError,
} from "../io/safetensors.ts";
import { EngineError } from "../util/errors.ts";
import { pad4 } from "../gpu/tensor.ts";
import type { LrSchedule, OptimizerConfig } from "../ops/optimizer.ts";
import type { Model } from "../nn/model.ts";
import { toInternal, toTorch } from "../nn/params.ts";
import { planModel } from "../nn/plan.ts";
import { type ModelSpec, torchModuleSource } from "../nn/spec.ts";
import type { TrainState } from "./trainer.ts";
import type { AffineAugment } from "../ops/augment.ts";
import type { ElasticAugment } from "../ops/elastic.ts";

/** Identifies the file format in the metadata. */
export const CHECKPOINT_FORMAT = "webgpu-mnist-checkpoint/1";

/** The recipe a checkpoint was trained with. */
export interface CheckpointRecipe {
  /** The model's name (e.g. "lenet5", "cnn"), when the trainer recorded it. */
  model?: string;
  /** The random affine augmentation the images were trained with, if any. */
  augment?: AffineAugment;
  /** The elastic distortion the images were trained with, if any. */
  elastic?: ElasticAugment;
  /** Optimizer and its hyperparameters (Adam or SGD). */
  optimizer: OptimizerConfig;
  /** Learning-rate schedule over the planned steps (constant or cosine with warm-up). */
  schedule: LrSchedule;
  /** Images per optimizer step. */
  batchSize: number;
  /** Epochs planned for the whole run. */
  epochs: number;
  /** Master seed (initialization, batch order). */
  seed: number;
}

/** Everything in a checkpoint besides the tensors. */
export interface CheckpointInfo {
  /** Always {@link CHECKPOINT_FORMAT}; anything else is rejected on decode. */
  format: string;
  /** The model architecture the tensors belong to. */
  model: ModelSpec;
  /** The recipe the model was trained with (needed to resume). */
  recipe: CheckpointRecipe;
  /** Where training stopped (epoch, step, global step) and its curves and timings so far. */
  state: TrainState;
  /** Losses of the unfinished loss-log window (mid-epoch checkpoints). */
  pendingLosses: number[];
  /** Last measured test (or validation) error, if any. */
  testError: number | null;
  /** Free-form facts the caller wants kept (data set, noise, label corruption, ...). */
  extra: Record<string, unknown>;
}

/** A checkpoint that cannot be used; the message says why. */
export class CheckpointError extends EngineError {
  /** Error name shown before the message. */
  override name = "CheckpointError";
}

function stateNames(cfg: OptimizerConfig): string[] {
  return cfg.kind === "adam" ? ["exp_avg", "exp_avg_sq"] : ["momentum_buffer"];
}

/** Serializes the model, its optimizer state and the training position. */
export async function encodeCheckpoint(
  model: Model,
  info: Omit<CheckpointInfo, "format">,
): Promise<Uint8Array> {
  const plan = model.plan, arena = model.arena;
  const raw = await arena.getRaw();
  const tensors: [string, NamedTensor][] = [];
  const blockOf = (name: string) => plan.blocks.find((b) => b.name === name)!;
  for (const p of arena.params) {
    const slice = raw.values.subarray(p.base * 4, p.base * 4 + p.rows * pad4(p.cols));
    tensors.push([p.name, {
      dtype: "F32",
      shape: p.torchShape,
      data: toTorch(p, blockOf(p.block), slice),
    }]);
  }
  stateNames(info.recipe.optimizer).forEach((state, k) => {
    for (const p of arena.params) {
      const at = k * arena.texels * 4 + p.base * 4;
      const slice = raw.state.subarray(at, at + p.rows * pad4(p.cols));
      tensors.push([`optimizer.${p.name}.${state}`, {
        dtype: "F32",
        shape: p.torchShape,
        data: toTorch(p, blockOf(p.block), slice),
      }]);
    }
  });
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    model: JSON.stringify(info.model),
    torch_module: torchModuleSource(info.model),
    recipe: JSON.stringify(info.recipe),
    seed: String(info.recipe.seed),
    epoch: String(info.state.epoch),
    step_in_epoch: String(info.state.stepInEpoch),
    global_step: String(info.state.globalStep),
    test_error: info.testError === null ? "" : String(info.testError),
    // the times live in their own keys, so everything else is identical between identical runs
    state: JSON.stringify({ ...info.state, trainSeconds: 0, evalSeconds: 0 }),
    train_seconds: String(info.state.trainSeconds),
    eval_seconds: String(info.state.evalSeconds),
    pending_losses: JSON.stringify(info.pendingLosses),
    extra: JSON.stringify(info.extra),
  };
  return encodeSafetensors(tensors, metadata);
}

/** Reads a checkpoint's metadata and tensors (PyTorch layout). */
export function decodeCheckpoint(
  bytes: Uint8Array,
  name = "checkpoint",
): { info: CheckpointInfo; tensors: Map<string, NamedTensor> } {
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes, name);
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw e;
    throw new CheckpointError(
      `${name}: not a safetensors checkpoint (${e.message.replace(`${name}: `, "")})`,
    );
  }
  const { tensors, metadata } = decoded;
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      `${name}: not a checkpoint of this engine (format '${
        metadata.format ?? "missing"
      }', expected '${CHECKPOINT_FORMAT}')`,
    );
  }
  let info: CheckpointInfo;
  try {
    info = {
      format: metadata.format,
      model: JSON.parse(metadata.model),
      recipe: JSON.parse(metadata.recipe),
      state: JSON.parse(metadata.state),
      pendingLosses: JSON.parse(metadata.pending_losses ?? "[]"),
      testError: metadata.test_error ? Number(metadata.test_error) : null,
      extra: JSON.parse(metadata.extra ?? "{}"),
    };
    planModel(info.model); // the architecture must still be valid
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`${name}: damaged checkpoint metadata (${(e as Error).message})`);
  }
  // Checkpoints written before the times were kept have none: they count from zero.
  info.state.trainSeconds = Number(metadata.train_seconds ?? 0);
  info.state.evalSeconds = Number(metadata.eval_seconds ?? 0);
  checkRanges(info, name);
  for (const [key, tensor] of tensors) checkFinite(key, tensor, name);
  return { info, tensors };
}

/** Largest batch the trainer accepts (the --batch option's limit). */
const MAX_BATCH = 4096;
/** Far above any real run; a bigger number is damage. */
const MAX_COUNT = 1e9;

function isIntegerIn(v: unknown, lo: number, hi: number): boolean {
  return typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;
}

/** Rejects metadata numbers that no run could have written (a damaged or hand-edited file). */
function checkRanges(info: CheckpointInfo, name: string): void {
  const fail = (what: string, value: unknown, range: string): never => {
    throw new CheckpointError(
      `${name}: damaged checkpoint metadata: ${what} is ${JSON.stringify(value)}, expected ` +
        `${range}; use another checkpoint or retrain`,
    );
  };
  const { recipe, state } = info;
  if (typeof recipe !== "object" || recipe === null) fail("the recipe", recipe, "an object");
  if (typeof state !== "object" || state === null) fail("the state", state, "an object");
  if (!isIntegerIn(recipe.batchSize, 1, MAX_BATCH)) {
    fail("the batch size", recipe.batchSize, `an integer 1..${MAX_BATCH}`);
  }
  if (!isIntegerIn(recipe.epochs, 1, MAX_COUNT)) {
    fail("the number of epochs", recipe.epochs, "an integer >= 1");
  }
  if (!isIntegerIn(recipe.seed, 0, 2 ** 32 - 1)) fail("the seed", recipe.seed, "a u32 integer");
  if (!isIntegerIn(state.epoch, 0, recipe.epochs)) {
    fail("the epoch", state.epoch, `an integer 0..${recipe.epochs} (the recipe's epochs)`);
  }
  if (!isIntegerIn(state.stepInEpoch, 0, MAX_COUNT)) {
    fail("the step in the epoch", state.stepInEpoch, "an integer >= 0");
  }
  if (!isIntegerIn(state.globalStep, 0, MAX_COUNT)) {
    fail("the global step", state.globalStep, "an integer >= 0");
  }
  if (!Array.isArray(state.lossCurve) || !Array.isArray(state.testCurve)) {
    fail("a learning curve", null, "a list");
  }
  if (!Array.isArray(info.pendingLosses) || !info.pendingLosses.every(Number.isFinite)) {
    fail("the pending losses", info.pendingLosses, "a list of finite numbers");
  }
  for (
    const [what, v] of [["training time", state.trainSeconds], [
      "evaluation time",
      state.evalSeconds,
    ]] as const
  ) {
    if (!(Number.isFinite(v) && v >= 0)) fail(`the ${what}`, v, "seconds >= 0");
  }
  if (info.testError !== null && !(info.testError >= 0 && info.testError <= 1)) {
    fail("the test error", info.testError, "a fraction 0..1");
  }
}

/** NaN or infinite weights (a diverged run, a damaged file) would classify or train garbage. */
function checkFinite(key: string, tensor: NamedTensor, name: string): void {
  if (!(tensor.data instanceof Float32Array || tensor.data instanceof Float64Array)) return;
  const data = tensor.data;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new CheckpointError(
        `${name}: tensor '${key}' holds ${data[i]} at element ${i}; the checkpoint is damaged ` +
          `or its training diverged: use another checkpoint or retrain`,
      );
    }
  }
}

/** Loads parameters (and optimizer state if `withState`) into a model built from the checkpoint's spec. */
export function restoreCheckpoint(
  model: Model,
  ckpt: { info: CheckpointInfo; tensors: Map<string, NamedTensor> },
  withState: boolean,
  name = "checkpoint",
): void {
  const plan = model.plan, arena = model.arena;
  const get = (key: string, shape: number[]) => {
    const t = ckpt.tensors.get(key);
    if (!t) throw new CheckpointError(`${name}: tensor '${key}' is missing`);
    if (t.dtype !== "F32" || JSON.stringify(t.shape) !== JSON.stringify(shape)) {
      throw new CheckpointError(
        `${name}: tensor '${key}' is ${t.dtype} ${JSON.stringify(t.shape)}, expected F32 ${
          JSON.stringify(shape)
        }`,
      );
    }
    return t.data as Float32Array;
  };
  const values = new Map(arena.params.map((p) => [p.name, get(p.name, p.torchShape)]));
  model.loadTorchState(values);
  if (!withState) return;
  const state = new Float32Array(arena.texels * 8);
  const blockOf = (n: string) => plan.blocks.find((b) => b.name === n)!;
  stateNames(ckpt.info.recipe.optimizer).forEach((s, k) => {
    for (const p of arena.params) {
      state.set(
        toInternal(p, blockOf(p.block), get(`optimizer.${p.name}.${s}`, p.torchShape)),
        k * arena.texels * 4 + p.base * 4,
      );
    }
  });
  arena.setState(state);
}
