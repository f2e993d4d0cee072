/**
 * conv2d kernels: the check suite's cases (src/check/conv2d.ts), the reference's gradients, and
 * the PyTorch weight layout.
 */
import { conv2dBackwardRef, weightFromTorch, weightToTorch } from "../src/ops/conv2d.ts";
import { maxPool2BackwardRef } from "../src/ops/maxpool.ts";
import { CONV2D_FAMILY, convBlockRef, convCase } from "../src/check/conv2d.ts";
import { assertClose, kernelFamilyTest, numericGrad, randomArray, rng } from "./helpers.ts";

kernelFamilyTest(CONV2D_FAMILY);

Deno.test("conv2d + ReLU + max-pool reference gradients agree with finite differences", () => {
  const c = convCase([2, 6, 5, 2, 3, 3, 1], "relu pool");
  const r = rng(777);
  const x = randomArray(r, c.B * c.H * c.W * c.CI), w = randomArray(r, 9 * c.CI * c.CO, -0.5, 0.5);
  const b = randomArray(r, c.CO, -0.1, 0.1);
  const out0 = convBlockRef(c, x, w, b);
  const g = randomArray(r, out0.out.length);
  const loss = () => convBlockRef(c, x, w, b).out.reduce((s, v, i) => s + v * g[i], 0);
  const dz = maxPool2BackwardRef(g, out0.code!, c.B, out0.ho, out0.wo, c.CO);
  const ref = conv2dBackwardRef(x, w, dz, c.B, c.H, c.W, c.CI, c.CO, c.KS, c.PAD);
  const all = (n: number) => Array.from({ length: n }, (_, i) => i);
  assertClose("conv dX vs finite differences", numericGrad(loss, x, all(x.length)), ref.dx, 1e-5);
  assertClose("conv dW vs finite differences", numericGrad(loss, w, all(w.length)), ref.dw, 1e-5);
  assertClose("conv db vs finite differences", numericGrad(loss, b, all(b.length)), ref.db, 1e-5);
});

Deno.test("conv weights convert to and from PyTorch's (out, in, kh, kw) layout", () => {
  const r = rng(5);
  const [CO, CI, KS, CIP] = [5, 3, 3, 4];
  const torch = Float32Array.from(randomArray(r, CO * CI * KS * KS));
  const internal = weightFromTorch(torch, CO, CI, KS, CIP);
  // element (co=4, ci=2, ky=1, kx=0) lands in internal row (ky, kx, ci)
  const want = torch[((4 * CI + 2) * KS + 1) * KS + 0];
  if (internal[((1 * KS + 0) * CIP + 2) * CO + 4] !== want) {
    throw new Error("weightFromTorch misplaces values");
  }
  assertClose("weight layout round trip", weightToTorch(internal, CO, CI, KS, CIP), torch, 0);
});
