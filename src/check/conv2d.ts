/**
 * Fused conv2d blocks (bias, ReLU, 2x2 max-pool) against their float64 references: the forward
 * output, its pool codes and zero pad channels; the weight and bias gradients (chunked partial
 * sums and direct, also into a shared arena) and the input gradient with and without the input
 * mask, from the GPU's own pool codes. One case runs a spread of the tuner's tile candidates and
 * requires the same bits as the default tiles.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, runDispatches } from "../gpu/program.ts";
import { download, downloadPadded, pad4, Tensor, upload } from "../gpu/tensor.ts";
import {
  conv2dBackwardRef,
  conv2dForward,
  conv2dRef,
  type Conv2dShape,
  type Conv2dTile,
  convGeometry,
  convTileCandidates,
  convTileName,
  packNHWC,
  padWeightRows,
  unpackNHWC,
  unpadWeightRows,
} from "../ops/conv2d.ts";
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  partialCols,
  weightGradChunks,
} from "../ops/conv2d_backward.ts";
import { checkFusedBackward, checkMultiLayerReduce } from "./conv2d_backward.ts";
import { maxPool2BackwardRef, maxPool2Ref } from "../ops/maxpool.ts";
import { reluRef } from "../ops/relu.ts";
import type { Rng } from "../util/rng.ts";
import { arenaPair, type CaseRun, Checks, defineFamily, randomArray } from "./family.ts";

/** A block: input (B, H, W, CI), CO filters of KS x KS with padding PAD, then ReLU and pool. */
export interface ConvCase {
  /** Batch size. */
  B: number;
  /** Input height, in pixels. */
  H: number;
  /** Input width, in pixels. */
  W: number;
  /** Input channels. */
  CI: number;
  /** Output channels (filters). */
  CO: number;
  /** Kernel side (KS x KS). */
  KS: number;
  /** Zero padding on each side, in pixels. */
  PAD: number;
  /** Fuse a ReLU after the convolution. */
  relu: boolean;
  /** Fuse a 2x2 max pool (stride 2) after the convolution (and ReLU). */
  pool: boolean;
  /** Single-channel raw-image layout (1 stored channel; no input gradient). */
  raw: boolean;
  /** Part of the quick tier (the in-browser self-test); every case runs in the Deno tests. */
  quick?: boolean;
  /** A spread of the tile candidates, each bit-identical to the default tiles. */
  tiles?: boolean;
  /** Random layers whose partial sums are reduced in one dispatch with the case's own. */
  reduce?: number;
}

/**
 * A case from its sizes and flags ("relu pool raw quick tiles reduceN", any subset; reduceN: N
 * more layers in the reduction).
 */
export function convCase(
  [B, H, W, CI, CO, KS, PAD]: [number, number, number, number, number, number, number],
  flags: string,
): ConvCase {
  const on = (f: string) => flags.split(" ").includes(f);
  const c = { B, H, W, CI, CO, KS, PAD, relu: on("relu"), pool: on("pool"), raw: on("raw") };
  const reduce = Number(/\breduce(\d+)\b/.exec(flags)?.[1] ?? 0);
  return { ...c, quick: on("quick"), tiles: on("tiles"), reduce };
}

/** [B, H, W, CI, CO, KS, PAD] and flags. */
export const CONV_CASES: readonly ConvCase[] = [
  // LeNet-5's two blocks at small batches
  convCase([2, 28, 28, 1, 6, 5, 2], "relu pool raw quick"),
  convCase([3, 14, 14, 6, 16, 5, 0], "relu pool quick reduce1"),
  // odd sizes, channel counts that do not fill a texel, no pool, no ReLU
  convCase([3, 9, 7, 3, 5, 3, 1], "relu pool quick"),
  convCase([5, 6, 10, 2, 3, 5, 2], "relu quick"),
  convCase([4, 8, 8, 1, 4, 3, 1], "quick"),
  // raw images whose rows are whole texels (aligned row loads)
  convCase([2, 8, 12, 1, 5, 3, 1], "relu raw quick"),
  // LeNet-5's blocks at batch 8, odd pooled maps, 1x1 and 2x2 kernels, other paddings
  convCase([8, 28, 28, 1, 6, 5, 2], "relu pool raw"),
  convCase([8, 14, 14, 6, 16, 5, 0], "relu pool"),
  convCase([2, 11, 6, 5, 9, 3, 0], "pool reduce4"),
  convCase([1, 5, 5, 1, 1, 1, 0], "raw"),
  convCase([3, 13, 9, 8, 7, 2, 1], "relu pool"),
  convCase([3, 6, 8, 1, 4, 3, 0], "relu pool raw"),
  convCase([2, 9, 16, 1, 9, 7, 6], "pool raw"),
  // more than 2 input texels (the forward loops over them): whole texels (cnn's 32 -> 64), and
  // a partly padded last texel
  convCase([2, 6, 5, 16, 8, 3, 1], "relu"),
  convCase([2, 7, 6, 10, 9, 3, 1], "relu pool"),
  // the tuner's candidates at LeNet-5's blocks (the first: weight gradient by 1 or all kernel rows)
  convCase([6, 14, 14, 6, 16, 5, 0], "relu pool tiles"),
  convCase([3, 28, 28, 1, 6, 5, 2], "relu pool raw tiles"),
];

/** The op's shape of a case. */
export function convShape(c: ConvCase): Conv2dShape {
  return {
    batch: c.B,
    height: c.H,
    width: c.W,
    inChannels: c.CI,
    inStored: c.raw ? 1 : pad4(c.CI),
    outChannels: c.CO,
    kernel: c.KS,
    padding: c.PAD,
    relu: c.relu,
    pool: c.pool,
  };
}

/** Forward reference of a block: pool(relu(conv)) with the pool codes (null without pool). */
export function convBlockRef(c: ConvCase, x: Float64Array, w: Float64Array, b: Float64Array) {
  const z = conv2dRef(x, w, b, c.B, c.H, c.W, c.CI, c.CO, c.KS, c.PAD);
  const { ho, wo } = convGeometry(convShape(c));
  const a = c.relu ? reluRef(z) : z;
  if (!c.pool) return { out: a, code: null, ho, wo };
  const p = maxPool2Ref(a, c.B, ho, wo, c.CO, c.relu);
  return { out: p.y, code: p.code, ho, wo };
}

/** The default-tile dispatches a conv case validated (no input gradient for raw images). */
export interface ConvKernels {
  /** Forward pass: convolution, then ReLU and pool when the case has them. */
  forward: Dispatch;
  /** dW and db: partial sums over image chunks, then their reduction (1 dispatch if 1 chunk). */
  backwardWeight: Dispatch[];
  /** Input gradient (absent for raw images, which need none). */
  backwardInput?: Dispatch;
}

/** A spread of at most four candidates (each one compiles a pipeline). */
function spread<T>(all: readonly T[]): T[] {
  if (all.length <= 4) return [...all];
  return [0, 1 / 3, 2 / 3, 1].map((f) => all[Math.floor(f * (all.length - 1))]);
}

/** A case's name: its shape and options. */
function convTag(c: ConvCase): string {
  return `B=${c.B} ${c.H}x${c.W} ${c.CI}->${c.CO} k${c.KS} p${c.PAD}${c.relu ? " relu" : ""}` +
    `${c.pool ? " pool" : ""}${c.raw ? " raw" : ""}`;
}

/** A case's inputs on the host and the GPU, its output tensors and readers. */
function convFixture(ctx: GpuContext, c: ConvCase, r: Rng) {
  const s = convShape(c), g = convGeometry(s);
  const x = randomArray(r, c.B * c.H * c.W * c.CI);
  const w = randomArray(r, c.KS * c.KS * c.CI * c.CO, -0.5, 0.5);
  const b = randomArray(r, c.CO, -0.2, 0.2);
  const grad = randomArray(r, c.B * g.outH * g.outW * c.CO);
  const tensor = (rows: number, cols: number, label: string) =>
    Tensor.create(ctx, rows, cols, label);
  const t = {
    x: tensor(c.B, g.inCols, "x"),
    w: tensor(g.weightRows, c.CO, "w"),
    b: tensor(1, c.CO, "b"),
    grad: tensor(c.B, g.outCols, "grad"),
    y: tensor(c.B, g.outCols, "y"),
    code: tensor(c.B, g.outCols, "code"),
    dx: tensor(c.B, g.inCols, "dx"),
    dw: tensor(g.weightRows, c.CO, "dw"),
    db: tensor(1, c.CO, "db"),
    partial: tensor(weightGradChunks(s), partialCols(s), "partial"),
  };
  upload(ctx, t.x, packNHWC(x, c.B, c.H, c.W, c.CI, s.inStored));
  upload(ctx, t.w, padWeightRows(w, c.KS, c.CI, c.CO, s.inStored));
  upload(ctx, t.b, b);
  upload(ctx, t.grad, packNHWC(grad, c.B, g.outH, g.outW, c.CO, g.cop));
  // the gradient's companion: the codes with pool, the output with ReLU alone
  const aux = c.pool ? t.code : c.relu ? t.y : undefined;
  return {
    c,
    s,
    g,
    aux,
    x,
    w,
    b,
    grad,
    t,
    outShape: [c.B, g.outH, g.outW, c.CO],
    inShape: [c.B, c.H, c.W, c.CI],
    wShape: [c.KS, c.KS, c.CI, c.CO],
    readOut: async (u: Tensor) =>
      unpackNHWC(await download(ctx, u), c.B, g.outH, g.outW, c.CO, g.cop),
    readIn: async (u: Tensor) =>
      unpackNHWC(await download(ctx, u), c.B, c.H, c.W, c.CI, s.inStored),
    readWeights: async (u: Tensor) =>
      unpadWeightRows(await download(ctx, u), c.KS, c.CI, c.CO, s.inStored),
    readBias: (u: Tensor) => download(ctx, u),
    forward: (tile?: Conv2dTile) =>
      conv2dForward(ctx, { shape: s, x: t.x, w: t.w, b: t.b, y: t.y, code: t.code, tile }),
    weightGrad: (dw: Tensor, db: Tensor, chunks: number, tile?: Conv2dTile) =>
      conv2dBackwardWeight(ctx, {
        shape: s,
        grad: t.grad,
        x: t.x,
        aux,
        dw,
        db,
        chunks,
        partial: t.partial,
        tile,
      }),
    inputGrad: (maskFrom?: Tensor, tile?: Conv2dTile) =>
      conv2dBackwardInput(ctx, {
        shape: s,
        grad: t.grad,
        w: t.w,
        aux,
        dx: t.dx,
        maskFrom,
        tile,
      }),
  };
}
/** A case's inputs, tensors and readers (see the conv2d checks). */
export type ConvFixture = ReturnType<typeof convFixture>;

/** Runs every conv2d kernel of a case and compares it with the float64 reference. */
export async function checkConv2d(
  ctx: GpuContext,
  c: ConvCase,
  r: Rng,
): Promise<CaseRun<ConvKernels>> {
  const f = convFixture(ctx, c, r);
  const ck = new Checks("conv2d", convTag(c));
  const { g, t } = f;

  // forward: pool(relu(conv + b)); pad channels stay exactly zero (later kernels rely on it)
  const forward = await f.forward();
  await runDispatches(ctx, [forward]);
  const ref = convBlockRef(c, f.x, f.w, f.b);
  const yGot = await f.readOut(t.y);
  ck.close("forward", yGot, ref.out, 1e-5, f.outShape);
  const y = await downloadPadded(ctx, t.y);
  let padNonZero = 0;
  for (let i = 0; i < y.length; i++) if (i % g.cop >= c.CO && y[i] !== 0) padNonZero++;
  ck.count("zero pad channels", padNonZero, 0, "pad values are not 0");
  let code: Float64Array | null = null;
  if (ref.code) {
    code = await f.readOut(t.code);
    let differ = 0;
    for (let i = 0; i < code.length; i++) if (code[i] !== ref.code[i]) differ++;
    // float32 and float64 may break near-ties differently; those are rare
    ck.count("pool codes", differ, Math.floor(code.length * 0.002), "pool codes differ");
  }

  // backward: the pre-activation gradient from the GPU's own pool codes (ties are arbitrary)
  let dz = f.grad;
  if (code) dz = maxPool2BackwardRef(f.grad, code, c.B, g.ho, g.wo, c.CO);
  else if (c.relu) dz = f.grad.map((v, i) => (yGot[i] > 0 ? v : 0));
  const gRef = conv2dBackwardRef(f.x, f.w, dz, c.B, c.H, c.W, c.CI, c.CO, c.KS, c.PAD);
  const chunks = t.partial.rows;
  const kernels: ConvKernels = { forward, backwardWeight: await f.weightGrad(t.dw, t.db, chunks) };
  await runDispatches(ctx, kernels.backwardWeight);
  const dw = await downloadPadded(ctx, t.dw);
  const arena = arenaPair(ctx, [g.weightRows, c.CO], [1, c.CO]);
  for (const [where, [tdw, tdb]] of [["", [t.dw, t.db]], [" in a shared arena", arena]] as const) {
    for (const n of [chunks, 1]) {
      if (n !== chunks || where) await runDispatches(ctx, await f.weightGrad(tdw, tdb, n));
      const how = n > 1 ? `${n} chunks` : "direct";
      ck.close(`dW (${how})${where}`, await f.readWeights(tdw), gRef.dw, 1e-5, f.wShape);
      ck.close(`db (${how})${where}`, await download(ctx, tdb), gRef.db, 1e-5);
    }
  }
  let dx: Float32Array | null = null;
  if (!c.raw) {
    kernels.backwardInput = await f.inputGrad();
    await runDispatches(ctx, [kernels.backwardInput]);
    dx = await downloadPadded(ctx, t.dx);
    ck.close("dX", await f.readIn(t.dx), gRef.dx, 1e-5, f.inShape);
    await runDispatches(ctx, [await f.inputGrad(t.x)]);
    const masked = gRef.dx.map((v, i) => (f.x[i] > 0 ? v : 0));
    ck.close("dX input-masked", await f.readIn(t.dx), masked, 1e-5, f.inShape);
  }
  if (c.tiles) await checkTiles(ctx, f, ck, { y, dw, dx }, ref.out, gRef);
  // the model's path: the weight and input gradient in one dispatch, then the reduction
  if (dx) {
    const opts = { tiles: !!c.tiles, direct: !c.quick && !c.tiles };
    await checkFusedBackward(ctx, f, ck, { dw, dx }, gRef, opts);
  }
  if (c.reduce) await checkMultiLayerReduce(ctx, f, ck, c.reduce, r);
  return ck.done(kernels);
}

/** A spread of the candidates against the reference, and bit-identical to the default tiles. */
async function checkTiles(
  ctx: GpuContext,
  f: ConvFixture,
  ck: Checks,
  bits: { y: Float32Array; dw: Float32Array; dx: Float32Array | null },
  yRef: Float64Array,
  gRef: { dx: Float64Array; dw: Float64Array },
): Promise<void> {
  const { s, t } = f;
  for (const tile of spread(convTileCandidates("forward", s))) {
    await runDispatches(ctx, [await f.forward(tile)]);
    ck.close(`forward, ${convTileName(tile)}`, await f.readOut(t.y), yRef, 1e-5, f.outShape);
    ck.bits(`forward bits, ${convTileName(tile)}`, await downloadPadded(ctx, t.y), bits.y);
  }
  for (const tile of spread(convTileCandidates("backwardWeight", s))) {
    await runDispatches(ctx, await f.weightGrad(t.dw, t.db, t.partial.rows, tile));
    ck.close(`dW, ${convTileName(tile)}`, await f.readWeights(t.dw), gRef.dw, 1e-5, f.wShape);
    ck.bits(`dW bits, ${convTileName(tile)}`, await downloadPadded(ctx, t.dw), bits.dw);
  }
  if (!bits.dx) return;
  for (const tile of spread(convTileCandidates("backwardInput", s))) {
    await runDispatches(ctx, [await f.inputGrad(undefined, tile)]);
    ck.close(`dX, ${convTileName(tile)}`, await f.readIn(t.dx), gRef.dx, 1e-5, f.inShape);
    ck.bits(`dX bits, ${convTileName(tile)}`, await downloadPadded(ctx, t.dx), bits.dx);
  }
}

/** The conv2d family of the suite. */
export const CONV2D_FAMILY = defineFamily(
  "conv2d",
  "conv2d forward (fused bias, ReLU, max-pool with codes) and backward (dX with and without " +
    "input mask, dW, db, chunked and direct) match the float64 reference for every kernel variant",
  CONV_CASES,
  (c) => `${convTag(c)}${c.tiles ? " (tiles)" : ""}`,
  checkConv2d,
);
