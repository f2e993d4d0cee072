import { loadMnistSplit } from "../src/data/files.ts";
import { subset } from "../src/data/dataset.ts";
import { uploadDataset } from "../src/ops/gather.ts";
import { ADAM_DEFAULTS } from "../src/ops/optimizer.ts";
import { Model } from "../src/nn/model.ts";
import { lenet5 } from "../src/nn/spec.ts";
import { Evaluator } from "../src/train/evaluator.ts";
import { Trainer, type TrainOptions } from "../src/train/trainer.ts";
import { decodeCheckpoint, encodeCheckpoint, restoreCheckpoint } from "../src/train/checkpoint.ts";
import { decodeSafetensors } from "../src/io/safetensors.ts";
import { gpu } from "./helpers.ts";
import { deriveSeed, Rng } from "../src/util/rng.ts";

const OPTIONS: TrainOptions = {
  batchSize: 32,
  epochs: 2,
  optimizer: ADAM_DEFAULTS,
  seed: 11,
  lossEvery: 8,
  evalPointsPerEpoch: 3,
  stepsPerSubmit: 3,
};

async function fixture() {
  const ctx = await gpu();
  const train = subset(await loadMnistSplit("train"), 800); // 25 steps per epoch
  const test = subset(await loadMnistSplit("test"), 300);
  return {
    ctx,
    train: uploadDataset(ctx, train.images, train.labels, train.count, 784, "train"),
    test: uploadDataset(ctx, test.images, test.labels, test.count, 784, "test"),
  };
}

/** Trains, optionally stopping when `stopAt(globalStep)` says so; returns the run's outputs. */
async function train(
  f: Awaited<ReturnType<typeof fixture>>,
  opts: { stopAfter?: number; resume?: Uint8Array },
) {
  const model = Model.create(f.ctx, lenet5(), { seed: 5 });
  const evaluator = await Evaluator.create(f.ctx, model, f.test);
  const trainer = await Trainer.create(f.ctx, model, f.train, OPTIONS, evaluator);
  if (opts.resume) {
    const ck = decodeCheckpoint(opts.resume);
    restoreCheckpoint(model, ck, true);
    trainer.restore(ck.info.state, ck.info.pendingLosses);
  }
  const result = await trainer.run({
    shouldStop: () => opts.stopAfter !== undefined && trainer.state.globalStep >= opts.stopAfter,
  });
  const checkpoint = await encodeCheckpoint(model, {
    model: lenet5(),
    recipe: {
      optimizer: OPTIONS.optimizer,
      schedule: { kind: "constant" },
      batchSize: 32,
      epochs: 2,
      seed: 11,
    },
    state: trainer.state,
    pendingLosses: await trainer.pendingLosses(),
    testError: result.final?.error ?? null,
    extra: {},
  });
  const weights = await model.torchState();
  model.destroy();
  return { result, checkpoint, weights };
}

function expectSame(
  a: Awaited<ReturnType<typeof train>>,
  b: Awaited<ReturnType<typeof train>>,
  what: string,
) {
  const curves = (r: typeof a) =>
    JSON.stringify([r.result.state.lossCurve, r.result.state.testCurve, r.result.final]);
  if (curves(a) !== curves(b)) throw new Error(`${what}: loss/test curves or final metrics differ`);
  for (const [name, w] of a.weights) {
    const v = b.weights.get(name)!;
    for (let i = 0; i < w.length; i++) {
      if (!Object.is(w[i], v[i])) throw new Error(`${what}: ${name}[${i}] differs`);
    }
  }
}

Deno.test("interrupted mid-epoch and at an epoch boundary, then resumed: bit-identical to an uninterrupted run", async () => {
  const f = await fixture();
  const full = await train(f, {});
  if (full.result.interrupted || full.result.state.epoch !== 2) {
    throw new Error("the uninterrupted run did not finish");
  }
  for (const stopAfter of [13, 25]) { // 13: inside a loss window of epoch 1; 25: the end of epoch 1
    const part = await train(f, { stopAfter });
    if (!part.result.interrupted) {
      throw new Error(`stopAfter ${stopAfter}: run was not interrupted`);
    }
    const resumed = await train(f, { resume: part.checkpoint });
    expectSame(resumed, full, `resumed after step ${part.result.state.globalStep}`);
  }
  // same seed, same adapter: identical checkpoint bytes
  const again = await train(f, {});
  if (
    again.checkpoint.length !== full.checkpoint.length ||
    !again.checkpoint.every((v, i) => v === full.checkpoint[i])
  ) {
    throw new Error("two identical runs wrote different checkpoint bytes");
  }
  // PyTorch names and layouts
  const { tensors, metadata } = decodeSafetensors(full.checkpoint);
  const shapes = Object.fromEntries(
    [...tensors].filter(([k]) => !k.startsWith("optimizer.")).map(([k, t]) => [k, t.shape]),
  );
  const want = {
    "conv1.weight": [6, 1, 5, 5],
    "conv1.bias": [6],
    "conv2.weight": [16, 6, 5, 5],
    "conv2.bias": [16],
    "fc1.weight": [120, 400],
    "fc1.bias": [120],
    "fc2.weight": [84, 120],
    "fc2.bias": [84],
    "fc3.weight": [10, 84],
    "fc3.bias": [10],
  };
  if (JSON.stringify(shapes) !== JSON.stringify(want)) {
    throw new Error(`unexpected tensors ${JSON.stringify(shapes)}`);
  }
  for (const k of ["model", "recipe", "seed", "epoch", "test_error", "torch_module"]) {
    if (!(k in metadata)) throw new Error(`metadata lacks ${k}`);
  }
  if (!tensors.has("optimizer.fc1.weight.exp_avg_sq")) throw new Error("optimizer state missing");
});

Deno.test("one master seed derives per-purpose seeds; different seeds shuffle differently", () => {
  const a = new Rng(deriveSeed(1, "shuffle", 0)).permutation(1000);
  const again = new Rng(deriveSeed(1, "shuffle", 0)).permutation(1000);
  const otherEpoch = new Rng(deriveSeed(1, "shuffle", 1)).permutation(1000);
  const otherSeed = new Rng(deriveSeed(2, "shuffle", 0)).permutation(1000);
  const same = (x: Uint32Array, y: Uint32Array) => x.every((v, i) => v === y[i]);
  if (!same(a, again)) throw new Error("the same seed gave a different shuffle");
  if (same(a, otherEpoch) || same(a, otherSeed)) {
    throw new Error("different epochs or seeds gave the same shuffle");
  }
  const purposes = ["init", "shuffle", "noise", "labels", "validation", "run"].map((p) =>
    deriveSeed(1, p)
  );
  if (new Set(purposes).size !== purposes.length) throw new Error("two purposes share a seed");
});
