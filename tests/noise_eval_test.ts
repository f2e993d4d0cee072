/**
 * The test-time evaluation path (src/study/noise_eval.ts) against a float64 reference: gather
 * with Gaussian test noise, impulse noise, then the 3x3 median, then the model; predictions
 * must match the model's argmax on the reference images (odd counts, a partial last chunk).
 * Also: per-epoch training noise (different draws per epoch, the same for the same seed), and
 * the bit-packed wrong flags.
 */
import assert from "node:assert/strict";
import { corruptBatchRef } from "../src/ops/corrupt.ts";
import { gatherBatchRef, uploadDataset } from "../src/ops/gather.ts";
import { download, Tensor, upload } from "../src/gpu/tensor.ts";
import { runDispatches } from "../src/gpu/program.ts";
import { Model } from "../src/nn/model.ts";
import { lenet5, mlp } from "../src/nn/spec.ts";
import { ADAM_DEFAULTS } from "../src/ops/optimizer.ts";
import { loadMnistSplit } from "../src/data/files.ts";
import { subset } from "../src/data/dataset.ts";
import { trainSession } from "../src/train/session.ts";
import { epochNoiseSeed } from "../src/train/trainer.ts";
import { confusionOf, decodeWrong, TestTimeEvaluator, wrongBits } from "../src/study/noise_eval.ts";
import { gpu, rng, TEST_SEED } from "./helpers.ts";

const PIX = 784;

for (const [name, spec] of [["mlp", mlp(PIX, [24])], ["lenet5", lenet5()]] as const) {
  Deno.test(`test-time path (${name}): noise, impulse, median, model = the float64 reference`, async () => {
    const ctx = await gpu();
    const r = rng(11);
    for (const count of [37, 300]) {
      const images = Uint8Array.from(
        { length: count * PIX },
        () => (r.next() < 0.7 ? 0 : r.int(256)),
      );
      const labels = Array.from({ length: count }, () => r.int(10));
      const data = uploadDataset(ctx, images, labels, count, PIX, "noise eval test");
      const model = Model.create(ctx, spec, { seed: (TEST_SEED + count) >>> 0 });
      const ev = TestTimeEvaluator.create(ctx, model, data, { count });
      try {
        const noise = { sigma: 40, seed: (TEST_SEED * 3 + 1) >>> 0 };
        const corruptions = [
          { name: "impulse", severity: 2, seed: (TEST_SEED + 5) >>> 0 },
          { name: "median", severity: 1 },
        ];
        const got = await ev.predict({ noise, corruptions });
        // reference: the float64 gather and corruptions, then the model on uploaded images
        const idx = Array.from({ length: count }, (_, i) => i);
        let x: ArrayLike<number> = gatherBatchRef(images, PIX, idx, 0, count, noise);
        for (const c of corruptions) x = corruptBatchRef(x, idx, 28, 28, c);
        const input = Tensor.create(ctx, count, PIX, "reference images");
        upload(ctx, input, x);
        const fwd = await model.forward(count, input, { training: false });
        await runDispatches(ctx, fwd.dispatches);
        const logits = await download(ctx, fwd.logits);
        let compared = 0;
        for (let i = 0; i < count; i++) {
          const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
          const best = row.indexOf(Math.max(...row));
          const second = Math.max(...row.filter((_, k) => k !== best));
          // a near tie may flip with float32 pixels (their logits differ by about 1e-6 here)
          if (row[best] - second < 1e-4) continue;
          compared++;
          assert.equal(got[i], best, `count ${count}, image ${i} (TEST_SEED=${TEST_SEED})`);
        }
        assert.ok(compared > count * 0.8, `compared ${compared} of ${count}`);
        // the same transform again gives the same predictions; no noise gives others
        assert.deepEqual(await ev.predict({ noise, corruptions }), got);
        input.store.destroy();
      } finally {
        ev.destroy();
        model.destroy();
        data.images.destroy();
        data.labels.destroy();
      }
    }
  });
}

Deno.test("test-time evaluation rejects bad corruptions and counts before any GPU work", async () => {
  const ctx = await gpu();
  const data = uploadDataset(ctx, new Uint8Array(8 * PIX), new Array(8).fill(0), 8, PIX, "bad");
  const model = Model.create(ctx, mlp(PIX, [8]), { seed: 1 });
  try {
    assert.throws(
      () => TestTimeEvaluator.create(ctx, model, data, { count: 9 }),
      /count must be in 1\.\.8/,
    );
    const ev = TestTimeEvaluator.create(ctx, model, data);
    await assert.rejects(
      ev.predict({ corruptions: [{ name: "fog", severity: 1 }] }),
      /unknown corruption 'fog'/,
    );
    await assert.rejects(
      ev.predict({ corruptions: [{ name: "blur", severity: 4, seed: 1 }] }),
      /'blur' has severities 1\.\.3, got 4/,
    );
    ev.destroy();
  } finally {
    model.destroy();
    data.images.destroy();
    data.labels.destroy();
  }
});

Deno.test("wrong flags survive the base64 bit packing; confusion counts", () => {
  const r = rng(3);
  for (const n of [1, 7, 8, 9, 1001]) {
    const preds = Array.from({ length: n }, () => r.int(10));
    const labels = Array.from({ length: n }, () => r.int(10));
    const flags = decodeWrong(wrongBits(preds, labels), n);
    assert.deepEqual(Array.from(flags), preds.map((p, i) => (p !== labels[i] ? 1 : 0)));
    const m = confusionOf(preds, labels);
    assert.equal(m.flat().reduce((a, b) => a + b, 0), n);
    assert.equal(
      m.reduce((a, row, t) => a + row[t], 0),
      flags.length - flags.reduce((a, b) => a + b, 0),
    );
  }
  assert.throws(() => decodeWrong(wrongBits([1, 2], [1, 2]), 9), /hold 8 images, expected 9/);
});

Deno.test("per-epoch noise: the first epoch as fixed noise, new draws later, same for the same seed", async () => {
  assert.equal(epochNoiseSeed(77, 0), 77);
  assert.notEqual(epochNoiseSeed(77, 1), epochNoiseSeed(77, 2));
  assert.equal(epochNoiseSeed(77, 1), epochNoiseSeed(77, 1));
  const [train, test] = await Promise.all([loadMnistSplit("train"), loadMnistSplit("test")]);
  const ctx = await gpu();
  const run = async (noisePerEpoch: boolean, noiseSeed: number) =>
    (await trainSession({
      ctx,
      spec: mlp(PIX, [16]),
      data: { train: subset(train, 256), test: subset(test, 64) },
      recipe: {
        optimizer: { ...ADAM_DEFAULTS, lr: 0.003 },
        schedule: { kind: "constant" },
        batchSize: 32,
        epochs: 3,
        seed: 5,
        noise: { sigma: 64, seed: noiseSeed },
        noisePerEpoch,
      },
      lossEvery: 1,
      evalPointsPerEpoch: 1,
    })).lossCurve;
  const fixed = await run(false, 9), perEpoch = await run(true, 9);
  const again = await run(true, 9), other = await run(true, 10);
  const epoch = (c: typeof fixed, e: number) => c.filter((p) => p.epoch === e).map((p) => p.loss);
  assert.deepEqual(epoch(perEpoch, 0), epoch(fixed, 0), "epoch 0 draws the fixed noise");
  for (const e of [1, 2]) {
    assert.notDeepEqual(epoch(perEpoch, e), epoch(fixed, e), `epoch ${e} draws new noise`);
  }
  assert.deepEqual(again, perEpoch, "the same seed gives the same draws");
  assert.notDeepEqual(epoch(other, 0), epoch(perEpoch, 0), "another noise seed, other draws");
});
