/**
 * A sweep: conditions x seeds, one training run each. Every finished run is stored at once
 * (through a {@link RunStore}; the Deno side writes one JSON file per run, atomically), so an
 * interrupted sweep loses at most the run in progress, and running it again trains only the runs
 * not yet stored. A stored run carries its full configuration; one stored for another
 * configuration is never used: it is trained again and replaced, and the log says so.
 *
 * Browser-safe: storage, training and output are the caller's.
 *
 * @module
 */

/** One run of a sweep as planned. */
export interface PlannedRun {
  /** Unique, file-name safe, e.g. "sigma8-seed1". */
  key: string;
  /** For progress lines, e.g. "sigma 8, seed 1/3". */
  label: string;
  /** Everything that decides the result (recipe, condition, seed, data identity); JSON data. */
  config: unknown;
}

/** What a store keeps per run. */
export interface StoredRun<R> {
  /** Always {@link RUN_SCHEMA}. */
  schema: typeof RUN_SCHEMA;
  /** The run's key in the sweep. */
  key: string;
  /** The configuration it was trained with. */
  config: unknown;
  /** What the run produced. */
  record: R;
}

/** Identifies stored runs. */
export const RUN_SCHEMA = "webgpu-mnist/run@1";

/** Where finished runs are kept. */
export interface RunStore<R> {
  /** The stored entry (parsed JSON) under `key`, or undefined; throws when it cannot be read. */
  load(key: string): Promise<unknown>;
  /** Stores a finished run (atomically: a reader sees the old entry or the new one). */
  save(key: string, run: StoredRun<R>): Promise<void>;
  /** Where `key` is kept, for messages (a path). */
  where(key: string): string;
}

/** Readable between runs and during training; an `AbortSignal` fits. */
export interface SweepSignal {
  /** True once stopping was asked for. */
  readonly aborted: boolean;
}

/** How to carry out a sweep. */
export interface SweepOptions<R> {
  /** Every run of the sweep, in order (keys unique). */
  runs: PlannedRun[];
  /** Where finished runs are kept and found again. */
  store: RunStore<R>;
  /** Trains one run; undefined when the signal stopped it (nothing is stored then). */
  train: (run: PlannedRun, position: { index: number; of: number }) => Promise<R | undefined>;
  /** A result that stands in for a run without training it (e.g. Part 1's run as a baseline). */
  reuse?: (run: PlannedRun) => { record: R; from: string } | undefined;
  /** Checked before each run (and by `train` during one): stops the sweep. */
  signal?: SweepSignal;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Seconds a stored result took to train (for the first ETA). */
  seconds?: (record: R) => number;
  /** Milliseconds from any origin (tests inject a clock). */
  now?: () => number;
}

/** What a sweep did. */
export interface SweepOutcome<R> {
  /** Results in plan order; undefined for runs not done (after an interruption). */
  records: (R | undefined)[];
  /** True when the signal stopped the sweep before its end. */
  interrupted: boolean;
  /** Keys of the runs trained now. */
  trained: string[];
  /** Keys of the runs taken from the store. */
  loaded: string[];
  /** Keys of the runs `reuse` stood in for. */
  reused: string[];
}

/** JSON with object keys sorted, so equal configurations give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
        : v,
  );
}

/** Paths (a.b.c) where two JSON values differ; at most `limit`. */
export function configDifferences(a: unknown, b: unknown, limit = 3): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string) => {
    if (out.length >= limit) return;
    const objects = x && y && typeof x === "object" && typeof y === "object" &&
      Array.isArray(x) === Array.isArray(y);
    if (!objects) {
      if (canonicalJson(x) !== canonicalJson(y)) out.push(path || "(the whole record)");
      return;
    }
    const keys = new Set([...Object.keys(x as object), ...Object.keys(y as object)]);
    for (const k of [...keys].sort()) {
      walk(
        (x as Record<string, unknown>)[k],
        (y as Record<string, unknown>)[k],
        path ? `${path}.${k}` : k,
      );
    }
  };
  walk(a, b, "");
  return out;
}

/** `m:ss` (or `h:mm:ss`); `--:--` when unknown. */
function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const t = Math.round(seconds), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60);
  const s = String(t % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** Reads a stored entry; its record if it was stored for this run's configuration. */
async function storedRecord<R>(
  store: RunStore<R>,
  run: PlannedRun,
  log: (line: string) => void,
): Promise<R | undefined> {
  let entry: unknown;
  try {
    entry = await store.load(run.key);
  } catch (e) {
    log(`${store.where(run.key)}: unreadable (${(e as Error).message}); training it again`);
    return undefined;
  }
  if (entry === undefined) return undefined;
  const e = entry as Partial<StoredRun<R>>;
  if (e?.schema !== RUN_SCHEMA || e.key !== run.key || e.record === undefined) {
    log(`${store.where(run.key)}: not a run record of this sweep; training it again`);
    return undefined;
  }
  if (canonicalJson(e.config) !== canonicalJson(run.config)) {
    const diff = configDifferences(e.config, run.config);
    log(
      `${store.where(run.key)}: recorded for another configuration (differs in ${
        diff.join(", ")
      }); ignoring it: the run is trained again and the record replaced`,
    );
    return undefined;
  }
  return e.record;
}

/** Carries out a sweep: stored runs are taken as they are, the others trained and stored. */
export async function runSweep<R>(o: SweepOptions<R>): Promise<SweepOutcome<R>> {
  const log = o.log ?? (() => {});
  const now = o.now ?? (() => performance.now());
  const keys = new Set<string>();
  for (const r of o.runs) {
    if (keys.has(r.key)) throw new Error(`sweep: two runs share the key '${r.key}'`);
    keys.add(r.key);
  }
  const records: (R | undefined)[] = [];
  const outcome: SweepOutcome<R> = {
    records,
    interrupted: false,
    trained: [],
    loaded: [],
    reused: [],
  };
  for (const run of o.runs) {
    const r = await storedRecord(o.store, run, log);
    records.push(r);
    if (r !== undefined) outcome.loaded.push(run.key);
  }
  const todo = o.runs.map((_, i) => i).filter((i) => records[i] === undefined);
  const reusable = todo.filter((i) => o.reuse?.(o.runs[i]) !== undefined).length;
  const toTrain = todo.length - reusable;
  const known = outcome.loaded.map((k) =>
    o.seconds?.(records[o.runs.findIndex((r) => r.key === k)]!)
  )
    .filter((s): s is number => s !== undefined && Number.isFinite(s));
  let perRun = known.length ? known.reduce((a, b) => a + b, 0) / known.length : NaN;
  log(
    `plan: ${o.runs.length} run(s): ${outcome.loaded.length} already done, ` +
      (reusable ? `${reusable} reused, ` : "") + `${toTrain} to train` +
      (toTrain === 0
        ? ""
        : Number.isFinite(perRun)
        ? `; ETA ${duration(perRun * toTrain)} (from the stored runs)`
        : "; ETA after the first run"),
  );
  let trainedSeconds = 0, position = 0;
  for (const i of todo) {
    const run = o.runs[i];
    const reused = o.reuse?.(run);
    if (reused) {
      await o.store.save(run.key, {
        schema: RUN_SCHEMA,
        key: run.key,
        config: run.config,
        record: reused.record,
      });
      records[i] = reused.record;
      outcome.reused.push(run.key);
      log(`${run.label}: ${reused.from} (same configuration), not trained again`);
      continue;
    }
    if (o.signal?.aborted) {
      outcome.interrupted = true;
      break;
    }
    position++;
    log(`run ${position}/${toTrain}: ${run.label}`);
    const t0 = now();
    const r = await o.train(run, { index: position, of: toTrain });
    if (r === undefined) {
      outcome.interrupted = true;
      break;
    }
    await o.store.save(run.key, {
      schema: RUN_SCHEMA,
      key: run.key,
      config: run.config,
      record: r,
    });
    records[i] = r;
    outcome.trained.push(run.key);
    trainedSeconds += (now() - t0) / 1000;
    perRun = trainedSeconds / position;
    const left = toTrain - position;
    log(
      `run ${position}/${toTrain} stored in ${o.store.where(run.key)}` +
        (left > 0 ? `; ${left} to go, ETA ${duration(perRun * left)}` : ""),
    );
  }
  return outcome;
}
