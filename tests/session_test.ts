/**
 * The training session (src/train/session.ts) in-process, on small MNIST subsets: a session
 * stopped mid-run and resumed from its "interrupted" checkpoint ends with the weights, metrics
 * and curves of one never stopped; host arrays and uploaded data train the same model; and a
 * two-condition sweep over sessions cancelled after its first run trains only the second when
 * run again.
 */
import assert from "node:assert/strict";
import type { Dataset } from "../src/data/dataset.ts";
import { uploadDataset } from "../src/ops/gather.ts";
import { ADAM_DEFAULTS } from "../src/ops/optimizer.ts";
import { mlp } from "../src/nn/spec.ts";
import { decodeCheckpoint } from "../src/train/checkpoint.ts";
import { type SessionConfig, type SessionResult, trainSession } from "../src/train/session.ts";
import { type PlannedRun, type RunStore, runSweep, type StoredRun } from "../src/study/sweep.ts";
import { gpu } from "./helpers.ts";
import { mnistSubsets } from "./data_helpers.ts";

const mnist = mnistSubsets(960, 200);

async function config(seed: number, epochs = 2): Promise<SessionConfig> {
  const { train, test } = await mnist();
  return {
    ctx: await gpu(),
    spec: mlp(784, [24]),
    data: { train, test },
    recipe: {
      optimizer: { ...ADAM_DEFAULTS, lr: 0.003 },
      schedule: { kind: "cosine", warmupFraction: 0.05 },
      batchSize: 32,
      epochs,
      seed,
    },
    lossEvery: 4,
    evalPointsPerEpoch: 2,
    stepsPerSubmit: 3,
    wantCheckpoint: true,
  };
}

/** The tensor bytes of a safetensors file (the header holds timings and metadata). */
function tensorBytes(b: Uint8Array): Uint8Array {
  return b.subarray(8 + Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true)));
}

function sameRun(a: SessionResult, b: SessionResult, what: string): void {
  const x = tensorBytes(a.checkpoint!), y = tensorBytes(b.checkpoint!);
  // a plain loop: assert's diff of two large arrays takes minutes and gigabytes
  const differ = x.length !== y.length || x.some((v, i) => v !== y[i]);
  assert.ok(!differ, `${what}: the weights differ`);
  assert.equal(b.metrics!.error, a.metrics!.error, `${what}: test error`);
  assert.deepEqual(b.metrics!.confusion, a.metrics!.confusion, `${what}: confusion`);
  assert.deepEqual(b.lossCurve, a.lossCurve, `${what}: loss curve`);
  assert.deepEqual(b.testCurve, a.testCurve, `${what}: test-error curve`);
}

Deno.test("a session stopped mid-run and resumed ends as one never stopped", async () => {
  const full = await trainSession(await config(5));
  assert.equal(full.interrupted, false);
  assert.equal(full.imagesTrained, 2 * 30 * 32);
  const signal = { aborted: false };
  const reasons: string[] = [];
  let saved: Uint8Array | undefined;
  const cut = await trainSession({
    ...await config(5),
    signal,
    hooks: {
      // stop in the middle of the second epoch
      onProgress: (p) => {
        if (p.imagesSeen >= 45 * 32) signal.aborted = true;
      },
      onCheckpoint: (bytes, why) => {
        reasons.push(why);
        if (why === "interrupted") saved = bytes;
      },
    },
  });
  assert.equal(cut.interrupted, true);
  assert.equal(cut.metrics, undefined, "no final evaluation after a stop unless asked");
  assert.deepEqual(reasons, ["epoch", "interrupted"]);
  assert.equal(cut.state.epoch, 1);
  assert.ok(cut.state.stepInEpoch > 0 && cut.state.stepInEpoch < 30, `${cut.state.stepInEpoch}`);
  const resumed = await trainSession({
    ...await config(5),
    resume: decodeCheckpoint(saved!, "interrupted"),
  });
  sameRun(full, resumed, "resumed");
});

Deno.test("host arrays and data already on the GPU train the same model", async () => {
  const host = await trainSession(await config(9, 1));
  const c = await config(9, 1);
  const t = c.data.train as Dataset, e = c.data.test as Dataset;
  const train = uploadDataset(c.ctx, t.images, t.labels, t.count, 784, "train");
  const test = uploadDataset(c.ctx, e.images, e.labels, e.count, 784, "test");
  try {
    const uploaded = await trainSession({ ...c, data: { train, test } });
    sameRun(host, uploaded, "uploaded");
  } finally {
    for (const s of [train.images, train.labels, test.images, test.labels]) s.destroy();
  }
});

class MemoryStore<R> implements RunStore<R> {
  entries = new Map<string, string>();
  load(key: string) {
    const t = this.entries.get(key);
    return Promise.resolve(t === undefined ? undefined : JSON.parse(t));
  }
  save(key: string, run: StoredRun<R>) {
    this.entries.set(key, JSON.stringify(run));
    return Promise.resolve();
  }
  where(key: string) {
    return key;
  }
}

Deno.test("a sweep of sessions cancelled after run 1 trains only run 2 when run again", async () => {
  const runs = [0, 64].map((sigma) => ({
    key: `sigma${sigma}-seed3`,
    label: `sigma ${sigma}`,
    config: { sigma, seed: 3 },
  }));
  type Rec = { error: number; loss: number[] };
  const trained: string[] = [];
  const trainOne = async (run: PlannedRun, signal?: AbortSignal) => {
    trained.push(run.key);
    const { sigma, seed } = run.config as { sigma: number; seed: number };
    const c = await config(seed, 1);
    const r = await trainSession({
      ...c,
      recipe: { ...c.recipe, noise: { sigma, seed: 77 } },
      signal,
    });
    return r.interrupted
      ? undefined
      : { error: r.metrics!.error, loss: r.lossCurve.map((p) => p.loss) };
  };
  const controller = new AbortController();
  const store = new MemoryStore<Rec>();
  const first = await runSweep<Rec>({
    runs,
    store,
    signal: controller.signal,
    train: async (run) => {
      const r = await trainOne(run, controller.signal);
      // Ctrl-C arrives as the first run ends: that run is complete and stored, the sweep stops
      controller.abort();
      return r;
    },
  });
  assert.equal(first.interrupted, true);
  assert.deepEqual(trained, ["sigma0-seed3"]);
  assert.deepEqual([...store.entries.keys()], ["sigma0-seed3"]);

  trained.length = 0;
  const again = await runSweep<Rec>({ runs, store, train: (run) => trainOne(run) });
  assert.equal(again.interrupted, false);
  assert.deepEqual(trained, ["sigma64-seed3"], "only the second run is trained");
  assert.deepEqual(again.loaded, ["sigma0-seed3"]);
  // the noisy run differs from the clean one, and each record is a complete run
  assert.notDeepEqual(again.records[0]!.loss, again.records[1]!.loss);
  for (const r of again.records) assert.ok(r!.error >= 0 && r!.error < 1 && r!.loss.length > 0);
});
