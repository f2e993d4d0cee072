import {
  denseBackwardInput,
  denseBackwardRef,
  denseBackwardWeight,
  denseForward,
  denseForwardRef,
  type DenseTile,
} from "../src/ops/dense.ts";
import { download, Tensor, upload } from "../src/gpu/tensor.ts";
import { runDispatches } from "../src/gpu/program.ts";
import { assertClose, gpu, numericGrad, randomArray, rng } from "./helpers.ts";

// (M, K, N): LeNet's shapes, odd sizes that do not divide the block or workgroup sizes, and 1s.
/** Both kinds of kernel: register blocks (CPU adapters) and workgroup-memory tiles (GPUs). */
const VARIANTS: DenseTile[] = [{ rm: 4, rn4: 2, variant: "registers" }, {
  rm: 4,
  rn4: 1,
  variant: "workgroup",
}];

const SHAPES: [number, number, number][] = [
  [64, 400, 120],
  [64, 120, 84],
  [64, 84, 10],
  [7, 13, 5],
  [1, 1, 1],
  [33, 67, 29],
  [130, 9, 70],
];

Deno.test("dense forward matches the float64 reference (with and without ReLU)", async () => {
  const ctx = await gpu();
  let salt = 0;
  for (const [M, K, N] of SHAPES) {
    for (const relu of [false, true]) {
      const r = rng(++salt);
      const x = randomArray(r, M * K), w = randomArray(r, N * K), b = randomArray(r, N);
      const tx = Tensor.create(ctx, M, K, "x"), tw = Tensor.create(ctx, N, K, "w");
      const tb = Tensor.create(ctx, 1, N, "b"), ty = Tensor.create(ctx, M, N, "y");
      upload(ctx, tx, x);
      upload(ctx, tw, w);
      upload(ctx, tb, b);
      const want = denseForwardRef(x, w, b, M, K, N, relu);
      for (const tile of VARIANTS) {
        await runDispatches(ctx, [
          await denseForward(ctx, { x: tx, w: tw, b: tb, y: ty, relu, tile }),
        ]);
        const got = await download(ctx, ty);
        assertClose(
          `dense forward ${tile.variant} M=${M} K=${K} N=${N} relu=${relu}`,
          got,
          want,
          1e-5,
          [M, N],
        );
      }
    }
  }
});

Deno.test("dense backward (dX with and without ReLU mask, dW, db) matches the reference", async () => {
  const ctx = await gpu();
  let salt = 100;
  for (const [M, K, N] of SHAPES) {
    for (const mask of [false, true]) {
      const r = rng(++salt);
      const x = randomArray(r, M * K), w = randomArray(r, N * K), dz = randomArray(r, M * N);
      const tx = Tensor.create(ctx, M, K, "x"), tw = Tensor.create(ctx, N, K, "w");
      const tdz = Tensor.create(ctx, M, N, "dz"), tdx = Tensor.create(ctx, M, K, "dx");
      const tdw = Tensor.create(ctx, N, K, "dw"), tdb = Tensor.create(ctx, 1, N, "db");
      upload(ctx, tx, x);
      upload(ctx, tw, w);
      upload(ctx, tdz, dz);
      await runDispatches(ctx, [
        await denseBackwardWeight(ctx, { dz: tdz, x: tx, dw: tdw, db: tdb }),
      ]);
      const ref = denseBackwardRef(x, w, dz, M, K, N, mask);
      const tag = `M=${M} K=${K} N=${N} mask=${mask}`;
      for (const tile of VARIANTS) {
        const reluMaskFrom = mask ? tx : undefined;
        await runDispatches(ctx, [
          await denseBackwardInput(ctx, { dz: tdz, w: tw, dx: tdx, reluMaskFrom, tile }),
        ]);
        assertClose(`dense dX ${tile.variant} ${tag}`, await download(ctx, tdx), ref.dx, 1e-5, [
          M,
          K,
        ]);
      }
      assertClose(`dense dW ${tag}`, await download(ctx, tdw), ref.dw, 1e-5, [N, K]);
      assertClose(`dense db ${tag}`, await download(ctx, tdb), ref.db, 1e-5);
    }
  }
});

Deno.test("dense reference gradients agree with finite differences", () => {
  const r = rng(999);
  const [M, K, N] = [3, 5, 4];
  const x = randomArray(r, M * K), w = randomArray(r, N * K), b = randomArray(r, N);
  const g = randomArray(r, M * N); // loss = sum(g * Y) with Y = relu(XW^T+b)
  const loss = () => denseForwardRef(x, w, b, M, K, N, true).reduce((s, y, i) => s + y * g[i], 0);
  const y = denseForwardRef(x, w, b, M, K, N, true);
  const dz = g.map((v, i) => (y[i] > 0 ? v : 0));
  const ref = denseBackwardRef(x, w, dz, M, K, N, false);
  const all = (n: number) => Array.from({ length: n }, (_, i) => i);
  assertClose("dX vs finite differences", numericGrad(loss, x, all(M * K)), ref.dx, 1e-6);
  assertClose("dW vs finite differences", numericGrad(loss, w, all(N * K)), ref.dw, 1e-6);
  assertClose("db vs finite differences", numericGrad(loss, b, all(N)), ref.db, 1e-6);
});
