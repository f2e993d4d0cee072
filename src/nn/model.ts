/**
 * A model on the GPU: plan, parameter arena, and the forward/backward dispatch programs for a
 * given batch size (activation tensors are allocated once per program and reused every step).
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import type { Dispatch } from "../gpu/program.ts";
import { Tensor } from "../gpu/tensor.ts";
import type { Tuner } from "../gpu/tuner.ts";
import {
  conv2dForward,
  type Conv2dShape,
  type Conv2dTile,
  convGeometry,
  convTileCandidates,
  defaultConvTile,
} from "../ops/conv2d.ts";
import {
  conv2dBackwardFused,
  conv2dBackwardInput,
  conv2dBackwardWeightPartials,
  conv2dWeightReduce,
  type ConvReduceLayer,
  fuseConvBackward,
  partialCols,
  weightGradChunks,
} from "../ops/conv2d_backward.ts";
import {
  DENSE_TILES,
  denseBackward,
  denseBackwardInput,
  denseBackwardWeight,
  denseForward,
  type DenseTile,
  denseTileCandidates,
  type DenseUnpool,
  denseWeightTileCandidates,
} from "../ops/dense.ts";
import { dropoutBackward, dropoutForward, layerDropoutSeed } from "../ops/dropout.ts";
import { maxPoolBackward, maxPoolForward } from "../ops/maxpool.ts";
import type { StepParamsBuffer } from "../gpu/step_params.ts";
import { reluBackward, reluForward } from "../ops/relu.ts";
import {
  type CrossEntropyArgs,
  denseSoftmaxCrossEntropy,
  softmaxCrossEntropy,
} from "../ops/softmax_xent.ts";
import { type Block, type ConvBlock, type Plan, planModel, rowFloats } from "./plan.ts";
import { initTorchValues, ParamArena } from "./params.ts";
import type { ModelSpec } from "./spec.ts";

/** Forward program for one batch size: dispatches and the tensors they write. */
export interface ForwardProgram {
  /** Images per run (rows of every tensor below). */
  batch: number;
  /** Input images (batch, inputFloats), values scaled to [0, 1]; write it before running. */
  input: Tensor;
  /** The forward dispatches in order (run with `runDispatches`, or record in a pass). */
  dispatches: Dispatch[];
  /** Output of each block. */
  outputs: Tensor[];
  /** Pool codes of each block (null where the block does not pool). */
  codes: (Tensor | null)[];
  /** Class logits (batch, classes): the output of the last block. */
  logits: Tensor;
  /** Training with dropout: the step slots and seed its masks are drawn from. */
  dropout?: { step: StepParamsBuffer; seed: number };
}

function convShape(b: ConvBlock, batch: number): Conv2dShape {
  return {
    batch,
    height: b.input.height,
    width: b.input.width,
    inChannels: b.input.channels,
    inStored: b.input.stored,
    outChannels: b.outChannels,
    kernel: b.kernel,
    padding: b.padding,
    relu: b.relu,
    pool: b.pool,
  };
}

/**
 * Largest logits layer (batch x inputs x classes multiply-adds) fused into the loss kernel, whose
 * one workgroup runs on one CPU thread (LeNet-5's: 64 x 84 x 10 = 53,760).
 */
const FUSED_LOGITS_MACS = 1 << 19;

/** A model whose parameters live on one device. */
export class Model {
  /** GPU context that holds the parameters and runs every program of this model. */
  readonly ctx: GpuContext;
  /** The layer description the model was built from. */
  readonly spec: ModelSpec;
  /** The spec fused into GPU blocks, with every activation shape. */
  readonly plan: Plan;
  /** Parameters, gradients and optimizer state on the GPU. */
  readonly arena: ParamArena;
  /** Activation, gradient and scratch tensors of the programs built so far (freed by destroy). */
  readonly #owned: Tensor[] = [];
  /** Measures kernel variants when programs are built (null: each op's default). */
  tuner: Tuner | null = null;
  /**
   * A conv block's weight and input gradient in one dispatch: "auto" as `fuseConvBackward`
   * decides (not on a CPU adapter, where it measured slower), or always / never (the same bits).
   */
  convBackwardFusion: "auto" | "always" | "never" = "auto";

  private constructor(ctx: GpuContext, spec: ModelSpec) {
    this.ctx = ctx;
    this.spec = spec;
    this.plan = planModel(spec);
    this.arena = new ParamArena(ctx, this.plan);
  }

  /**
   * Builds the model and initializes it (Glorot uniform, zero biases) from `seed`.
   *
   * @throws ModelSpecError when the spec cannot be planned
   */
  static create(ctx: GpuContext, spec: ModelSpec, opts: { seed: number }): Model {
    const m = new Model(ctx, spec);
    m.arena.setTorch(m.plan, initTorchValues(m.arena.params, opts.seed));
    return m;
  }

  /** Floats per input image. */
  get inputFloats(): number {
    return rowFloats(this.plan.input);
  }

  /** Number of classes (logits per image). */
  get classes(): number {
    return this.plan.classes;
  }

  /** Parameters in PyTorch layout (state_dict order). */
  torchState(): Promise<Map<string, Float32Array>> {
    return this.arena.getTorch(this.plan);
  }

  /** Loads parameters given in PyTorch layout. */
  loadTorchState(values: Map<string, ArrayLike<number>>): void {
    this.arena.setTorch(this.plan, values);
  }

  /** A tensor that lives as long as the model. */
  #tensor(rows: number, cols: number, label: string): Tensor {
    const t = Tensor.create(this.ctx, rows, cols, label);
    this.#owned.push(t);
    return t;
  }

  /** The tile for an op: measured by the tuner if there is one, else the default. */
  #tile<T>(
    key: string,
    candidates: readonly T[],
    fallback: T,
    build: (t: T) => Promise<Dispatch | Dispatch[]>,
  ): Promise<T> {
    if (!this.tuner) return Promise.resolve(fallback);
    return this.tuner.pick(key, candidates, fallback, async (t) => {
      const d = await build(t);
      return Array.isArray(d) ? d : [d];
    });
  }

  #convTile(
    kind: "forward" | "backwardInput" | "backwardWeight",
    shape: Conv2dShape,
    build: (t: Conv2dTile) => Promise<Dispatch | Dispatch[]>,
  ) {
    return this.#tile(
      // "v2": the 2026-11-30 kernels (choices cached for the earlier ones are measured again)
      `conv2d.v2.${kind}|${JSON.stringify(shape)}`,
      convTileCandidates(kind, shape),
      defaultConvTile(kind, shape),
      build,
    );
  }

  #denseTile(
    kind: "forward" | "backwardInput" | "backwardWeight",
    key: string,
    build: (t: DenseTile) => Promise<Dispatch | Dispatch[]>,
  ) {
    const candidates = kind === "backwardWeight" ? denseWeightTileCandidates : denseTileCandidates;
    return this.#tile(`dense.${kind}|${key}`, candidates, DENSE_TILES[kind], build);
  }

  /**
   * Records the forward pass for `batch` images in `input` (B, inputFloats). `training` keeps
   * what the backward pass needs (the pool codes); inference leaves it out.
   */
  async forward(
    batch: number,
    input?: Tensor,
    opts: { training?: boolean; step?: StepParamsBuffer; dropoutSeed?: number } = {},
  ): Promise<ForwardProgram> {
    const training = opts.training ?? true;
    // dropout masks are drawn per (seed, the slot's global step, element); inference skips them
    const drop = opts.step ? { step: opts.step, seed: opts.dropoutSeed ?? 0 } : undefined;
    if (training && !drop && this.plan.blocks.some((b) => b.kind === "dropout")) {
      throw new Error("forward: training a model with dropout needs the step parameters");
    }
    const ctx = this.ctx;
    const x0 = input ?? this.#tensor(batch, this.inputFloats, "input");
    if (x0.rows !== batch || x0.cols !== this.inputFloats) {
      throw new Error("forward: input tensor has the wrong shape");
    }
    const dispatches: Dispatch[] = [], outputs: Tensor[] = [], codes: (Tensor | null)[] = [];
    let x = x0;
    for (const b of this.plan.blocks) {
      if (b.kind === "dropout" && !training) {
        outputs.push(x);
        codes.push(null);
        continue;
      }
      const y = this.#tensor(batch, rowFloats(b.output), `${b.name} output`);
      let code: Tensor | null = null;
      switch (b.kind) {
        case "conv": {
          if (b.pool && training) {
            code = this.#tensor(batch, rowFloats(b.output), `${b.name} pool codes`);
          }
          const args = {
            shape: convShape(b, batch),
            x,
            w: this.arena.value(`${b.name}.weight`),
            b: this.arena.value(`${b.name}.bias`),
            y,
            code: code ?? undefined,
          };
          const tile = await this.#convTile(
            "forward",
            args.shape,
            (t) => conv2dForward(ctx, { ...args, tile: t }),
          );
          dispatches.push(await conv2dForward(ctx, { ...args, tile }));
          break;
        }
        case "dense": {
          const args = {
            x,
            w: this.arena.value(`${b.name}.weight`),
            b: this.arena.value(`${b.name}.bias`),
            y,
            relu: b.relu,
          };
          const key = `${batch},${x.cols},${b.units},${b.relu}`;
          const tile = await this.#denseTile(
            "forward",
            key,
            (t) => denseForward(ctx, { ...args, tile: t }),
          );
          dispatches.push(await denseForward(ctx, { ...args, tile }));
          break;
        }
        case "pool": {
          code = this.#tensor(batch, rowFloats(b.output), `${b.name} codes`);
          const shape = {
            batch,
            height: b.input.height,
            width: b.input.width,
            stored: b.input.stored,
          };
          dispatches.push(await maxPoolForward(ctx, { shape, x, y, code }));
          break;
        }
        case "relu":
          dispatches.push(await reluForward(ctx, { x, y }));
          break;
        case "dropout": {
          const a = { p: b.p, seed: layerDropoutSeed(drop!.seed, b.name), params: drop!.step };
          dispatches.push(await dropoutForward(ctx, { ...a, x, y }));
          break;
        }
      }
      outputs.push(y);
      codes.push(code);
      x = y;
    }
    return { batch, input: x0, dispatches, outputs, codes, logits: x, dropout: drop };
  }

  /**
   * The forward dispatches of a training program followed by softmax cross-entropy (arguments as
   * {@link softmaxCrossEntropy}, the logits being `fwd.logits`), with the logits layer and the
   * loss in one dispatch where that layer is small enough for the loss kernel's one workgroup;
   * the bits are those of the two dispatches.
   */
  async forwardWithCrossEntropy(
    fwd: ForwardProgram,
    a: Omit<CrossEntropyArgs, "logits">,
  ): Promise<Dispatch[]> {
    const xent = { ...a, logits: fwd.logits };
    const last = this.plan.blocks[this.plan.blocks.length - 1];
    const x = fwd.outputs[this.plan.blocks.length - 2] ?? fwd.input;
    if (last.kind !== "dense" || fwd.batch * x.cols * last.units > FUSED_LOGITS_MACS) {
      return [...fwd.dispatches, await softmaxCrossEntropy(this.ctx, xent)];
    }
    const w = this.arena.value(`${last.name}.weight`), b = this.arena.value(`${last.name}.bias`);
    // the last forward dispatch is the logits layer's
    return [
      ...fwd.dispatches.slice(0, -1),
      await denseSoftmaxCrossEntropy(this.ctx, { ...xent, x, w, b }),
    ];
  }

  /**
   * Records the backward pass: from `dlogits` (gradient of the mean loss w.r.t. the logits)
   * to every parameter gradient in `arena.grads`.
   */
  async backward(fwd: ForwardProgram, dlogits: Tensor): Promise<Dispatch[]> {
    const ctx = this.ctx, blocks = this.plan.blocks, B = fwd.batch;
    const dispatches: Dispatch[] = [];
    // the conv layers' weight-gradient partial sums, reduced in one dispatch after all of them
    const convReductions: ConvReduceLayer[] = [];
    let g = dlogits;
    // g is the gradient before the producer's 2x2 max-pool (a dense input gradient un-pooled it)
    let unpooled = false;
    // no gradient flows below the first block with parameters (e.g. into dropout on the images)
    const first = blocks.findIndex((b) => b.kind === "conv" || b.kind === "dense");
    for (let i = blocks.length - 1; i >= first; i--) {
      const b: Block = blocks[i];
      // g was already masked by the consumer (a ReLU block's output is a ReLU output), and
      // masking by (output > 0) equals masking by (input > 0): g is the input gradient too
      if (b.kind === "relu") continue;
      const x = i === 0 ? fwd.input : fwd.outputs[i - 1];
      const producer = i > 0 ? blocks[i - 1] : null;
      const maskInput = producer?.outputIsRelu ?? false;
      const unpool = b.kind === "dense" ? this.#denseUnpool(i, first, fwd) : undefined;
      const dx = i > first
        ? this.#tensor(B, unpool ? 4 * x.cols : x.cols, `grad of ${producer!.name} output`)
        : null;
      switch (b.kind) {
        case "dense": {
          const w = this.arena.value(`${b.name}.weight`);
          const key = `${B},${x.cols},${b.units}`;
          const wargs = {
            dz: g,
            x,
            dw: this.arena.grad(`${b.name}.weight`),
            db: this.arena.grad(`${b.name}.bias`),
          };
          const wtile = await this.#denseTile(
            "backwardWeight",
            key,
            (t) => denseBackwardWeight(ctx, { ...wargs, tile: t }),
          );
          if (!dx) {
            dispatches.push(await denseBackwardWeight(ctx, { ...wargs, tile: wtile }));
            break;
          }
          const iargs = { dz: g, w, dx, reluMaskFrom: maskInput ? x : undefined, unpool };
          const itile = await this.#denseTile(
            "backwardInput",
            `${key},${unpool ? "unpool" : maskInput}`,
            (t) => denseBackwardInput(ctx, { ...iargs, tile: t }),
          );
          // both products in one dispatch, each with its own tile (the separate kernels' bits)
          dispatches.push(
            await denseBackward(ctx, {
              ...wargs,
              w,
              dx,
              reluMask: maskInput,
              unpool,
              weightTile: wtile,
              inputTile: itile,
            }),
          );
          break;
        }
        case "conv": {
          let shape = convShape(b, B);
          let grad = g, aux: Tensor | undefined;
          if (b.pool && dx && unpooled) {
            // the consumer's input gradient kernel un-pooled g: it is the pre-activation gradient
            grad = g;
            shape = { ...shape, pool: false, relu: false };
          } else if (b.pool && dx) {
            // both backward kernels read the pre-activation gradient many times: gather it once
            // from the pooled gradient and codes (a relu-zeroed window has code 4: no gradient)
            const geo = convGeometry(shape);
            grad = this.#tensor(
              B,
              geo.ho * geo.wo * geo.cop,
              `${b.name} pre-activation grad`,
            );
            const pool = { batch: B, height: geo.ho, width: geo.wo, stored: geo.cop };
            dispatches.push(
              await maxPoolBackward(ctx, { shape: pool, dy: g, code: fwd.codes[i]!, dx: grad }),
            );
            shape = { ...shape, pool: false, relu: false };
          } else {
            // a relu-without-pool block receives the already-masked pre-activation gradient
            shape = { ...shape, relu: b.pool && b.relu };
            aux = fwd.codes[i] ?? undefined;
          }
          const chunks = weightGradChunks(shape);
          const partial = chunks > 1
            ? this.#tensor(chunks, partialCols(shape), `${b.name} partial dW`)
            : undefined;
          const wargs = {
            shape,
            grad,
            x,
            aux,
            dw: this.arena.grad(`${b.name}.weight`),
            db: this.arena.grad(`${b.name}.bias`),
            chunks,
            partial,
          };
          const wtile = await this.#convTile(
            "backwardWeight",
            shape,
            (t) => conv2dBackwardWeightPartials(ctx, { ...wargs, tile: t }),
          );
          convReductions.push(wargs);
          if (!dx) {
            dispatches.push(await conv2dBackwardWeightPartials(ctx, { ...wargs, tile: wtile }));
            break;
          }
          const iargs = {
            shape,
            grad,
            w: this.arena.value(`${b.name}.weight`),
            aux,
            dx,
            maskFrom: maskInput ? x : undefined,
          };
          const itile = await this.#convTile(
            "backwardInput",
            shape,
            (t) => conv2dBackwardInput(ctx, { ...iargs, tile: t }),
          );
          const fuse = this.convBackwardFusion === "auto"
            ? fuseConvBackward(shape, ctx.isCpuAdapter)
            : this.convBackwardFusion === "always";
          if (fuse) {
            // both gradients read only dZ, X and W: one dispatch, each with its own tile
            const weight = { ...wargs, tile: wtile }, input = { ...iargs, tile: itile };
            dispatches.push(await conv2dBackwardFused(ctx, { shape, weight, input }));
          } else {
            dispatches.push(await conv2dBackwardWeightPartials(ctx, { ...wargs, tile: wtile }));
            dispatches.push(await conv2dBackwardInput(ctx, { ...iargs, tile: itile }));
          }
          break;
        }
        case "pool": {
          if (!dx) break;
          const shape = {
            batch: B,
            height: b.input.height,
            width: b.input.width,
            stored: b.input.stored,
          };
          const target = maskInput ? this.#tensor(B, x.cols, `${b.name} unmasked grad`) : dx;
          dispatches.push(
            await maxPoolBackward(ctx, { shape, dy: g, code: fwd.codes[i]!, dx: target }),
          );
          if (maskInput) dispatches.push(await reluBackward(ctx, { dy: target, y: x, dx }));
          break;
        }
        case "dropout": {
          if (!dx) break;
          const d = fwd.dropout!;
          const a = { p: b.p, seed: layerDropoutSeed(d.seed, b.name), params: d.step };
          const reluMaskFrom = maskInput ? x : undefined;
          dispatches.push(await dropoutBackward(ctx, { ...a, dy: g, dx, reluMaskFrom }));
          break;
        }
      }
      if (dx) g = dx;
      unpooled = unpool !== undefined;
    }
    dispatches.push(...await conv2dWeightReduce(ctx, convReductions));
    return dispatches;
  }

  /**
   * How a dense block's input gradient can be un-pooled (see {@link DenseUnpool}), saving the
   * max-pool backward dispatch: where the input is a pooled conv block's output and that block
   * needs the pre-pool gradient (it has an input gradient of its own), for whole 2x2 windows.
   */
  #denseUnpool(i: number, first: number, fwd: ForwardProgram): DenseUnpool | undefined {
    const p = this.plan.blocks[i - 1], code = fwd.codes[i - 1];
    if (p?.kind !== "conv" || !p.pool || i - 1 <= first || !code) return undefined;
    const geo = convGeometry(convShape(p, fwd.batch));
    if (geo.ho % 2 !== 0 || geo.wo % 2 !== 0) return undefined;
    return { code, height: geo.outH, width: geo.outW, stored: geo.cop };
  }

  /** Frees the parameter textures; tensors of programs built earlier are not freed. */
  destroy(): void {
    for (const t of this.#owned) t.store.destroy();
    this.#owned.length = 0;
    this.arena.destroy();
  }
}
