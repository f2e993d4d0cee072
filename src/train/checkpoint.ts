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
import { pad4 } from "../gpu/tensor.ts";
import type { LrSchedule, OptimizerConfig } from "../ops/optimizer.ts";
import type { Model } from "../nn/model.ts";
import { toInternal, toTorch } from "../nn/params.ts";
import { planModel } from "../nn/plan.ts";
import { type ModelSpec, torchModuleSource } from "../nn/spec.ts";
import type { TrainState } from "./trainer.ts";

/** Identifies the file format in the metadata. */
export const CHECKPOINT_FORMAT = "webgpu-mnist-checkpoint/1";

/** The recipe a checkpoint was trained with. */
export interface CheckpointRecipe {
  optimizer: OptimizerConfig;
  schedule: LrSchedule;
  batchSize: number;
  epochs: number;
  seed: number;
}

/** Everything in a checkpoint besides the tensors. */
export interface CheckpointInfo {
  format: string;
  model: ModelSpec;
  recipe: CheckpointRecipe;
  state: TrainState;
  /** Losses of the unfinished loss-log window (mid-epoch checkpoints). */
  pendingLosses: number[];
  /** Last measured test (or validation) error, if any. */
  testError: number | null;
  /** Free-form facts the caller wants kept (data set, noise, label corruption, ...). */
  extra: Record<string, unknown>;
}

/** A checkpoint that cannot be used; the message says why. */
export class CheckpointError extends Error {
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
    // wall-clock times would make the bytes differ between identical runs
    state: JSON.stringify({ ...info.state, trainSeconds: 0, evalSeconds: 0 }),
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
  try {
    const info: CheckpointInfo = {
      format: metadata.format,
      model: JSON.parse(metadata.model),
      recipe: JSON.parse(metadata.recipe),
      state: JSON.parse(metadata.state),
      pendingLosses: JSON.parse(metadata.pending_losses ?? "[]"),
      testError: metadata.test_error ? Number(metadata.test_error) : null,
      extra: JSON.parse(metadata.extra ?? "{}"),
    };
    planModel(info.model); // the architecture must still be valid
    return { info, tensors };
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`${name}: damaged checkpoint metadata (${(e as Error).message})`);
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
