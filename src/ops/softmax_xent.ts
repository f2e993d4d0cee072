/**
 * Softmax + cross-entropy (`shaders/softmax_xent.wgsl`): fused forward and backward with the
 * batch-mean loss written to a loss log, and plain softmax probabilities; float64 references.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, makeDispatch } from "../gpu/program.ts";
import { STEP_PARAMS_WGSL, type StepParamsBuffer } from "../gpu/step_params.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { dummyBuffer, dummyStore, expectDistinct, expectShape } from "./common.ts";
import SOURCE from "../../shaders/softmax_xent.wgsl" with { type: "text" };

const BINDINGS = ["read", "read", "write", "write", "storage", "uniform-dynamic"] as const;
const source = () => `${STEP_PARAMS_WGSL}\n${SOURCE}`;

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
  expectDistinct("softmaxCrossEntropy", [a.logits, a.labels], [a.dz, a.losses]);
  const k = await ctx.kernel({
    shader: "softmax_xent.wgsl",
    source: source(),
    entryPoint: "softmax_xent",
    bindings: BINDINGS,
    constants: {
      B,
      N,
      T0_BASE: a.logits.base,
      T1_BASE: a.labels.base,
      OUT0_BASE: a.dz.base,
      OUT1_BASE: a.losses.base,
    },
  });
  return makeDispatch(ctx, k, [a.logits, a.labels, a.dz, a.losses, a.lossLog, a.params.binding], {
    workgroups: [1],
  });
}

/** Probabilities (B, N) = softmax over each row of the logits. */
export async function softmaxForward(
  ctx: GpuContext,
  a: { logits: Tensor; probs: Tensor },
): Promise<Dispatch> {
  const B = a.logits.rows, N = a.logits.cols;
  expectShape("softmaxForward", "probs", a.probs, B, N);
  expectDistinct("softmaxForward", [a.logits], [a.probs]);
  const k = await ctx.kernel({
    shader: "softmax_xent.wgsl",
    source: source(),
    entryPoint: "softmax_forward",
    bindings: BINDINGS,
    constants: { B, N, T0_BASE: a.logits.base, OUT0_BASE: a.probs.base },
  });
  return makeDispatch(
    ctx,
    k,
    [
      a.logits,
      dummyStore(ctx, "read"),
      a.probs,
      dummyStore(ctx, "write"),
      dummyBuffer(ctx, "storage"),
      dummyBuffer(ctx, "uniform"),
    ],
    { lanes: B },
  );
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
