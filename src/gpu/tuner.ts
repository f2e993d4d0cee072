/**
 * Chooses kernel variants by measuring them on the adapter in use, once per (adapter, op, shape),
 * and remembers the choice. CPU adapters want larger register blocks; a block that fits a layer's
 * width without a ragged edge often wins by 2x; real GPUs may prefer other shapes.
 *
 * Variants never change results: every variant sums each output in the same order, so tuning
 * cannot make two runs with the same seed differ (tested).
 *
 * @module
 */
import type { GpuContext } from "./context.ts";
import type { Dispatch } from "./program.ts";
import { profileDispatches } from "./profiler.ts";

/** Where choices are kept between runs (a JSON file in Deno, memory in a browser). */
export interface TuningStore {
  /** All stored records, keyed by `adapter|op|shape`; an empty object when there are none. */
  load(): Promise<Record<string, TuningRecord>>;
  /** Replaces the stored records with `records`. */
  save(records: Record<string, TuningRecord>): Promise<void>;
}

/** One remembered choice. */
export interface TuningRecord {
  /** JSON of the chosen variant. */
  choice: string;
  /** Measured GPU milliseconds per candidate (JSON of the variant -> ms). */
  timings: Record<string, number>;
  /** {@link GpuContext.adapterName} of the adapter it was measured on. */
  adapter: string;
  /** When it was measured (ISO 8601 timestamp). */
  measuredAt: string;
}

/** "off": use each op's default variant; "auto": measure (or reuse a stored choice). */
export type TuningMode = "off" | "auto";

/** An in-memory store. */
export class MemoryTuningStore implements TuningStore {
  #records: Record<string, TuningRecord> = {};
  /** A copy of the records saved so far (none at first). */
  load(): Promise<Record<string, TuningRecord>> {
    return Promise.resolve({ ...this.#records });
  }
  /** Keeps a copy of `records` for later {@link MemoryTuningStore.load} calls. */
  save(records: Record<string, TuningRecord>): Promise<void> {
    this.#records = { ...records };
    return Promise.resolve();
  }
}

/** A decision the tuner made, for reports ("which variant won"). */
export interface TuningDecision {
  /** What was tuned, `op.kind|shape` without the adapter, e.g. `dense.forward|64,400,120,true`. */
  key: string;
  /** JSON of the chosen variant. */
  choice: string;
  /** True when the choice came from the store instead of being measured now. */
  fromCache: boolean;
  /** Measured GPU milliseconds per candidate (JSON of the variant -> ms). */
  timings: Record<string, number>;
}

/**
 * Picks the fastest variant (tile) of each op by measuring the candidates on the adapter in use,
 * once per (adapter, op, shape), and keeps the choices in a {@link TuningStore}. Assign one to
 * `Model.tuner` before building programs; call {@link Tuner.flush} to save new choices.
 */
export class Tuner {
  /** "auto" measures (or reuses stored choices); "off" always returns the fallback. */
  readonly mode: TuningMode;
  readonly #ctx: GpuContext;
  readonly #store: TuningStore;
  #records: Record<string, TuningRecord> | null = null;
  #dirty = false;
  /** Every decision taken in this process, in order. */
  readonly decisions: TuningDecision[] = [];

  /**
   * A tuner for `ctx`'s adapter, in `mode` (default "auto"), remembering choices in `store`
   * (default: a {@link MemoryTuningStore}, forgotten when the process ends).
   */
  constructor(
    ctx: GpuContext,
    mode: TuningMode = "auto",
    store: TuningStore = new MemoryTuningStore(),
  ) {
    this.#ctx = ctx;
    this.mode = mode;
    this.#store = store;
  }

  /**
   * The fastest of `candidates` for `key` (`fallback` when tuning is off or nothing can be
   * measured). `build` records the dispatches of one candidate on the real tensors.
   */
  async pick<T>(
    key: string,
    candidates: readonly T[],
    fallback: T,
    build: (c: T) => Promise<Dispatch[]>,
  ): Promise<T> {
    if (this.mode === "off" || candidates.length === 0) return fallback;
    this.#records ??= await this.#store.load();
    const fullKey = `${this.#ctx.adapterName}|${key}`;
    const known = this.#records[fullKey];
    if (known) {
      const hit = candidates.find((c) => JSON.stringify(c) === known.choice);
      if (hit !== undefined) {
        this.decisions.push({ key, choice: known.choice, fromCache: true, timings: known.timings });
        return hit;
      }
    }
    const timings: Record<string, number> = {};
    let best = fallback, bestMs = Infinity;
    for (const c of candidates) {
      let dispatches: Dispatch[];
      try {
        dispatches = await build(c);
      } catch {
        continue; // a variant this shape cannot use
      }
      const ms = await this.#measure(dispatches);
      timings[JSON.stringify(c)] = ms;
      if (ms < bestMs) {
        bestMs = ms;
        best = c;
      }
    }
    const choice = JSON.stringify(best);
    this.#records[fullKey] = {
      choice,
      timings,
      adapter: this.#ctx.adapterName,
      measuredAt: new Date().toISOString(),
    };
    this.#dirty = true;
    this.decisions.push({ key, choice, fromCache: false, timings });
    return best;
  }

  /** Minimum GPU time of the dispatches over a few sustained repetitions. */
  async #measure(dispatches: Dispatch[]): Promise<number> {
    const t = await profileDispatches(this.#ctx, dispatches, { reps: 8 });
    if (t) return t.reduce((s, x) => s + x.min, 0);
    // no timestamp queries: wall time of repeated submissions
    const device = this.#ctx.device;
    let best = Infinity;
    for (let r = 0; r < 4; r++) {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      for (let k = 0; k < 4; k++) {
        for (const d of dispatches) {
          pass.setPipeline(d.kernel.pipeline);
          if (d.stepped) pass.setBindGroup(0, d.bindGroup, [0]);
          else pass.setBindGroup(0, d.bindGroup);
          pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
        }
      }
      pass.end();
      const t0 = performance.now();
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
      if (r > 0) best = Math.min(best, (performance.now() - t0) / 4);
    }
    return best;
  }

  /** Writes new choices to the store. */
  async flush(): Promise<void> {
    if (this.#dirty && this.#records) {
      await this.#store.save(this.#records);
      this.#dirty = false;
    }
  }
}
