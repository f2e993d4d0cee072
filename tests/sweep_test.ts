/**
 * The sweep runner (src/study/sweep.ts): a sweep cancelled after its first run keeps that run,
 * and running it again trains only the rest; a stored run of another configuration is ignored,
 * said so, trained again and replaced; baselines stand in without training. The runs here are
 * stand-ins (the runner's bookkeeping is what is tested); tests/sweep_interrupt_test.ts does the
 * same with real training through `experiments/part2.ts` and SIGTERM.
 */
import assert from "node:assert/strict";
import {
  canonicalJson,
  configDifferences,
  type PlannedRun,
  RUN_SCHEMA,
  type RunStore,
  runSweep,
  type StoredRun,
} from "../src/study/sweep.ts";

class MemoryStore<R> implements RunStore<R> {
  entries = new Map<string, string>();
  load(key: string): Promise<unknown> {
    const text = this.entries.get(key);
    return Promise.resolve(text === undefined ? undefined : JSON.parse(text));
  }
  save(key: string, run: StoredRun<R>): Promise<void> {
    this.entries.set(key, JSON.stringify(run));
    return Promise.resolve();
  }
  where(key: string): string {
    return `mem/${key}.json`;
  }
}

const plan = (epochs: number): PlannedRun[] =>
  [8, 32].map((sigma) => ({
    key: `sigma${sigma}-seed1`,
    label: `sigma ${sigma}`,
    config: { recipe: { epochs, lr: 0.002 }, seed: 1, condition: { sigma } },
  }));

Deno.test("a sweep cancelled after its first run continues with the second only", async () => {
  const store = new MemoryStore<{ error: number; sigma: number }>();
  const trained: string[] = [];
  const log: string[] = [];
  const controller = new AbortController();
  const first = await runSweep({
    runs: plan(1),
    store,
    signal: controller.signal,
    log: (l) => log.push(l),
    train: (run) => {
      trained.push(run.key);
      controller.abort(); // the interrupt arrives during the first run, after its last step
      return Promise.resolve({
        error: 0.1,
        sigma: (run.config as { condition: { sigma: number } }).condition.sigma,
      });
    },
  });
  assert.equal(first.interrupted, true);
  assert.deepEqual(first.trained, ["sigma8-seed1"]);
  assert.equal(first.records[1], undefined);
  assert.deepEqual([...store.entries.keys()], ["sigma8-seed1"]);
  assert.match(log[0], /^plan: 2 run\(s\): 0 already done, 2 to train; ETA after the first run$/);

  // again, without the interrupt: only the second run is trained
  trained.length = 0;
  log.length = 0;
  const second = await runSweep({
    runs: plan(1),
    store,
    log: (l) => log.push(l),
    seconds: () => 30,
    train: (run) => {
      trained.push(run.key);
      return Promise.resolve({ error: 0.2, sigma: 32 });
    },
  });
  assert.equal(second.interrupted, false);
  assert.deepEqual(trained, ["sigma32-seed1"]);
  assert.deepEqual(second.loaded, ["sigma8-seed1"]);
  assert.deepEqual(second.records.map((r) => r?.error), [0.1, 0.2]);
  assert.match(log[0], /^plan: 2 run\(s\): 1 already done, 1 to train; ETA 0:30/);
  assert.ok(log.includes("run 1/1: sigma 32"), log.join("\n"));
  const stored = JSON.parse(store.entries.get("sigma32-seed1")!);
  assert.equal(stored.schema, RUN_SCHEMA);
  assert.deepEqual(stored.config, plan(1)[1].config, "the record carries its configuration");
});

Deno.test("a stored run of another configuration is ignored, said so, and replaced", async () => {
  const store = new MemoryStore<{ epochs: number }>();
  const train = (run: PlannedRun) =>
    Promise.resolve({ epochs: (run.config as { recipe: { epochs: number } }).recipe.epochs });
  await runSweep({ runs: plan(1), store, train });
  const log: string[] = [];
  const again = await runSweep({ runs: plan(2), store, train, log: (l) => log.push(l) });
  assert.deepEqual(again.trained, ["sigma8-seed1", "sigma32-seed1"]);
  assert.deepEqual(again.records.map((r) => r?.epochs), [2, 2]);
  assert.ok(
    log.some((l) =>
      /mem\/sigma8-seed1\.json: recorded for another configuration \(differs in recipe\.epochs\)/
        .test(l)
    ),
    log.join("\n"),
  );
  assert.equal(JSON.parse(store.entries.get("sigma8-seed1")!).record.epochs, 2);

  // a damaged or foreign entry is trained again too
  store.entries.set("sigma8-seed1", JSON.stringify({ hello: 1 }));
  log.length = 0;
  const third = await runSweep({ runs: plan(2), store, train, log: (l) => log.push(l) });
  assert.deepEqual(third.trained, ["sigma8-seed1"]);
  assert.ok(log.some((l) => /not a run record of this sweep/.test(l)), log.join("\n"));
});

Deno.test("a baseline stands in without training and is stored", async () => {
  const store = new MemoryStore<{ from: string }>();
  const trained: string[] = [];
  const out = await runSweep({
    runs: plan(1),
    store,
    reuse: (run) =>
      run.key.startsWith("sigma8") ? { record: { from: "part1" }, from: "Part 1" } : undefined,
    train: (run) => {
      trained.push(run.key);
      return Promise.resolve({ from: "trained" });
    },
  });
  assert.deepEqual(trained, ["sigma32-seed1"]);
  assert.deepEqual(out.reused, ["sigma8-seed1"]);
  assert.equal(JSON.parse(store.entries.get("sigma8-seed1")!).record.from, "part1");
});

Deno.test("canonical JSON ignores key order; differences are named by path", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [1, 2], c: 3 } }),
    canonicalJson({ a: { c: 3, d: [1, 2] }, b: 1 }),
  );
  assert.notEqual(canonicalJson({ a: [1, 2] }), canonicalJson({ a: [2, 1] }));
  assert.deepEqual(configDifferences({ a: { b: 1, c: 2 }, d: 3 }, { a: { b: 1, c: 5 }, d: 4 }), [
    "a.c",
    "d",
  ]);
  assert.deepEqual(configDifferences({ a: 1 }, { a: 1, e: 2 }), ["e"]);
});
