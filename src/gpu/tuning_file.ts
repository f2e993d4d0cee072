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

/**
 * A {@link TuningStore} kept in a JSON file (an object of `adapter|op|shape` -> record). A missing
 * or unreadable-as-JSON file loads as empty, so a broken cache is simply measured again.
 */
export class FileTuningStore implements TuningStore {
  /** Path of the JSON file. */
  readonly path: string;
  /** A store at `path` (default {@link DEFAULT_TUNING_FILE}, relative to the working directory). */
  constructor(path = DEFAULT_TUNING_FILE) {
    this.path = path;
  }
  /**
   * The records in the file; `{}` when it does not exist or is not a JSON object.
   *
   * @throws the read error for anything but a missing file (e.g. Deno.errors.PermissionDenied)
   */
  async load(): Promise<Record<string, TuningRecord>> {
    try {
      const value = JSON.parse(await Deno.readTextFile(this.path));
      return value && typeof value === "object" && !Array.isArray(value) ? value : {};
    } catch (e) {
      if (e instanceof Deno.errors.NotFound || e instanceof SyntaxError) return {}; // a broken cache is re-measured
      throw e;
    }
  }
  /** Writes `records` as JSON atomically, creating the file's folder if needed. */
  async save(records: Record<string, TuningRecord>): Promise<void> {
    await Deno.mkdir(this.path.replace(/\/[^/]*$/, ""), { recursive: true });
    await writeJsonAtomic(this.path, records);
  }
}
