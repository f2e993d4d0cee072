/**
 * Test-time image corruptions (`shaders/corrupt.wgsl`) of a gathered batch, their float64 CPU
 * references, and the table of corruption names and severities.
 *
 * A corruption reads a (B, W * H) tensor in [0, 1] (the evaluation gather's output) and writes
 * another one, so corruptions compose (e.g. impulse noise, then the 3x3 median as denoising).
 * Row r shows image `perm[batch_start + r]`, the indices the gather used; every random draw is
 * keyed by (seed, image index, pixel), so the corrupted test set does not depend on batch order.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, makeDispatch } from "../gpu/program.ts";
import type { StepParamsBuffer } from "../gpu/step_params.ts";
import type { Tensor, TexelStore } from "../gpu/tensor.ts";
import type { ConstValue } from "../gpu/wgsl.ts";
import { counterUniform } from "../util/rng.ts";
import { pixelNormal } from "./gather.ts";
import SOURCE from "../../shaders/corrupt.wgsl" with { type: "text" };

const SHADER = { name: "corrupt.wgsl", source: SOURCE };

/** Names of the corruptions in {@link CORRUPTIONS}. */
export type CorruptionName =
  | "gaussian"
  | "shot"
  | "poisson-gaussian"
  | "impulse"
  | "blur"
  | "contrast"
  | "median";

/** One severity level of a corruption. */
export interface CorruptionLevel {
  /** The level's parameter (what it means: {@link CorruptionInfo.parameter}). */
  readonly value: number;
  /** poisson-gaussian only: standard deviation of the read noise on the 0..255 scale. */
  readonly readSigma?: number;
}

/** What a corruption does and its severity levels (severity s is `levels[s - 1]`). */
export interface CorruptionInfo {
  /** One-line description, including padding and clipping conventions. */
  readonly about: string;
  /** Meaning of {@link CorruptionLevel.value}. */
  readonly parameter: string;
  /** True when the corruption draws random numbers (and so needs a seed). */
  readonly random: boolean;
  /** Severity levels, mildest first. */
  readonly levels: readonly CorruptionLevel[];
}

const levels = (values: number[]): CorruptionLevel[] => values.map((value) => ({ value }));

/**
 * The corruptions and their severities. All outputs are clipped to [0, 255] (then / 255).
 * Noise levels follow MNIST-C / ImageNet-C where those define them (shot, impulse).
 */
export const CORRUPTIONS: Readonly<Record<CorruptionName, CorruptionInfo>> = {
  gaussian: {
    about: "additive Gaussian noise 255x + sigma z, clipped; the training noise under a test seed",
    parameter: "sigma on the 0..255 scale",
    random: true,
    levels: levels([8, 16, 32, 64, 128]),
  },
  shot: {
    about: "Poisson shot noise x' = Poisson(c x) / c, clipped",
    parameter: "photon count c at x = 1",
    random: true,
    levels: levels([60, 25, 12, 5, 3]),
  },
  "poisson-gaussian": {
    about: "sensor noise Poisson(c x) / c + (s / 255) z, clipped: variance a x + b on the [0, 1] " +
      "scale with a = 1 / c, b = (s / 255)^2 (a, b = 0.01, 2.5e-4; 0.04, 9.8e-4; 0.1, 3.9e-3)",
    parameter: "photon count c at x = 1 (read noise s in readSigma)",
    random: true,
    levels: [
      { value: 100, readSigma: 4 },
      { value: 25, readSigma: 8 },
      { value: 10, readSigma: 16 },
    ],
  },
  impulse: {
    about: "salt-and-pepper: each pixel is hit with probability `amount`, then 0 or 255 evenly",
    parameter: "fraction of pixels hit",
    random: true,
    levels: levels([0.03, 0.06, 0.09, 0.17, 0.27]),
  },
  blur: {
    about: "Gaussian blur, direct 2D, radius ceil(3 sigma), clamp-to-edge padding",
    parameter: "sigma in pixels",
    random: false,
    levels: levels([0.5, 1, 1.5]),
  },
  contrast: {
    about: "contrast reduction about the image's own mean: x' = (x - mean) c + mean",
    parameter: "contrast factor c",
    random: false,
    levels: levels([0.4, 0.3, 0.2]),
  },
  median: {
    about: "3x3 median filter with clamp-to-edge padding (test-time denoising)",
    parameter: "window size",
    random: false,
    levels: levels([3]),
  },
};

/** A corruption to apply: name, severity (1 = mildest) and, for random ones, the noise seed. */
export interface Corruption {
  /** A key of {@link CORRUPTIONS}. */
  name: string;
  /** Severity level, 1..levels.length. */
  severity: number;
  /** Noise seed (u32), required by random corruptions; derive it apart from the training seeds. */
  seed?: number;
}

/** A validated corruption with its level. */
export interface ResolvedCorruption {
  /** The corruption's name. */
  readonly name: CorruptionName;
  /** Its table entry. */
  readonly info: CorruptionInfo;
  /** The chosen level's parameters. */
  readonly level: CorruptionLevel;
  /** The noise seed (0 for corruptions that draw nothing). */
  readonly seed: number;
}

/**
 * Checks a corruption against {@link CORRUPTIONS}.
 *
 * @throws Error (one line) for an unknown name, a severity out of range, or a random corruption
 *   without a u32 seed
 */
export function resolveCorruption(c: Corruption): ResolvedCorruption {
  if (!Object.hasOwn(CORRUPTIONS, c.name)) {
    throw new Error(
      `unknown corruption '${c.name}'; use one of ${Object.keys(CORRUPTIONS).join(", ")}`,
    );
  }
  const name = c.name as CorruptionName;
  const info = CORRUPTIONS[name];
  const n = info.levels.length;
  if (!Number.isInteger(c.severity) || c.severity < 1 || c.severity > n) {
    throw new Error(
      `corruption '${name}' has severities ${n === 1 ? "1" : `1..${n}`}, got ${c.severity}`,
    );
  }
  const seed = c.seed ?? (info.random ? undefined : 0);
  if (seed === undefined || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new Error(
      `corruption '${name}' needs a seed that is an integer in 0..2^32-1, got ${seed}`,
    );
  }
  return { name, info, level: info.levels[c.severity - 1], seed };
}

// Poisson draws: sequential inversion up to this mean, normal approximation above (as the WGSL)
const POISSON_NORMAL_ABOVE = 30;
const POISSON_MAX_STEPS = 100;
const BLUR_MAX_RADIUS = 5;

/** Normalized 1D Gaussian weights w(0..R), R = ceil(3 sigma), in float64. */
export function blurWeights(sigma: number): Float64Array {
  const r = Math.ceil(3 * sigma);
  if (!(sigma > 0) || r > BLUR_MAX_RADIUS) {
    throw new Error(`blur sigma must be in (0, ${BLUR_MAX_RADIUS / 3}], got ${sigma}`);
  }
  const w = Float64Array.from(
    { length: r + 1 },
    (_, d) => Math.exp(-(d * d) / (2 * sigma * sigma)),
  );
  const sum = w.reduce((s, v, d) => s + (d === 0 ? v : 2 * v), 0);
  return w.map((v) => v / sum);
}

/** WGSL constants that select a corruption's level (besides shape and bases). */
function levelConstants(c: ResolvedCorruption): Record<string, ConstValue> {
  const v = c.level.value;
  switch (c.name) {
    case "gaussian":
      return { SEED: c.seed, SIGMA: v };
    case "shot":
      return { SEED: c.seed, PHOTONS: v };
    case "poisson-gaussian":
      return { SEED: c.seed, PHOTONS: v, SIGMA: c.level.readSigma ?? 0 };
    case "impulse":
      return { SEED: c.seed, IMPULSE_COUNT: impulseCount(v) };
    case "blur": {
      const w = blurWeights(v);
      const out: Record<string, ConstValue> = { BLUR_R: w.length - 1 };
      for (let d = 0; d <= BLUR_MAX_RADIUS; d++) out[`BLUR_W${d}`] = Math.fround(w[d] ?? 0);
      return out;
    }
    case "contrast":
      return { CONTRAST: Math.fround(v) };
    case "median":
      return {};
  }
}

/** Entry point and its KIND constant per corruption (one entry point per kernel shape). */
const ENTRY_POINTS: Record<CorruptionName, [string, number]> = {
  gaussian: ["pixel_noise", 0],
  shot: ["pixel_noise", 1],
  "poisson-gaussian": ["pixel_noise", 2],
  impulse: ["pixel_noise", 3],
  blur: ["neighbourhood", 0],
  median: ["neighbourhood", 1],
  contrast: ["contrast", 0],
};

/** Tensors and indices a corruption kernel is bound to. */
export interface CorruptionIo {
  /** Input (B, W * H) in [0, 1]. */
  x: Tensor;
  /** Output (B, W * H) in [0, 1], the shape of x, in another texture. */
  y: Tensor;
  /** Image indices (rgba32uint): row r shows image perm[batch_start + r]. */
  perm: TexelStore;
  /** Step parameters; batch_start of the slot the dispatch runs with. */
  params: StepParamsBuffer;
}

/**
 * y (B, W * H) = the corruption of x (B, W * H), both in [0, 1]; row r of x is image
 * perm[batch_start + r] (batch_start from the step-parameter slot), which keys the noise.
 *
 * @throws Error for an invalid corruption (see {@link resolveCorruption}), shapes that do not
 *   match width x height, or x and y in one texture
 */
export async function corruptBatch(
  ctx: GpuContext,
  a: CorruptionIo & { width: number; height: number; corruption: Corruption },
): Promise<Dispatch> {
  const c = resolveCorruption(a.corruption);
  const { x, y, width: W, height: H } = a;
  if (!Number.isInteger(W) || !Number.isInteger(H) || W < 1 || H < 1 || x.cols !== W * H) {
    throw new Error(`corruptBatch: '${x.label}' has ${x.cols} columns, not ${W} x ${H} pixels`);
  }
  if (y.rows !== x.rows || y.cols !== x.cols || y.pitch !== x.pitch) {
    throw new Error(`corruptBatch: '${y.label}' must have the shape of '${x.label}'`);
  }
  const B = x.rows;
  // contrast reduces each image in one workgroup; the others run one texel per invocation
  if (c.name === "contrast" && B > ctx.device.limits.maxComputeWorkgroupsPerDimension) {
    throw new Error(`corruptBatch: contrast runs one workgroup per image; ${B} is too many`);
  }
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint: ENTRY_POINTS[c.name][0],
    constants: { B, W, H, PITCH: x.pitch, KIND: ENTRY_POINTS[c.name][1], ...levelConstants(c) },
    reads: { x, perm: a.perm },
    writes: { y },
    buffers: { params: a.params },
    size: c.name === "contrast" ? { workgroups: [B] } : { lanes: x.texels },
  });
}

// ---------------------------------------------------------------------------------------------
// References (float64; decisions that depend on float32 arithmetic reproduce it with fround)

/** The 24 key bits of (seed, a, b), as `counter_bits` in the shader. */
export function counterBits(seed: number, a: number, b: number): number {
  return Math.floor(counterUniform(seed, a, b) * 16777216);
}

/** The keyed uniform as the shader's float32 arithmetic rounds it. */
function uniform32(seed: number, a: number, b: number): number {
  return Math.fround(counterUniform(seed, a, b));
}

/** Standard normal from the keyed uniforms at counters a0, a1 (Box-Muller). */
export function keyedNormal(seed: number, img: number, a0: number, a1: number): number {
  const u1 = uniform32(seed, img, a0), u2 = uniform32(seed, img, a1);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Pixels an impulse amount hits, out of 2^24 keys. */
export function impulseCount(amount: number): number {
  return Math.round(amount * 16777216);
}

/**
 * Poisson draw with mean `lam` (a float32 value) for pixel p of image img, as the shader draws
 * it: CDF inversion in float32 steps for lam <= 30 (only `exp` may differ from the GPU's by an
 * ulp or so, which can move a draw by one count in rare boundary cases), else
 * max(0, round(lam + sqrt(lam) z)).
 */
export function poissonDraw(seed: number, img: number, p: number, lam: number): number {
  if (lam > POISSON_NORMAL_ABOVE) {
    const z = keyedNormal(seed, img, 4 * p, 4 * p + 1);
    return Math.max(Math.floor(lam + Math.sqrt(lam) * z + 0.5), 0);
  }
  const u = uniform32(seed, img, 4 * p);
  let k = 0, prob = Math.fround(Math.exp(-lam)), cdf = prob;
  while (u > cdf && k < POISSON_MAX_STEPS) {
    k++;
    prob = Math.fround(Math.fround(prob * lam) / k);
    cdf = Math.fround(cdf + prob);
  }
  return k;
}

const clip01 = (v: number) => Math.min(1, Math.max(0, v));
const clip255 = (v: number) => Math.min(255, Math.max(0, v)) / 255;

/** Reference of one noisy pixel (value v in [0, 1]) of image img: the elementwise corruptions. */
function noisyPixelRef(c: ResolvedCorruption, v: number, img: number, p: number): number {
  const s = c.seed, level = c.level.value;
  switch (c.name) {
    case "gaussian":
      return clip255(255 * v + level * pixelNormal(s, img, p));
    case "shot":
    case "poisson-gaussian": {
      const photons = Math.fround(level);
      const k = poissonDraw(s, img, p, Math.fround(photons * Math.max(Math.fround(v), 0)));
      if (c.name === "shot") return clip01(k / photons);
      const read = (c.level.readSigma ?? 0) * keyedNormal(s, img, 4 * p + 2, 4 * p + 3);
      return clip255((255 * k) / photons + read);
    }
    case "impulse": {
      if (counterBits(s, img, 4 * p) >= impulseCount(level)) return clip01(v);
      return counterBits(s, img, 4 * p + 1) >= 8388608 ? 1 : 0;
    }
    default:
      throw new Error(`${c.name} is not elementwise`);
  }
}

/** Reference Gaussian blur of one W x H image (clamp-to-edge; sum over dy, then dx). */
export function blurRef(img: ArrayLike<number>, W: number, H: number, sigma: number): Float64Array {
  const w = blurWeights(sigma), R = w.length - 1;
  const out = new Float64Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let acc = 0;
      for (let dy = -R; dy <= R; dy++) {
        const yy = Math.min(H - 1, Math.max(0, y + dy));
        for (let dx = -R; dx <= R; dx++) {
          const xx = Math.min(W - 1, Math.max(0, x + dx));
          acc += w[Math.abs(dy)] * w[Math.abs(dx)] * img[yy * W + xx];
        }
      }
      out[y * W + x] = clip01(acc);
    }
  }
  return out;
}

/** Reference 3x3 median filter of one W x H image (clamp-to-edge padding). */
export function medianRef(img: ArrayLike<number>, W: number, H: number): Float64Array {
  const out = new Float64Array(W * H), win = new Float64Array(9);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let j = 0; j < 9; j++) {
        const yy = Math.min(H - 1, Math.max(0, y + Math.floor(j / 3) - 1));
        const xx = Math.min(W - 1, Math.max(0, x + (j % 3) - 1));
        win[j] = img[yy * W + xx];
      }
      out[y * W + x] = clip01(win.sort()[4]);
    }
  }
  return out;
}

/** Reference contrast reduction of one image about its mean. */
export function contrastRef(img: ArrayLike<number>, factor: number): Float64Array {
  let sum = 0;
  for (let i = 0; i < img.length; i++) sum += img[i];
  const mean = sum / img.length;
  return Float64Array.from(img, (v) => clip01((v - mean) * factor + mean));
}

/**
 * Reference of {@link corruptBatch}: x is (B, W * H) in [0, 1] (unpadded, row-major, the float32
 * values the GPU sees) and images[r] the image index of row r (B = images.length).
 */
export function corruptBatchRef(
  x: ArrayLike<number>,
  images: ArrayLike<number>,
  width: number,
  height: number,
  corruption: Corruption,
): Float64Array {
  const c = resolveCorruption(corruption);
  const PIX = width * height, B = images.length;
  if (x.length !== B * PIX) {
    throw new Error(`corruptBatchRef: expected ${B * PIX} values, got ${x.length}`);
  }
  const out = new Float64Array(B * PIX);
  for (let r = 0; r < B; r++) {
    const row = Array.from({ length: PIX }, (_, p) => x[r * PIX + p]);
    let y: ArrayLike<number>;
    if (c.name === "blur") y = blurRef(row, width, height, c.level.value);
    else if (c.name === "median") y = medianRef(row, width, height);
    else if (c.name === "contrast") y = contrastRef(row, c.level.value);
    else y = row.map((v, p) => noisyPixelRef(c, v, images[r], p));
    out.set(y, r * PIX);
  }
  return out;
}
