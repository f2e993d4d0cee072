import assert from "node:assert/strict";
import { classifyKnn, knnNeighbours, type KnnOptions, majorityVote } from "../src/baselines/knn.ts";
import {
  fitGaussianNb,
  gaussianNbLogLikelihoods,
  NB_VAR_SMOOTHING,
  predictGaussianNb,
} from "../src/baselines/naive_bayes.ts";
import { uploadDataset } from "../src/ops/gather.ts";
import { knnRef, type Neighbours } from "../src/ops/knn.ts";
import type { Rng } from "../src/util/rng.ts";
import { gpu, rng, TEST_SEED } from "./helpers.ts";

function assertEquals(got: unknown, want: unknown, message?: string): void {
  assert.deepStrictEqual(got, want, message);
}

function assertThrows(f: () => unknown, type: ErrorConstructor, text: string): void {
  assert.throws(f, (e) => e instanceof type && e.message.includes(text));
}

/** count images of `pixels` random bytes, each padded with zero pixels to `padded`. */
function randomImages(r: Rng, count: number, pixels: number, padded: number, lo = 0, hi = 256) {
  const out = new Uint8Array(count * padded);
  for (let i = 0; i < count; i++) {
    for (let p = 0; p < pixels; p++) out[i * padded + p] = lo + r.int(hi - lo);
  }
  return out;
}

/** `count` images of `pixels` bytes, drawn one after another by `draw`. */
function imagesOf(count: number, pixels: number, draw: (image: Uint8Array) => void): Uint8Array {
  const out = new Uint8Array(count * pixels);
  for (let i = 0; i < count; i++) draw(out.subarray(i * pixels, (i + 1) * pixels));
  return out;
}

function randomLabels(r: Rng, count: number, classes = 10): Uint8Array {
  return Uint8Array.from({ length: count }, () => r.int(classes));
}

/** Neighbour search on the GPU; compared with knnRef, indices and distances exactly. */
async function checkAgainstRef(
  what: string,
  train: Uint8Array,
  test: Uint8Array,
  pixels: number,
  k: number,
  options: KnnOptions,
): Promise<Neighbours> {
  const ctx = await gpu();
  const N = train.length / pixels, M = test.length / pixels;
  const gTrain = uploadDataset(ctx, train, new Uint8Array(N), N, pixels, "train");
  const gTest = uploadDataset(ctx, test, new Uint8Array(M), M, pixels, "test");
  const { neighbours: got, timing } = await knnNeighbours(ctx, gTrain, gTest, k, options);
  const want = knnRef(test, train, pixels, k);
  const where =
    `${what} (M=${M} N=${N} P=${pixels} k=${k} chunks ${JSON.stringify(timing.chunks)}` +
    `, TEST_SEED=${TEST_SEED})`;
  for (let m = 0; m < M; m++) {
    const row = (a: ArrayLike<number>) => Array.from(a).slice(m * k, (m + 1) * k);
    assertEquals(row(got.indices), row(want.indices), `${where}: indices of test row ${m}`);
    assertEquals(row(got.distances), row(want.distances), `${where}: distances of test row ${m}`);
  }
  gTrain.images.destroy();
  gTest.images.destroy();
  return got;
}

Deno.test("knnRef: hand-worked neighbours, ties to the lower train index", () => {
  // one-pixel distances in the first pixel: train 0..4 = 0, 3, 1, 1, 2; test = 2
  const train = new Uint8Array([0, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]);
  const nb = knnRef(new Uint8Array([2, 0, 0, 0]), train, 4, 5);
  assertEquals(Array.from(nb.indices), [4, 1, 2, 3, 0]);
  assertEquals(Array.from(nb.distances), [0, 1, 1, 1, 4]);
  assertThrows(() => knnRef(new Uint8Array(4), train, 4, 6), Error, "k = 6");
});

Deno.test("kNN on the GPU equals knnRef: random odd sizes, one chunk and many chunks", async () => {
  const r = rng(1);
  // 30 pixels padded to 32 (the upload needs a multiple of 4; zero pixels do not change distances)
  const train = randomImages(r, 211, 30, 32), test = randomImages(r, 37, 30, 32);
  await checkAgainstRef("one chunk", train, test, 32, 5, {});
  await checkAgainstRef("many chunks", train, test, 32, 5, { testChunk: 16, trainChunk: 40 });
  // smallest chunks: test chunks of one tile (rm rows), train chunks of one 4 x rn4 block
  await checkAgainstRef("tiny chunks", train, test, 32, 5, {
    testChunk: 1,
    trainChunk: 1,
    tile: { rm: 4, rn4: 1 },
  });
  await checkAgainstRef("k = 1", train, test, 32, 1, { trainChunk: 64 });
  await checkAgainstRef("k = 7", train, test, 32, 7, { testChunk: 20, trainChunk: 100 });
  await checkAgainstRef("k = 16", train, test, 32, 16, { testChunk: 16, trainChunk: 40 });
});

Deno.test("kNN on the GPU equals knnRef on sparse images (dark texels are skipped)", async () => {
  const r = rng(6);
  // 6 x 8 images lit only inside a random rectangle, so whole texels are 0 in every row of a
  // test block (skipped by the GEMM) and others are not
  const H = 6, W = 8, P = H * W;
  const sparse = (count: number) =>
    imagesOf(count, P, (img) => {
      const y0 = r.int(H), y1 = y0 + 1 + r.int(H - y0), x0 = r.int(W), x1 = x0 + 1 + r.int(W - x0);
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) img[y * W + x] = 1 + r.int(255);
      }
    });
  const train = sparse(211), test = sparse(37);
  await checkAgainstRef("sparse", train, test, P, 5, { testChunk: 16, trainChunk: 40 });
  await checkAgainstRef("sparse, blocks of 4", train, test, P, 5, { tile: { rm: 4, rn4: 1 } });
});

Deno.test("kNN on the GPU: exact ties across chunk boundaries go to the lower train index", async () => {
  const r = rng(2);
  // every image is one of 3 patterns of 0/1 pixels, so most distances tie
  const P = 12, patterns = randomImages(r, 3, P, P, 0, 2);
  const pick = (count: number) =>
    imagesOf(count, P, (img) => {
      const at = r.int(3) * P;
      img.set(patterns.subarray(at, at + P));
    });
  const train = pick(97), test = pick(19);
  const got = await checkAgainstRef("ties", train, test, P, 6, { testChunk: 16, trainChunk: 16 });
  // the reference's claim, checked directly: equal distances appear in increasing index order
  for (let i = 0; i + 1 < got.indices.length; i++) {
    if ((i + 1) % 6 !== 0 && got.distances[i] === got.distances[i + 1]) {
      if (!(got.indices[i] < got.indices[i + 1])) throw new Error(`tie order broken at ${i}`);
    }
  }
});

Deno.test("kNN on the GPU: exact distances when norms and dot products exceed 2^24", async () => {
  const r = rng(3);
  // bright images (norms about 400 * 230^2 = 2.1e7 > 2^24) that differ by a few grey levels
  const P = 400, base = randomImages(r, 1, P, P, 200, 250);
  const near = (count: number) =>
    imagesOf(count, P, (img) => {
      for (let p = 0; p < P; p++) img[p] = base[p] + r.int(6);
    });
  await checkAgainstRef("bright", near(150), near(21), P, 3, { trainChunk: 48 });
});

Deno.test("majorityVote: most votes, ties to the nearest neighbour's class", () => {
  const nb: Neighbours = {
    k: 5,
    indices: Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
    distances: new Float64Array(10),
  };
  // row 0 neighbours' labels 3 5 5 3 7; row 1: 1 2 3 2 1
  const labels = [3, 5, 5, 3, 7, 1, 2, 3, 2, 1];
  assertEquals(Array.from(majorityVote(nb, 1, labels)), [3, 1]);
  assertEquals(Array.from(majorityVote(nb, 3, labels)), [5, 1]); // 3 5 5 -> 5; 1 2 3 -> tie, 1
  assertEquals(Array.from(majorityVote(nb, 4, labels)), [3, 2]); // 3 5 5 3 -> tie, 3; 1 2 3 2 -> 2
  assertEquals(Array.from(majorityVote(nb, 5, labels)), [3, 1]); // 2-2-1 ties -> nearest: 3; 1
  assertThrows(() => majorityVote(nb, 6, labels), Error, "only 5 neighbours");
});

Deno.test("classifyKnn: predictions for k = 1, 3, 5 equal the votes of knnRef's neighbours", async () => {
  const ctx = await gpu();
  const r = rng(4);
  const P = 20, N = 133, M = 29;
  const train = randomImages(r, N, P, P), test = randomImages(r, M, P, P);
  const trainLabels = randomLabels(r, N, 4);
  const gTrain = uploadDataset(ctx, train, trainLabels, N, P, "train");
  const gTest = uploadDataset(ctx, test, new Uint8Array(M), M, P, "test");
  const res = await classifyKnn(ctx, gTrain, gTest, [1, 3, 5], { trainChunk: 32 });
  const ref = knnRef(test, train, P, 5);
  assertEquals(res.predictions.map((p) => p.k), [1, 3, 5]);
  for (const { k, predictions } of res.predictions) {
    assertEquals(
      Array.from(predictions),
      Array.from(majorityVote(ref, k, trainLabels, 4)),
      `k=${k}`,
    );
  }
  // k = 1 predicts the label of the nearest image
  assertEquals(
    Array.from(res.predictions[0].predictions),
    Array.from(ref.indices.filter((_, i) => i % 5 === 0), (i) => trainLabels[i]),
  );
  if (!(res.timing.gemmGflops > 0 && res.timing.totalSeconds > 0)) throw new Error("no timing");
  await assertRejects(() => classifyKnn(ctx, gTrain, gTest, [17]), "from 1 to 16");
  const three = uploadDataset(ctx, train.subarray(0, 3 * P), trainLabels.subarray(0, 3), 3, P);
  await assertRejects(() => classifyKnn(ctx, three, gTest, [1, 5]), "exceeds the 3 train");
  const other = uploadDataset(ctx, new Uint8Array(M * 24), new Uint8Array(M), M, 24, "other");
  await assertRejects(() => classifyKnn(ctx, gTrain, other), "must match");
});

async function assertRejects(f: () => Promise<unknown>, text: string): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (!(e as Error).message.includes(text)) throw e;
    return;
  }
  throw new Error(`expected an error with '${text}'`);
}

// ---------------------------------------------------------------------------------------------
// Gaussian naive Bayes

/**
 * Class c's images: every pixel p takes mu[c][p] - s[c][p] in half the images and + s[c][p] in
 * the other half, so the class means are mu and the population variances s^2 exactly.
 */
function twoPointData(mu: number[][], s: number[][], perClass: number) {
  const C = mu.length, P = mu[0].length;
  const images: number[] = [], labels: number[] = [];
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < perClass; i++) {
      for (let p = 0; p < P; p++) images.push(mu[c][p] + (i % 2 === 0 ? -1 : 1) * s[c][p]);
      labels.push(c);
    }
  }
  return { images: Float64Array.from(images), labels: Uint8Array.from(labels) };
}

Deno.test("naive Bayes: fitted means, variances, epsilon and log-likelihoods are the known ones", () => {
  const mu = [[0, 10, 5], [3, -2, 5], [8, 8, 5]];
  const s = [[1, 2, 0.5], [0.5, 1, 1], [2, 3, 1.5]];
  const n = [4, 8, 12]; // class sizes (priors 1/6, 1/3, 1/2)
  const parts = n.map((k, c) => twoPointData([mu[c]], [s[c]], k));
  const images = Float64Array.from(parts.flatMap((q) => Array.from(q.images)));
  const labels = Uint8Array.from(parts.flatMap((q, c) => Array.from(q.labels, () => c)));
  const model = fitGaussianNb(images, labels, 3);
  const priors = n.map((k) => k / 24);
  // whole-set variance of pixel p: sum_c pi_c (s^2 + mu^2) - (sum_c pi_c mu)^2
  let maxVar = 0;
  for (let p = 0; p < 3; p++) {
    const m = priors.reduce((a, pi, c) => a + pi * mu[c][p], 0);
    const v = priors.reduce((a, pi, c) => a + pi * (s[c][p] ** 2 + mu[c][p] ** 2), 0) - m * m;
    maxVar = Math.max(maxVar, v);
  }
  const close = (a: number, b: number, what: string) => {
    if (!(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)))) {
      throw new Error(`${what}: ${a} vs ${b}`);
    }
  };
  close(model.epsilon, NB_VAR_SMOOTHING * maxVar, "epsilon");
  for (let c = 0; c < 3; c++) {
    close(Math.exp(model.logPriors[c]), priors[c], `prior ${c}`);
    for (let p = 0; p < 3; p++) {
      close(model.means[c * 3 + p], mu[c][p], `mean ${c},${p}`);
      close(model.variances[c * 3 + p], s[c][p] ** 2 + model.epsilon, `variance ${c},${p}`);
    }
  }
  const x = [1, 4, 6];
  const ll = gaussianNbLogLikelihoods(model, x);
  for (let c = 0; c < 3; c++) {
    let want = Math.log(priors[c]);
    for (let p = 0; p < 3; p++) {
      const v = s[c][p] ** 2 + model.epsilon;
      want += -0.5 * Math.log(2 * Math.PI * v) - (x[p] - mu[c][p]) ** 2 / (2 * v);
    }
    close(ll[c], want, `log-likelihood ${c}`);
  }
  // each class mean is classified as its class (the classes are well separated)
  assertEquals(Array.from(predictGaussianNb(model, mu.flat())), [0, 1, 2]);
  // scale invariance (epsilon is relative): the same predictions on 255x the data
  const scaled = fitGaussianNb(images.map((v) => v * 255), labels, 3);
  const probe = Float64Array.from({ length: 60 }, (_, i) => (i * 7.3) % 13 - 3);
  assertEquals(
    Array.from(predictGaussianNb(scaled, probe.map((v) => v * 255))),
    Array.from(predictGaussianNb(model, probe)),
  );
});

Deno.test("naive Bayes: a pixel constant within a class gets variance epsilon", () => {
  // pixel 1 is always 0 in class 0 and varies in class 1: a nonzero value there rules out class 0
  const images = [0, 0, 2, 0, 1, 3, 3, 5], labels = [0, 0, 1, 1];
  const model = fitGaussianNb(images, labels, 2);
  if (!(model.epsilon > 0 && model.variances[1] === model.epsilon)) {
    throw new Error(
      `variance of a constant pixel: ${model.variances[1]}, epsilon ${model.epsilon}`,
    );
  }
  assertEquals(Array.from(predictGaussianNb(model, [1, 0, 1, 0.01])), [0, 1]);
  assertThrows(() => fitGaussianNb(images, [0, 0, 1, 3], 2, { classes: 2 }), Error, "label 3");
  assertThrows(() => fitGaussianNb(images, labels, 3), Error, "not 4 images");
});

/** Standard normal CDF by Simpson integration of the density (enough digits for a test). */
function normalCdf(x: number): number {
  const lo = -12, n = 4000, h = (x - lo) / n;
  const f = (t: number) => Math.exp(-t * t / 2) / Math.sqrt(2 * Math.PI);
  let s = f(lo) + f(x);
  for (let i = 1; i < n; i++) s += (i % 2 === 1 ? 4 : 2) * f(lo + i * h);
  return (s * h) / 3;
}

Deno.test("naive Bayes on sampled Gaussians: estimates and error near the Bayes-optimal ones", () => {
  const r = rng(5);
  // two classes, equal priors, 2 independent pixels with means (0, 0) and (2, 1), sigma 1: the
  // Bayes error is Phi(-|delta| / 2) with |delta| = sqrt(5)
  const n = 20000, P = 2, means = [[0, 0], [2, 1]];
  const sample = (count: number) => {
    const images = new Float64Array(count * P), labels = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      labels[i] = i % 2;
      for (let p = 0; p < P; p++) images[i * P + p] = means[labels[i]][p] + r.normal();
    }
    return { images, labels };
  };
  const tr = sample(n), te = sample(n);
  const model = fitGaussianNb(tr.images, tr.labels, P);
  const tol = 6 / Math.sqrt(n / 2); // 6 standard errors of a class mean
  for (let c = 0; c < 2; c++) {
    for (let p = 0; p < P; p++) {
      const m = model.means[c * P + p], v = model.variances[c * P + p];
      if (!(Math.abs(m - means[c][p]) < tol && Math.abs(v - 1) < 2 * tol)) {
        throw new Error(`class ${c} pixel ${p}: mean ${m} variance ${v} (TEST_SEED=${TEST_SEED})`);
      }
    }
  }
  const pred = predictGaussianNb(model, te.images);
  const err = pred.reduce((a, y, i) => a + (y !== te.labels[i] ? 1 : 0), 0) / n;
  const bayes = normalCdf(-Math.sqrt(5) / 2);
  if (!(Math.abs(err - bayes) < 0.015)) {
    throw new Error(`error ${err} vs Bayes ${bayes.toFixed(4)} (TEST_SEED=${TEST_SEED})`);
  }
});
