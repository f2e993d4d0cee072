/**
 * Confident learning on data whose answer is known: hand-worked tiny cases (thresholds, confident
 * joint, calibration, noise matrix, suspects: exact numbers), a simulated 10-class classifier
 * (~97% accurate, with confusable pairs) whose labels are corrupted uniformly or systematically,
 * edge cases, input validation, and the seeded k-fold split.
 */
import assert from "node:assert/strict";
import {
  calibrateJoint,
  confidentJointCounts,
  confidentLabels,
  confidentLearning,
  kFoldSplits,
  noiseMatrixFromJoint,
  perClassThresholds,
} from "../src/study/confident_learning.ts";
import { corruptLabels } from "../src/study/label_noise.ts";
import { Rng } from "../src/util/rng.ts";

const close = (got: number, want: number, tol = 1e-12) =>
  assert.ok(Math.abs(got - want) <= tol, `${got} != ${want} (tolerance ${tol})`);

const closeMatrix = (got: number[][], want: number[][], tol = 1e-12) => {
  assert.equal(got.length, want.length);
  got.forEach((row, i) => row.forEach((v, j) => close(v, want[i][j], tol)));
};

// ---------------------------------------------------------------- hand-worked examples

// Three classes, six images. t = [(0.75 + 0.5) / 2, (0.75 + 0.25) / 2, (0.75 + 0.5) / 2]
// = [0.625, 0.5, 0.625]. Confident labels: r0 -> 0, r1 none (0.5 < 0.625, 0.25 < 0.5),
// r2 -> 1, r3 -> 0 (given 1: off-diagonal), r4 -> 2, r5 none.
const TINY3 = {
  labels: [0, 0, 1, 1, 2, 2],
  probs: new Float64Array([
    [0.75, 0.125, 0.125],
    [0.5, 0.25, 0.25],
    [0.125, 0.75, 0.125],
    [0.75, 0.25, 0],
    [0.125, 0.125, 0.75],
    [0.25, 0.25, 0.5],
  ].flat()),
};

Deno.test("hand-worked: thresholds, confident joint and calibrated joint (3 classes)", () => {
  const { probs, labels } = TINY3;
  assert.deepEqual(perClassThresholds(probs, labels, 3), [0.625, 0.5, 0.625]);
  const confident = confidentLabels(probs, [0.625, 0.5, 0.625], 3);
  assert.deepEqual(Array.from(confident), [0, -1, 1, 0, 2, -1]);
  const r = confidentLearning(probs, labels, 3);
  assert.deepEqual(r.confidentJoint, [[1, 0, 0], [1, 1, 0], [0, 0, 1]]);
  assert.deepEqual(r.givenCounts, [2, 2, 2]);
  // Rows rescaled to the given counts: [2,0,0], [1,1,0], [0,0,2]; total 6.
  closeMatrix(r.joint, [[1 / 3, 0, 0], [1 / 6, 1 / 6, 0], [0, 0, 1 / 3]]);
  close(r.noiseRate, 1 / 6);
  // P(given | true): column 0 has mass 1/2, split 2/3 given 0 and 1/3 given 1.
  closeMatrix(r.noiseMatrix, [[2 / 3, 0, 0], [1 / 3, 1, 0], [0, 0, 1]]);
  closeMatrix([r.labelErrorsByClass], [[0, 1, 0]]);
  // Prune by noise rate: round(6 * 1/6) = 1 image given 1 with the largest p0 - p1: r3.
  assert.deepEqual(r.suspects, [{ index: 3, givenLabel: 1, suggestedLabel: 0, confidence: 0.25 }]);
  const m = confidentLearning(probs, labels, 3, { rankBy: "normalized-margin" });
  assert.deepEqual(m.suspects, [{ index: 3, givenLabel: 1, suggestedLabel: 0, confidence: -0.5 }]);
});

// Two classes, five images: t0 = (0.875 + 0.5 + 0.375) / 3 = 0.5833, t1 = (0.875 + 0.25) / 2
// = 0.5625. r0 -> 0, r1 none, r2 -> 1 (given 0), r3 -> 1, r4 -> 0 (given 1).
const TINY2 = {
  labels: [0, 0, 0, 1, 1],
  probs: new Float32Array([0.875, 0.125, 0.5, 0.5, 0.375, 0.625, 0.125, 0.875, 0.75, 0.25]),
};

Deno.test("hand-worked: calibration rescales rows with uncounted images (2 classes)", () => {
  const { probs, labels } = TINY2;
  const r = confidentLearning(probs, labels, 2);
  close(r.thresholds[0], 1.75 / 3);
  assert.equal(r.thresholds[1], 0.5625);
  assert.deepEqual(r.confidentJoint, [[1, 1], [1, 1]]);
  // Row 0 counts 2 of its 3 images: rescaled to [1.5, 1.5]; row 1 stays [1, 1]; total 5.
  closeMatrix(r.joint, [[0.3, 0.3], [0.2, 0.2]]);
  close(r.noiseRate, 0.5);
  closeMatrix(r.noiseMatrix, [[0.6, 0.6], [0.4, 0.4]]);
  closeMatrix([r.labelErrorsByClass], [[1.5, 1]]);
  // Prune by noise rate: (0,1) takes round(1.5) = 2 of r0..r2 by p1 - p0 (r2, r1); (1,0) takes
  // round(1) = 1 of r3, r4 by p0 - p1 (r4). Ranked by self-confidence: 0.25, 0.375, 0.5.
  assert.deepEqual(r.suspects.map((s) => [s.index, s.givenLabel, s.suggestedLabel, s.confidence]), [
    [4, 1, 0, 0.25],
    [2, 0, 1, 0.375],
    [1, 0, 1, 0.5],
  ]);
  // The confident joint's off-diagonal members are r2 and r4 only; "both" intersects.
  for (const method of ["confident-joint", "both"] as const) {
    assert.deepEqual(confidentLearning(probs, labels, 2, { method }).suspects.map((s) => s.index), [
      4,
      2,
    ]);
  }
});

Deno.test("confident labels: threshold inclusive, classes below threshold skipped, ties to lower index", () => {
  const probs = new Float64Array([
    [0.5, 0.5, 0],
    [0.25, 0.4375, 0.3125],
    [0.125, 0.5, 0.375],
    [0.125, 0.25, 0.625],
  ].flat());
  // r0: classes 0 and 1 tie above their thresholds -> 0. r1: class 1 is the most probable but
  // under t1, class 2 under t2 -> 0. r2: 0.5 >= t1 and 0.375 >= t2 (inclusive) -> 1. r3 -> 2.
  assert.deepEqual(Array.from(confidentLabels(probs, [0.25, 0.5, 0.375], 3)), [0, 0, 1, 2]);
  assert.deepEqual(Array.from(confidentLabels(probs, [0.625, 0.625, 0.75], 3)), [-1, -1, -1, -1]);
  const joint = confidentJointCounts([2, 1, 0, 1], Int32Array.from([-1, 0, 2, 0]), 3);
  assert.deepEqual(joint, [[0, 0, 1], [2, 0, 0], [0, 0, 0]]);
});

Deno.test("calibration and noise matrix: empty rows and columns", () => {
  // Row 1 has given images but no confident count: its mass goes to the diagonal. Row 2 has no
  // images. Column 2 has no mass: identity column.
  const q = calibrateJoint([[3, 1, 0], [0, 0, 0], [0, 0, 0]], [8, 4, 0]);
  closeMatrix(q, [[0.5, 1 / 6, 0], [0, 1 / 3, 0], [0, 0, 0]]);
  closeMatrix(noiseMatrixFromJoint(q), [[1, 1 / 3, 0], [0, 2 / 3, 0], [0, 0, 1]]);
});

// ---------------------------------------------------------------- simulated classifier

const C = 10;
const N = 20_000;
/** Each class's most confusable neighbour (gets a random logit boost). */
const CONFUSER = [6, 7, 7, 5, 9, 3, 0, 1, 3, 4];

/**
 * A simulated out-of-sample classifier: logits are standard normal, the true class is boosted
 * by a margin ~ N(4.7, 1) and the confusable class by U(0, 2); softmax. About 97% accurate.
 */
function simulate(seed: number): { truth: Uint8Array; probs: Float64Array; accuracy: number } {
  const rng = new Rng(seed);
  const truth = new Uint8Array(N);
  const probs = new Float64Array(N * C);
  const z = new Float64Array(C);
  let correct = 0;
  for (let r = 0; r < N; r++) {
    const y = rng.int(C);
    truth[r] = y;
    for (let k = 0; k < C; k++) z[k] = rng.normal();
    z[y] += 4.7 + rng.normal();
    z[CONFUSER[y]] += 2 * rng.next();
    let max = -Infinity, argmax = 0;
    for (let k = 0; k < C; k++) if (z[k] > max) [max, argmax] = [z[k], k];
    if (argmax === y) correct++;
    let sum = 0;
    for (let k = 0; k < C; k++) sum += Math.exp(z[k] - max);
    for (let k = 0; k < C; k++) probs[r * C + k] = Math.exp(z[k] - max) / sum;
  }
  return { truth, probs, accuracy: correct / N };
}

const SIM = simulate(20260);

Deno.test("simulated classifier is about 97% accurate", () => {
  assert.ok(SIM.accuracy > 0.96 && SIM.accuracy < 0.98, `accuracy ${SIM.accuracy}`);
});

Deno.test("uniform label noise: estimated rate within 1 point of the true changed fraction", () => {
  for (const frac of [0, 0.05, 0.15, 0.5]) {
    const { labels, changed } = corruptLabels(SIM.truth, frac, 7, "uniform", C);
    const r = confidentLearning(SIM.probs, labels, C);
    const truth = changed / N;
    assert.ok(
      Math.abs(r.noiseRate - truth) < 0.01,
      `${frac}: estimated ${r.noiseRate}, true ${truth}`,
    );
    close(r.joint.flat().reduce((a, b) => a + b, 0), 1, 1e-9);
    const errors = r.labelErrorsByClass.reduce((a, b) => a + b, 0);
    close(errors, r.noiseRate * N, 1e-6);
    // Pruning by noise rate returns about n x noise rate suspects.
    assert.ok(Math.abs(r.suspects.length - r.noiseRate * N) <= 0.01 * N + C * C);
    if (frac > 0) {
      // Uniform noise: every off-diagonal entry of the noise matrix is about frac / C.
      for (let i = 0; i < C; i++) {
        for (let j = 0; j < C; j++) {
          if (i !== j) assert.ok(Math.abs(r.noiseMatrix[i][j] - frac / C) < 0.02);
        }
      }
    }
  }
});

Deno.test("uniform 15% noise: top-ranked suspects are truly corrupted, suggestions are the truth", () => {
  const { labels } = corruptLabels(SIM.truth, 0.15, 11, "uniform", C);
  for (const rankBy of ["self-confidence", "normalized-margin"] as const) {
    for (const method of ["prune-by-noise-rate", "confident-joint", "both"] as const) {
      const { suspects } = confidentLearning(SIM.probs, labels, C, { rankBy, method });
      const top = suspects.slice(0, 1000);
      assert.equal(top.length, 1000, `${method}: only ${suspects.length} suspects`);
      const wrong = top.filter((s) => labels[s.index] !== SIM.truth[s.index]).length;
      const fixed = top.filter((s) => s.suggestedLabel === SIM.truth[s.index]).length;
      assert.ok(wrong / 1000 > 0.9, `${method}/${rankBy}: precision ${wrong / 1000}`);
      assert.ok(fixed / 1000 > 0.9, `${method}/${rankBy}: suggestion accuracy ${fixed / 1000}`);
      for (let q = 1; q < suspects.length; q++) {
        assert.ok(suspects[q - 1].confidence <= suspects[q].confidence, "not sorted");
      }
      for (const s of top) assert.equal(s.givenLabel, labels[s.index]);
    }
  }
});

Deno.test("systematic noise 4->9, 3->5, 7->1: the noise matrix recovers the flipped pairs", () => {
  const flips: [number, number, number][] = [[4, 9, 0.3], [3, 5, 0.25], [7, 1, 0.2]];
  const rng = new Rng(99);
  const labels = Uint8Array.from(SIM.truth);
  for (let r = 0; r < N; r++) {
    for (const [from, to, rate] of flips) {
      if (SIM.truth[r] === from && rng.next() < rate) labels[r] = to;
    }
  }
  const trueChanged = labels.filter((y, i) => y !== SIM.truth[i]).length / N;
  // The model either ignores the flips or, trained on these labels, partly learns them (half of
  // the noisy posterior blended in).
  for (const learned of [0, 0.5]) {
    const probs = Float64Array.from(SIM.probs);
    for (let r = 0; r < N; r++) {
      for (const [from, to, rate] of flips) {
        const moved = learned * rate * SIM.probs[r * C + from];
        probs[r * C + from] -= moved;
        probs[r * C + to] += moved;
      }
    }
    const r = confidentLearning(probs, labels, C);
    // One-sided noise is underestimated a little: the class receiving the flips gets a lower
    // threshold (so nearly all its clean images count) while flipped images only count when
    // they are more confident than their true class's mean. Seen here: about 15% relative.
    const rel = (got: number, want: number) => Math.abs(got - want) / want;
    assert.ok(rel(r.noiseRate, trueChanged) < 0.2, `${learned}: ${r.noiseRate} vs ${trueChanged}`);
    for (const [from, to] of flips) {
      let ofClass = 0, flipped = 0;
      for (let i = 0; i < N; i++) {
        if (SIM.truth[i] === from) ofClass++, flipped += labels[i] === to ? 1 : 0;
      }
      const got = r.noiseMatrix[to][from];
      assert.ok(
        rel(got, flipped / ofClass) < 0.2,
        `P(${to}|${from}) ${got} vs ${flipped / ofClass}`,
      );
    }
    // Every other off-diagonal entry stays small.
    for (let i = 0; i < C; i++) {
      for (let j = 0; j < C; j++) {
        if (i === j || flips.some(([from, to]) => to === i && from === j)) continue;
        assert.ok(r.noiseMatrix[i][j] < 0.01, `P(${i}|${j}) = ${r.noiseMatrix[i][j]}`);
      }
    }
    // Suspects are overwhelmingly the flipped images, with their true class suggested.
    const top = r.suspects.slice(0, 1000);
    assert.equal(top.length, 1000);
    const hits = top.filter((s) => labels[s.index] !== SIM.truth[s.index]).length;
    const fixed = top.filter((s) => s.suggestedLabel === SIM.truth[s.index]).length;
    assert.ok(hits / 1000 > 0.95 && fixed / 1000 > 0.95, `${learned}: ${hits}, ${fixed}`);
  }
});

// ---------------------------------------------------------------- edge cases

Deno.test("edge: a class nobody is given", () => {
  // Three classes, no image labelled 2 (but image 2 is confidently class 2).
  const probs = new Float64Array([0.75, 0.25, 0, 0.25, 0.75, 0, 0, 0.125, 0.875]);
  const r = confidentLearning(probs, [0, 1, 1], 3);
  assert.equal(r.thresholds[2], Infinity);
  assert.deepEqual(r.givenCounts, [1, 2, 0]);
  assert.deepEqual(r.confidentJoint[2], [0, 0, 0]);
  assert.deepEqual(r.noiseMatrix.map((row) => row[2]), [0, 0, 1]);
  assert.ok(Number.isFinite(r.noiseRate) && r.noiseRate >= 0 && r.noiseRate <= 1);
  assert.ok(r.joint.flat().every(Number.isFinite));
});

Deno.test("edge: all images confidently correct (one-hot probabilities) -> no noise", () => {
  const labels = [0, 1, 2, 2, 1, 0, 0];
  const probs = new Float32Array(labels.length * 3);
  labels.forEach((y, r) => (probs[r * 3 + y] = 1));
  const r = confidentLearning(probs, labels, 3);
  assert.equal(r.noiseRate, 0);
  assert.deepEqual(r.suspects, []);
  closeMatrix(r.joint, [[3 / 7, 0, 0], [0, 2 / 7, 0], [0, 0, 2 / 7]]);
  closeMatrix(r.noiseMatrix, [[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
});

Deno.test("edge: tiny N", () => {
  const one = confidentLearning(new Float64Array([0.25, 0.75]), [0], 2);
  assert.deepEqual(one.thresholds, [0.25, Infinity]);
  assert.deepEqual(one.confidentJoint, [[1, 0], [0, 0]]);
  assert.equal(one.noiseRate, 0);
  // Two images with swapped labels: t0 = t1 = 0.125, so both classes pass for both images and
  // the larger one wins: everything is off-diagonal, everything is noise.
  const two = confidentLearning(new Float64Array([0.125, 0.875, 0.875, 0.125]), [0, 1], 2);
  assert.deepEqual(two.confidentJoint, [[0, 1], [1, 0]]);
  assert.equal(two.noiseRate, 1);
  assert.deepEqual(two.suspects.map((s) => [s.index, s.suggestedLabel]), [[0, 1], [1, 0]]);
});

Deno.test("bad input: one-line errors naming the problem", () => {
  const p = new Float64Array([0.5, 0.5, 0.25, 0.75]);
  const cases: [() => unknown, RegExp][] = [
    [() => confidentLearning(p, [0, 1, 1], 2), /probs has 4 values, expected 3 labels x 2/],
    [() => confidentLearning(p, [0, 2], 2), /label 1 is 2, expected an integer in 0\.\.1/],
    [() => confidentLearning(p, [0, -1], 2), /label 1 is -1/],
    [() => confidentLearning(p, [0, 0.5], 2), /label 1 is 0\.5/],
    [() => confidentLearning(new Float64Array([0.5, NaN]), [0], 2), /\[0, 1\] is NaN/],
    [() => confidentLearning(new Float64Array([1.5, -0.5]), [0], 2), /\[0, 1\] is -0\.5/],
    [() => confidentLearning(new Float64Array([0.5, 0.4]), [0], 2), /row 0 sum to 0\.9/],
    [() => confidentLearning(new Float64Array([1]), [0], 1), /classes must be an integer >= 2/],
    [() => confidentLearning(new Float64Array(0), [], 2), /no images/],
    [
      // deno-lint-ignore no-explicit-any
      () => confidentLearning(p, [0, 1], 2, { method: "magic" as any }),
      /unknown suspect method magic/,
    ],
    [
      // deno-lint-ignore no-explicit-any
      () => confidentLearning(p, [0, 1], 2, { rankBy: "loss" as any }),
      /unknown ranking loss/,
    ],
  ];
  for (const [fn, pattern] of cases) {
    assert.throws(fn, (e: Error) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes("\n"), "multi-line message");
      return true;
    });
  }
  // A float32 softmax is accepted within the default tolerance.
  assert.doesNotThrow(() => confidentLearning(new Float64Array([0.5, 0.5004]), [0], 2));
});

// ---------------------------------------------------------------- k-fold splits

function foldSizes(folds: Uint32Array, k: number): number[] {
  const sizes = new Array<number>(k).fill(0);
  for (const f of folds) sizes[f]++;
  return sizes;
}

Deno.test("kFoldSplits: balanced, deterministic, seed-dependent", () => {
  for (const [n, k] of [[103, 5], [20_000, 10], [7, 7], [2, 2], [1001, 3]]) {
    const folds = kFoldSplits(n, k, 42);
    assert.equal(folds.length, n);
    const sizes = foldSizes(folds, k);
    assert.equal(sizes.reduce((a, b) => a + b, 0), n);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${n}/${k}: ${sizes}`);
    assert.deepEqual(kFoldSplits(n, k, 42), folds);
  }
  const a = kFoldSplits(1000, 5, 1), b = kFoldSplits(1000, 5, 2);
  const same = a.filter((f, i) => f === b[i]).length;
  // Independent splits agree on about 1/5 of the images.
  assert.ok(same > 120 && same < 280, `seeds 1 and 2 agree on ${same}`);
  // Not a fixed pattern such as index mod k.
  assert.ok(a.some((f, i) => f !== i % 5));
});

Deno.test("kFoldSplits: stratified by label keeps each class balanced across folds", () => {
  const labels = corruptLabels(SIM.truth.subarray(0, 997), 0.5, 3, "uniform", C).labels;
  const k = 4;
  const folds = kFoldSplits(labels.length, k, 5, labels);
  const sizes = foldSizes(folds, k);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${sizes}`);
  for (let c = 0; c < C; c++) {
    const perFold = new Array<number>(k).fill(0);
    labels.forEach((y, i) => y === c && perFold[folds[i]]++);
    assert.ok(Math.max(...perFold) - Math.min(...perFold) <= 1, `class ${c}: ${perFold}`);
  }
  assert.deepEqual(kFoldSplits(labels.length, k, 5, labels), folds);
  assert.notDeepEqual(kFoldSplits(labels.length, k, 6, labels), folds);
});

Deno.test("kFoldSplits: bad arguments", () => {
  assert.throws(() => kFoldSplits(0, 2, 1), /image count must be a positive integer/);
  assert.throws(() => kFoldSplits(10, 1, 1), /fold count must be an integer in 2\.\.10/);
  assert.throws(() => kFoldSplits(3, 4, 1), /fold count must be an integer in 2\.\.3/);
  assert.throws(() => kFoldSplits(3, 2, 1, [0, 1]), /labels has 2 entries, expected 3/);
  assert.throws(() => kFoldSplits(2, 2, 1, [0, -1]), /label 1 is -1/);
});
