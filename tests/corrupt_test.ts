import {
  blurRef,
  blurWeights,
  contrastRef,
  corruptBatch,
  corruptBatchRef,
  type Corruption,
  type CorruptionName,
  CORRUPTIONS,
  medianRef,
  poissonDraw,
  resolveCorruption,
} from "../src/ops/corrupt.ts";
import { gatherBatchRef, uploadUints } from "../src/ops/gather.ts";
import { runDispatches } from "../src/gpu/program.ts";
import { StepParamsBuffer } from "../src/gpu/step_params.ts";
import { downloadPadded, Tensor, upload } from "../src/gpu/tensor.ts";
import { acquireGpu, type GpuContext } from "../src/gpu/context.ts";
import type { Rng } from "../src/util/rng.ts";
import { assertClose, gpu, rng, TEST_SEED } from "./helpers.ts";

const NAMES = Object.keys(CORRUPTIONS) as CorruptionName[];

/** B images of `pix` float32 pixels in [0, 1], with MNIST-like runs of exact 0 and 1. */
function randomImages(r: Rng, B: number, pix: number): Float32Array {
  return Float32Array.from({ length: B * pix }, () => {
    const kind = r.next();
    return kind < 0.3 ? 0 : kind < 0.4 ? 1 : r.next();
  });
}

/**
 * Runs corruption chains on the GPU: x (rows = images[r], read at permutation position
 * start + r) through each corruption in turn; returns the last output (unpadded) after checking
 * that its padding floats are 0.
 */
async function runGpu(
  ctx: GpuContext,
  x: Float32Array,
  images: readonly number[],
  start: number,
  W: number,
  H: number,
  chain: Corruption[],
): Promise<Float32Array> {
  const B = images.length, PIX = W * H;
  const order = new Uint32Array(start + B).map((_, i) => (i < start ? 99999 : images[i - start]));
  const perm = uploadUints(ctx, order, "test perm");
  const params = new StepParamsBuffer(ctx, 2);
  params.write(0, [{ step: 0, batchStart: 0 }, { step: 1, batchStart: start }]);
  const tensors = chain.map((_, i) => Tensor.create(ctx, B, PIX, `y${i}`));
  const input = Tensor.create(ctx, B, PIX, "x");
  upload(ctx, input, x);
  const dispatches = [];
  for (let i = 0; i < chain.length; i++) {
    dispatches.push(
      await corruptBatch(ctx, {
        x: i === 0 ? input : tensors[i - 1],
        y: tensors[i],
        width: W,
        height: H,
        corruption: chain[i],
        perm,
        params,
      }),
    );
  }
  await runDispatches(ctx, dispatches, params.offset(1));
  const last = tensors[tensors.length - 1];
  const padded = await downloadPadded(ctx, last);
  const out = new Float32Array(B * PIX);
  for (let r = 0; r < B; r++) {
    for (let p = 0; p < last.pitch; p++) {
      const v = padded[r * last.pitch + p];
      if (p < PIX) out[r * PIX + p] = v;
      else if (v !== 0) throw new Error(`padding float ${r},${p} is ${v}, not 0`);
    }
  }
  for (const t of [input, ...tensors]) t.store.destroy();
  perm.destroy();
  params.destroy();
  return out;
}

/**
 * Poisson-based outputs: equal to the reference within `tol`, except in rare boundary cases
 * (f32 exp / log / cos of the GPU vs float64) where a draw may differ by exactly one count, i.e.
 * by 1/c on the [0, 1] scale; at most 1 in 1000 pixels (plus one) may do so.
 */
function assertPoissonClose(
  what: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  photons: number,
  tol: number,
): void {
  let flips = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (d <= tol) continue;
    if (d > 1 / photons + tol) {
      throw new Error(
        `${what}: pixel ${i} got ${got[i]} want ${want[i]}, more than one count apart ` +
          `(TEST_SEED=${TEST_SEED})`,
      );
    }
    flips++;
  }
  if (flips > 1 + want.length / 1000) {
    throw new Error(`${what}: ${flips} of ${want.length} draws differ by one count`);
  }
}

function compare(what: string, c: Corruption, got: Float32Array, want: Float64Array): void {
  const r = resolveCorruption(c);
  switch (r.name) {
    case "impulse":
    case "median":
      return assertClose(what, got, want, 0); // decisions on integer keys / selection: exact
    case "shot":
      return assertPoissonClose(what, got, want, r.level.value, 1e-6);
    case "poisson-gaussian":
      return assertPoissonClose(what, got, want, r.level.value, 2e-4);
    case "gaussian": // float32 Box-Muller vs float64, as the training gather
      return assertClose(what, got, want, 2e-4);
    default:
      return assertClose(what, got, want, 1e-5);
  }
}

Deno.test("every corruption on the GPU matches its float64 reference (random shapes, odd batches)", async () => {
  const ctx = await gpu();
  const r = rng(1);
  for (const name of NAMES) {
    const n = CORRUPTIONS[name].levels.length;
    // a small odd shape at a random severity, and MNIST's shape at the mildest severity (where
    // shot noise has means above 30 and takes the normal approximation too)
    const cases = [
      { W: 3 + 2 * r.int(5), H: 2 + r.int(9), B: 1 + 2 * r.int(5), severity: 1 + r.int(n) },
      { W: 28, H: 28, B: 3 + 2 * r.int(5), severity: 1 },
    ];
    for (const { W, H, B, severity } of cases) {
      const c = { name, severity, seed: r.nextU32() };
      const images = Array.from({ length: B }, () => r.int(60000));
      const start = r.int(50);
      const x = randomImages(r, B, W * H);
      const got = await runGpu(ctx, x, images, start, W, H, [c]);
      const want = corruptBatchRef(x, images, W, H, c);
      compare(`${name} s${severity} ${B}x${W}x${H} seed ${c.seed}`, c, got, want);
    }
  }
});

Deno.test("every corruption matches its reference with sampled-texture reads (the browser path)", async () => {
  const ctx = await acquireGpu({ textureReads: "sampled", unrollLoops: false });
  try {
    const r = rng(7);
    for (const name of NAMES) {
      const W = 4 + r.int(9), H = 3 + r.int(9), B = 1 + 2 * r.int(3);
      const c = { name, severity: 1 + r.int(CORRUPTIONS[name].levels.length), seed: r.nextU32() };
      const images = Array.from({ length: B }, () => r.int(60000));
      const x = randomImages(r, B, W * H);
      const got = await runGpu(ctx, x, images, r.int(9), W, H, [c]);
      compare(
        `sampled ${name} s${c.severity} ${B}x${W}x${H}`,
        c,
        got,
        corruptBatchRef(x, images, W, H, c),
      );
    }
  } finally {
    ctx.destroy();
  }
});

Deno.test("random corruptions depend on (seed, image, pixel) only, not on batch order or size", async () => {
  const ctx = await gpu();
  const r = rng(2);
  const W = 28, H = 28, PIX = W * H;
  for (const name of ["gaussian", "shot", "poisson-gaussian", "impulse"] as const) {
    const c = { name, severity: 3, seed: r.nextU32() };
    const images = Array.from({ length: 9 }, () => r.int(60000));
    const x = randomImages(r, images.length, PIX);
    const a = await runGpu(ctx, x, images, 0, W, H, [c]);
    // the same images reversed, two of them dropped, at another permutation position
    const order = [8, 7, 5, 4, 3, 2, 0];
    const xb = new Float32Array(order.length * PIX);
    order.forEach((src, i) => xb.set(x.subarray(src * PIX, (src + 1) * PIX), i * PIX));
    const b = await runGpu(ctx, xb, order.map((i) => images[i]), 17, W, H, [c]);
    order.forEach((src, i) => {
      assertClose(
        `${name}: image ${images[src]} at row ${i} vs row ${src}`,
        b.subarray(i * PIX, (i + 1) * PIX),
        a.subarray(src * PIX, (src + 1) * PIX),
        0,
      );
    });
    // another seed gives other noise
    const other = await runGpu(ctx, x, images, 0, W, H, [{ ...c, seed: (c.seed + 1) >>> 0 }]);
    const differ = a.filter((v, i) => v !== other[i]).length;
    if (differ < PIX / 100) throw new Error(`${name}: seed changes only ${differ} pixels`);
  }
});

Deno.test("corruptions compose on the GPU: impulse noise then the 3x3 median", async () => {
  const ctx = await gpu();
  const r = rng(3);
  const W = 5 + r.int(20), H = 5 + r.int(20), B = 1 + 2 * r.int(4);
  const images = Array.from({ length: B }, () => r.int(10000));
  const x = randomImages(r, B, W * H);
  const noise = { name: "impulse", severity: 5, seed: r.nextU32() };
  const median = { name: "median", severity: 1 };
  const got = await runGpu(ctx, x, images, 0, W, H, [noise, median]);
  const noisy = corruptBatchRef(x, images, W, H, noise);
  assertClose("impulse then median", got, corruptBatchRef(noisy, images, W, H, median), 0);
});

Deno.test("corruption names, severities and seeds are validated with one-line errors", async () => {
  const bad: [Corruption, RegExp][] = [
    [{ name: "fog", severity: 1 }, /unknown corruption 'fog'; use one of gaussian, shot/],
    [{ name: "shot", severity: 0, seed: 1 }, /'shot' has severities 1\.\.5, got 0/],
    [{ name: "blur", severity: 4 }, /'blur' has severities 1\.\.3, got 4/],
    [{ name: "impulse", severity: 1.5, seed: 1 }, /severities 1\.\.5, got 1.5/],
    [{ name: "median", severity: 2 }, /'median' has severities 1, got 2/],
    [{ name: "gaussian", severity: 1 }, /'gaussian' needs a seed/],
    [{ name: "impulse", severity: 1, seed: -3 }, /needs a seed .* got -3/],
    [{ name: "toString", severity: 1 }, /unknown corruption 'toString'/],
  ];
  for (const [c, re] of bad) {
    let msg = "";
    try {
      resolveCorruption(c);
    } catch (e) {
      msg = (e as Error).message;
    }
    if (!re.test(msg) || msg.includes("\n")) {
      throw new Error(`${JSON.stringify(c)}: got '${msg}', want one line matching ${re}`);
    }
  }
  for (const name of NAMES) {
    for (let s = 1; s <= CORRUPTIONS[name].levels.length; s++) {
      resolveCorruption({ name, severity: s, seed: 7 });
    }
  }
  const ctx = await gpu();
  const x = Tensor.create(ctx, 2, 30, "x"), y = Tensor.create(ctx, 2, 30, "y");
  const perm = uploadUints(ctx, [0, 1], "perm"), params = new StepParamsBuffer(ctx, 1);
  const corruption = { name: "median", severity: 1 };
  const io = { x, y, perm, params, corruption };
  for (
    const [a, re] of [
      [{ ...io, width: 5, height: 5 }, /'x' has 30 columns, not 5 x 5 pixels/],
      [{ ...io, y: x, width: 5, height: 6 }, /written in the same texture/],
      [{ ...io, y: Tensor.create(ctx, 3, 30, "y3"), width: 5, height: 6 }, /shape of 'x'/],
    ] as const
  ) {
    let msg = "";
    await corruptBatch(ctx, a).catch((e) => msg = (e as Error).message);
    if (!re.test(msg)) throw new Error(`got '${msg}', want ${re}`);
  }
  for (const t of [x, y]) t.store.destroy();
  perm.destroy();
  params.destroy();
});

/** Mean and variance of samples. */
function moments(v: ArrayLike<number>): { mean: number; variance: number } {
  let s = 0, s2 = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  const mean = s / v.length;
  for (let i = 0; i < v.length; i++) s2 += (v[i] - mean) ** 2;
  return { mean, variance: s2 / v.length };
}

function near(what: string, got: number, want: number, tol: number): void {
  if (!(Math.abs(got - want) <= tol)) {
    throw new Error(`${what}: ${got}, expected ${want} +- ${tol} (TEST_SEED=${TEST_SEED})`);
  }
}

Deno.test("reference Poisson draws have the right mean, variance and P(0)", () => {
  const seed = rng(4).nextU32(), n = 40000;
  for (const lam of [0.4, 3, 12.5, 29.5, 30.5, 60].map(Math.fround)) {
    const draws = Float64Array.from({ length: n }, (_, i) => poissonDraw(seed, i % 997, i, lam));
    const { mean, variance } = moments(draws);
    // 5 standard errors; the normal approximation adds 1/12 (rounding) to the variance
    near(`Poisson(${lam}) mean`, mean, lam, 5 * Math.sqrt(lam / n));
    near(`Poisson(${lam}) variance`, variance, lam, 5 * Math.sqrt((lam + 2 * lam * lam) / n) + 0.1);
    if (draws.some((k) => !Number.isInteger(k) || k < 0)) throw new Error("not a count");
    if (lam < 5) {
      const p0 = draws.filter((k) => k === 0).length / n, want = Math.exp(-lam);
      near(`Poisson(${lam}) P(0)`, p0, want, 5 * Math.sqrt((want * (1 - want)) / n));
    }
  }
  if (poissonDraw(seed, 3, 5, 0) !== 0) throw new Error("Poisson(0) must be 0");
});

Deno.test("reference noises: Gaussian std, shot and sensor variance, impulse fraction", () => {
  const r = rng(5);
  const B = 80, PIX = 784, n = B * PIX;
  const gray = new Float32Array(n).fill(0.5);
  const images = Array.from({ length: B }, (_, i) => i * 13 + r.int(13));
  const ref = (name: string, severity: number) =>
    corruptBatchRef(gray, images, 28, 28, { name, severity, seed: r.nextU32() });
  // Gaussian: sigma on 0..255 (clipping is negligible 2 sigma from 127.5 at sigma 32)
  for (const [severity, sigma] of [[1, 8], [3, 32]]) {
    const m = moments(ref("gaussian", severity).map((v) => v * 255));
    near(`gaussian sigma ${sigma} mean`, m.mean, 127.5, 5 * sigma / Math.sqrt(n));
    near(`gaussian sigma ${sigma} std`, Math.sqrt(m.variance), sigma, 0.02 * sigma);
  }
  // test-time Gaussian noise is the training gather's noise, under whatever seed it is given
  const bytes = new Uint8Array(B * PIX).map(() => r.int(256));
  const clean = Float32Array.from(bytes, (b) => b / 255);
  const perm = Uint32Array.from({ length: B }, (_, i) => i);
  for (let severity = 1; severity <= 5; severity++) {
    const seed = r.nextU32(), sigma = CORRUPTIONS.gaussian.levels[severity - 1].value;
    assertClose(
      `gaussian severity ${severity} vs training noise`,
      corruptBatchRef(clean, perm, 28, 28, { name: "gaussian", severity, seed }),
      gatherBatchRef(bytes, PIX, perm, 0, B, { sigma, seed }),
      1e-7,
    );
  }
  // shot: mean x, variance x / c (at severities whose draws above c, clipped to 1, are rare)
  for (const severity of [1, 2]) {
    const c = CORRUPTIONS.shot.levels[severity - 1].value;
    const m = moments(ref("shot", severity));
    near(`shot c=${c} mean`, m.mean, 0.5, 5 * Math.sqrt(0.5 / c / n));
    near(`shot c=${c} variance`, m.variance, 0.5 / c, 0.04 * 0.5 / c);
  }
  // sensor noise: variance a x + b (level 3 clips too much at x = 0.5 to compare)
  for (const severity of [1, 2]) {
    const { value: c, readSigma = 0 } = CORRUPTIONS["poisson-gaussian"].levels[severity - 1];
    const want = 0.5 / c + (readSigma / 255) ** 2;
    const m = moments(ref("poisson-gaussian", severity));
    near(`poisson-gaussian level ${severity} variance`, m.variance, want, 0.05 * want);
  }
  // impulse: a fraction `amount` of pixels hit, half salt and half pepper
  for (let severity = 1; severity <= 5; severity++) {
    const amount = CORRUPTIONS.impulse.levels[severity - 1].value;
    const out = ref("impulse", severity);
    const salt = out.filter((v) => v === 1).length / n,
      pepper = out.filter((v) => v === 0).length / n;
    if (out.some((v) => v !== 0 && v !== 1 && v !== Math.fround(0.5))) throw new Error("bad value");
    near(`impulse ${amount} hit fraction`, salt + pepper, amount, 5 * Math.sqrt(amount / n));
    near(`impulse ${amount} salt fraction`, salt, amount / 2, 5 * Math.sqrt(amount / 2 / n));
  }
});

Deno.test("reference blur, median and contrast on known images", () => {
  const r = rng(6);
  for (const sigma of CORRUPTIONS.blur.levels.map((l) => l.value)) {
    const w = blurWeights(sigma);
    near(`blur ${sigma} weights sum`, w.reduce((s, v, d) => s + (d ? 2 * v : v), 0), 1, 1e-12);
    // a constant image stays constant (clamp-to-edge), so its mean is preserved
    const level = r.next();
    const flat = blurRef(new Float64Array(9 * 7).fill(level), 9, 7, sigma);
    flat.forEach((v, i) => near(`blur ${sigma} of a constant, pixel ${i}`, v, level, 1e-12));
    // an interior impulse spreads into the separable weights, keeping its mass
    const delta = new Float64Array(15 * 15);
    delta[7 * 15 + 7] = 1;
    const spread = blurRef(delta, 15, 15, sigma);
    near(`blur ${sigma} mass`, spread.reduce((s, v) => s + v, 0), 1, 1e-12);
    near(`blur ${sigma} centre`, spread[7 * 15 + 7], w[0] * w[0], 1e-15);
    near(`blur ${sigma} offset (1, 2)`, spread[9 * 15 + 8], w[1] * w[2], 1e-15);
  }
  // a 3x3 patch: the centre's median is 0.5; the corner's clamped window is
  // 0.9 0.9 0.1 / 0.9 0.9 0.1 / 0.2 0.2 0.7 whose median is 0.7
  const patch = [0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4, 0.5];
  const med = medianRef(patch, 3, 3);
  near("median of the patch centre", med[4], 0.5, 0);
  near("median at the corner", med[0], 0.7, 0);
  // isolated salt in a flat image is removed
  const salty = new Float64Array(36).fill(0.25);
  salty[14] = 1;
  if (medianRef(salty, 6, 6).some((v) => v !== 0.25)) throw new Error("median kept the salt");
  // contrast: the mean stays, deviations shrink by the factor
  const img = Float64Array.from({ length: 100 }, () => 0.3 + 0.4 * r.next());
  const before = moments(img);
  for (const c of CORRUPTIONS.contrast.levels.map((l) => l.value)) {
    const after = moments(contrastRef(img, c));
    near(`contrast ${c} mean`, after.mean, before.mean, 1e-12);
    near(`contrast ${c} std`, Math.sqrt(after.variance), c * Math.sqrt(before.variance), 1e-12);
  }
});
