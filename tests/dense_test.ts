/** Dense kernels: the check suite's cases (src/check/dense.ts), and the reference's gradients. */
import {
  denseBackward,
  denseBackwardInput,
  denseBackwardRef,
  denseForwardRef,
} from "../src/ops/dense.ts";
import { Tensor } from "../src/gpu/tensor.ts";
import { DENSE_FAMILY } from "../src/check/dense.ts";
import { assertClose, gpu, kernelFamilyTest, numericGrad, randomArray, rng } from "./helpers.ts";

kernelFamilyTest(DENSE_FAMILY);

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

Deno.test("an un-pool that does not fit the layer is refused before any work", async () => {
  const ctx = await gpu();
  const t = (rows: number, cols: number) => Tensor.create(ctx, rows, cols, "t");
  const [dz, w, code] = [t(2, 3), t(3, 24), t(2, 24)];
  const cases: [string, () => Promise<unknown>][] = [
    // 2x2x4 = 16 features, not 24
    ["does not flatten to 24", () =>
      denseBackwardInput(ctx, {
        dz,
        w,
        dx: t(2, 96),
        unpool: { code, height: 2, width: 2, stored: 4 },
      })],
    // dX must be the pre-pool map, 4 times the layer's input
    ["dX", () =>
      denseBackwardInput(ctx, {
        dz,
        w,
        dx: t(2, 24),
        unpool: { code, height: 3, width: 2, stored: 4 },
      })],
    ["cannot be combined", () =>
      denseBackward(ctx, {
        dz,
        x: t(2, 24),
        w,
        dw: t(3, 24),
        db: t(1, 3),
        dx: t(2, 96),
        reluMask: true,
        unpool: { code, height: 3, width: 2, stored: 4 },
      })],
  ];
  for (const [want, call] of cases) {
    const msg = await call().then(() => "no error", (e: Error) => e.message);
    if (!msg.includes(want)) throw new Error(`expected '${want}', got: ${msg}`);
  }
});
