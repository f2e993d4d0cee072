/** Noise-robust losses: the check suite's cases (src/check/robust_xent.ts), and the reference's gradient. */
import {
  GCE_DEFAULTS,
  robustCrossEntropyRef,
  type RobustLoss,
  SCE_DEFAULTS,
} from "../src/ops/robust_xent.ts";
import { softmaxCrossEntropyRef } from "../src/ops/softmax_xent.ts";
import { ROBUST_XENT_FAMILY } from "../src/check/robust_xent.ts";
import { assertClose, kernelFamilyTest, numericGrad, randomArray, rng } from "./helpers.ts";

kernelFamilyTest(ROBUST_XENT_FAMILY);

const LOSSES: RobustLoss[] = [
  GCE_DEFAULTS,
  { kind: "gce", q: 0.25 },
  SCE_DEFAULTS,
  { kind: "sce", alpha: 0.5, beta: 2, log0: -7 },
];

for (const loss of LOSSES) {
  Deno.test(`robust loss reference gradient agrees with finite differences (${JSON.stringify(loss)})`, () => {
    const r = rng(43);
    const [B, N] = [4, 7];
    const z = randomArray(r, B * N, -3, 3), labels = [1, 6, 0, 3];
    const ref = robustCrossEntropyRef(z, labels, B, N, loss);
    const idx = Array.from({ length: B * N }, (_, i) => i);
    assertClose(
      "dZ vs finite differences",
      numericGrad(() => robustCrossEntropyRef(z, labels, B, N, loss).mean, z, idx),
      ref.dz,
      1e-6,
    );
  });
}

Deno.test("robust losses reduce to their limits: GCE q=1 is 1 - p_y, SCE beta=0 is alpha CE", () => {
  const r = rng(44);
  const [B, N] = [3, 5];
  const z = randomArray(r, B * N, -3, 3), labels = [2, 0, 4];
  const ce = softmaxCrossEntropyRef(z, labels, B, N);
  const mae = robustCrossEntropyRef(z, labels, B, N, { kind: "gce", q: 1 });
  assertClose("GCE q=1", mae.losses, labels.map((y, i) => 1 - ce.probs[i * N + y]), 1e-12);
  const sce = robustCrossEntropyRef(z, labels, B, N, {
    kind: "sce",
    alpha: 0.3,
    beta: 0,
    log0: -4,
  });
  assertClose("SCE beta=0 losses", sce.losses, ce.losses.map((l) => 0.3 * l), 1e-12);
  assertClose("SCE beta=0 dZ", sce.dz, ce.dz.map((d) => 0.3 * d), 1e-12);
});
