/**
 * Standalone max-pool and ReLU kernels: the check suite's cases (src/check/maxpool.ts,
 * src/check/relu.ts), and the max-pool reference's gradient.
 */
import { maxPool2BackwardRef, maxPool2Ref } from "../src/ops/maxpool.ts";
import { MAXPOOL_FAMILY } from "../src/check/maxpool.ts";
import { RELU_FAMILY } from "../src/check/relu.ts";
import { assertClose, kernelFamilyTest, numericGrad, randomArray, rng } from "./helpers.ts";

kernelFamilyTest(MAXPOOL_FAMILY);
kernelFamilyTest(RELU_FAMILY);

Deno.test("max-pool reference gradient agrees with finite differences", () => {
  const r = rng(9);
  const [B, H, W, C] = [2, 5, 4, 3];
  const x = randomArray(r, B * H * W * C), g = randomArray(r, B * 2 * 2 * C);
  const loss = () => maxPool2Ref(x, B, H, W, C).y.reduce((s, v, i) => s + v * g[i], 0);
  const ref = maxPool2BackwardRef(g, maxPool2Ref(x, B, H, W, C).code, B, H, W, C);
  assertClose(
    "pool dX vs finite differences",
    numericGrad(loss, x, Array.from({ length: x.length }, (_, i) => i)),
    ref,
    1e-6,
  );
});
