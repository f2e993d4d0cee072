/**
 * What every kernel family of the check suite shares: the case and family types, a collector of
 * comparisons, random inputs, and small GPU helpers. Browser-safe: no Deno APIs.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import type { Dispatch } from "../gpu/program.ts";
import { pad4, Tensor, TexelStore } from "../gpu/tensor.ts";
import { deriveSeed, Rng } from "../util/rng.ts";
import { type CheckResult, compare, compareBits, compareCount } from "./compare.ts";

/** Every kernel family the suite covers, in the order it runs them. */
export const KERNEL_FAMILIES = [
  "dense",
  "conv2d",
  "maxpool",
  "relu",
  "softmax-xent",
  "robust-xent",
  "optimizer",
  "gather",
  "evaluate",
  "dropout",
  "augment",
] as const;

/** One of {@link KERNEL_FAMILIES}. */
export type KernelFamilyName = (typeof KERNEL_FAMILIES)[number];

/** What checking one case gives: the comparisons, and the dispatches it validated (to time). */
export interface CaseRun<K = Record<string, Dispatch[]>> {
  /** Every comparison the case made. */
  checks: CheckResult[];
  /** The dispatches the comparisons validated, by role (for the benchmarks to time). */
  kernels: K;
}

/** One case of a family, ready to run. */
export interface FamilyCase {
  /** The shape and options, e.g. `M=7 K=13 N=5`. */
  name: string;
  /** Part of the quick tier (the in-browser self-test); every case runs in the Deno tests. */
  quick: boolean;
  /** Runs the case on fresh random inputs from `r` and returns its comparisons. */
  run(ctx: GpuContext, r: Rng): Promise<CheckResult[]>;
}

/** A kernel family: its case table bound to its check. */
export interface KernelFamily {
  /** The family's name, as in {@link KERNEL_FAMILIES}. */
  name: KernelFamilyName;
  /** What the checks establish (the Deno test's name). */
  title: string;
  /** The family's cases, in run order. */
  cases: readonly FamilyCase[];
}

/** What a family is checked on: its name and title, its case table and how a case is named. */
export interface FamilySpec<C> {
  /** The family's name, as in {@link KERNEL_FAMILIES}. */
  name: KernelFamilyName;
  /** What the checks establish (the Deno test's name). */
  title: string;
  /** The cases, in run order. */
  cases: readonly C[];
  /** A case's shape and options, e.g. `M=7 K=13 N=5`. */
  describe: (c: C) => string;
}

/** Binds a family's spec (name, title, cases) to its check function. */
export function bindFamily<C extends { quick?: boolean }>(
  { name, title, cases, describe }: FamilySpec<C>,
  check: (ctx: GpuContext, c: C, r: Rng) => Promise<CaseRun<unknown>>,
): KernelFamily {
  return defineFamily(name, title, cases, describe, check);
}

/** Binds a family's case table to its check function. */
export function defineFamily<C extends { quick?: boolean }>(
  name: KernelFamilyName,
  title: string,
  cases: readonly C[],
  describe: (c: C) => string,
  check: (ctx: GpuContext, c: C, r: Rng) => Promise<CaseRun<unknown>>,
): KernelFamily {
  return {
    name,
    title,
    cases: cases.map((c) => ({
      name: describe(c),
      quick: c.quick ?? false,
      run: async (ctx: GpuContext, r: Rng) => (await check(ctx, c, r)).checks,
    })),
  };
}

/** The random stream of case `index` of a family under a master seed. */
export function caseRng(seed: number, family: KernelFamilyName, index: number): Rng {
  return new Rng(deriveSeed(seed, family, index));
}

/** Collects one case's comparisons; every name ends with the case's tag (its shape). */
export class Checks {
  readonly results: CheckResult[] = [];
  constructor(readonly family: KernelFamilyName, readonly tag: string) {}

  /** Relative error within `tolerance` (0: exact); see {@link compare} for `shape`, `scale`. */
  close(
    what: string,
    got: ArrayLike<number>,
    want: ArrayLike<number>,
    tolerance: number,
    shape?: readonly number[],
    scale?: number,
  ): void {
    const name = `${what} ${this.tag}`;
    this.results.push(compare(this.family, name, got, want, tolerance, shape, scale));
  }

  /** The same bits (a kernel variant against the default one). */
  bits(what: string, got: Float32Array, want: Float32Array): void {
    this.results.push(compareBits(this.family, `${what} ${this.tag}`, got, want));
  }

  /** At most `allowed` bad elements; `meaning` says what bad is ("pad values are not 0"). */
  count(what: string, bad: number, allowed: number, meaning: string): void {
    this.results.push(compareCount(this.family, `${what} ${this.tag}`, bad, allowed, meaning));
  }

  /** The case's run: these results and the validated dispatches. */
  done<K>(kernels: K): CaseRun<K> {
    return { checks: this.results, kernels };
  }
}

/** n uniform values in [lo, hi). */
export function randomArray(r: Rng, n: number, lo = -1, hi = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = r.uniform(lo, hi);
  return a;
}

/** Values float32 represents exactly (for exact comparisons). */
export const f32 = (a: ArrayLike<number>): Float64Array => Float64Array.from(Float32Array.from(a));

/** Copies `bytes` of a storage buffer back to the host. */
export async function readBuffer(
  ctx: GpuContext,
  buf: GPUBuffer,
  bytes: number,
): Promise<ArrayBuffer> {
  const staging = ctx.device.createBuffer({
    size: bytes,
    usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
  });
  const enc = ctx.device.createCommandEncoder();
  enc.copyBufferToBuffer(buf, 0, staging, 0, bytes);
  ctx.device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = staging.getMappedRange().slice(0);
  staging.unmap();
  staging.destroy();
  return out;
}

/**
 * dW and db in one texture, as the model's gradient arena holds them: kernels must then write
 * both through one binding (WebGPU forbids a texture in two writable bindings).
 */
export function arenaPair(
  ctx: GpuContext,
  dw: [rows: number, cols: number],
  db: [rows: number, cols: number],
): [Tensor, Tensor] {
  const texelsW = (dw[0] * pad4(dw[1])) / 4, texelsB = (db[0] * pad4(db[1])) / 4;
  const store = new TexelStore(ctx, texelsW + texelsB + 3, "dW+db arena");
  return [
    new Tensor(store, 1, dw[0], dw[1], "arena dW"),
    new Tensor(store, 2 + texelsW, db[0], db[1], "arena db"),
  ];
}
