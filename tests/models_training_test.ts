/**
 * Dropout and augmentation in whole training sessions on a small MNIST subset: the same seed
 * gives the same bits (masks and distortions are keyed, not drawn in dispatch order), both change
 * what is learned (they are really applied), a run interrupted mid-epoch and resumed ends with
 * the weights of one never stopped.
 */
import assert from "node:assert/strict";
import { ADAM_DEFAULTS } from "../src/ops/optimizer.ts";
import { AFFINE_DEFAULTS } from "../src/ops/augment.ts";
import { ELASTIC_DEFAULTS } from "../src/ops/elastic.ts";
import { conv2d, dense, dropout, flatten, maxPool2d, relu, sequential } from "../src/nn/spec.ts";
import { decodeCheckpoint } from "../src/train/checkpoint.ts";
import { type SessionConfig, type SessionResult, trainSession } from "../src/train/session.ts";
import { gpu } from "./helpers.ts";
import { mnistSubsets } from "./data_helpers.ts";

const mnist = mnistSubsets(640, 200);

const spec = (p: number) =>
  sequential("small-dropout-cnn", [
    conv2d(4, 5),
    relu(),
    maxPool2d(),
    flatten(),
    dense(32),
    relu(),
    dropout(p),
    dense(10),
  ]);

async function config(
  o: {
    seed: number;
    p?: number;
    augment?: boolean;
    elastic?: boolean;
    noisePerEpoch?: boolean;
    stop?: () => boolean;
  },
): Promise<SessionConfig> {
  const { train, test } = await mnist();
  return {
    ctx: await gpu(),
    spec: spec(o.p ?? 0.5),
    data: { train, test },
    recipe: {
      model: "small-dropout-cnn",
      optimizer: { ...ADAM_DEFAULTS, lr: 0.003 },
      schedule: { kind: "constant" },
      batchSize: 32,
      epochs: 2,
      seed: o.seed,
      augment: o.augment === false ? undefined : { ...AFFINE_DEFAULTS, seed: o.seed + 7 },
      elastic: o.elastic ? { ...ELASTIC_DEFAULTS, seed: o.seed + 9 } : undefined,
      ...(o.noisePerEpoch !== undefined
        ? { noise: { sigma: 32, seed: o.seed + 11 }, noisePerEpoch: o.noisePerEpoch }
        : {}),
    },
    lossEvery: 4,
    evalPointsPerEpoch: 2,
    stepsPerSubmit: 3,
    wantCheckpoint: true,
    signal: o.stop
      ? {
        get aborted() {
          return o.stop!();
        },
      }
      : undefined,
  };
}

/** The tensor bytes of a safetensors file (the header holds timings). */
function tensorBytes(b: Uint8Array): Uint8Array {
  return b.subarray(8 + Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true)));
}

function sameWeights(a: SessionResult, b: SessionResult): boolean {
  const x = tensorBytes(a.checkpoint!), y = tensorBytes(b.checkpoint!);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

Deno.test("dropout and augmentation: same seed same bits; each changes the training", async () => {
  const a = await trainSession(await config({ seed: 3 }));
  const b = await trainSession(await config({ seed: 3 }));
  assert.ok(sameWeights(a, b), "two runs with the same seed differ");
  assert.deepEqual(b.lossCurve, a.lossCurve);
  assert.ok(a.metrics!.error < 0.5, `it learns (test error ${a.metrics!.error})`);
  const noDrop = await trainSession(await config({ seed: 3, p: 0 }));
  assert.ok(!sameWeights(a, noDrop), "dropout 0.5 trains like dropout 0");
  const noAug = await trainSession(await config({ seed: 3, augment: false }));
  assert.ok(!sameWeights(a, noAug), "augmentation changes nothing");
  const elastic = await trainSession(await config({ seed: 3, elastic: true }));
  const elastic2 = await trainSession(await config({ seed: 3, elastic: true }));
  assert.ok(sameWeights(elastic, elastic2), "two elastic runs with the same seed differ");
  assert.ok(!sameWeights(a, elastic), "elastic distortion changes nothing");
  assert.deepEqual(decodeCheckpoint(elastic.checkpoint!).info.recipe.elastic, {
    ...ELASTIC_DEFAULTS,
    seed: 12,
  });
  // with elastic distortion the elastic kernel adds the noise, and per-epoch noise rebuilds it
  const fixedNoise = await trainSession(
    await config({ seed: 3, elastic: true, noisePerEpoch: false }),
  );
  const freshNoise = await trainSession(
    await config({ seed: 3, elastic: true, noisePerEpoch: true }),
  );
  const freshNoise2 = await trainSession(
    await config({ seed: 3, elastic: true, noisePerEpoch: true }),
  );
  assert.ok(!sameWeights(fixedNoise, elastic), "noise is ignored with elastic distortion");
  assert.ok(!sameWeights(fixedNoise, freshNoise), "per-epoch noise is ignored with elastic");
  assert.ok(
    sameWeights(freshNoise, freshNoise2),
    "per-epoch noise with elastic: same seed differs",
  );
  const info = decodeCheckpoint(a.checkpoint!).info;
  assert.equal(info.recipe.model, "small-dropout-cnn");
  assert.deepEqual(info.recipe.augment, { ...AFFINE_DEFAULTS, seed: 10 });
});

Deno.test("a dropout and augmentation run stopped mid-epoch resumes to the same bits", async () => {
  const whole = await trainSession(await config({ seed: 5, elastic: true }));
  let polls = 0;
  const cut = await trainSession(await config({ seed: 5, elastic: true, stop: () => ++polls > 4 }));
  assert.ok(cut.interrupted && cut.state.epoch === 0 && cut.state.stepInEpoch > 0);
  const resumed = await trainSession({
    ...await config({ seed: 5, elastic: true }),
    resume: decodeCheckpoint(cut.checkpoint!),
  });
  assert.ok(sameWeights(whole, resumed), "the resumed run ends with other weights");
  assert.deepEqual(resumed.testCurve.map((p) => p.error), whole.testCurve.map((p) => p.error));
});
