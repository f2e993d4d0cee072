/** Shared test helpers: a GPU context per test file, random data, and close-comparison. */
import { acquireGpu, type GpuContext } from "../src/gpu/context.ts";
import { Rng } from "../src/util/rng.ts";

let shared: Promise<GpuContext> | null = null;

/** One device per test process. */
export function gpu(): Promise<GpuContext> {
  shared ??= acquireGpu();
  return shared;
}

/** Fresh random data every run unless TEST_SEED is set; the seed is printed on failure. */
export const TEST_SEED = Number(Deno.env.get("TEST_SEED") ?? (Date.now() % 1e9));

export function rng(salt: number): Rng {
  return new Rng((TEST_SEED + salt * 7919) >>> 0);
}

export function randomArray(r: Rng, n: number, lo = -1, hi = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = r.uniform(lo, hi);
  return a;
}

/**
 * Asserts max|got - want| / max|want| <= tol; on failure lists the first mismatches
 * (|got - want| > tol * max|want|) with their indices.
 */
export function assertClose(
  what: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol = 1e-5,
  shape?: number[],
): void {
  if (got.length !== want.length) {
    throw new Error(`${what}: length ${got.length} != ${want.length}`);
  }
  let norm = 0, err = 0;
  for (let i = 0; i < want.length; i++) norm = Math.max(norm, Math.abs(want[i]));
  const scale = Math.max(norm, 1e-12);
  const bad: string[] = [];
  let nBad = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= err)) err = d;
    if (!(d <= tol * scale)) {
      nBad++;
      if (bad.length < 8) {
        const idx = shape ? unravel(i, shape).join(",") : String(i);
        bad.push(`  [${idx}] got ${got[i]} want ${want[i]}`);
      }
    }
  }
  const rel = err / scale;
  if (!(rel <= tol)) {
    throw new Error(
      `${what}: relative error ${rel.toExponential(2)} > ${tol} (${nBad} of ${want.length} ` +
        `mismatched, TEST_SEED=${TEST_SEED}); first mismatches:\n${bad.join("\n")}`,
    );
  }
}

function unravel(i: number, shape: number[]): number[] {
  const idx = new Array(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

/** Central finite-difference gradient of f at x (in place, restores x). */
export function numericGrad(
  f: () => number,
  x: Float64Array,
  indices: number[],
  h = 1e-6,
): number[] {
  return indices.map((i) => {
    const old = x[i];
    x[i] = old + h;
    const fp = f();
    x[i] = old - h;
    const fm = f();
    x[i] = old;
    return (fp - fm) / (2 * h);
  });
}
