/**
 * Summary statistics, t quantiles against tabulated values, and the interval helpers on synthetic
 * data whose answer is known: a known slope is recovered, a paired difference with a true effect
 * is found and a null one is established at about the stated rate, the sampling error matches
 * simulated test sets.
 */
import assert from "node:assert/strict";
import {
  auditSampleSize,
  formatPercent,
  linearFit,
  mean,
  pairedDifference,
  samplingError,
  std,
  summarize,
  tCdf,
  tQuantile,
} from "../src/util/stats.ts";
import { type Measured, toleratedUpTo, trend } from "../src/study/compare.ts";
import { Rng } from "../src/util/rng.ts";

const close = (got: number, want: number, tol = 1e-12) =>
  assert.ok(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `${got} != ${want}`);

Deno.test("mean and sample standard deviation (n - 1)", () => {
  assert.equal(mean([1, 2, 3, 4]), 2.5);
  // Deviations -1.5, -0.5, 0.5, 1.5: squares sum to 5, divided by n - 1 = 3.
  close(std([1, 2, 3, 4]), Math.sqrt(5 / 3));
  close(std([2, 4, 4, 4, 5, 5, 7, 9]), Math.sqrt(32 / 7));
  assert.equal(std([42]), 0);
  assert.equal(std([3, 3, 3]), 0);
  // A large common offset must not destroy the result (a one-pass formula would).
  close(std([1e9 + 1, 1e9 + 2, 1e9 + 3]), 1, 1e-9);
});

Deno.test("empty and non-finite inputs throw instead of producing NaN", () => {
  assert.throws(() => mean([]), RangeError);
  assert.throws(() => std([]), RangeError);
  assert.throws(() => summarize([]), RangeError);
  assert.throws(() => mean([1, NaN]), /value 1 is NaN/);
  assert.throws(() => std([Infinity, 1]), RangeError);
});

Deno.test("summarize reports mean, std, min, max and n", () => {
  const s = summarize([0.97, 0.99, 0.98]);
  close(s.mean, 0.98);
  close(s.std, 0.01, 1e-9);
  assert.equal(s.min, 0.97);
  assert.equal(s.max, 0.99);
  assert.equal(s.n, 3);
  assert.deepEqual(summarize([5]), { mean: 5, std: 0, min: 5, max: 5, n: 1 });
});

Deno.test("formatPercent", () => {
  assert.equal(formatPercent(0.98765, 2), "98.77%");
  assert.equal(formatPercent(0.5), "50.0%");
  assert.equal(formatPercent(1, 0), "100%");
  assert.equal(formatPercent(0.0001, 3), "0.010%");
  assert.equal(formatPercent(NaN), "n/a");
});

/** Fraction of `trials` for which `hit(rng)` is true (seeded: the same answer every run). */
function rate(seed: number, trials: number, hit: (rng: Rng) => boolean): number {
  const rng = new Rng(seed);
  let hits = 0;
  for (let i = 0; i < trials; i++) if (hit(rng)) hits++;
  return hits / trials;
}

Deno.test("tQuantile matches tabulated values and closed forms", () => {
  // Two-sided 95% (p = 0.975), 90% and 99% factors, to 10 digits (e.g. R's qt).
  const table: [number, number, number][] = [
    [0.975, 1, 12.7062047362],
    [0.975, 2, 4.3026527297],
    [0.975, 3, 3.1824463053],
    [0.975, 4, 2.7764451052],
    [0.975, 5, 2.5705818356],
    [0.975, 9, 2.2621571628],
    [0.975, 10, 2.2281388520],
    [0.975, 30, 2.0422724563],
    [0.95, 1, 6.3137515147],
    [0.95, 5, 2.0150483733],
    [0.995, 10, 3.1692726726],
    [0.975, 1e6, 1.9599663570], // tends to the normal quantile
  ];
  for (const [p, df, want] of table) close(tQuantile(p, df), want, 1e-9);
  const rng = new Rng(7);
  for (let i = 0; i < 50; i++) {
    const p = 0.001 + 0.998 * rng.next();
    // df = 1 is the Cauchy distribution, df = 2 has a closed form too.
    close(tQuantile(p, 1), Math.tan(Math.PI * (p - 0.5)), 1e-9);
    close(tQuantile(p, 2), (2 * p - 1) / Math.sqrt(2 * p * (1 - p)), 1e-9);
    const df = 1 + rng.int(60);
    close(tQuantile(1 - p, df), -tQuantile(p, df), 1e-12);
    close(tCdf(tQuantile(p, df), df), p, 1e-12);
  }
  assert.equal(tQuantile(0.5, 4), 0);
  assert.throws(() => tQuantile(1, 3), /p must be in \(0, 1\)/);
  assert.throws(() => tQuantile(0.975, 0), /degrees of freedom/);
});

Deno.test("linearFit recovers a known slope, and its standard error covers it at the t rate", () => {
  const exact = linearFit([0, 1, 2, 3], [1, 3, 5, 7])!;
  assert.equal(exact.slope, 2);
  assert.equal(exact.slopeSe, 0);
  assert.equal(linearFit([1, 2], [3, 4]), null, "two points have no residual");
  assert.equal(linearFit([2, 2, 2], [1, 2, 3]), null, "all x equal");
  assert.throws(() => linearFit([1, 2, 3], [1, 2]), /3 x values but 2 y values/);
  // y = 5 - 0.3 x + N(0, 0.5²) at 12 points: the interval slope ± t(0.975, 10)·se covers -0.3 in
  // about 95% of the data sets; with a wrong se (or the normal 1.96) it would not.
  const x = Array.from({ length: 12 }, (_, i) => i * 1.5);
  const factor = tQuantile(0.975, x.length - 2);
  let slopes = 0;
  const covered = rate(11, 4000, (rng) => {
    const fit = linearFit(x, x.map((v) => 5 - 0.3 * v + 0.5 * rng.normal()))!;
    slopes += fit.slope;
    return Math.abs(fit.slope + 0.3) <= factor * fit.slopeSe;
  });
  assert.ok(covered > 0.935 && covered < 0.965, `coverage ${covered}`);
  close(slopes / 4000, -0.3, 0.01); // unbiased
});

Deno.test("pairedDifference: interval by hand, one pair never established", () => {
  // d = 1, 2, 3: mean 2, sd 1, half-width t(0.975, 2) / sqrt(3) = 2.484.
  const wide = pairedDifference([1, 2, 3], [0, 0, 0]);
  close(wide.mean, 2);
  close(wide.low, 2 - 4.3026527297 / Math.sqrt(3), 1e-9);
  close(wide.high, 2 + 4.3026527297 / Math.sqrt(3), 1e-9);
  assert.equal(wide.n, 3);
  assert.equal(wide.established, false);
  // The same mean with little spread: established; a negative one too.
  assert.equal(pairedDifference([2.9, 3, 3.1], [1, 1, 1]).established, true);
  assert.equal(pairedDifference([1, 1, 1], [2.9, 3, 3.1]).established, true);
  // A 90% interval is narrower than the 95% one.
  const ninety = pairedDifference([1, 2, 3], [0, 0, 0], 0.9);
  assert.ok(ninety.high - ninety.low < wide.high - wide.low);
  // Identical runs (a reused baseline): no difference at all.
  assert.equal(pairedDifference([0.02, 0.03], [0.02, 0.03]).established, false);
  const one = pairedDifference([0.5], [0.01]);
  assert.deepEqual(one, { mean: 0.49, low: -Infinity, high: Infinity, n: 1, established: false });
  assert.throws(() => pairedDifference([1, 2], [1]), /2 values against 1/);
  assert.throws(() => pairedDifference([], []), RangeError);
  assert.throws(() => pairedDifference([1, NaN], [1, 2]), /not a finite number/);
  assert.throws(() => pairedDifference([1, 2], [1, 2], 1), /confidence/);
});

// Two conditions trained with the same seeds: a seed effect shared by the pair (sd 2) plus
// independent noise (sd 1) per run, and a true difference `effect`.
function pairedRuns(rng: Rng, n: number, effect: number): [number[], number[]] {
  const a: number[] = [], b: number[] = [];
  for (let i = 0; i < n; i++) {
    const seedEffect = 2 * rng.normal();
    a.push(seedEffect + effect + rng.normal());
    b.push(seedEffect + rng.normal());
  }
  return [a, b];
}

Deno.test("pairedDifference: a null effect is established at about 5%, a true one is found", () => {
  // No true difference, 4 seeds: the 95% interval excludes 0 in about 5% of the studies
  // (the normal 1.96 in place of t(0.975, 3) = 3.18 would give about 15%).
  const falseAlarms = rate(
    3,
    8000,
    (rng) => pairedDifference(...pairedRuns(rng, 4, 0)).established,
  );
  assert.ok(falseAlarms > 0.04 && falseAlarms < 0.06, `false alarms ${falseAlarms}`);
  // A true difference of 3 (the paired noise has sd sqrt(2)) with 8 seeds: found nearly always,
  // and the interval covers the true value in about 95% of the studies.
  let covered = 0;
  const found = rate(5, 4000, (rng) => {
    const d = pairedDifference(...pairedRuns(rng, 8, 3));
    if (d.low <= 3 && 3 <= d.high) covered++;
    return d.established && d.mean > 0;
  });
  assert.ok(found > 0.99, `found ${found}`);
  assert.ok(covered / 4000 > 0.935 && covered / 4000 < 0.965, `coverage ${covered / 4000}`);
  // The same effect measured without pairing (differences of unrelated runs) drowns in the seed
  // effect: pairing is what makes it visible.
  const unpaired = rate(5, 2000, (rng) => {
    const [a] = pairedRuns(rng, 8, 3), [, b] = pairedRuns(rng, 8, 3);
    return pairedDifference(a, b).established;
  });
  assert.ok(unpaired < found - 0.2, `unpaired ${unpaired}`);
});

Deno.test("samplingError matches simulated test sets; auditSampleSize reaches its margin", () => {
  // 3000 test sets of 1000 images with a true error rate of 2%.
  const rng = new Rng(9);
  const measuredRates = Array.from({ length: 3000 }, () => {
    let wrong = 0;
    for (let i = 0; i < 1000; i++) if (rng.next() < 0.02) wrong++;
    return wrong / 1000;
  });
  close(std(measuredRates), samplingError(0.02, 1000), 0.05);
  close(samplingError(0.5, 100), 0.05);
  assert.equal(samplingError(0, 100), 0);
  assert.equal(auditSampleSize(0.05, 0.01), 1825);
  for (const [p, margin] of [[0.05, 0.01], [0.15, 0.02], [0.5, 0.03]]) {
    const n = auditSampleSize(p, margin);
    assert.ok(1.96 * samplingError(p, n) <= margin, "n audited images reach the margin");
    assert.ok(1.96 * samplingError(p, n - 1) > margin, "and n - 1 do not");
  }
  // Audits of that size land within ±2 points of a 15% rate about 95% of the time.
  const n = auditSampleSize(0.15, 0.02);
  const within = rate(13, 2000, (r) => {
    let wrong = 0;
    for (let i = 0; i < n; i++) if (r.next() < 0.15) wrong++;
    return Math.abs(wrong / n - 0.15) <= 0.02;
  });
  assert.ok(within > 0.93 && within < 0.97, `within ${within}`);
});

Deno.test("toleratedUpTo: the last level before the first unacceptable one", () => {
  const m = (mean: number): Measured => ({ mean, std: 0.002, n: 3 });
  const sweep = [0, 8, 32, 128];
  const errors = [m(0.02), m(0.021), m(0.024), m(0.05)];
  const budget = (b: number) => toleratedUpTo(sweep, errors, (c) => c.diff <= b);
  assert.deepEqual(budget(0.005), { upTo: 32, firstBad: 128 });
  assert.deepEqual(budget(0.002), { upTo: 8, firstBad: 32 });
  assert.deepEqual(budget(0.0005), { upTo: 0, firstBad: 8 });
  assert.deepEqual(budget(0.1), { upTo: 128, firstBad: null });
  // By the spread rule: +0.1 points is within the sd of 0.2, +0.4 is a real increase.
  const rule = toleratedUpTo(sweep, errors, (c) => c.verdict !== "higher");
  assert.deepEqual(rule, { upTo: 8, firstBad: 32 });
  assert.deepEqual(toleratedUpTo([5], [m(0.02)], () => false), { upTo: 5, firstBad: null });
});

Deno.test("trend: a known slope is recovered; flat noise is called flat at the t rate", () => {
  const xs = Array.from({ length: 40 }, (_, i) => (i + 1) * 1500); // 1,500 .. 60,000 images
  const rng = new Rng(17);
  const falling = {
    imagesSeen: xs,
    mean: xs.map((x) => 0.03 - 2e-7 * x + 0.0005 * rng.normal()),
    std: xs.map(() => 0),
  };
  const t = trend(falling)!;
  assert.equal(t.points, 21); // x >= 30,000
  assert.equal(t.fromX, 30000);
  assert.equal(t.toX, 60000);
  assert.equal(t.direction, "falling");
  // -2e-7 per image = -0.002 per 10,000 images, within 3 standard errors.
  assert.ok(Math.abs(t.slopePer10k! + 0.002) < 3 * t.slopeSePer10k!, `${t.slopePer10k}`);
  // Pure noise: |slope| > 2 se happens with probability P(|T| > 2) for 19 degrees of freedom.
  const expected = 2 * (1 - tCdf(2, 19));
  const notFlat = rate(19, 3000, (r) => {
    const curve = { imagesSeen: xs, mean: xs.map(() => 0.02 + 0.001 * r.normal()), std: [] };
    return trend(curve)!.direction !== "flat";
  });
  assert.ok(Math.abs(notFlat - expected) < 0.015, `${notFlat} vs ${expected}`);
  assert.equal(trend({ imagesSeen: [], mean: [], std: [] }), null);
  assert.equal(trend({ imagesSeen: [1, 2], mean: [1, 2], std: [0, 0] })!.direction, null);
});
