/**
 * GEMM / dense-layer kernels at LeNet-5's shapes (batch 64) and at 1024^3, forward and both
 * backward products. Each is checked against the float64 reference before it is timed.
 */
import { download, Tensor, upload } from "../src/gpu/tensor.ts";
import { runDispatches } from "../src/gpu/program.ts";
import {
  denseBackwardInput,
  denseBackwardRef,
  denseBackwardWeight,
  denseForward,
  denseForwardRef,
  type DenseTile,
  denseTileCandidates,
} from "../src/ops/dense.ts";
import { profileDispatches } from "../src/gpu/profiler.ts";
import {
  benchGpu,
  benchKernel,
  benchRng,
  checkClose,
  type KernelCase,
  printKernelTable,
  randomValues,
} from "./common.ts";

const ctx = await benchGpu();
const SHAPES: [number, number, number][] = [[64, 400, 120], [64, 120, 84], [64, 84, 10], [
  1024,
  1024,
  1024,
]];

/** Fastest tile of the forward GEMM at a shape (measured here, the way the tuner does). */
async function bestForwardTile(
  x: Tensor,
  w: Tensor,
  b: Tensor,
  y: Tensor,
): Promise<{ tile: DenseTile; table: string[] }> {
  let best: DenseTile = denseTileCandidates[0], bestMs = Infinity;
  const table: string[] = [];
  for (const tile of [...denseTileCandidates, { rm: 16, rn4: 2 }, { rm: 8, rn4: 4 }]) {
    const d = await denseForward(ctx, { x, w, b, y, relu: false, tile });
    const ms = (await profileDispatches(ctx, [d], { reps: 3 }))?.[0].min ?? Infinity;
    table.push(`${JSON.stringify(tile)} ${ms.toFixed(2)} ms`);
    if (ms < bestMs) [best, bestMs] = [tile, ms];
  }
  return { tile: best, table };
}

const cases: KernelCase[] = [];
let salt = 0;
for (const [M, K, N] of SHAPES) {
  const r = benchRng(++salt);
  const x = Tensor.create(ctx, M, K, "x"),
    w = Tensor.create(ctx, N, K, "w"),
    b = Tensor.create(ctx, 1, N, "b");
  const y = Tensor.create(ctx, M, N, "y"),
    dz = Tensor.create(ctx, M, N, "dz"),
    dx = Tensor.create(ctx, M, K, "dx");
  const dw = Tensor.create(ctx, N, K, "dw"), db = Tensor.create(ctx, 1, N, "db");
  const big = M * K * N > 1e8;
  // validate on the small shapes (the 1024^3 reference would take a minute in float64)
  const xv = randomValues(r, M * K),
    wv = randomValues(r, N * K),
    bv = randomValues(r, N),
    dzv = randomValues(r, M * N);
  upload(ctx, x, xv);
  upload(ctx, w, wv);
  upload(ctx, b, bv);
  upload(ctx, dz, dzv);
  let tile: DenseTile | undefined;
  if (big) {
    const t = await bestForwardTile(x, w, b, y);
    tile = t.tile;
    console.log(
      `1024^3 forward GEMM tiles on ${ctx.adapterName}: ${t.table.join(", ")}; chosen ${
        JSON.stringify(tile)
      }`,
    );
  }
  const fwd = await denseForward(ctx, { x, w, b, y, relu: false, tile });
  const bin = await denseBackwardInput(ctx, { dz, w, dx });
  const bw = await denseBackwardWeight(ctx, { dz, x, dw, db });
  if (!big) {
    await runDispatches(ctx, [fwd, bin, bw]);
    checkClose(
      `dense forward ${M}x${K}x${N}`,
      await download(ctx, y),
      denseForwardRef(xv, wv, bv, M, K, N, false),
    );
    const ref = denseBackwardRef(xv, wv, dzv, M, K, N, false);
    checkClose(`dense dX ${M}x${K}x${N}`, await download(ctx, dx), ref.dx);
    checkClose(`dense dW ${M}x${K}x${N}`, await download(ctx, dw), ref.dw);
  }
  const flops = 2 * M * N * K, bytes = 4 * (M * K + N * K + M * N);
  const tag = `M=${M} K=${K} N=${N}`;
  cases.push({ name: `dense forward ${tag}`, dispatches: [fwd], flops, bytes });
  cases.push({ name: `dense backward input ${tag}`, dispatches: [bin], flops, bytes });
  cases.push({
    name: `dense backward weight ${tag}`,
    dispatches: [bw],
    flops: flops + M * N,
    bytes,
  });
}

await printKernelTable(ctx, "GEMM / dense kernels", cases);
for (const c of cases) benchKernel("dense", c, ctx, c.flops > 1e9 ? 1 : 20);
