import { loadMnistSplit } from "../src/data/files.ts";
import { subset } from "../src/data/dataset.ts";
import { uploadDataset } from "../src/ops/gather.ts";
import { ADAM_DEFAULTS } from "../src/ops/optimizer.ts";
import { Model } from "../src/nn/model.ts";
import { lenet5 } from "../src/nn/spec.ts";
import { Evaluator } from "../src/train/evaluator.ts";
import { Trainer, type TrainOptions, type TrainState } from "../src/train/trainer.ts";
import {
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  restoreCheckpoint,
} from "../src/train/checkpoint.ts";
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from "../src/io/safetensors.ts";
import assert from "node:assert/strict";
import { expectError } from "./data_helpers.ts";
import { gpu, lenetCheckpoint } from "./helpers.ts";
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
  // same seed, same adapter: identical checkpoint bytes, but for the wall-clock times
  const again = await train(f, {});
  const withoutTimes = (bytes: Uint8Array) =>
    edited(bytes, (_, m) => {
      delete m.train_seconds;
      delete m.eval_seconds;
    });
  const [x, y] = [withoutTimes(again.checkpoint), withoutTimes(full.checkpoint)];
  if (x.length !== y.length || !x.every((v, i) => v === y[i])) {
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

// ---- damaged checkpoints and elapsed time ----

const RECIPE = {
  optimizer: ADAM_DEFAULTS,
  schedule: { kind: "constant" as const },
  batchSize: 32,
  epochs: 2,
  seed: 11,
};

/** A fresh LeNet-5's checkpoint at `state` (defaults: start of training, no time spent). */
function freshCheckpoint(state: Partial<TrainState> = {}): Promise<Uint8Array> {
  return lenetCheckpoint(5, RECIPE, state);
}

/** Re-encodes `bytes` after `edit` changed its tensors or metadata. */
function edited(
  bytes: Uint8Array,
  edit: (tensors: Map<string, NamedTensor>, metadata: Record<string, string>) => void,
): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(bytes);
  edit(tensors, metadata);
  return encodeSafetensors([...tensors], metadata);
}

Deno.test("a checkpoint with a NaN or infinite weight or optimizer state is refused", async () => {
  const good = await freshCheckpoint();
  const cases: [string, number, string][] = [
    ["fc1.weight", NaN, "NaN"],
    ["conv1.bias", Infinity, "Infinity"],
    ["optimizer.fc3.weight.exp_avg_sq", -Infinity, "-Infinity"],
  ];
  for (const [tensor, value, shown] of cases) {
    const bad = edited(good, (t) => {
      (t.get(tensor)!.data as Float32Array)[3] = value;
    });
    await expectError(
      () => decodeCheckpoint(bad, "damaged.safetensors"),
      CheckpointError,
      "damaged.safetensors",
      `'${tensor}'`,
      shown,
    );
  }
  // the good one still loads into a model
  const model = Model.create(await gpu(), lenet5(), { seed: 1 });
  restoreCheckpoint(model, decodeCheckpoint(good), true);
  model.destroy();
});

Deno.test("a checkpoint whose metadata is out of range is refused in one line", async () => {
  const good = await freshCheckpoint();
  const withRecipe = (change: Record<string, unknown>) =>
    edited(good, (_, m) => {
      m.recipe = JSON.stringify({ ...JSON.parse(m.recipe), ...change });
    });
  const withState = (change: Record<string, unknown>) =>
    edited(good, (_, m) => {
      m.state = JSON.stringify({ ...JSON.parse(m.state), ...change });
    });
  const cases: [string, Uint8Array, string][] = [
    ["batch 0", withRecipe({ batchSize: 0 }), "batch size"],
    ["batch 2.5", withRecipe({ batchSize: 2.5 }), "batch size"],
    ["batch 1e9", withRecipe({ batchSize: 1e9 }), "batch size"],
    ["epochs -3", withRecipe({ epochs: -3 }), "epochs"],
    ["epoch 7 of 2", withState({ epoch: 7 }), "epoch"],
    ["epoch -1", withState({ epoch: -1 }), "epoch"],
    ["step 1e12", withState({ stepInEpoch: 1e12 }), "step"],
    ["step -4", withState({ stepInEpoch: -4 }), "step"],
    ["global step NaN", withState({ globalStep: "x" }), "step"],
    [
      "time -5",
      edited(good, (_, m) => {
        m.train_seconds = "-5";
      }),
      "time",
    ],
  ];
  for (const [what, bytes, fragment] of cases) {
    const message = await expectError(
      () => decodeCheckpoint(bytes, "odd.safetensors"),
      CheckpointError,
      "odd.safetensors",
      fragment,
    );
    assert.ok(!/\bat /.test(message), `${what}: ${message}`);
  }
});

Deno.test("a resumed state beyond the data's steps per epoch is a CheckpointError", async () => {
  const f = await fixture(); // 25 steps per epoch at batch 32
  const model = Model.create(f.ctx, lenet5(), { seed: 5 });
  const trainer = await Trainer.create(f.ctx, model, f.train, OPTIONS);
  try {
    const ck = decodeCheckpoint(await freshCheckpoint({ stepInEpoch: 40, globalStep: 40 }));
    await expectError(
      () => trainer.restore(ck.info.state, ck.info.pendingLosses),
      CheckpointError,
      "step 40",
      "25 steps per epoch",
    );
  } finally {
    trainer.destroy();
    model.destroy();
  }
});

Deno.test("the elapsed training and evaluation time travel with the checkpoint", async () => {
  const bytes = await freshCheckpoint({ trainSeconds: 5.25, evalSeconds: 0.5 });
  const ck = decodeCheckpoint(bytes);
  assert.equal(ck.info.state.trainSeconds, 5.25);
  assert.equal(ck.info.state.evalSeconds, 0.5);
  // a resumed trainer counts on from there
  const f = await fixture();
  const model = Model.create(f.ctx, lenet5(), { seed: 5 });
  const trainer = await Trainer.create(f.ctx, model, f.train, { ...OPTIONS, epochs: 1 });
  try {
    restoreCheckpoint(model, ck, true);
    trainer.restore(ck.info.state, ck.info.pendingLosses);
    const result = await trainer.run({});
    assert.ok(result.state.trainSeconds > 5.25, `trainSeconds ${result.state.trainSeconds}`);
  } finally {
    trainer.destroy();
    model.destroy();
  }
  // checkpoints written before the times were kept load with zero
  const old = edited(bytes, (_, m) => {
    delete m.train_seconds;
    delete m.eval_seconds;
  });
  assert.equal(decodeCheckpoint(old).info.state.trainSeconds, 0);
});
