/**
 * Parameter arena: every weight and bias of a model lives in one texture (and its gradient at
 * the same place in a second one), so one optimizer dispatch updates the whole model.
 * Initialization (Glorot uniform, zero biases) is generated in PyTorch's layouts from a seed and
 * converted, so a given seed gives the same model whatever the internal layout.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { downloadPadded, pad4, Tensor, TexelStore, uploadPadded } from "../gpu/tensor.ts";
import { weightFromTorch, weightToTorch } from "../ops/conv2d.ts";
import { Rng } from "../util/rng.ts";
import type { Block, DenseBlock, Plan } from "./plan.ts";

/** One parameter tensor: internal (rows x cols) and PyTorch shape. */
export interface ParamInfo {
  /** PyTorch state_dict name, e.g. `conv1.weight`. */
  name: string;
  /** Name of the plan block it belongs to, e.g. `conv1`. */
  block: string;
  /** Internal rows: kernel * kernel * stored input channels (conv), units (dense), 1 (bias). */
  rows: number;
  /** Internal columns: output channels (conv), stored input features (dense), size (bias). */
  cols: number;
  /** Shape in PyTorch: (CO, CI, KS, KS) conv weight, (out, in) dense weight, (n) bias. */
  torchShape: number[];
  /** First texel in the arena. */
  base: number;
  /** Glorot fan-in + fan-out (weights), 0 for biases. */
  fanSum: number;
}

/** Describes the arena layout of a plan's parameters. */
export function paramLayout(plan: Plan): { params: ParamInfo[]; texels: number } {
  const params: ParamInfo[] = [];
  let texels = 0;
  const add = (p: Omit<ParamInfo, "base">) => {
    params.push({ ...p, base: texels });
    texels += (p.rows * pad4(p.cols)) / 4;
  };
  for (const b of plan.blocks) {
    if (b.kind === "conv") {
      const ci = b.input.channels, co = b.outChannels, k = b.kernel;
      add({
        name: `${b.name}.weight`,
        block: b.name,
        rows: k * k * b.input.stored,
        cols: co,
        torchShape: [co, ci, k, k],
        fanSum: (ci + co) * k * k,
      });
      add({
        name: `${b.name}.bias`,
        block: b.name,
        rows: 1,
        cols: co,
        torchShape: [co],
        fanSum: 0,
      });
    } else if (b.kind === "dense") {
      const inLogical = logicalFeatures(b);
      add({
        name: `${b.name}.weight`,
        block: b.name,
        rows: b.units,
        cols: b.input.features,
        torchShape: [b.units, inLogical],
        fanSum: inLogical + b.units,
      });
      add({
        name: `${b.name}.bias`,
        block: b.name,
        rows: 1,
        cols: b.units,
        torchShape: [b.units],
        fanSum: 0,
      });
    }
  }
  return { params, texels: Math.max(texels, 1) };
}

function logicalFeatures(b: DenseBlock): number {
  const m = b.input.fromMap;
  return m ? m.height * m.width * m.channels : b.input.features;
}

/** PyTorch-layout values -> internal padded rows (rows * pad4(cols)). */
export function toInternal(
  p: ParamInfo,
  block: Block,
  torch: ArrayLike<number>,
): Float32Array<ArrayBuffer> {
  const pitch = pad4(p.cols);
  const out = new Float32Array(p.rows * pitch);
  let rowsMajor: ArrayLike<number> = torch;
  if (p.name.endsWith(".weight") && block.kind === "conv") {
    rowsMajor = weightFromTorch(
      torch,
      block.outChannels,
      block.input.channels,
      block.kernel,
      block.input.stored,
    );
  } else if (p.name.endsWith(".weight") && block.kind === "dense" && block.input.fromMap) {
    rowsMajor = denseFromTorch(torch, block);
  }
  for (let r = 0; r < p.rows; r++) {
    for (let c = 0; c < p.cols; c++) out[r * pitch + c] = rowsMajor[r * p.cols + c];
  }
  return out;
}

/** Internal padded rows -> PyTorch-layout values. */
export function toTorch(p: ParamInfo, block: Block, padded: ArrayLike<number>): Float32Array {
  const pitch = pad4(p.cols);
  const rows = new Float32Array(p.rows * p.cols);
  for (let r = 0; r < p.rows; r++) {
    for (let c = 0; c < p.cols; c++) rows[r * p.cols + c] = padded[r * pitch + c];
  }
  if (p.name.endsWith(".weight") && block.kind === "conv") {
    return weightToTorch(
      rows,
      block.outChannels,
      block.input.channels,
      block.kernel,
      block.input.stored,
    );
  }
  if (p.name.endsWith(".weight") && block.kind === "dense" && block.input.fromMap) {
    return denseToTorch(rows, block);
  }
  return rows;
}

/** Flattened-map features: internal index (y, x, c) with stored channels; PyTorch's (c, y, x). */
function featureMap(block: DenseBlock): Int32Array {
  const m = block.input.fromMap!;
  const map = new Int32Array(m.height * m.width * m.channels); // torch index -> internal index
  for (let c = 0; c < m.channels; c++) {
    for (let y = 0; y < m.height; y++) {
      for (let x = 0; x < m.width; x++) {
        map[(c * m.height + y) * m.width + x] = (y * m.width + x) * m.stored + c;
      }
    }
  }
  return map;
}

function denseFromTorch(torch: ArrayLike<number>, b: DenseBlock): Float32Array {
  const map = featureMap(b), K = b.input.features, L = map.length;
  const out = new Float32Array(b.units * K); // pad features stay 0
  for (let n = 0; n < b.units; n++) {
    for (let j = 0; j < L; j++) out[n * K + map[j]] = torch[n * L + j];
  }
  return out;
}

function denseToTorch(rows: Float32Array, b: DenseBlock): Float32Array {
  const map = featureMap(b), K = b.input.features, L = map.length;
  const out = new Float32Array(b.units * L);
  for (let n = 0; n < b.units; n++) {
    for (let j = 0; j < L; j++) out[n * L + j] = rows[n * K + map[j]];
  }
  return out;
}

/** Glorot-uniform weights and zero biases in PyTorch layout, in parameter order. */
export function initTorchValues(
  params: readonly ParamInfo[],
  seed: number,
): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const out = new Map<string, Float32Array>();
  for (const p of params) {
    const n = p.torchShape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    if (p.fanSum > 0) {
      const limit = Math.sqrt(6 / p.fanSum);
      for (let i = 0; i < n; i++) v[i] = rng.uniform(-limit, limit);
    }
    out.set(p.name, v);
  }
  return out;
}

/** GPU storage of parameters, gradients and optimizer state. */
export class ParamArena {
  /** Every parameter tensor, in PyTorch state_dict order. */
  readonly params: ParamInfo[];
  /** Texels of the parameter store (and of the gradient store); 4 floats each. */
  readonly texels: number;
  /** Current parameters (read by every kernel). */
  readonly values: TexelStore;
  /** Gradients, at the same texels as the parameters. */
  readonly grads: TexelStore;
  /** Optimizer state: 2 * texels (moments). */
  readonly state: TexelStore;
  /** Where the optimizer writes new parameters and state before they are copied back. */
  readonly valuesNext: TexelStore;
  /** Where the optimizer writes the new state (2 * texels) before it is copied back. */
  readonly stateNext: TexelStore;
  readonly #byName = new Map<string, ParamInfo>();
  readonly #ctx: GpuContext;

  /** Allocates zero-filled stores for a plan's parameters (see {@link ParamArena.setTorch}). */
  constructor(ctx: GpuContext, plan: Plan) {
    this.#ctx = ctx;
    const { params, texels } = paramLayout(plan);
    this.params = params;
    this.texels = texels;
    for (const p of params) this.#byName.set(p.name, p);
    this.values = new TexelStore(ctx, texels, "params");
    this.grads = new TexelStore(ctx, texels, "grads");
    this.state = new TexelStore(ctx, 2 * texels, "optimizer state");
    this.valuesNext = new TexelStore(ctx, texels, "params (next)");
    this.stateNext = new TexelStore(ctx, 2 * texels, "optimizer state (next)");
  }

  /**
   * The layout of a parameter by PyTorch name.
   *
   * @throws Error when the model has no parameter `name`
   */
  info(name: string): ParamInfo {
    const p = this.#byName.get(name);
    if (!p) throw new Error(`no parameter '${name}'`);
    return p;
  }

  /** Parameter tensor view. */
  value(name: string): Tensor {
    const p = this.info(name);
    return new Tensor(this.values, p.base, p.rows, p.cols, name);
  }

  /** Gradient tensor view. */
  grad(name: string): Tensor {
    const p = this.info(name);
    return new Tensor(this.grads, p.base, p.rows, p.cols, `grad ${name}`);
  }

  /** Number of learnable values (without padding). */
  get count(): number {
    return this.params.reduce((s, p) => s + p.torchShape.reduce((a, b) => a * b, 1), 0);
  }

  /** Uploads parameter values given in PyTorch layout (every parameter must be present). */
  setTorch(plan: Plan, values: Map<string, ArrayLike<number>>): void {
    for (const p of this.params) {
      const v = values.get(p.name);
      const n = p.torchShape.reduce((a, b) => a * b, 1);
      if (!v) throw new Error(`missing parameter '${p.name}'`);
      if (v.length !== n) {
        throw new Error(
          `parameter '${p.name}' has ${v.length} values, expected ${n} (${p.torchShape.join("x")})`,
        );
      }
      const block = plan.blocks.find((b) => b.name === p.block)!;
      uploadPadded(
        this.#ctx,
        new Tensor(this.values, p.base, p.rows, p.cols, p.name),
        toInternal(p, block, v),
      );
    }
  }

  /** Reads all parameters back in PyTorch layout. */
  getTorch(plan: Plan): Promise<Map<string, Float32Array>> {
    return this.#readTorch(plan, this.values, "params");
  }

  /** Reads all gradients back in PyTorch layout. */
  getGradTorch(plan: Plan): Promise<Map<string, Float32Array>> {
    return this.#readTorch(plan, this.grads, "grads");
  }

  /** Every parameter's slice of `store` (values or gradients), in PyTorch layout. */
  async #readTorch(
    plan: Plan,
    store: TexelStore,
    what: string,
  ): Promise<Map<string, Float32Array>> {
    const all = await downloadPadded(this.#ctx, new Tensor(store, 0, 1, this.texels * 4, what));
    const out = new Map<string, Float32Array>();
    for (const p of this.params) {
      const block = plan.blocks.find((b) => b.name === p.block)!;
      const slice = all.subarray(p.base * 4, p.base * 4 + p.rows * pad4(p.cols));
      out.set(p.name, toTorch(p, block, slice));
    }
    return out;
  }

  /** Raw arena contents (parameters, then state) for checkpoints and resume. */
  async getRaw(): Promise<{ values: Float32Array; state: Float32Array }> {
    const values = await downloadPadded(
      this.#ctx,
      new Tensor(this.values, 0, 1, this.texels * 4, "params"),
    );
    const state = await downloadPadded(
      this.#ctx,
      new Tensor(this.state, 0, 1, this.texels * 8, "state"),
    );
    return { values, state };
  }

  /** Restores the optimizer state (2 * texels * 4 floats, internal layout). */
  setState(state: Float32Array<ArrayBuffer>): void {
    if (state.length !== this.texels * 8) {
      throw new Error("optimizer state size does not match this model");
    }
    uploadPadded(this.#ctx, new Tensor(this.state, 0, 1, this.texels * 8, "state"), state);
  }

  /** Frees the five textures. */
  destroy(): void {
    for (const s of [this.values, this.grads, this.state, this.valuesNext, this.stateNext]) {
      s.destroy();
    }
  }
}
