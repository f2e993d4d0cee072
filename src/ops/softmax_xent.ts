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
import type { ConstValue } from "../gpu/wgsl.ts";
import { expectShape } from "./common.ts";
import SOURCE from "../../shaders/softmax_xent.wgsl" with { type: "text" };

const SHADER = { name: "softmax_xent.wgsl", source: SOURCE };

/** The logits layer's tensors, unbound where it is not fused in (DENSE false). */
const NO_DENSE = {
  reads: { x: undefined, w: undefined, bias: undefined },
  writes: { logits_out: undefined },
};

/** The buffers of a fused cross-entropy training step: (B, N) logits in, dZ and losses out. */
export interface CrossEntropyArgs {
  /** (B, N) logits. */
  logits: Tensor;
  /** (1, B) class labels. */
  labels: Tensor;
  /** (B, N) gradient of the batch-mean loss with respect to the logits. */
  dz: Tensor;
  /** (1, B) per-sample losses. */
  losses: Tensor;
  /** The loss log: the batch mean loss goes to `lossLog[step]`. */
  lossLog: GPUBuffer;
  /** The step-parameter slot that names the step. */
  params: StepParamsBuffer;
}

/**
 * The one-workgroup dispatch of a fused cross-entropy kernel, after checking the shapes of `a`
 * for `op`; `constants` sees (B, N) and may throw for bad hyper-parameters.
 */
export async function crossEntropyDispatch(
  ctx: GpuContext,
  op: string,
  a: CrossEntropyArgs,
  kernel: { shader: { name: string; source: string }; entryPoint: string },
  constants: (B: number, N: number) => Record<string, ConstValue>,
  extra: {
    reads?: Record<string, Tensor | undefined>;
    writes?: Record<string, Tensor | undefined>;
  } = {},
): Promise<Dispatch> {
  const B = a.logits.rows, N = a.logits.cols;
  expectShape(op, "labels", a.labels, 1, B);
  expectShape(op, "dZ", a.dz, B, N);
  expectShape(op, "losses", a.losses, 1, B);
  return await makeDispatch(ctx, {
    ...kernel,
    constants: constants(B, N),
    reads: { logits: a.logits, labels: a.labels, ...extra.reads },
    writes: { dz: a.dz, losses: a.losses, ...extra.writes },
    buffers: { loss_log: a.lossLog, params: a.params },
    size: { workgroups: [1] },
  });
}

/**
 * dZ = (softmax(Z) - onehot) / B, per-sample losses, and the batch mean loss stored at
 * `lossLog[step]` (step from the step-parameter slot).
 */
export function softmaxCrossEntropy(ctx: GpuContext, a: CrossEntropyArgs): Promise<Dispatch> {
  const kernel = { shader: SHADER, entryPoint: "softmax_xent" };
  return crossEntropyDispatch(
    ctx,
    "softmaxCrossEntropy",
    a,
    kernel,
    (B, N) => ({ B, N }),
    NO_DENSE,
  );
}

/**
 * The logits layer and the loss in one dispatch: writes Z = X W^T + b (B, N) to `a.logits`, with
 * the bits of the layer's own `denseForward`, then does what {@link softmaxCrossEntropy} does.
 */
export function denseSoftmaxCrossEntropy(
  ctx: GpuContext,
  a: CrossEntropyArgs & { x: Tensor; w: Tensor; b: Tensor },
): Promise<Dispatch> {
  const op = "denseSoftmaxCrossEntropy";
  const B = a.logits.rows, N = a.logits.cols, K = a.x.cols;
  expectShape(op, "input", a.x, B, K);
  expectShape(op, "weight", a.w, N, K);
  expectShape(op, "bias", a.b, 1, N);
  const kernel = { shader: SHADER, entryPoint: "softmax_xent" };
  // the logits are written, not read
  return crossEntropyDispatch(ctx, op, a, kernel, (B, N) => ({ B, N, K, DENSE: true }), {
    reads: { logits: undefined, x: a.x, w: a.w, bias: a.b },
    writes: { logits_out: a.logits },
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
    reads: { logits: a.logits, ...NO_DENSE.reads },
    writes: { probs: a.probs, ...NO_DENSE.writes },
    size: { lanes: B },
  });
}

// ---------------------------------------------------------------------------------------------
// float64 references

/** log sum_n exp(z[i, n]) of row i of the (B, N) logits, shifted by the row max for range. */
export function logSumExpRow(z: ArrayLike<number>, i: number, N: number): number {
  let m = -Infinity;
  for (let n = 0; n < N; n++) m = Math.max(m, z[i * N + n]);
  let s = 0;
  for (let n = 0; n < N; n++) s += Math.exp(z[i * N + n] - m);
  return m + Math.log(s);
}

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
    const lse = logSumExpRow(z, i, N);
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
