/**
 * Noise-robust losses (GCE, SCE) against their float64 reference: per-sample losses, the input
 * gradient, and the batch-mean loss written only at the step's loss-log slot.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, runDispatches } from "../gpu/program.ts";
import { download } from "../gpu/tensor.ts";
import {
  GCE_DEFAULTS,
  robustCrossEntropy,
  robustCrossEntropyRef,
  type RobustLoss,
  SCE_DEFAULTS,
} from "../ops/robust_xent.ts";
import type { Rng } from "../util/rng.ts";
import { type CaseRun, Checks, defineFamily, readBuffer } from "./family.ts";
import { crossEntropyInputs } from "./softmax_xent.ts";

/** B rows of N logits under one loss. */
export interface RobustXentCase {
  /** Rows (images). */
  B: number;
  /** Columns (classes). */
  N: number;
  /** The training loss. */
  loss: RobustLoss;
  /** Part of the quick tier (the in-browser self-test). */
  quick?: boolean;
}

export const ROBUST_XENT_CASES: readonly RobustXentCase[] = [
  { B: 7, N: 3, loss: GCE_DEFAULTS, quick: true },
  { B: 64, N: 10, loss: SCE_DEFAULTS, quick: true },
  { B: 64, N: 10, loss: GCE_DEFAULTS },
  { B: 5, N: 13, loss: { kind: "gce", q: 0.3 } },
  { B: 1, N: 1, loss: SCE_DEFAULTS },
  { B: 300, N: 13, loss: { kind: "sce", alpha: 0.7, beta: 0.4, log0: -6 } },
  { B: 9, N: 4, loss: { kind: "gce", q: 1 } },
];

const describe = (c: RobustXentCase) =>
  `B=${c.B} N=${c.N} ${
    c.loss.kind === "gce"
      ? `gce q=${c.loss.q}`
      : `sce a=${c.loss.alpha} b=${c.loss.beta} log0=${c.loss.log0}`
  }`;

/** Loss-log slots written by the check; the loss goes to slot STEP only. */
const SLOTS = 4, STEP = 1;

/** Runs the robust loss kernel of a case and compares it with the float64 reference. */
export async function checkRobustXent(
  ctx: GpuContext,
  c: RobustXentCase,
  r: Rng,
): Promise<CaseRun<{ robustXent: Dispatch }>> {
  const { B, N } = c;
  const { z, labels, a } = crossEntropyInputs(ctx, B, N, r, SLOTS, 4 * SLOTS);
  const robustXent = await robustCrossEntropy(ctx, { ...a, loss: c.loss });
  await runDispatches(ctx, [robustXent], a.params.offset(STEP));
  const ref = robustCrossEntropyRef(z, labels, B, N, c.loss);
  const ck = new Checks("robust-xent", describe(c));
  ck.close("losses", await download(ctx, a.losses), ref.losses, 1e-5);
  ck.close("dZ", await download(ctx, a.dz), ref.dz, 1e-5, [B, N]);
  const logged = new Float32Array(await readBuffer(ctx, a.lossLog, 4 * SLOTS));
  const want = Array.from({ length: SLOTS }, (_, i) => (i === STEP ? ref.mean : 0));
  ck.close(`mean loss in step slot ${STEP} only`, logged, want, 1e-5);
  for (const t of [a.logits, a.labels, a.dz, a.losses]) t.store.destroy();
  a.lossLog.destroy();
  a.params.destroy();
  return ck.done({ robustXent });
}

/** The robust-loss family of the suite. */
export const ROBUST_XENT_FAMILY = defineFamily(
  "robust-xent",
  "noise-robust losses (GCE, SCE: losses, mean loss at the step slot, dZ) match the float64 " +
    "reference",
  ROBUST_XENT_CASES,
  describe,
  checkRobustXent,
);
