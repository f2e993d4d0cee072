/**
 * Noise-robust classification losses (`shaders/robust_xent.wgsl`): generalized cross-entropy
 * (Zhang & Sabuncu, NeurIPS 2018) and symmetric cross-entropy (Wang et al., ICCV 2019), fused
 * forward and backward like softmax cross-entropy, with the batch-mean loss written to the loss
 * log; float64 references.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import type { Dispatch } from "../gpu/program.ts";
import { type CrossEntropyArgs, crossEntropyDispatch, logSumExpRow } from "./softmax_xent.ts";
import SOURCE from "../../shaders/robust_xent.wgsl" with { type: "text" };

const SHADER = { name: "robust_xent.wgsl", source: SOURCE };

/** The training loss: cross-entropy, generalized cross-entropy or symmetric cross-entropy. */
export type LossKind = "ce" | "gce" | "sce";

/** The loss kinds, for validating user input. */
export const LOSS_KINDS: readonly LossKind[] = ["ce", "gce", "sce"];

/**
 * A noise-robust loss and its hyper-parameters. `gce`: L = (1 - p_y^q) / q (q in (0, 1]; q -> 0
 * is cross-entropy, q = 1 the mean absolute error). `sce`: L = alpha CE + beta RCE, where the
 * reverse cross-entropy RCE = -log0 (1 - p_y) takes log 0 as `log0`.
 */
export type RobustLoss =
  | { kind: "gce"; q: number }
  | { kind: "sce"; alpha: number; beta: number; log0: number };

/** GCE with the paper's q = 0.7. */
export const GCE_DEFAULTS: RobustLoss = { kind: "gce", q: 0.7 };

/** SCE with the paper's MNIST setting: alpha 0.1, beta 1, log 0 = -4. */
export const SCE_DEFAULTS: RobustLoss = { kind: "sce", alpha: 0.1, beta: 1, log0: -4 };

/** The robust loss of a kind with the papers' settings; undefined for plain cross-entropy. */
export function robustLoss(kind: LossKind): RobustLoss | undefined {
  if (kind === "ce") return undefined;
  if (kind === "gce") return GCE_DEFAULTS;
  if (kind === "sce") return SCE_DEFAULTS;
  throw new RangeError(`unknown loss ${String(kind)}; expected one of ${LOSS_KINDS.join(", ")}`);
}

function checkLoss(loss: RobustLoss): void {
  if (loss.kind === "gce") {
    if (!(loss.q > 0 && loss.q <= 1)) {
      throw new RangeError(`GCE q must be in (0, 1], got ${loss.q}`);
    }
  } else if (loss.kind === "sce") {
    for (const [k, v] of Object.entries(loss)) {
      if (k !== "kind" && !Number.isFinite(v)) throw new RangeError(`SCE ${k} must be finite`);
    }
    if (!(loss.log0 < 0)) throw new RangeError(`SCE log0 must be negative, got ${loss.log0}`);
  } else {
    throw new RangeError(`unknown robust loss ${JSON.stringify(loss)}`);
  }
}

/**
 * dZ = w (softmax(Z) - onehot) / B with the loss's per-sample weight w, per-sample losses, and
 * the batch mean loss stored at `lossLog[step]` (step from the step-parameter slot).
 */
export function robustCrossEntropy(
  ctx: GpuContext,
  a: CrossEntropyArgs & { loss: RobustLoss },
): Promise<Dispatch> {
  const l = a.loss;
  const kernel = { shader: SHADER, entryPoint: "robust_xent" };
  return crossEntropyDispatch(
    ctx,
    "robustCrossEntropy",
    a,
    kernel,
    (B, N): Record<string, number> => {
      checkLoss(l);
      return l.kind === "gce"
        ? { B, N, KIND: 1, Q: l.q }
        : { B, N, KIND: 2, ALPHA: l.alpha, BETA: l.beta, LOG0: l.log0 };
    },
  );
}

// ---------------------------------------------------------------------------------------------
// float64 reference

/** Per-sample losses, their mean and dZ (gradient of the mean) for a robust loss. */
export function robustCrossEntropyRef(
  z: ArrayLike<number>,
  labels: ArrayLike<number>,
  B: number,
  N: number,
  loss: RobustLoss,
): { losses: Float64Array; mean: number; dz: Float64Array } {
  checkLoss(loss);
  const losses = new Float64Array(B), dz = new Float64Array(B * N);
  let total = 0;
  for (let i = 0; i < B; i++) {
    const lse = logSumExpRow(z, i, N);
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= N) throw new Error(`label ${y} out of range`);
    const logPy = z[i * N + y] - lse, py = Math.exp(logPy);
    // written from the definitions, not from the kernel's weight form
    let w: number;
    if (loss.kind === "gce") {
      losses[i] = (1 - Math.pow(py, loss.q)) / loss.q;
      w = Math.pow(py, loss.q - 1) * py; // -dL/dp_y * p_y
    } else {
      let rce = 0;
      for (let n = 0; n < N; n++) {
        const p = Math.exp(z[i * N + n] - lse);
        rce -= p * (n === y ? 0 : loss.log0);
      }
      losses[i] = -loss.alpha * logPy + loss.beta * rce;
      w = loss.alpha - loss.beta * loss.log0 * py;
    }
    total += losses[i];
    for (let n = 0; n < N; n++) {
      const p = Math.exp(z[i * N + n] - lse);
      dz[i * N + n] = (w * (p - (n === y ? 1 : 0))) / B;
    }
  }
  return { losses, mean: total / B, dz };
}
