/**
 * `@napi-rs/canvas` (Skia), loaded on first use: its native addon needs `--allow-ffi` and a few
 * environment variables, which programs that import `mod_deno.ts` but draw nothing (benchmarks,
 * the profiler) are not given. Deno only.
 *
 * @module
 */
type CanvasModule = typeof import("npm:@napi-rs/canvas@0.1.82");

let loading: Promise<CanvasModule> | undefined;

/** The `@napi-rs/canvas` module, imported once. */
export function canvasLib(): Promise<CanvasModule> {
  loading ??= import("npm:@napi-rs/canvas@0.1.82");
  return loading;
}
