/**
 * Deno-only helpers: data files, image files, PNG charts and atomic writes. Not for browsers.
 *
 * @module
 */
export * from "./src/data/files.ts";
export * from "./src/data/image_file.ts";
export * from "./src/report/png.ts";
export * from "./src/util/atomic_write.ts";
export * from "./src/gpu/tuning_file.ts";
