/**
 * The study's building blocks: the image-noise generator as the GPU applies it (mean, standard
 * deviation, clipping, determinism, independence from batch order), label corruption (exact
 * count, seeded, changed count), the summaries over seeds and the comparison rule.
 */
import assert from "node:assert/strict";
import { type GpuDataset, uploadDataset } from "../src/ops/gather.ts";
import type { GpuContext } from "../src/gpu/context.ts";
import { noisyPixelRef } from "../src/ops/gather.ts";
import { compare, isReal } from "../src/study/compare.ts";
import {
  firstOfEachClass,
  gatherImages,
  noiseStatistics,
  runNoise,
} from "../src/study/image_noise.ts";
import { corruptedCount, corruptLabels } from "../src/study/label_noise.ts";
import { type RunRecord, summarizeRuns } from "../src/study/results.ts";
import { sweepValues } from "../experiments/common.ts";
import { UsageError } from "../src/cli/args.ts";
import { Rng } from "../src/util/rng.ts";
import { gpu, rng } from "./helpers.ts";

const PIXELS = 784;

function constantImages(count: number, value: number): Uint8Array {
  return new Uint8Array(count * PIXELS).fill(value);
}

/** `count` images with every pixel `value` (all labelled 0), on the GPU. */
function constantDataset(ctx: GpuContext, count: number, value: number): GpuDataset {
  return uploadDataset(ctx, constantImages(count, value), new Array(count).fill(0), count, PIXELS);
}

function meanStd(values: ArrayLike<number>): { mean: number; std: number } {
  let s = 0, s2 = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  const mean = s / values.length;
  for (let i = 0; i < values.length; i++) s2 += (values[i] - mean) ** 2;
  return { mean, std: Math.sqrt(s2 / (values.length - 1)) };
}

function concat(images: Float32Array[]): Float64Array {
  const out = new Float64Array(images.length * PIXELS);
  images.forEach((img, i) => out.set(img, i * PIXELS));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Image noise on the GPU

Deno.test("image noise: an image gets the same noise in any batch order and batch size", async () => {
  const ctx = await gpu();
  const r = rng(11);
  const count = 40;
  const images = new Uint8Array(count * PIXELS).map(() => r.int(256));
  const data = uploadDataset(ctx, images, new Array(count).fill(0), count, PIXELS);
  const noise = runNoise(32, 12345);
  const orderA = Array.from(r.permutation(count));
  const orderB = Array.from(r.permutation(count));
  assert.notDeepEqual(orderA, orderB);
  const a = await gatherImages(ctx, data, orderA, noise);
  // B: a different order, gathered in two batches of different sizes
  const b = [
    ...await gatherImages(ctx, data, orderB.slice(0, 13), noise),
    ...await gatherImages(ctx, data, orderB.slice(13), noise),
  ];
  const byImageA = new Map(orderA.map((img, i) => [img, a[i]]));
  orderB.forEach((img, i) => {
    const x = byImageA.get(img)!, y = b[i];
    for (let p = 0; p < PIXELS; p++) {
      if (!Object.is(x[p], y[p])) {
        throw new Error(`image ${img} pixel ${p}: ${x[p]} in order A, ${y[p]} in order B`);
      }
    }
  });
  // determinism: gathering again gives the same bits; another seed gives other noise
  const again = await gatherImages(ctx, data, orderA, noise);
  assert.deepEqual(again, a);
  const other = await gatherImages(ctx, data, orderA, runNoise(32, 54321));
  assert.notDeepEqual(other[0], a[0]);
  // and every value matches the CPU reference (float32 Box-Muller vs float64)
  orderA.forEach((img, i) => {
    for (let p = 0; p < PIXELS; p += 7) {
      const want = noisyPixelRef(images[img * PIXELS + p], noise, img, p);
      if (!(Math.abs(a[i][p] - want) < 0.05)) {
        throw new Error(`image ${img} pixel ${p}: GPU ${a[i][p]}, reference ${want}`);
      }
    }
  });
});

Deno.test("image noise: zero mean and standard deviation sigma away from the clipping limits, not re-quantized", async () => {
  const ctx = await gpu();
  const count = 60;
  const data = constantDataset(ctx, count, 128);
  const indices = Array.from({ length: count }, (_, i) => i);
  for (const sigma of [8, 20]) {
    const values = concat(await gatherImages(ctx, data, indices, runNoise(sigma, 7)));
    const noise = values.map((v) => v - 128);
    const { mean, std } = meanStd(noise);
    const n = noise.length; // 47,040
    // 5 standard errors: a test that can fail, but not by chance
    assert.ok(Math.abs(mean) < 5 * sigma / Math.sqrt(n), `sigma ${sigma}: noise mean ${mean}`);
    assert.ok(
      Math.abs(std - sigma) < 5 * sigma / Math.sqrt(2 * n),
      `sigma ${sigma}: noise sd ${std}`,
    );
    const fractional = noise.filter((v) => v !== Math.round(v)).length;
    assert.ok(fractional > 0.99 * n, `only ${fractional} of ${n} values are not integers`);
  }
  const clean = concat(await gatherImages(ctx, data, indices));
  assert.ok(clean.every((v) => v === 128), "without noise the pixels are unchanged");
  const zero = concat(await gatherImages(ctx, data, indices, { sigma: 0, seed: 3 }));
  assert.ok(zero.every((v) => v === 128), "sigma 0 leaves pixels unchanged");
});

Deno.test("image noise: at sigma 128 about half the pixels of a black or white image clip exactly", async () => {
  const ctx = await gpu();
  const count = 40;
  const indices = Array.from({ length: count }, (_, i) => i);
  const sigma = 128;
  const n = count * PIXELS;
  // black: noise below 0 clips to exactly 0; the clipped mean is sigma / sqrt(2 pi)
  const black = constantDataset(ctx, count, 0);
  const b = concat(await gatherImages(ctx, black, indices, runNoise(sigma, 99)));
  const atZero = b.filter((v) => v === 0).length / n;
  assert.ok(Math.abs(atZero - 0.5) < 0.015, `fraction exactly 0: ${atZero}`);
  assert.ok(b.every((v) => v >= 0 && v <= 255), "values stay in [0, 255]");
  assert.ok(b.some((v) => v === 255), "some pixels clip at 255 (2 sd above 0)");
  const clippedMean = meanStd(b).mean;
  const want = sigma / Math.sqrt(2 * Math.PI);
  assert.ok(Math.abs(clippedMean - want) < 2, `clipped mean ${clippedMean}, expected ${want}`);
  // white: noise above 255 clips to exactly 255
  const white = constantDataset(ctx, count, 255);
  const w = concat(await gatherImages(ctx, white, indices, runNoise(sigma, 99)));
  const at255 = w.filter((v) => v === 255).length / n;
  assert.ok(Math.abs(at255 - 0.5) < 0.015, `fraction exactly 255: ${at255}`);
  // the CPU statistics agree with the GPU values
  const stats = noiseStatistics(constantImages(count, 0), PIXELS, count, runNoise(sigma, 99));
  assert.ok(Math.abs(stats.clippedLow - atZero) < 1e-3, `${stats.clippedLow} vs ${atZero}`);
  assert.ok(Math.abs(stats.backgroundMean - clippedMean) < 0.05);
});

Deno.test("noiseStatistics: nothing changes at sigma 0; clipping grows with sigma", () => {
  const r = new Rng(5);
  const count = 30;
  const images = new Uint8Array(count * PIXELS).map(() => (r.next() < 0.8 ? 0 : r.int(256)));
  const s0 = noiseStatistics(images, PIXELS, count, runNoise(0, 1));
  assert.deepEqual(
    [s0.clippedLow, s0.clippedHigh, s0.meanAbsChange, s0.backgroundMean, s0.changeStd],
    [0, 0, 0, 0, 0],
  );
  const s8 = noiseStatistics(images, PIXELS, count, runNoise(8, 1));
  const s128 = noiseStatistics(images, PIXELS, count, runNoise(128, 1));
  assert.ok(s8.clippedHigh < s128.clippedHigh && s8.meanAbsChange < s128.meanAbsChange);
  assert.ok(s8.backgroundMean > 2.5 && s8.backgroundMean < 4, `${s8.backgroundMean}`); // 8/sqrt(2 pi)
});

Deno.test("firstOfEachClass: the first index of each label", () => {
  assert.deepEqual(firstOfEachClass([3, 1, 3, 0, 2, 1], 4), [3, 1, 4, 0]);
  assert.deepEqual(firstOfEachClass([1, 1], 3), [0]);
});

// ---------------------------------------------------------------------------------------------
// Label corruption

function randomLabels(n: number, seed: number): Uint8Array {
  const r = new Rng(seed);
  return Uint8Array.from({ length: n }, () => r.int(10));
}

Deno.test("corruptedCount: round(frac x N), halves up, float error ignored", () => {
  assert.equal(corruptedCount(0.15, 60000), 9000);
  assert.equal(corruptedCount(0.05, 60000), 3000);
  assert.equal(corruptedCount(0.5, 60000), 30000);
  assert.equal(corruptedCount(0.5, 5), 3);
  assert.equal(corruptedCount(0.1, 3), 0);
  assert.equal(corruptedCount(1, 7), 7);
  assert.equal(corruptedCount(0, 7), 0);
  assert.throws(() => corruptedCount(1.5, 10), RangeError);
  assert.throws(() => corruptedCount(-0.1, 10), RangeError);
  assert.throws(() => corruptedCount(NaN, 10), RangeError);
});

Deno.test("corruptLabels: exact count without replacement, changed count, input untouched", () => {
  const labels = randomLabels(20000, 1);
  const before = labels.slice();
  for (const frac of [0, 0.05, 0.15, 0.5, 1]) {
    const c = corruptLabels(labels, frac, 42);
    const k = Math.round(frac * labels.length);
    assert.equal(c.corrupted.length, k, `frac ${frac}`);
    assert.equal(new Set(c.corrupted).size, k, "indices are distinct");
    for (let i = 1; i < k; i++) assert.ok(c.corrupted[i - 1] < c.corrupted[i], "sorted");
    let changed = 0;
    const picked = new Set(c.corrupted);
    for (let i = 0; i < labels.length; i++) {
      if (c.labels[i] !== labels[i]) {
        changed++;
        assert.ok(picked.has(i), `label ${i} changed but was not picked`);
      }
      assert.ok(c.labels[i] < 10);
    }
    assert.equal(c.changed, changed, `frac ${frac}: reported changed count`);
    // uniform labels keep the true label one time in ten: changed ~ Binomial(k, 0.9)
    if (k > 0) {
      const sd = Math.sqrt(k * 0.9 * 0.1);
      assert.ok(Math.abs(changed - 0.9 * k) < 5 * sd, `frac ${frac}: ${changed} of ${k} changed`);
    }
  }
  assert.deepEqual(labels, before, "the input labels are not modified");
});

Deno.test("corruptLabels: seeded, uniform labels, 'different' mode always changes", () => {
  const labels = randomLabels(10000, 2);
  const a = corruptLabels(labels, 0.3, 7), b = corruptLabels(labels, 0.3, 7);
  assert.deepEqual(a, b, "same seed, same corruption");
  const c = corruptLabels(labels, 0.3, 8);
  assert.notDeepEqual(a.corrupted, c.corrupted, "another seed picks other images");
  // the new labels are uniform over 0..9 (chi-square with 9 degrees of freedom, p ~ 1e-6 bound)
  const counts = new Array(10).fill(0);
  for (const i of a.corrupted) counts[a.labels[i]]++;
  const expected = a.corrupted.length / 10;
  const chi2 = counts.reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
  assert.ok(chi2 < 40, `new labels not uniform: chi2 ${chi2}, counts ${counts}`);
  // the picked images are spread over the whole set
  const meanIndex = a.corrupted.reduce((s, i) => s + i, 0) / a.corrupted.length;
  assert.ok(Math.abs(meanIndex - 5000) < 200, `mean picked index ${meanIndex}`);
  const d = corruptLabels(labels, 0.3, 7, "different");
  assert.equal(d.changed, d.corrupted.length);
  for (const i of d.corrupted) assert.notEqual(d.labels[i], labels[i]);
  assert.deepEqual(d.corrupted, a.corrupted, "the mode changes the labels, not the selection");
});

Deno.test("corruptLabels: rejects bad fractions and labels", () => {
  assert.throws(() => corruptLabels([1, 2], 2, 1), /\[0, 1\]/);
  assert.throws(() => corruptLabels([1, 12], 0.5, 1), /label 1 is 12/);
  assert.throws(() => corruptLabels([1, -1], 0.5, 1), /label 1 is -1/);
  assert.throws(() => corruptLabels([1, 2], 0.5, 1, "odd" as "uniform"), /unknown label mode/);
});

// ---------------------------------------------------------------------------------------------
// Statistics over seeds and the comparison rule

function run(seed: number, testError: number, perClass: number[], curve: number[]): RunRecord {
  return {
    seed,
    testError,
    perClassError: perClass,
    confusion: [[8, 2], [1, 9]].map((row) => row.map((v) => v * seed)),
    learningCurve: {
      trainLoss: curve.map((v, i) => ({ epoch: 0, step: i, imagesSeen: (i + 1) * 100, loss: v })),
      testError: curve.map((v, i) => ({
        epoch: 0,
        epochs: (i + 1) / curve.length,
        imagesSeen: (i + 1) * 100,
        error: v / 10,
      })),
    },
    trainSeconds: 1,
    imagesPerSecond: 100,
  };
}

Deno.test("summarizeRuns: mean and sample sd per condition, per class and along the curves", () => {
  const s = summarizeRuns([
    run(1, 0.1, [0.1, 0.2], [1, 0.5]),
    run(2, 0.2, [0.3, 0.2], [2, 0.7]),
    run(3, 0.3, [0.5, 0.2], [3, 0.9]),
  ]);
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);
  close(s.testError.mean, 0.2);
  close(s.testError.std, 0.1);
  assert.equal(s.testError.n, 3);
  close(s.perClassError.mean[0], 0.3);
  close(s.perClassError.std[0], 0.2);
  close(s.perClassError.std[1], 0);
  assert.deepEqual(s.confusion, [[48, 12], [6, 54]]);
  assert.deepEqual(s.lossCurve.imagesSeen, [100, 200]);
  close(s.lossCurve.mean[0], 2);
  close(s.lossCurve.std[0], 1);
  close(s.testCurve.mean[1], 0.07);
  assert.throws(() => summarizeRuns([]), RangeError);
});

Deno.test("compare: real only beyond the larger sd; never with a single run", () => {
  const base = { mean: 0.02, std: 0.001, n: 3 };
  assert.equal(compare({ mean: 0.025, std: 0.002, n: 3 }, base).verdict, "higher");
  assert.equal(compare({ mean: 0.015, std: 0.002, n: 3 }, base).verdict, "lower");
  // 0.0015 apart, larger sd 0.002: within the spread
  assert.equal(compare({ mean: 0.0215, std: 0.002, n: 3 }, base).verdict, "within-spread");
  // exactly one sd apart is not "more than" the spread
  assert.equal(compare({ mean: 0.022, std: 0.002, n: 3 }, base).verdict, "within-spread");
  const c = compare({ mean: 0.5, std: 0, n: 1 }, { mean: 0.01, std: 0, n: 1 });
  assert.equal(c.verdict, "single-run");
  assert.equal(c.spread, null);
  assert.equal(isReal(c), false);
  assert.equal(
    compare({ mean: 0.5, std: 0.01, n: 3 }, { mean: 0.01, std: 0, n: 1 }).verdict,
    "single-run",
  );
});

Deno.test("sweepValues: defaults, one value, a list in ascending order; both or duplicates rejected", () => {
  const flags = { single: "sigma", list: "sigmas" };
  assert.deepEqual(sweepValues(undefined, undefined, [0, 8], flags), [0, 8]);
  assert.deepEqual(sweepValues(32, undefined, [0, 8], flags), [32]);
  assert.deepEqual(sweepValues(undefined, [32, 0, 8], [0], flags), [0, 8, 32]);
  assert.throws(() => sweepValues(8, [8], [0], flags), UsageError);
  assert.throws(() => sweepValues(undefined, [8, 8], [0], flags), /lists 8 twice/);
});
