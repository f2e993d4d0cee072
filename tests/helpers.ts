/**
 * Shared test helpers: a GPU context per test file, fresh seeds, the suite's comparison as an
 * assertion, and one Deno test per kernel family of the check suite (`src/check/`).
 */
import { acquireGpu, type GpuContext } from "../src/gpu/context.ts";
import { Rng } from "../src/util/rng.ts";
import { assertPassed, compare } from "../src/check/compare.ts";
import { caseRng, type KernelFamily } from "../src/check/family.ts";
import { Model } from "../src/nn/model.ts";
import { lenet5 } from "../src/nn/spec.ts";
import { type CheckpointRecipe, encodeCheckpoint } from "../src/train/checkpoint.ts";
import { initialTrainState, type TrainState } from "../src/train/trainer.ts";

export { randomArray } from "../src/check/family.ts";

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
  const r = compare("", what, got, want, tol, shape);
  if (!r.ok) throw new Error(`${what}: ${r.detail} (TEST_SEED=${TEST_SEED})`);
}

/** One test for a kernel family: every case of its table on fresh data, one step each. */
export function kernelFamilyTest(family: KernelFamily): void {
  Deno.test(family.title, async (t) => {
    const ctx = await gpu();
    for (const [i, c] of family.cases.entries()) {
      await t.step(c.name, async () => {
        const results = await c.run(ctx, caseRng(TEST_SEED, family.name, i));
        assertPassed(results, `TEST_SEED=${TEST_SEED}`);
      });
    }
  });
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

/**
 * A freshly initialised LeNet-5 (weights from `seed`) as checkpoint bytes for `recipe`, at `state`
 * (default: before the first step).
 */
export async function lenetCheckpoint(
  seed: number,
  recipe: CheckpointRecipe,
  state: Partial<TrainState> = {},
): Promise<Uint8Array> {
  const model = Model.create(await gpu(), lenet5(), { seed });
  try {
    return await encodeCheckpoint(model, {
      model: lenet5(),
      recipe,
      state: { ...initialTrainState(), ...state },
      pendingLosses: [],
      testError: null,
      extra: {},
    });
  } finally {
    model.destroy();
  }
}
