/**
 * A JSON file that keeps the tuner's choices between runs (Deno only). The experiment tasks use
 * `results/.cache/tuning.json` because they may write under `results/` only.
 *
 * @module
 */
import type { TuningRecord, TuningStore } from "./tuner.ts";
import { writeJsonAtomic } from "../util/atomic_write.ts";

/** Default location of the tuning cache. */
export const DEFAULT_TUNING_FILE = "results/.cache/tuning.json";

export class FileTuningStore implements TuningStore {
  readonly path: string;
  constructor(path = DEFAULT_TUNING_FILE) {
    this.path = path;
  }
  async load(): Promise<Record<string, TuningRecord>> {
    try {
      const value = JSON.parse(await Deno.readTextFile(this.path));
      return value && typeof value === "object" && !Array.isArray(value) ? value : {};
    } catch (e) {
      if (e instanceof Deno.errors.NotFound || e instanceof SyntaxError) return {}; // a broken cache is re-measured
      throw e;
    }
  }
  async save(records: Record<string, TuningRecord>): Promise<void> {
    await Deno.mkdir(this.path.replace(/\/[^/]*$/, ""), { recursive: true });
    await writeJsonAtomic(this.path, records);
  }
}
