/**
 * 2D convolution kernels (`shaders/conv2d.wgsl`): stride 1, zero padding, bias, optional fused
 * ReLU and 2x2 max-pool; float64 references and the layout conversions they rely on.
 *
 * Layouts: activations (B, H, W, CP) one image per tensor row, CP = 1 for single-channel raw
 * images or a multiple of 4; weights (KS, KS, CIP, CO) as a (KS*KS*CIP) x CO tensor.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, makeDispatch } from "../gpu/program.ts";
import { pad4, type Tensor } from "../gpu/tensor.ts";
import { expectShape } from "./common.ts";
import SOURCE from "../../shaders/conv2d.wgsl" with { type: "text" };

/** Geometry of one convolution block. */
export interface Conv2dShape {
  /** Images in the batch (tensor rows). */
  batch: number;
  /** Input height in pixels. */
  height: number;
  /** Input width in pixels. */
  width: number;
  /** Real input channels (CI). */
  inChannels: number;
  /** Stored channels per input position: 1 (raw single-channel images) or a multiple of 4. */
  inStored: number;
  /** Output channels (CO); stored padded to a multiple of 4 (CP = pad4(CO)). */
  outChannels: number;
  /** Side of the square kernel (KS). */
  kernel: number;
  /** Zero padding on every side, in pixels. */
  padding: number;
  /** Fused ReLU after the bias. */
  relu: boolean;
  /** Fused 2x2 max-pool with stride 2 after the ReLU. */
  pool: boolean;
}

/** Register block of one invocation. */
export interface Conv2dTile {
  /**
   * Output rows (forward) or input rows (backward input) per invocation; even when pooling. The
   * weight gradient: kernel rows per invocation (a divisor of the kernel size).
   */
  yb: number;
  /** Output or input columns per invocation; even when pooling. */
  xb: number;
  /** Channel texels per invocation. */
  cg: number;
}

/**
 * The untuned tile for a shape, a rule that matches what measuring picks on the CPU adapter for
 * LeNet's layers: column blocks spanning the whole row when the row is short (no ragged edge),
 * two channel texels forward, one backward.
 */
export function defaultConvTile(
  kind: "forward" | "backwardInput" | "backwardWeight",
  s: Conv2dShape,
): Conv2dTile {
  const g = convGeometry(s);
  if (kind === "forward") {
    const width = s.pool ? 2 * g.outW : g.wo;
    let xb = width <= 12 ? width : 4;
    if (s.pool && xb % 2) xb = 2;
    return { yb: s.pool ? 2 : 1, xb: Math.max(1, xb), cg: Math.min(2, Math.max(1, g.cop / 4)) };
  }
  if (kind === "backwardInput") {
    // all input texels per invocation when there are at most 2: the pad channels are then known;
    // 2 with more (each loaded dZ feeds both: cnn's 32 channels at 14x14, about 0.8x of 1)
    const cit = Math.max(1, s.inStored / 4);
    return { yb: 2, xb: s.width <= 16 ? s.width : 8, cg: Math.min(cit, 2) };
  }
  // single-channel input: all kernel rows per invocation (each loaded dZ feeds 25 taps, not 5);
  // up to 4 output texels (each loaded input row feeds them all; with all of them the pad
  // channels are known constants); column blocks without a ragged edge (conv2's 10: 2, not 4)
  // (all rows up to 5x5 kernels: a 7x7's 49 taps x 3 texels of accumulators spill, and its
  // unrolled kernel takes seconds to compile)
  const xb = g.wo % 4 === 0 || g.wo % 2 !== 0 ? 4 : 2;
  const allRows = s.inStored === 1 && s.kernel <= MAX_ALL_ROWS;
  return { yb: allRows ? s.kernel : 1, xb, cg: Math.min(4, g.cop / 4) };
}

/** Largest kernel whose rows one weight-gradient invocation takes all at once. */
const MAX_ALL_ROWS = 5;

/**
 * Most accumulator texels (vec4) one invocation holds, forward / input gradient and weight
 * gradient: past these a CPU adapter spills registers (the measured candidates past them were
 * 1.2-1.6x slower) and the unrolled kernel takes seconds of compile time per process. The
 * default tiles of LeNet-5 and the cnn model hold at most 56 and 80.
 */
const MAX_ACC_TEXELS = { forward: 64, backwardInput: 64, backwardWeight: 80 };

/** Accumulator texels of a tile (see {@link MAX_ACC_TEXELS}). */
function accTexels(
  kind: "forward" | "backwardInput" | "backwardWeight",
  s: Conv2dShape,
  t: Conv2dTile,
): number {
  if (kind !== "backwardWeight") return t.yb * t.xb * t.cg;
  return t.yb * s.kernel * t.cg * (s.inStored === 1 ? 1 : 4);
}

/** A tile's name in check and bench output. */
export const convTileName = (t: Conv2dTile): string => `tile yb=${t.yb} xb=${t.xb} cg=${t.cg}`;

/**
 * Tiles worth measuring for a shape: column blocks that cover the width without a ragged edge
 * (the full width, half of it) besides small powers of two, and 1-4 channel texels, within
 * {@link MAX_ACC_TEXELS} accumulators. The default tile need not be among them.
 */
export function convTileCandidates(
  kind: "forward" | "backwardInput" | "backwardWeight",
  s: Conv2dShape,
): Conv2dTile[] {
  const g = convGeometry(s);
  const out: Conv2dTile[] = [];
  const add = (t: Conv2dTile) => {
    if (accTexels(kind, s, t) > MAX_ACC_TEXELS[kind]) return;
    if (!out.some((o) => o.yb === t.yb && o.xb === t.xb && o.cg === t.cg)) out.push(t);
  };
  if (kind === "forward") {
    const width = s.pool ? 2 * g.outW : g.wo;
    const xbs = [2, 4, 8, width, width / 2].filter((x) =>
      Number.isInteger(x) && x >= 1 && x <= width && (!s.pool || x % 2 === 0)
    );
    const cgs = [1, 2, 4].filter((c) => c <= Math.max(1, g.cop / 4));
    for (const yb of s.pool ? [2] : [1, 2]) {
      for (const xb of xbs) for (const cg of cgs) add({ yb, xb, cg });
    }
  } else if (kind === "backwardInput") {
    const xbs = [4, 8, s.width, s.width / 2].filter((x) =>
      Number.isInteger(x) && x >= 1 && x <= s.width
    );
    const cgs = [1, 2].filter((c) => c <= Math.max(1, s.inStored / 4));
    for (const yb of [1, 2]) for (const xb of xbs) for (const cg of cgs) add({ yb, xb, cg });
  } else {
    // all kernel rows only with short column blocks (whole rows with all kernel rows measured
    // 1.2-1.6x slower, and are the largest kernels to compile)
    for (const yb of [1, Math.min(s.kernel, MAX_ALL_ROWS)]) {
      if (s.kernel % yb) continue;
      for (const cg of [1, Math.min(4, g.cop / 4)]) {
        for (const xb of [2, 4, 8, g.wo]) {
          if (xb <= g.wo && (yb === 1 || xb <= 4)) add({ yb, xb, cg });
        }
      }
    }
  }
  return out;
}

/** Stored channels for a tensor with `c` channels: raw single-channel images keep 1. */
export function storedChannels(c: number, rawImage = false): number {
  return c === 1 && rawImage ? 1 : pad4(c);
}

/** Derived sizes of a convolution block (see {@link convGeometry}). */
export interface ConvGeometry {
  /** Convolution output height before pooling: height + 2 * padding - kernel + 1. */
  ho: number;
  /** Convolution output width before pooling: width + 2 * padding - kernel + 1. */
  wo: number;
  /** Block output height: floor(ho / 2) with pooling, else ho. */
  outH: number;
  /** Block output width: floor(wo / 2) with pooling, else wo. */
  outW: number;
  /** Stored output channels, pad4(outChannels). */
  cop: number;
  /** Floats per input image (tensor row): height * width * inStored. */
  inCols: number;
  /** Floats per output image (tensor row): outH * outW * cop. */
  outCols: number;
  /** Rows of the weight tensor, kernel * kernel * inStored (one row of CO values each). */
  weightRows: number;
}

/** Derived sizes of a convolution block. */
export function convGeometry(s: Conv2dShape): ConvGeometry {
  const ho = s.height + 2 * s.padding - s.kernel + 1;
  const wo = s.width + 2 * s.padding - s.kernel + 1;
  const outH = s.pool ? Math.floor(ho / 2) : ho;
  const outW = s.pool ? Math.floor(wo / 2) : wo;
  const cop = pad4(s.outChannels);
  return {
    ho,
    wo,
    outH,
    outW,
    cop,
    inCols: s.height * s.width * s.inStored,
    outCols: outH * outW * cop,
    weightRows: s.kernel * s.kernel * s.inStored,
  };
}

/**
 * Checks a shape before any GPU work.
 *
 * @throws Error naming `op` and the first bad field
 */
export function validateConvShape(op: string, s: Conv2dShape): void {
  const ok = (v: number) => Number.isInteger(v) && v >= 1;
  for (
    const k of [
      "batch",
      "height",
      "width",
      "inChannels",
      "inStored",
      "outChannels",
      "kernel",
    ] as const
  ) {
    if (!ok(s[k])) throw new Error(`${op}: ${k} must be a positive integer, got ${s[k]}`);
  }
  if (!Number.isInteger(s.padding) || s.padding < 0) {
    throw new Error(`${op}: bad padding ${s.padding}`);
  }
  if (s.inStored !== 1 && s.inStored % 4 !== 0) {
    throw new Error(`${op}: stored input channels must be 1 or a multiple of 4, got ${s.inStored}`);
  }
  if (s.inStored < s.inChannels) throw new Error(`${op}: inStored < inChannels`);
  if (s.padding >= s.kernel) {
    throw new Error(`${op}: padding ${s.padding} must be smaller than the kernel ${s.kernel}`);
  }
  const g = convGeometry(s);
  if (g.ho < 1 || g.wo < 1) {
    throw new Error(
      `${op}: kernel ${s.kernel} with padding ${s.padding} does not fit a ${s.height}x${s.width} input`,
    );
  }
  if (s.pool && (g.outH < 1 || g.outW < 1)) {
    throw new Error(`${op}: output ${g.ho}x${g.wo} is too small to pool`);
  }
}

/** The shape's constants of conv2d.wgsl (each entry point adds its tile's). */
export function convConstants(s: Conv2dShape): Record<string, number | boolean> {
  return {
    B: s.batch,
    H: s.height,
    W: s.width,
    CI: s.inChannels,
    CIP: s.inStored,
    CO: s.outChannels,
    KS: s.kernel,
    PAD: s.padding,
    RELU: s.relu,
    POOL: s.pool,
    CTU: texelsUnrolled(s),
  };
}

/**
 * The shader source with one entry point's function: the others become blank lines (compiler
 * messages keep their line numbers). Loops are unrolled per pipeline, so the other entry points'
 * unrolled blocks would multiply the WGSL text that the driver parses for every pipeline (most
 * of the compile time on lavapipe, whose LLVM output is cached on disk across processes).
 */
export function entrySource(source: string, entryPoint: string): string {
  const others = [...source.matchAll(/@compute[^\n]*\n\s*fn\s+(\w+)\s*\(/g)]
    .filter((m) => m[1] !== entryPoint);
  let out = source;
  // from the last, so that the earlier matches' offsets still hold
  for (const m of others.reverse()) out = blankFunction(out, m.index);
  return withoutUnusedFunctions(out, entryPoint);
}

/**
 * Blanks the functions that nothing calls (the bodies of the other entry points, their helpers),
 * keeping line numbers: they would be unrolled and parsed for every pipeline.
 */
function withoutUnusedFunctions(source: string, entryPoint: string): string {
  let out = source;
  for (let changed = true; changed;) {
    changed = false;
    for (const m of out.matchAll(/^fn\s+(\w+)\s*\(/gm)) {
      if (m[1] === entryPoint) continue;
      const calls = out.match(new RegExp(`\\b${m[1]}\\s*\\(`, "g"))?.length ?? 0;
      if (calls > 1) continue; // more than its own definition
      out = blankFunction(out, m.index);
      changed = true;
      break;
    }
  }
  return out;
}

/** `source` with the function that starts at `start` (its attributes or `fn`) as blank lines. */
function blankFunction(source: string, start: number): string {
  let depth = 0, i = source.indexOf("{", start);
  for (; i < source.length; i++) {
    if (source[i] === "{") depth++;
    else if (source[i] === "}" && --depth === 0) break;
  }
  const lines = source.slice(start, i).split("\n").length - 1;
  return source.slice(0, start) + "\n".repeat(lines) + source.slice(i + 1);
}

const SHADERS = new Map<string, { name: string; source: string }>();

/** The forward's loop over input texels, which is one pass when all of them are unrolled. */
const TEXEL_LOOP = "for (var ct0 = 0u; ct0 < CIT; ct0 += CTU) {";

/**
 * The conv2d.wgsl module with only `entryPoint` (see {@link entrySource}); `onePass`: the
 * forward's input texel loop becomes a block (the driver does not unroll a one-trip loop around
 * this much code, and the pad-channel conditions would not be constants).
 */
export function convShader(entryPoint: string, onePass = false): { name: string; source: string } {
  const key = `${entryPoint}${onePass ? "/one-pass" : ""}`;
  let s = SHADERS.get(key);
  if (!s) {
    let source = entrySource(SOURCE, entryPoint);
    if (onePass) {
      if (!source.includes(TEXEL_LOOP)) throw new Error("conv2d.wgsl: input texel loop not found");
      source = source.replace(TEXEL_LOOP, "{ let ct0 = 0u;");
    }
    SHADERS.set(key, s = { name: "conv2d.wgsl", source });
  }
  return s;
}

/** Input texels the forward unrolls per step: all when at most 2 (see conv2d.wgsl CTU). */
function texelsUnrolled(s: Conv2dShape): number {
  const cit = Math.max(1, s.inStored / 4);
  return cit <= 2 ? cit : 1;
}

/** Whole blocks of `b` covering `a`. */
export const ceil = (a: number, b: number): number => Math.ceil(a / b);

/**
 * Y = pool(relu(conv(X) + b)); with pool, `code` (if given) receives the argmax codes that the
 * backward kernels need; inference leaves it out and saves the stores.
 */
export async function conv2dForward(
  ctx: GpuContext,
  a: {
    shape: Conv2dShape;
    x: Tensor;
    w: Tensor;
    b: Tensor;
    y: Tensor;
    code?: Tensor;
    tile?: Conv2dTile;
  },
): Promise<Dispatch> {
  const s = a.shape;
  validateConvShape("conv2dForward", s);
  const g = convGeometry(s);
  const t = a.tile ?? defaultConvTile("forward", s);
  if (s.pool && (t.yb % 2 || t.xb % 2)) {
    throw new Error("conv2dForward: pooling needs an even tile");
  }
  expectShape("conv2dForward", "input", a.x, s.batch, g.inCols);
  expectShape("conv2dForward", "weight", a.w, g.weightRows, s.outChannels);
  expectShape("conv2dForward", "bias", a.b, 1, s.outChannels);
  expectShape("conv2dForward", "output", a.y, s.batch, g.outCols);
  if (s.pool && a.code) expectShape("conv2dForward", "code", a.code, s.batch, g.outCols);
  const rowsPer = s.pool ? t.yb / 2 : t.yb, colsPer = s.pool ? t.xb / 2 : t.xb;
  const lanes = s.batch * ceil(g.outH, rowsPer) * ceil(g.outW, colsPer) * ceil(g.cop / 4, t.cg);
  return await makeDispatch(ctx, {
    shader: convShader("conv2d_forward", texelsUnrolled(s) === Math.max(1, s.inStored / 4)),
    entryPoint: "conv2d_forward",
    constants: { ...convConstants(s), YB: t.yb, XB: t.xb, CG: t.cg, CODES: !!a.code },
    reads: { x: a.x, w: a.w, bias: a.b },
    writes: { y: a.y, code: s.pool ? a.code : undefined },
    size: { lanes },
  });
}

// ---------------------------------------------------------------------------------------------
// Layout conversion (host side)

/** Packs (B, H, W, C) values into rows of H*W*CP floats (pitch-padded by the tensor upload). */
export function packNHWC(
  v: ArrayLike<number>,
  B: number,
  H: number,
  W: number,
  C: number,
  CP: number,
): Float32Array {
  const out = new Float32Array(B * H * W * CP);
  for (let i = 0; i < B * H * W; i++) for (let c = 0; c < C; c++) out[i * CP + c] = v[i * C + c];
  return out;
}

/** Inverse of {@link packNHWC}. */
export function unpackNHWC(
  v: ArrayLike<number>,
  B: number,
  H: number,
  W: number,
  C: number,
  CP: number,
): Float64Array {
  const out = new Float64Array(B * H * W * C);
  for (let i = 0; i < B * H * W; i++) for (let c = 0; c < C; c++) out[i * C + c] = v[i * CP + c];
  return out;
}

/**
 * Where weight (ky, kx, ci, co) lives in each layout: PyTorch's (CO, CI, KS, KS), the logical
 * channels-last (KS, KS, CI, CO), and the internal rows (KS, KS, CIP) x CO.
 */
type WeightLayout = "torch" | "logical" | "internal";

/** Copies every real weight from one layout to another; `out`'s other values stay 0. */
function remapWeights<T extends Float32Array | Float64Array>(
  out: T,
  w: ArrayLike<number>,
  from: WeightLayout,
  to: WeightLayout,
  d: { CO: number; CI: number; KS: number; CIP: number },
): T {
  const { CO, CI, KS, CIP } = d;
  const at = (layout: WeightLayout, ky: number, kx: number, ci: number, co: number) =>
    layout === "torch"
      ? ((co * CI + ci) * KS + ky) * KS + kx
      : ((ky * KS + kx) * (layout === "internal" ? CIP : CI) + ci) * CO + co;
  for (let ky = 0; ky < KS; ky++) {
    for (let kx = 0; kx < KS; kx++) {
      for (let ci = 0; ci < CI; ci++) {
        for (let co = 0; co < CO; co++) out[at(to, ky, kx, ci, co)] = w[at(from, ky, kx, ci, co)];
      }
    }
  }
  return out;
}

/**
 * Logical channels-last weights (KS, KS, CI, CO) -> internal rows (KS, KS, CIP) x CO, the input
 * channels padded with zero rows to the stored count CIP.
 */
export function padWeightRows(
  w: ArrayLike<number>,
  KS: number,
  CI: number,
  CO: number,
  CIP: number,
): Float32Array {
  const out = new Float32Array(KS * KS * CIP * CO);
  return remapWeights(out, w, "logical", "internal", { CO, CI, KS, CIP });
}

/** Inverse of {@link padWeightRows}: drops the padding rows. */
export function unpadWeightRows(
  w: ArrayLike<number>,
  KS: number,
  CI: number,
  CO: number,
  CIP: number,
): Float64Array {
  const out = new Float64Array(KS * KS * CI * CO);
  return remapWeights(out, w, "internal", "logical", { CO, CI, KS, CIP });
}

/** PyTorch weight (CO, CI, KS, KS) -> internal rows (ky, kx, ci) of CO values (CIP >= CI). */
export function weightFromTorch(
  w: ArrayLike<number>,
  CO: number,
  CI: number,
  KS: number,
  CIP: number,
): Float32Array {
  const out = new Float32Array(KS * KS * CIP * CO);
  return remapWeights(out, w, "torch", "internal", { CO, CI, KS, CIP });
}

/** Internal weight rows -> PyTorch (CO, CI, KS, KS). */
export function weightToTorch(
  w: ArrayLike<number>,
  CO: number,
  CI: number,
  KS: number,
  CIP: number,
): Float32Array {
  const out = new Float32Array(CO * CI * KS * KS);
  return remapWeights(out, w, "internal", "torch", { CO, CI, KS, CIP });
}

// ---------------------------------------------------------------------------------------------
// float64 references, logical (unpadded) channels-last layouts:
// x (B, H, W, CI), w (KS, KS, CI, CO), b (CO), z (B, HO, WO, CO)

/** Pre-activation z = conv(x, w) + b. */
export function conv2dRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number>,
  B: number,
  H: number,
  W: number,
  CI: number,
  CO: number,
  KS: number,
  PAD: number,
): Float64Array {
  const HO = H + 2 * PAD - KS + 1, WO = W + 2 * PAD - KS + 1;
  const z = new Float64Array(B * HO * WO * CO);
  for (let n = 0; n < B; n++) {
    for (let oy = 0; oy < HO; oy++) {
      for (let ox = 0; ox < WO; ox++) {
        for (let co = 0; co < CO; co++) {
          let s = b[co];
          for (let ky = 0; ky < KS; ky++) {
            const iy = oy + ky - PAD;
            if (iy < 0 || iy >= H) continue;
            for (let kx = 0; kx < KS; kx++) {
              const ix = ox + kx - PAD;
              if (ix < 0 || ix >= W) continue;
              for (let ci = 0; ci < CI; ci++) {
                s += x[((n * H + iy) * W + ix) * CI + ci] * w[((ky * KS + kx) * CI + ci) * CO + co];
              }
            }
          }
          z[((n * HO + oy) * WO + ox) * CO + co] = s;
        }
      }
    }
  }
  return z;
}

/** Gradients of conv given dz (B, HO, WO, CO), the gradient of its pre-activation. */
export function conv2dBackwardRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  dz: ArrayLike<number>,
  B: number,
  H: number,
  W: number,
  CI: number,
  CO: number,
  KS: number,
  PAD: number,
): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const HO = H + 2 * PAD - KS + 1, WO = W + 2 * PAD - KS + 1;
  const dx = new Float64Array(B * H * W * CI), dw = new Float64Array(KS * KS * CI * CO);
  const db = new Float64Array(CO);
  for (let n = 0; n < B; n++) {
    for (let oy = 0; oy < HO; oy++) {
      for (let ox = 0; ox < WO; ox++) {
        for (let co = 0; co < CO; co++) {
          const g = dz[((n * HO + oy) * WO + ox) * CO + co];
          if (g === 0) continue;
          db[co] += g;
          for (let ky = 0; ky < KS; ky++) {
            const iy = oy + ky - PAD;
            if (iy < 0 || iy >= H) continue;
            for (let kx = 0; kx < KS; kx++) {
              const ix = ox + kx - PAD;
              if (ix < 0 || ix >= W) continue;
              for (let ci = 0; ci < CI; ci++) {
                const xi = ((n * H + iy) * W + ix) * CI + ci,
                  wi = ((ky * KS + kx) * CI + ci) * CO + co;
                dx[xi] += g * w[wi];
                dw[wi] += g * x[xi];
              }
            }
          }
        }
      }
    }
  }
  return { dx, dw, db };
}
