/**
 * Evaluation kernels (`shaders/evaluate.wgsl`): predictions and an exact confusion matrix
 * accumulated on the GPU; only the N x N counts are read back.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, makeDispatch } from "../gpu/program.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { dummyStore, expectDistinct, expectShape } from "./common.ts";
import { STEP_PARAMS_WGSL, type StepParamsBuffer } from "../gpu/step_params.ts";
import SOURCE from "../../shaders/evaluate.wgsl" with { type: "text" };

// predict does not use the step parameters, so its layout leaves binding 4 out
const PREDICT_BINDINGS = ["read", "read", "write", "storage"] as const;
const CONFUSION_BINDINGS = ["read", "read", "write", "storage", "uniform-dynamic"] as const;
const source = () => `${STEP_PARAMS_WGSL}\n${SOURCE}`;

/** preds (1, B) = argmax of each logits row (first maximum). */
export async function predictClasses(
  ctx: GpuContext,
  a: { logits: Tensor; preds: Tensor; counts: GPUBuffer },
): Promise<Dispatch> {
  const B = a.logits.rows, N = a.logits.cols;
  expectShape("predictClasses", "preds", a.preds, 1, B);
  expectDistinct("predictClasses", [a.logits], [a.preds]);
  const k = await ctx.kernel({
    shader: "evaluate.wgsl",
    source: source(),
    entryPoint: "predict",
    bindings: PREDICT_BINDINGS,
    constants: { B, N, T0_BASE: a.logits.base, OUT0_BASE: a.preds.base },
  });
  return makeDispatch(ctx, k, [a.logits, dummyStore(ctx, "read"), a.preds, a.counts], {
    lanes: Math.ceil(B / 4),
  });
}

/**
 * counts[true * N + predicted] += pairs among the first `valid` rows of this batch (valid from
 * the step-parameter slot; all rows when the slot leaves it unset).
 */
export async function accumulateConfusion(
  ctx: GpuContext,
  a: {
    preds: Tensor;
    labels: Tensor;
    classes: number;
    counts: GPUBuffer;
    params: StepParamsBuffer;
  },
): Promise<Dispatch> {
  const B = a.preds.cols;
  expectShape("accumulateConfusion", "labels", a.labels, 1, B);
  const k = await ctx.kernel({
    shader: "evaluate.wgsl",
    source: source(),
    entryPoint: "confusion_accumulate",
    bindings: CONFUSION_BINDINGS,
    constants: { B, N: a.classes, T0_BASE: a.preds.base, T1_BASE: a.labels.base },
  });
  return makeDispatch(ctx, k, [
    a.preds,
    a.labels,
    dummyStore(ctx, "write"),
    a.counts,
    a.params.binding,
  ], {
    lanes: a.classes * a.classes,
  });
}

/** Reference confusion matrix (N x N, [true][predicted]) from logits and labels. */
export function confusionRef(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  B: number,
  N: number,
): number[][] {
  const m = Array.from({ length: N }, () => new Array<number>(N).fill(0));
  for (let i = 0; i < B; i++) {
    let arg = 0;
    for (let n = 1; n < N; n++) if (logits[i * N + n] > logits[i * N + arg]) arg = n;
    m[labels[i]][arg]++;
  }
  return m;
}
