/**
 * Label-noise machinery on small MNIST subsets, in-process: the trainer's robust-loss switch
 * (the logged loss is GCE's, not cross-entropy's), probabilities read back for chosen images
 * (rows are distributions whose argmax gives the evaluator's error), k-fold out-of-sample
 * probabilities, and confident learning finding labels corrupted on purpose.
 */
import assert from "node:assert/strict";
import { loadMnistSplit } from "../src/data/files.ts";
import { type Dataset, subset } from "../src/data/dataset.ts";
import { uploadDataset } from "../src/ops/gather.ts";
import { ADAM_DEFAULTS } from "../src/ops/optimizer.ts";
import { GCE_DEFAULTS } from "../src/ops/robust_xent.ts";
import { mlp } from "../src/nn/spec.ts";
import { trainSession } from "../src/train/session.ts";
import { Evaluator } from "../src/train/evaluator.ts";
import {
  argmaxRows,
  outOfSampleProbabilities,
  predictProbabilities,
} from "../src/study/label_audit.ts";
import { confidentLearning } from "../src/study/confident_learning.ts";
import { corruptLabels } from "../src/study/label_noise.ts";
import { gpu } from "./helpers.ts";

let data: Promise<{ train: Dataset; test: Dataset }> | null = null;
function mnist() {
  data ??= Promise.all([loadMnistSplit("train"), loadMnistSplit("test")]).then(([a, b]) => ({
    train: subset(a, 2000),
    test: subset(b, 300),
  }));
  return data;
}

const recipe = (seed: number, epochs = 1) => ({
  optimizer: { ...ADAM_DEFAULTS, lr: 0.003 },
  schedule: { kind: "cosine" as const, warmupFraction: 0.05 },
  batchSize: 32,
  epochs,
  seed,
});

Deno.test("the trainer logs GCE's loss with loss: GCE and cross-entropy's without", async () => {
  const { train, test } = await mnist();
  const ctx = await gpu();
  const first = async (loss?: typeof GCE_DEFAULTS) =>
    (await trainSession({
      ctx,
      spec: mlp(784, [16]),
      data: { train: subset(train, 320), test },
      recipe: { ...recipe(3), loss },
      lossEvery: 1,
      evalPointsPerEpoch: 0,
    })).lossCurve[0].loss;
  const ce = await first(), gce = await first(GCE_DEFAULTS);
  // first step, near-uniform predictions: CE ~ ln 10 = 2.30, GCE ~ (1 - 0.1^0.7) / 0.7 = 1.14
  assert.ok(Math.abs(ce - Math.log(10)) < 0.5, `CE first loss ${ce}`);
  assert.ok(Math.abs(gce - (1 - 0.1 ** 0.7) / 0.7) < 0.2, `GCE first loss ${gce}`);
});

Deno.test("predictProbabilities: distributions in the given order; argmax matches the evaluator", async () => {
  const { train, test } = await mnist();
  const ctx = await gpu();
  const r = await trainSession({
    ctx,
    spec: mlp(784, [24]),
    data: { train: subset(train, 640), test },
    recipe: recipe(5),
    keepModel: true,
    evalPointsPerEpoch: 0,
  });
  const model = r.model!;
  const gTest = uploadDataset(ctx, test.images, test.labels, test.count, 784, "test");
  try {
    const order = Array.from({ length: test.count }, (_, i) => i);
    const probs = await predictProbabilities(ctx, model, gTest, order, 64); // 300 = 4 x 64 + 44
    for (let i = 0; i < test.count; i++) {
      const row = probs.subarray(i * 10, i * 10 + 10);
      const sum = row.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-4 && row.every((p) => p >= 0), `row ${i} sums to ${sum}`);
    }
    const pred = argmaxRows(probs, 10);
    const wrong = pred.reduce((a, p, i) => a + (p !== test.labels[i] ? 1 : 0), 0);
    const ev = await Evaluator.create(ctx, model, gTest);
    const confusion = (await ev.run()).confusion;
    const evalWrong = confusion.flat().reduce((a, b) => a + b, 0) -
      confusion.reduce((a, row, t) => a + row[t], 0);
    assert.equal(wrong, evalWrong);
    ev.destroy();
    // a permuted order gives the same rows permuted
    const back = await predictProbabilities(ctx, model, gTest, [7, 299, 0], 2);
    for (const [k, i] of [7, 299, 0].entries()) {
      assert.deepEqual(back.subarray(k * 10, k * 10 + 10), probs.subarray(i * 10, i * 10 + 10));
    }
  } finally {
    model.destroy();
    gTest.images.destroy();
    gTest.labels.destroy();
  }
});

Deno.test("k-fold out-of-sample probabilities let confident learning find corrupted labels", async () => {
  const { train, test } = await mnist();
  const ctx = await gpu();
  const noisy = corruptLabels(train.labels, 0.3, 11, "different");
  const oos = await outOfSampleProbabilities({
    ctx,
    spec: mlp(784, [32]),
    recipe: recipe(11, 3),
    data: train,
    labels: noisy.labels,
    folds: 3,
    test,
  });
  assert.equal(oos.interrupted, false);
  assert.equal(oos.foldTestErrors.length, 3);
  for (let i = 0; i < train.count; i += 97) {
    const s = oos.probs.subarray(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(s - 1) < 1e-4, `row ${i} sums to ${s}`);
  }
  const r = confidentLearning(oos.probs, noisy.labels, 10);
  const changed = new Set(noisy.corrupted);
  const hits = r.suspects.filter((s) => changed.has(s.index)).length;
  // 30% of labels changed: the estimate is in the right range, most suspects are real errors
  assert.ok(r.noiseRate > 0.18 && r.noiseRate < 0.42, `estimated rate ${r.noiseRate}`);
  assert.ok(hits / r.suspects.length > 0.7, `precision ${hits}/${r.suspects.length}`);
});
