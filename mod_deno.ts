/**
 * Deno-only helpers: data files, image files, PNG charts and atomic writes. Not for browsers.
 *
 * @module
 */
export * from "./src/data/files.ts";
export * from "./src/data/image_file.ts";
export * from "./src/render/png.ts";
export * from "./src/util/atomic_write.ts";
export * from "./src/gpu/tuning_file.ts";

// types that the helpers above take or return
export type { Dataset } from "./src/data/dataset.ts";
export type { KaggleCsv } from "./src/data/csv.ts";
export type { IdxKind } from "./src/data/idx.ts";
export type { TuningRecord, TuningStore } from "./src/gpu/tuner.ts";
export type { ChartSpec, PluginName } from "./src/render/charts.ts";
