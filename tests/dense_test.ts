/** Dense kernels: the check suite's cases (src/check/dense.ts), and the reference's gradients. */
import { denseBackwardRef, denseForwardRef } from "../src/ops/dense.ts";
import { DENSE_FAMILY } from "../src/check/dense.ts";
import { assertClose, kernelFamilyTest, numericGrad, randomArray, rng } from "./helpers.ts";

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
