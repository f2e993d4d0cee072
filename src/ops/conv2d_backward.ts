/**
 * The convolution's backward kernels (`shaders/conv2d.wgsl`): the input gradient, the weight and
 * bias gradients as partial sums over image chunks, both of one layer in one dispatch, and the
 * fixed-order reduction of several layers' partial sums in one dispatch.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, makeDispatch } from "../gpu/program.ts";
import { pad4, type Tensor } from "../gpu/tensor.ts";
import { expectShape } from "./common.ts";
import {
  ceil,
  type Conv2dShape,
  type Conv2dTile,
  convConstants,
  convGeometry,
  convShader,
  defaultConvTile,
  validateConvShape,
} from "./conv2d.ts";

/** Invocations per workgroup of conv2d.wgsl (its WG). */
const CONV_WORKGROUP = 16;

/** Layers one reduction dispatch takes (conv2d.wgsl's R0..R3 constants). */
const REDUCE_SLOTS = 4;

/** Arguments of the input gradient (see {@link conv2dBackwardInput}). */
export interface ConvInputGradArgs {
  /** The block's geometry. */
  shape: Conv2dShape;
  /** Gradient of the block output (B, outCols). */
  grad: Tensor;
  /** Weights (weightRows, CO). */
  w: Tensor;
  /** The code map (pool) or the output Y (ReLU without pool). */
  aux?: Tensor;
  /** The input X: dX is multiplied by (X > 0), the producer's ReLU. */
  maskFrom?: Tensor;
  /** Input gradient (B, inCols). */
  dx: Tensor;
  /** Register block (default: {@link defaultConvTile}). */
  tile?: Conv2dTile;
}

/** Arguments of the weight gradient (see {@link conv2dBackwardWeight}). */
export interface ConvWeightGradArgs {
  /** The block's geometry. */
  shape: Conv2dShape;
  /** Gradient of the block output (B, outCols). */
  grad: Tensor;
  /** The block input X (B, inCols). */
  x: Tensor;
  /** The code map (pool) or the output Y (ReLU without pool). */
  aux?: Tensor;
  /** Weight gradient (weightRows, CO). */
  dw: Tensor;
  /** Bias gradient (1, CO). */
  db: Tensor;
  /** Image chunks summed separately (1: dW and db directly). */
  chunks: number;
  /** Partial sums, at least `chunks` rows of {@link partialCols} floats (when chunks > 1). */
  partial?: Tensor;
  /** Register block (default: {@link defaultConvTile}). */
  tile?: Conv2dTile;
}

/** The input gradient's checks and kernel constants, bindings and invocations. */
function inputGradCall(op: string, a: ConvInputGradArgs) {
  const s = a.shape;
  validateConvShape(op, s);
  if (s.inStored % 4 !== 0) {
    throw new Error(`${op}: the input gradient needs channels stored in groups of 4`);
  }
  const g = convGeometry(s);
  const t = a.tile ?? defaultConvTile("backwardInput", s);
  expectShape(op, "gradient", a.grad, s.batch, g.outCols);
  expectShape(op, "weight", a.w, g.weightRows, s.outChannels);
  expectShape(op, "dX", a.dx, s.batch, g.inCols);
  if ((s.pool || s.relu) && !a.aux) {
    throw new Error(`${op}: needs the code map (pool) or output (ReLU)`);
  }
  if (a.aux) expectShape(op, "aux", a.aux, s.batch, g.outCols);
  if (a.maskFrom) expectShape(op, "mask", a.maskFrom, s.batch, g.inCols);
  return {
    constants: { IYB: t.yb, IXB: t.xb, ICG: t.cg, MASK_INPUT: !!a.maskFrom },
    reads: { grad: a.grad, w: a.w, aux: a.aux, mask: a.maskFrom },
    writes: { dx: a.dx },
    lanes: s.batch * ceil(s.height, t.yb) * ceil(s.width, t.xb) * ceil(s.inStored / 4, t.cg),
  };
}

/**
 * dX from the gradient of the block output. `aux` is the code map (pool) or the output Y (ReLU
 * without pool); `maskFrom` (the input X) multiplies dX by (X > 0) for a producer's ReLU.
 */
export async function conv2dBackwardInput(
  ctx: GpuContext,
  a: ConvInputGradArgs,
): Promise<Dispatch> {
  const c = inputGradCall("conv2dBackwardInput", a);
  return await makeDispatch(ctx, {
    shader: convShader("conv2d_backward_input"),
    entryPoint: "conv2d_backward_input",
    constants: { ...convConstants(a.shape), ...c.constants },
    reads: c.reads,
    writes: c.writes,
    size: { lanes: c.lanes },
  });
}

/** Number of image chunks the weight gradient is split into (partial sums, fixed order). */
export function weightGradChunks(s: Conv2dShape, lanesWanted = 1024): number {
  const perChunk = s.kernel * Math.max(1, s.inStored / 4) * (pad4(s.outChannels) / 4);
  return Math.max(1, Math.min(s.batch, Math.ceil(lanesWanted / perChunk)));
}

/** Floats in one partial-sum row of the weight gradient. */
export function partialCols(s: Conv2dShape): number {
  const g = convGeometry(s);
  return (g.weightRows + 1) * g.cop;
}

/** Partial-sum rows in use for `chunks` chunks (the last chunk may take the rest of the batch). */
function usedChunks(s: Conv2dShape, chunks: number): number {
  return Math.ceil(s.batch / Math.ceil(s.batch / chunks));
}

/** The weight gradient's checks and kernel constants, bindings and invocations. */
function weightGradCall(op: string, a: ConvWeightGradArgs) {
  const s = a.shape;
  validateConvShape(op, s);
  const g = convGeometry(s);
  const t = a.tile ?? defaultConvTile("backwardWeight", s);
  const chunks = a.chunks;
  if (!Number.isInteger(t.yb) || t.yb < 1 || s.kernel % t.yb !== 0) {
    throw new Error(`${op}: tile rows ${t.yb} must divide the kernel ${s.kernel}`);
  }
  if (!Number.isInteger(chunks) || chunks < 1 || chunks > s.batch) {
    throw new Error(`${op}: chunks must be in 1..${s.batch}`);
  }
  expectShape(op, "gradient", a.grad, s.batch, g.outCols);
  expectShape(op, "input", a.x, s.batch, g.inCols);
  expectShape(op, "dW", a.dw, g.weightRows, s.outChannels);
  expectShape(op, "db", a.db, 1, s.outChannels);
  if ((s.pool || s.relu) && !a.aux) throw new Error(`${op}: needs the code map or output`);
  const chunk = Math.ceil(s.batch / chunks);
  const nchunk = usedChunks(s, chunks);
  const p = a.partial;
  if (nchunk > 1) {
    if (!p) throw new Error(`${op}: chunks > 1 needs a partial-sum tensor`);
    if (p.rows < nchunk || p.pitch !== partialCols(s)) {
      throw new Error(`${op}: partial tensor must be ${nchunk} x ${partialCols(s)}`);
    }
  }
  return {
    nchunk,
    constants: { YB: t.yb, XB: t.xb, CG: t.cg, CHUNK: chunk, NCHUNK: nchunk },
    reads: { grad: a.grad, x: a.x, aux: a.aux },
    // the partial sums, or dW and db directly
    writes: nchunk > 1 ? { dw: p, db: undefined } : { dw: a.dw, db: a.db },
    lanes: nchunk * (s.kernel / t.yb) * Math.max(1, s.inStored / 4) * ceil(g.cop / 4, t.cg),
  };
}

/**
 * dW and db summed over the batch in a fixed order: partial sums over image chunks, then a
 * reduction (one dispatch when `chunks` is 1). `partial` must have `chunks` rows of
 * {@link partialCols} floats.
 */
export async function conv2dBackwardWeight(
  ctx: GpuContext,
  a: ConvWeightGradArgs,
): Promise<Dispatch[]> {
  const partials = await conv2dBackwardWeightPartials(ctx, a);
  if (usedChunks(a.shape, a.chunks) === 1) return [partials];
  return [partials, ...await conv2dWeightReduce(ctx, [a])];
}

/**
 * The first dispatch of {@link conv2dBackwardWeight}: the partial sums (dW and db when `chunks`
 * is 1), to reduce with {@link conv2dWeightReduce}, e.g. together with other layers'.
 */
export async function conv2dBackwardWeightPartials(
  ctx: GpuContext,
  a: ConvWeightGradArgs,
): Promise<Dispatch> {
  const c = weightGradCall("conv2dBackwardWeight", a);
  return await makeDispatch(ctx, {
    shader: convShader("conv2d_backward_weight"),
    entryPoint: "conv2d_backward_weight",
    constants: { ...convConstants(a.shape), ...c.constants },
    reads: c.reads,
    writes: c.writes,
    sharedWrites: true, // dW and db usually share the gradient arena
    size: { lanes: c.lanes },
  });
}

/**
 * Whether a block's weight and input gradient run as one dispatch by default (see
 * {@link conv2dBackwardFused}; the same bits either way): not on a CPU adapter, where it measured
 * slower than the two dispatches it replaces (lavapipe, 2 threads: LeNet-5's conv2 1.47 vs 1.33 ms
 * inside a training step, 0.95x the training throughput; the cnn model's conv2 1.05x the
 * kernels' time): its threads run both bodies' straight-line code in every workgroup, masked,
 * and the two bodies' workgroups share each thread's caches. Elsewhere while both gradients are
 * small (a launch and an underfilled device per dispatch weigh most there; not measured).
 */
export function fuseConvBackward(s: Conv2dShape, cpuAdapter: boolean): boolean {
  if (cpuAdapter) return false;
  const g = convGeometry(s);
  const flops = 4 * s.batch * g.ho * g.wo * s.outChannels * s.kernel * s.kernel * s.inChannels;
  return flops <= FUSE_MAX_FLOPS;
}

/**
 * Largest dW + dX work (FLOPs) that {@link fuseConvBackward} fuses: LeNet-5's conv2 at batch 64
 * is 61 M, the cnn model's 925 M.
 */
const FUSE_MAX_FLOPS = 2e8;

/**
 * The weight gradient (as {@link conv2dBackwardWeight} without its reduction: the partial sums,
 * or dW and db when `chunks` is 1) and the input gradient of one block in ONE dispatch, each with
 * its own tile; the results have the bits of the separate kernels. With chunks > 1, reduce the
 * partial sums with {@link conv2dWeightReduce} afterwards.
 */
export async function conv2dBackwardFused(
  ctx: GpuContext,
  a: {
    weight: Omit<ConvWeightGradArgs, "shape">;
    input: Omit<ConvInputGradArgs, "shape">;
    shape: Conv2dShape;
  },
): Promise<Dispatch> {
  const op = "conv2dBackwardFused";
  const wc = weightGradCall(op, { ...a.weight, shape: a.shape });
  const ic = inputGradCall(op, { ...a.input, shape: a.shape });
  if (a.weight.grad !== a.input.grad || a.weight.aux !== a.input.aux) {
    throw new Error(`${op}: both gradients must read the same gradient and aux tensors`);
  }
  const weightGroups = ceil(wc.lanes, CONV_WORKGROUP);
  const allGroups = weightGroups + ceil(ic.lanes, CONV_WORKGROUP);
  const d = await makeDispatch(ctx, {
    shader: convShader("conv2d_backward_fused"),
    entryPoint: "conv2d_backward_fused",
    constants: {
      ...convConstants(a.shape),
      ...wc.constants,
      ...ic.constants,
      WEIGHT_GROUPS: weightGroups,
      ALL_GROUPS: allGroups,
    },
    reads: { ...wc.reads, ...ic.reads },
    writes: { ...wc.writes, ...ic.writes },
    sharedWrites: true, // dW and db usually share the gradient arena
    size: { workgroups: [allGroups] },
  });
  if (d.kernel.workgroupSize !== CONV_WORKGROUP) {
    throw new Error(`${op}: conv2d.wgsl's workgroups must hold ${CONV_WORKGROUP} invocations`);
  }
  return d;
}

/** One layer's weight-gradient partial sums and where they are reduced to. */
export interface ConvReduceLayer {
  /** The block's geometry. */
  shape: Conv2dShape;
  /** Partial sums as the weight gradient wrote them. */
  partial?: Tensor;
  /** Chunks the weight gradient was split into. */
  chunks: number;
  /** Weight gradient (weightRows, CO). */
  dw: Tensor;
  /** Bias gradient (1, CO). */
  db: Tensor;
}

/**
 * Sums the weight-gradient partials of several layers, each layer's rows in their fixed order,
 * into their dW and db: one dispatch per 4 layers. Every dW must lie in one texture, and every db
 * (the gradient arena). Layers with one chunk (no partial sums) are skipped.
 */
export async function conv2dWeightReduce(
  ctx: GpuContext,
  layers: readonly ConvReduceLayer[],
): Promise<Dispatch[]> {
  const op = "conv2dWeightReduce";
  const todo = layers.filter((l) => usedChunks(l.shape, l.chunks) > 1);
  if (todo.length === 0) return [];
  const dwStore = todo[0].dw.store, dbStore = todo[0].db.store;
  const out: Dispatch[] = [];
  for (let first = 0; first < todo.length; first += REDUCE_SLOTS) {
    const group = todo.slice(first, first + REDUCE_SLOTS);
    const constants: Record<string, number> = {};
    // the slots left empty read nothing (no binding)
    const reads: Record<string, Tensor | undefined> = {
      partial: undefined,
      partial1: undefined,
      partial2: undefined,
      partial3: undefined,
    };
    let lanes = 0;
    for (const [k, l] of group.entries()) {
      const s = l.shape, g = convGeometry(s), nchunk = usedChunks(s, l.chunks);
      expectShape(op, "dW", l.dw, g.weightRows, s.outChannels);
      expectShape(op, "db", l.db, 1, s.outChannels);
      if (l.dw.store !== dwStore || l.db.store !== dbStore) {
        throw new Error(`${op}: every layer's dW (and every db) must lie in one texture`);
      }
      if (!l.partial || l.partial.rows < nchunk || l.partial.pitch !== partialCols(s)) {
        throw new Error(`${op}: partial tensor must be ${nchunk} x ${partialCols(s)}`);
      }
      const row = partialCols(s) / 4;
      constants[`R${k}_ROW`] = row;
      constants[`R${k}_CHUNKS`] = nchunk;
      constants[`R${k}_DWT`] = (g.weightRows * g.cop) / 4;
      constants[`R${k}_DW`] = l.dw.base;
      constants[`R${k}_DB`] = l.db.base;
      reads[k === 0 ? "partial" : `partial${k}`] = l.partial;
      lanes += row;
    }
    out.push(
      await makeDispatch(ctx, {
        shader: convShader("conv2d_weight_reduce"),
        entryPoint: "conv2d_weight_reduce",
        constants,
        reads,
        // whole textures: the layers' first texels are constants
        writes: { dw: dwStore, db: dbStore },
        sharedWrites: true,
        size: { lanes },
      }),
    );
  }
  return out;
}
