/**
 * The one comparison of a kernel output with its float64 reference, used by the kernel-check
 * suite (`src/check/`), the Deno tests, the in-browser self-test and the benchmarks.
 * Browser-safe: no Deno APIs.
 *
 * @module
 */

/** One comparison of a kernel output with its reference (JSON-serializable). */
export interface CheckResult {
  /** Kernel family: dense, conv2d, maxpool, relu, softmax-xent, optimizer, gather, evaluate. */
  family: string;
  /** What was compared, with the shape. */
  name: string;
  /** Whether the check passed: `error` within `tolerance` (for counted checks, at most it). */
  ok: boolean;
  /** max|got - want| / max|want| (for counted checks, the count of bad elements). */
  error: number;
  /** Largest `error` allowed (0: exact; for counted checks, the bad elements allowed). */
  tolerance: number;
  /** Why it failed: the first mismatches, or the exception that stopped the check. */
  detail?: string;
}

/** Mismatches listed in a failure's detail. */
const LISTED = 6;

/** Multi-dimensional index of flat element `i` in a row-major `shape`. */
function unravel(i: number, shape: readonly number[]): string {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx.join(",");
}

/**
 * Passes when max|got - want| / max|want| <= tolerance (0: exact). On failure the detail says
 * the relative error and lists the first elements off by more than tolerance * max|want|, by
 * index (multi-dimensional when `shape` is given). `scale` raises max|want| to the size of the
 * terms a sum cancels (one output near 0 would otherwise be judged relative to itself).
 */
export function compare(
  family: string,
  name: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tolerance: number,
  shape?: readonly number[],
  scale = 0,
): CheckResult {
  if (got.length !== want.length) {
    const detail = `length ${got.length}, expected ${want.length}`;
    return { family, name, ok: false, error: Infinity, tolerance, detail };
  }
  let norm = Math.max(scale, 1e-12), err = 0;
  for (let i = 0; i < want.length; i++) norm = Math.max(norm, Math.abs(want[i]));
  const bad: string[] = [];
  let nBad = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= err)) err = d; // NaN counts as the worst error
    if (!(d <= tolerance * norm)) {
      nBad++;
      if (bad.length < LISTED) {
        bad.push(`[${shape ? unravel(i, shape) : i}] got ${got[i]} want ${want[i]}`);
      }
    }
  }
  const error = err / norm;
  const ok = error <= tolerance;
  if (ok) return { family, name, ok, error, tolerance };
  const detail = `relative error ${error.toExponential(2)} > ${tolerance}: ${nBad} of ` +
    `${want.length} mismatched; first: ${bad.join("; ")}`;
  return { family, name, ok, error, tolerance, detail };
}

/** Passes when both float32 arrays hold the same bits (kernel variants must agree exactly). */
export function compareBits(
  family: string,
  name: string,
  got: Float32Array,
  want: Float32Array,
): CheckResult {
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const b = new Uint32Array(want.buffer, want.byteOffset, want.length);
  const bad: string[] = [];
  let nBad = got.length === want.length ? 0 : Infinity;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    nBad++;
    if (bad.length < LISTED) bad.push(`[${i}] ${got[i]} vs ${want[i]}`);
  }
  if (nBad === 0) return { family, name, ok: true, error: 0, tolerance: 0 };
  const detail = got.length !== want.length
    ? `length ${got.length}, expected ${want.length}`
    : `${nBad} of ${want.length} elements differ in their bits; first: ${bad.join("; ")}`;
  return { family, name, ok: false, error: nBad, tolerance: 0, detail };
}

/** Passes when at most `allowed` of `total` elements are bad (`what` says what bad means). */
export function compareCount(
  family: string,
  name: string,
  bad: number,
  allowed: number,
  what: string,
): CheckResult {
  const ok = bad <= allowed;
  const r = { family, name, ok, error: bad, tolerance: allowed };
  return ok ? r : { ...r, detail: `${bad} ${what} (at most ${allowed} allowed)` };
}

/** The failed results as lines `family: name: detail`. */
export function describeFailures(results: readonly CheckResult[]): string[] {
  return results.filter((c) => !c.ok).map((c) => `${c.family}: ${c.name}: ${c.detail}`);
}

/** Throws one error listing every failed result (`context` is appended to its first line). */
export function assertPassed(results: readonly CheckResult[], context = ""): void {
  const failed = describeFailures(results);
  if (failed.length === 0) return;
  throw new Error(
    `${failed.length} of ${results.length} kernel checks failed${context ? ` (${context})` : ""}:` +
      `\n  ${failed.join("\n  ")}`,
  );
}
