/** Softmax cross-entropy: the check suite's cases (src/check/softmax_xent.ts), and the reference's gradient. */
import { softmaxCrossEntropyRef } from "../src/ops/softmax_xent.ts";
import { SOFTMAX_FAMILY } from "../src/check/softmax_xent.ts";
import { assertClose, kernelFamilyTest, numericGrad, randomArray, rng } from "./helpers.ts";

kernelFamilyTest(SOFTMAX_FAMILY);

Deno.test("cross-entropy reference gradient agrees with finite differences", () => {
  const r = rng(42);
  const [B, N] = [3, 5];
  const z = randomArray(r, B * N, -3, 3), labels = [1, 4, 0];
  const ref = softmaxCrossEntropyRef(z, labels, B, N);
  const idx = Array.from({ length: B * N }, (_, i) => i);
  assertClose(
    "dZ vs finite differences",
    numericGrad(() => softmaxCrossEntropyRef(z, labels, B, N).mean, z, idx),
    ref.dz,
    1e-6,
  );
});
