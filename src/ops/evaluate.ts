/**
 * Evaluation kernels (`shaders/evaluate.wgsl`): predictions and an exact confusion matrix
 * accumulated on the GPU; only the N x N counts are read back.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, makeDispatch } from "../gpu/program.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { expectShape } from "./common.ts";
import type { StepParamsBuffer } from "../gpu/step_params.ts";
import SOURCE from "../../shaders/evaluate.wgsl" with { type: "text" };

const SHADER = { name: "evaluate.wgsl", source: SOURCE };

/**
 * preds (1, B) = argmax of each logits row (first maximum). `counts` is not touched here; the
 * confusion kernel accumulates into it.
 */
export async function predictClasses(
  ctx: GpuContext,
  a: { logits: Tensor; preds: Tensor; counts: GPUBuffer },
): Promise<Dispatch> {
  const B = a.logits.rows, N = a.logits.cols;
  expectShape("predictClasses", "preds", a.preds, 1, B);
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint: "predict",
    constants: { B, N },
    reads: { logits: a.logits },
    writes: { preds: a.preds },
    size: { lanes: Math.ceil(B / 4) },
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
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint: "confusion_accumulate",
    constants: { B, N: a.classes },
    reads: { predicted: a.preds, labels: a.labels },
    buffers: { counts: a.counts, params: a.params },
    size: { lanes: a.classes * a.classes },
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
