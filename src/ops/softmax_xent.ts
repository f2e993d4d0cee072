/**
 * Softmax + cross-entropy (`shaders/softmax_xent.wgsl`): fused forward and backward with the
 * batch-mean loss written to a loss log, and plain softmax probabilities; float64 references.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, makeDispatch } from "../gpu/program.ts";
import type { StepParamsBuffer } from "../gpu/step_params.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { expectShape } from "./common.ts";
import SOURCE from "../../shaders/softmax_xent.wgsl" with { type: "text" };

const SHADER = { name: "softmax_xent.wgsl", source: SOURCE };

/**
 * dZ = (softmax(Z) - onehot) / B, per-sample losses, and the batch mean loss stored at
 * `lossLog[step]` (step from the step-parameter slot).
 */
export async function softmaxCrossEntropy(
  ctx: GpuContext,
  a: {
    logits: Tensor;
    labels: Tensor;
    dz: Tensor;
    losses: Tensor;
    lossLog: GPUBuffer;
    params: StepParamsBuffer;
  },
): Promise<Dispatch> {
  const B = a.logits.rows, N = a.logits.cols;
  expectShape("softmaxCrossEntropy", "labels", a.labels, 1, B);
  expectShape("softmaxCrossEntropy", "dZ", a.dz, B, N);
  expectShape("softmaxCrossEntropy", "losses", a.losses, 1, B);
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint: "softmax_xent",
    constants: { B, N },
    reads: { logits: a.logits, labels: a.labels },
    writes: { dz: a.dz, losses: a.losses },
    buffers: { loss_log: a.lossLog, params: a.params },
    size: { workgroups: [1] },
  });
}

/** Probabilities (B, N) = softmax over each row of the logits. */
export async function softmaxForward(
  ctx: GpuContext,
  a: { logits: Tensor; probs: Tensor },
): Promise<Dispatch> {
  const B = a.logits.rows, N = a.logits.cols;
  expectShape("softmaxForward", "probs", a.probs, B, N);
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint: "softmax_forward",
    constants: { B, N },
    reads: { logits: a.logits },
    writes: { probs: a.probs },
    size: { lanes: B },
  });
}

// ---------------------------------------------------------------------------------------------
// float64 references

/** Per-sample losses, mean loss, dZ = (p - onehot) / B, and probabilities. */
export function softmaxCrossEntropyRef(
  z: ArrayLike<number>,
  labels: ArrayLike<number>,
  B: number,
  N: number,
): { losses: Float64Array; mean: number; dz: Float64Array; probs: Float64Array } {
  const losses = new Float64Array(B), dz = new Float64Array(B * N), probs = new Float64Array(B * N);
  let total = 0;
  for (let i = 0; i < B; i++) {
    let m = -Infinity;
    for (let n = 0; n < N; n++) m = Math.max(m, z[i * N + n]);
    let s = 0;
    for (let n = 0; n < N; n++) s += Math.exp(z[i * N + n] - m);
    const lse = m + Math.log(s);
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label >= N) {
      throw new Error(`label ${label} out of range`);
    }
    losses[i] = lse - z[i * N + label];
    total += losses[i];
    for (let n = 0; n < N; n++) {
      const p = Math.exp(z[i * N + n] - lse);
      probs[i * N + n] = p;
      dz[i * N + n] = (p - (n === label ? 1 : 0)) / B;
    }
  }
  return { losses, mean: total / B, dz, probs };
}
