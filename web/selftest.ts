/**
 * Kernel self-test: the quick tier of the kernel-check suite (`src/check/`), every kernel family
 * on small random shapes against the library's float64 references. Browser-safe, so the same
 * checks run in a browser page (`selftest.html`) and in Deno (`tests/selftest_test.ts`); the Deno
 * kernel tests run every case of the same tables.
 *
 * @module
 */
import type { GpuContext } from "../mod.ts";
import { type CheckResult, runKernelChecks, type SuiteSummary } from "../mod.ts";

export type { CheckResult } from "../mod.ts";
export { compareWithReference as compare } from "../mod.ts";

/** What {@link runSelftest} returns (JSON-serializable). */
export type SelftestSummary = SuiteSummary;

/** Every family the self-test covers; a summary missing one is incomplete. */
export { KERNEL_FAMILIES as SELFTEST_FAMILIES } from "../mod.ts";

/**
 * Runs the quick tier of every kernel family against its float64 reference. A case that throws
 * (a shader that does not compile, a WebGPU validation error) becomes one failed check naming
 * the error, and the other cases still run.
 */
export function runSelftest(
  ctx: GpuContext,
  opts: { seed?: number; onCheck?: (c: CheckResult) => void } = {},
): Promise<SelftestSummary> {
  return runKernelChecks(ctx, { ...opts, tier: "quick" });
}
