/**
 * GEMM / dense-layer kernels at LeNet-5's shapes (batch 64) and at 1024^3, forward and both
 * backward products. LeNet's shapes are validated by the kernel-check suite before timing; the
 * 1024^3 reference would take a minute in float64 (the suite checks every variant on odd shapes).
 */
import {
  checkDense,
  denseBackward,
  denseBackwardInput,
  denseBackwardWeight,
  type DenseCase,
  denseForward,
  denseInputs,
  type DenseKernels,
  type DenseTile,
  denseTileCandidates,
  type Dispatch,
  type GpuContext,
  profileDispatches,
  Tensor,
} from "../mod.ts";
import { benchRng, kernelBench, type KernelCase, validated } from "./common.ts";

const SHAPES: DenseCase[] = [
  { M: 64, K: 400, N: 120 },
  { M: 64, K: 120, N: 84 },
  { M: 64, K: 84, N: 10 },
  { M: 1024, K: 1024, N: 1024 },
];

/** Fastest tile of the forward GEMM at a shape (measured here, the way the tuner does). */
async function bestForwardTile(
  ctx: GpuContext,
  a: { x: Tensor; w: Tensor; b: Tensor; y: Tensor },
): Promise<{ tile: DenseTile; table: string[] }> {
  let best: DenseTile = denseTileCandidates[0], bestMs = Infinity;
  const table: string[] = [];
  for (const tile of [...denseTileCandidates, { rm: 16, rn4: 2 }, { rm: 8, rn4: 4 }]) {
    const d = await denseForward(ctx, { ...a, relu: false, tile });
    const ms = (await profileDispatches(ctx, [d], { reps: 3 }))?.[0].min ?? Infinity;
    table.push(`${JSON.stringify(tile)} ${ms.toFixed(2)} ms`);
    if (ms < bestMs) [best, bestMs] = [tile, ms];
  }
  return { tile: best, table };
}

/** The 1024^3 kernels, the forward with the fastest tile (unvalidated, see above). */
async function bigKernels(ctx: GpuContext, c: DenseCase, salt: number): Promise<DenseKernels> {
  const { tx: x, tw: w, tb: b, tdz: dz } = denseInputs(ctx, c, benchRng(salt));
  const y = Tensor.create(ctx, c.M, c.N, "y"), dx = Tensor.create(ctx, c.M, c.K, "dx");
  const dw = Tensor.create(ctx, c.N, c.K, "dw"), db = Tensor.create(ctx, 1, c.N, "db");
  const { tile, table } = await bestForwardTile(ctx, { x, w, b, y });
  console.log(
    `1024^3 forward GEMM tiles on ${ctx.adapterName}: ${table.join(", ")}; chosen ${
      JSON.stringify(tile)
    }`,
  );
  return {
    forward: await denseForward(ctx, { x, w, b, y, relu: false, tile }),
    backwardInput: await denseBackwardInput(ctx, { dz, w, dx }),
    backwardWeight: await denseBackwardWeight(ctx, { dz, x, dw, db }),
    backward: await denseBackward(ctx, { dz, x, w, dw, db, dx, reluMask: false }),
  };
}

await kernelBench("dense", "GEMM / dense kernels", async (ctx) => {
  const cases: KernelCase[] = [];
  let salt = 0;
  for (const c of SHAPES) {
    const big = c.M * c.K * c.N > 1e8;
    const k = big ? await bigKernels(ctx, c, ++salt) : validated(
      await checkDense(ctx, c, benchRng(++salt)),
    );
    const flops = 2 * c.M * c.N * c.K, bytes = 4 * (c.M * c.K + c.N * c.K + c.M * c.N);
    const tag = `M=${c.M} K=${c.K} N=${c.N}`, reps = big ? 1 : 20;
    const time = (name: string, d: Dispatch, f = flops) =>
      cases.push({ name: `dense ${name} ${tag}`, dispatches: [d], flops: f, bytes, reps });
    time("forward", k.forward);
    time("backward input", k.backwardInput);
    time("backward weight", k.backwardWeight, flops + c.M * c.N);
    time("backward, both products in one dispatch", k.backward, 2 * flops + c.M * c.N);
  }
  return cases;
});
