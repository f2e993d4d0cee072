/**
 * Optimizer updates (Adam, AdamW, SGD with and without momentum) against the float64 reference
 * over several steps: parameters and the moments in the state arena.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, runDispatches } from "../gpu/program.ts";
import { StepParamsBuffer } from "../gpu/step_params.ts";
import { downloadPadded, Tensor, TexelStore, uploadPadded } from "../gpu/tensor.ts";
import {
  type OptimizerConfig,
  optimizerRef,
  optimizerStepValues,
  optimizerUpdate,
} from "../ops/optimizer.ts";
import type { Rng } from "../util/rng.ts";
import { bindFamily, type CaseRun, Checks, f32, type FamilySpec, randomArray } from "./family.ts";

/** An optimizer over an arena of `texels` texels (4 parameters each). */
export interface OptimizerCase {
  /** The optimizer and its hyperparameters. */
  config: OptimizerConfig;
  /** Arena size in texels (4 parameters each). */
  texels: number;
  /** Part of the quick tier (the in-browser self-test); every case runs in the Deno tests. */
  quick?: boolean;
}

const CONFIGS: OptimizerConfig[] = [
  { kind: "adam", lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
  { kind: "adam", lr: 3e-3, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.01 },
  { kind: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 0 },
  { kind: "sgd", lr: 0.1, momentum: 0, weightDecay: 5e-4 },
];

/** The optimizer family: what its checks establish and its cases. */
const OPTIMIZER: FamilySpec<OptimizerCase> = {
  name: "optimizer",
  title:
    "optimizer updates (Adam, AdamW, SGD with and without momentum) match the float64 reference " +
    "over several steps",
  cases: CONFIGS.flatMap((config) =>
    [1, 37, 1000].map((texels) => ({ config, texels, quick: texels < 1000 }))
  ),
  describe,
};

/** Steps each case runs (the moments and bias corrections evolve). */
const STEPS = 3;

/** The dispatch an optimizer case validated (at step 1 with step slot 0). */
export interface OptimizerKernels {
  /** One update of every parameter and its optimizer state. */
  update: Dispatch;
}

function describe({ config: c, texels }: OptimizerCase): string {
  const name = c.kind === "adam"
    ? `${c.weightDecay > 0 ? "AdamW" : "Adam"} lr=${c.lr} beta1=${c.beta1}`
    : `SGD momentum=${c.momentum} wd=${c.weightDecay}`;
  return `${name}, ${texels} texels`;
}

/** Runs STEPS updates of a case and compares parameters and state with the reference. */
export async function checkOptimizer(
  ctx: GpuContext,
  c: OptimizerCase,
  r: Rng,
): Promise<CaseRun<OptimizerKernels>> {
  const { config, texels } = c, n = texels * 4;
  const p = f32(randomArray(r, n)), m = new Float64Array(n), v = new Float64Array(n);
  const P = new TexelStore(ctx, texels, "P"), G = new TexelStore(ctx, texels, "G");
  const S = new TexelStore(ctx, 2 * texels, "S"), P2 = new TexelStore(ctx, texels, "P'");
  const S2 = new TexelStore(ctx, 2 * texels, "S'");
  const view = (s: TexelStore, t: number) => new Tensor(s, 0, 1, t * 4, "view");
  uploadPadded(ctx, view(P, texels), Float32Array.from(p));
  const step = new StepParamsBuffer(ctx, STEPS);
  step.write(
    0,
    Array.from(
      { length: STEPS },
      (_, i) => ({ step: i, batchStart: 0, ...optimizerStepValues(config, i + 1) }),
    ),
  );
  const update = await optimizerUpdate(ctx, {
    config,
    texels,
    params: P,
    grads: G,
    state: S,
    paramsOut: P2,
    stateOut: S2,
    step,
  });
  for (let t = 1; t <= STEPS; t++) {
    const g = Float32Array.from(randomArray(r, n));
    uploadPadded(ctx, view(G, texels), g);
    await runDispatches(ctx, [update], step.offset(t - 1));
    // the outputs become the next step's inputs, as the trainer swaps them
    const enc = ctx.device.createCommandEncoder();
    for (const [from, to] of [[P2, P], [S2, S]]) {
      enc.copyTextureToTexture({ texture: from.texture }, { texture: to.texture }, [
        from.texture.width,
        from.texture.height,
      ]);
    }
    ctx.device.queue.submit([enc.finish()]);
    optimizerRef(config, p, g, m, v, t);
  }
  const ck = new Checks("optimizer", `${describe(c)}, ${STEPS} steps`);
  ck.close("params", await downloadPadded(ctx, view(P, texels)), p, 2e-5);
  const state = await downloadPadded(ctx, view(S, 2 * texels));
  ck.close("first moment", state.subarray(0, n), m, 2e-5);
  if (config.kind === "adam") ck.close("second moment", state.subarray(n), v, 2e-5);
  return ck.done({ update });
}

/** The optimizer family of the suite. */
export const OPTIMIZER_FAMILY = bindFamily(OPTIMIZER, checkOptimizer);
