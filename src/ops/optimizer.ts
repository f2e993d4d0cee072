/**
 * Optimizer updates over a parameter arena (`shaders/optimizer.wgsl`) and float64 references.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, makeDispatch } from "../gpu/program.ts";
import type { StepParamsBuffer } from "../gpu/step_params.ts";
import type { TexelStore } from "../gpu/tensor.ts";
import SOURCE from "../../shaders/optimizer.wgsl" with { type: "text" };

/** Adam (AdamW when weightDecay > 0) as PyTorch defines it. */
export interface AdamConfig {
  /** Selects Adam. */
  kind: "adam";
  /** Learning rate (the base rate when a schedule is used). */
  lr: number;
  /** Decay rate of the first-moment (mean) estimate, e.g. 0.9. */
  beta1: number;
  /** Decay rate of the second-moment (uncentred variance) estimate, e.g. 0.999. */
  beta2: number;
  /** Added to the denominator for numerical stability, e.g. 1e-8. */
  eps: number;
  /** Decoupled weight decay (AdamW): p -= lr * weightDecay * p each step; 0 for plain Adam. */
  weightDecay: number;
}

/** SGD with momentum (dampening 0) and L2 weight decay, as PyTorch defines it. */
export interface SgdConfig {
  /** Selects SGD. */
  kind: "sgd";
  /** Learning rate (the base rate when a schedule is used). */
  lr: number;
  /** Momentum factor mu: buf = mu * buf + g; 0 for plain SGD. */
  momentum: number;
  /** L2 penalty added to the gradient: g += weightDecay * p. */
  weightDecay: number;
}

/** The optimizer of a training run, chosen by `kind`; one dispatch updates every parameter. */
export type OptimizerConfig = AdamConfig | SgdConfig;

/** PyTorch's Adam defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay. */
export const ADAM_DEFAULTS: AdamConfig = {
  kind: "adam",
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
};
/** SGD with lr 0.01, momentum 0.9 and no weight decay. */
export const SGD_DEFAULTS: SgdConfig = { kind: "sgd", lr: 0.01, momentum: 0.9, weightDecay: 0 };

/**
 * Learning-rate schedule over the whole run: constant, or cosine decay to 0 after a linear
 * warm-up of `warmupFraction` of the steps (helps short runs).
 */
export type LrSchedule = { kind: "constant" } | { kind: "cosine"; warmupFraction: number };

/** Learning rate of optimizer step t (1-based) out of `total`. */
export function scheduledLr(base: number, schedule: LrSchedule, t: number, total: number): number {
  if (schedule.kind === "constant") return base;
  const warm = Math.floor(schedule.warmupFraction * total);
  if (t <= warm) return (base * t) / warm;
  const progress = (t - warm) / Math.max(1, total - warm);
  return 0.5 * base * (1 + Math.cos(Math.PI * Math.min(1, progress)));
}

/** Values for the step-parameter slot of optimizer step t (1-based) at learning rate `lr`. */
export function optimizerStepValues(
  cfg: OptimizerConfig,
  t: number,
  lr = cfg.lr,
): { lr: number; bias1: number; bias2: number } {
  if (cfg.kind === "adam") {
    return { lr, bias1: 1 - Math.pow(cfg.beta1, t), bias2: 1 - Math.pow(cfg.beta2, t) };
  }
  return { lr, bias1: 1, bias2: 1 };
}

const SHADER = { name: "optimizer.wgsl", source: SOURCE };

/** One update of every parameter: reads (P, G, S), writes (P', S'). */
export async function optimizerUpdate(
  ctx: GpuContext,
  a: {
    config: OptimizerConfig;
    texels: number;
    params: TexelStore;
    grads: TexelStore;
    state: TexelStore;
    paramsOut: TexelStore;
    stateOut: TexelStore;
    step: StepParamsBuffer;
  },
): Promise<Dispatch> {
  const c = a.config;
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint: c.kind === "adam" ? "adam_update" : "sgd_update",
    constants: c.kind === "adam"
      ? {
        TEXELS: a.texels,
        BETA1: c.beta1,
        BETA2: c.beta2,
        EPS: c.eps,
        WEIGHT_DECAY: c.weightDecay,
      }
      : { TEXELS: a.texels, BETA1: c.momentum, WEIGHT_DECAY: c.weightDecay },
    reads: { param: a.params, grad: a.grads, state: a.state },
    writes: { param_out: a.paramsOut, state_out: a.stateOut },
    buffers: { params: a.step },
    size: { lanes: a.texels },
  });
}

/** Reference update of p (in place) with state m, v (in place), step t (1-based). */
export function optimizerRef(
  cfg: OptimizerConfig,
  p: Float64Array,
  g: ArrayLike<number>,
  m: Float64Array,
  v: Float64Array,
  t: number,
): void {
  for (let i = 0; i < p.length; i++) {
    if (cfg.kind === "adam") {
      m[i] = cfg.beta1 * m[i] + (1 - cfg.beta1) * g[i];
      v[i] = cfg.beta2 * v[i] + (1 - cfg.beta2) * g[i] * g[i];
      p[i] -= cfg.lr * cfg.weightDecay * p[i];
      const c1 = 1 - Math.pow(cfg.beta1, t), c2 = 1 - Math.pow(cfg.beta2, t);
      p[i] -= (cfg.lr / c1) * m[i] / (Math.sqrt(v[i]) / Math.sqrt(c2) + cfg.eps);
    } else {
      const gi = g[i] + cfg.weightDecay * p[i];
      m[i] = cfg.momentum * m[i] + gi;
      p[i] -= cfg.lr * m[i];
    }
  }
}
