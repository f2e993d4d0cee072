/**
 * Part 2's test-time statistics (src/study/noise_analysis.ts) on hand-made records: paired
 * differences per seed and image with their intervals, the tolerated test noise for a budget,
 * per-class changes; and the corruption-suite option (experiments/part2_testtime.ts).
 */
import assert from "node:assert/strict";
import {
  confusionRateChange,
  meanBand,
  medianEffect,
  pairedWrong,
  perClassChange,
  tolerance,
} from "../src/study/noise_analysis.ts";
import { wrongBits } from "../src/study/noise_eval.ts";
import type { Part2Condition, Part2Run, Part2TestTimeSetup } from "../src/study/results.ts";
import { parseSuite } from "../experiments/part2_testtime.ts";
import { rng } from "./helpers.ts";

const u8 = (v: number[]) => Uint8Array.from(v);

Deno.test("pairedWrong: seed and image intervals by hand; established only when both exclude 0", () => {
  const a = [u8([1, 0, 1, 1]), u8([1, 1, 0, 1])], b = [u8([0, 0, 1, 0]), u8([0, 1, 0, 0])];
  const e = pairedWrong(a, b);
  assert.equal(e.mean, 0.5);
  assert.equal(e.seedLow, 0.5); // both seeds differ by exactly 0.5: no spread over seeds
  assert.equal(e.seedHigh, 0.5);
  // per-image differences averaged over seeds: 1, 0, 0, 1 (sd 0.57735)
  const half = 1.959964 * Math.sqrt(1 / 3) / 2;
  assert.ok(Math.abs(e.imageLow - (0.5 - half)) < 1e-12);
  assert.ok(Math.abs(e.imageHigh - (0.5 + half)) < 1e-12);
  assert.equal(e.established, false, "the image interval includes 0");
  assert.equal(e.low, e.imageLow);
  // many images, a consistent effect: established
  const r = rng(5);
  const n = 2000;
  const worse = [0, 1, 2].map(() => u8(Array.from({ length: n }, () => (r.next() < 0.2 ? 1 : 0))));
  const better = worse.map((w) => w.map((v, i) => (i % 4 === 0 ? 0 : v)));
  const d = pairedWrong(worse, better);
  assert.ok(d.mean > 0.03 && d.established, JSON.stringify(d));
  assert.ok(d.low > 0 && d.low <= d.seedLow && d.low <= d.imageLow);
  // one seed: nothing is established
  assert.equal(pairedWrong(worse.slice(0, 1), better.slice(0, 1)).established, false);
  assert.throws(() => pairedWrong(worse, better.slice(0, 2)), /3 seeds against 2/);
});

Deno.test("meanBand: the t interval of the mean over seeds", () => {
  const b = meanBand([0.01, 0.02, 0.03]);
  assert.ok(Math.abs(b.mean - 0.02) < 1e-15);
  // t(0.975, 2) = 4.3027, sd 0.01, n 3
  assert.ok(Math.abs(b.high - 0.02 - 4.302653 * 0.01 / Math.sqrt(3)) < 1e-6);
  assert.equal(meanBand([0.5]).low, -Infinity);
});

/** A condition whose run s errs on the first errors[j][s] of `n` images at test sigma j. */
function condition(sigma: number, errors: number[][], n: number): Part2Condition {
  const seeds = errors[0].length;
  const runs: Part2Run[] = Array.from({ length: seeds }, (_, s) => {
    const grid = errors.map((row) => {
      const wrong = Array.from({ length: n }, (_, i) => (i < row[s] ? 1 : 0));
      return { error: row[s] / n, wrong: wrongBits(wrong, new Array(n).fill(0)) };
    });
    return {
      seed: s + 1,
      testError: errors[0][s] / n,
      perClassError: [0.01 * (s + 1) + (sigma > 0 ? 0.05 : 0), 0.02],
      confusion: [[9, 1], [2, 8]],
      learningCurve: { trainLoss: [], testError: [] },
      trainSeconds: 1,
      imagesPerSecond: 1,
      noiseSeed: 1,
      testTime: { grid, suite: [{ name: "clean", severity: 0, ...grid[0], median: grid[1] }] },
    };
  });
  return { sigma, runs } as unknown as Part2Condition;
}

Deno.test("tolerance: largest test sigma within the budget, with the interval-based bounds", () => {
  const n = 1000;
  const setup: Part2TestTimeSetup = {
    testSigmas: [0, 8, 16, 32],
    gridImages: n,
    testSeed: 1,
    suiteImages: n,
    suite: [{ name: "clean", severity: 0, label: "clean" }],
    budget: 0.01,
  };
  // clean 2%; +0.2 points at 8, +0.9 at 16 (mean within), +6 points at 32
  const c = condition(0, [[20, 20, 20], [22, 22, 22], [29, 29, 29], [80, 80, 80]], n);
  const t = tolerance(c, setup, 0.01);
  assert.equal(t.clean, 0.02);
  assert.equal(t.tolerated, 16);
  assert.ok(Math.abs(t.increase[3].mean - 0.06) < 1e-12);
  assert.equal(t.surelyOver, 32, "6 points over a 1-point budget is surely over");
  assert.equal(t.surelyWithin, 8, "0.9 points is within the budget but not surely");
  // the median "effect" of the clean entry here is test sigma 8 against 0: +0.2 points
  const m = medianEffect(c, 0, n)!;
  assert.ok(Math.abs(m.mean - 0.002) < 1e-12);
});

Deno.test("per-class change paired by seed; confusion rate change", () => {
  const n = 100;
  const base = condition(0, [[5, 6, 7]], n), noisy = condition(32, [[9, 9, 9]], n);
  const d = perClassChange(base, noisy);
  assert.equal(d.length, 2);
  assert.ok(Math.abs(d[0].mean - 0.05) < 1e-12 && d[0].established, "class 0 +5 points");
  assert.ok(Math.abs(d[1].mean) < 1e-15 && !d[1].established, "class 1 unchanged");
  const ch = confusionRateChange([[9, 1], [2, 8]], [[8, 2], [2, 8]]);
  assert.ok(Math.abs(ch[0][1] - 0.1) < 1e-12 && Math.abs(ch[0][0] + 0.1) < 1e-12);
  assert.equal(ch[1][0], 0);
});

Deno.test("--corruptions: names and severities, one-line errors", () => {
  const all = parseSuite("shot,poisson-gaussian,impulse,blur,contrast");
  assert.equal(all.length, 1 + 5 + 3 + 5 + 3 + 3);
  assert.deepEqual(all[0], { name: "clean", severity: 0, label: "clean" });
  assert.deepEqual(parseSuite("blur:2").map((e) => e.label), ["clean", "blur sigma=1"]);
  assert.throws(() => parseSuite("fog"), /unknown corruption 'fog'; use NAME or NAME:S/);
  assert.throws(() => parseSuite("median"), /unknown corruption 'median'/);
  assert.throws(() => parseSuite("blur:4"), /'blur' has severities 1\.\.3, got '4'/);
  assert.throws(() => parseSuite("impulse:0"), /'impulse' has severities 1\.\.5, got '0'/);
  assert.throws(() => parseSuite("shot,shot:2"), /lists shot:2 twice/);
  assert.throws(() => parseSuite(""), /--corruptions is empty/);
});
