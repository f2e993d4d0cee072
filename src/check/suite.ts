/**
 * The kernel-check suite: every kernel family (dense, conv2d, max-pool, ReLU, softmax +
 * cross-entropy, optimizer, batch gather, evaluation, dropout, augmentation) on its table of random shapes, odd sizes
 * included, compared with the library's float64 references. The Deno tests run every case
 * (`tests/*_test.ts`); the in-browser self-test (`web/selftest.ts`) runs the quick tier.
 * Browser-safe: no Deno APIs.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import type { CheckResult } from "./compare.ts";
import { CONV2D_FAMILY } from "./conv2d.ts";
import { DENSE_FAMILY } from "./dense.ts";
import { DROPOUT_FAMILY } from "./dropout.ts";
import { AUGMENT_FAMILY } from "./augment.ts";
import { EVALUATE_FAMILY } from "./evaluate.ts";
import { caseRng, KERNEL_FAMILIES, type KernelFamily, type KernelFamilyName } from "./family.ts";
import { GATHER_FAMILY } from "./gather.ts";
import { MAXPOOL_FAMILY } from "./maxpool.ts";
import { OPTIMIZER_FAMILY } from "./optimizer.ts";
import { RELU_FAMILY } from "./relu.ts";
import { ROBUST_XENT_FAMILY } from "./robust_xent.ts";
import { SOFTMAX_FAMILY } from "./softmax_xent.ts";

export type { CheckResult } from "./compare.ts";
export { KERNEL_FAMILIES, type KernelFamilyName } from "./family.ts";

/** Every family by name. */
export const FAMILIES: Readonly<Record<KernelFamilyName, KernelFamily>> = {
  dense: DENSE_FAMILY,
  conv2d: CONV2D_FAMILY,
  maxpool: MAXPOOL_FAMILY,
  relu: RELU_FAMILY,
  "softmax-xent": SOFTMAX_FAMILY,
  "robust-xent": ROBUST_XENT_FAMILY,
  optimizer: OPTIMIZER_FAMILY,
  gather: GATHER_FAMILY,
  evaluate: EVALUATE_FAMILY,
  dropout: DROPOUT_FAMILY,
  augment: AUGMENT_FAMILY,
};

/** What {@link runKernelChecks} returns (JSON-serializable). */
export interface SuiteSummary {
  /** Name of the WebGPU adapter that ran the checks. */
  adapter: string;
  /** How the kernels read textures: "storage" or "sampled". */
  textureReads: string;
  /** Master seed of every case's inputs. */
  seed: number;
  /** "quick" (the browser's tier) or "full" (every case). */
  tier: "quick" | "full";
  /** Every comparison, in run order. */
  checks: CheckResult[];
  /** Number of checks that passed. */
  passed: number;
  /** Number of checks that failed (0: the suite passed). */
  failed: number;
  /** Kernel families that were exercised. */
  families: string[];
  /** Wall time per family (pipeline compilation included). */
  familySeconds: Record<string, number>;
  /** Wall time of the whole suite, in seconds. */
  seconds: number;
}

/** Options of {@link runKernelChecks}. */
export interface SuiteOptions {
  /** Master seed of every case's inputs (default 1). */
  seed?: number;
  /** "quick" (default) runs the cases marked quick; "full" runs every case. */
  tier?: "quick" | "full";
  /** Families to run (default: all). */
  families?: readonly KernelFamilyName[];
  /** Called with each result as soon as it exists. */
  onCheck?: (c: CheckResult) => void;
}

/**
 * Runs the suite. A case that throws (a shader that does not compile, a WebGPU validation
 * error) becomes one failed check naming the error, and the other cases still run.
 */
export async function runKernelChecks(
  ctx: GpuContext,
  opts: SuiteOptions = {},
): Promise<SuiteSummary> {
  const seed = opts.seed ?? 1, tier = opts.tier ?? "quick";
  const t0 = performance.now();
  const checks: CheckResult[] = [];
  const emit = (c: CheckResult) => {
    checks.push(c);
    opts.onCheck?.(c);
  };
  const familySeconds: Record<string, number> = {};
  for (const name of opts.families ?? KERNEL_FAMILIES) {
    const f0 = performance.now();
    for (const [i, c] of FAMILIES[name].cases.entries()) {
      if (tier === "quick" && !c.quick) continue;
      try {
        for (const result of await c.run(ctx, caseRng(seed, name, i))) emit(result);
        ctx.check();
      } catch (e) {
        emit({
          family: name,
          name: `exception in ${c.name}`,
          ok: false,
          error: Infinity,
          tolerance: 0,
          detail: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
        });
      }
    }
    familySeconds[name] = (performance.now() - f0) / 1000;
  }
  const failed = checks.filter((c) => !c.ok).length;
  return {
    adapter: ctx.adapterName,
    textureReads: ctx.textureReads,
    seed,
    tier,
    checks,
    passed: checks.length - failed,
    failed,
    families: [...new Set(checks.map((c) => c.family))],
    familySeconds,
    seconds: (performance.now() - t0) / 1000,
  };
}
