import {
  type OptimizerConfig,
  optimizerRef,
  optimizerStepValues,
  optimizerUpdate,
} from "../src/ops/optimizer.ts";
import { downloadPadded, Tensor, TexelStore, uploadPadded } from "../src/gpu/tensor.ts";
import { runDispatches } from "../src/gpu/program.ts";
import { StepParamsBuffer } from "../src/gpu/step_params.ts";
import { assertClose, gpu, randomArray, rng } from "./helpers.ts";

const CONFIGS: OptimizerConfig[] = [
  { kind: "adam", lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
  { kind: "adam", lr: 3e-3, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.01 },
  { kind: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 0 },
  { kind: "sgd", lr: 0.1, momentum: 0, weightDecay: 5e-4 },
];

Deno.test("optimizer updates (Adam, AdamW, SGD momentum) match the reference over several steps", async () => {
  const ctx = await gpu();
  let salt = 0;
  for (const cfg of CONFIGS) {
    for (const texels of [1, 37, 1000]) {
      const r = rng(++salt);
      const n = texels * 4;
      const p = randomArray(r, n), m = new Float64Array(n), v = new Float64Array(n);
      const P = new TexelStore(ctx, texels, "P"), G = new TexelStore(ctx, texels, "G");
      const S = new TexelStore(ctx, 2 * texels, "S"), P2 = new TexelStore(ctx, texels, "P'");
      const S2 = new TexelStore(ctx, 2 * texels, "S'");
      const view = (s: TexelStore, t: number) => new Tensor(s, 0, 1, t * 4, "view");
      uploadPadded(ctx, view(P, texels), Float32Array.from(p));
      const pf = Float64Array.from(Float32Array.from(p));
      const steps = 3;
      const params = new StepParamsBuffer(ctx, steps);
      params.write(
        0,
        Array.from(
          { length: steps },
          (_, i) => ({ step: i, batchStart: 0, ...optimizerStepValues(cfg, i + 1) }),
        ),
      );
      const d = await optimizerUpdate(ctx, {
        config: cfg,
        texels,
        params: P,
        grads: G,
        state: S,
        paramsOut: P2,
        stateOut: S2,
        step: params,
      });
      for (let t = 1; t <= steps; t++) {
        const g = randomArray(r, n);
        uploadPadded(ctx, view(G, texels), Float32Array.from(g));
        await runDispatches(ctx, [d], params.offset(t - 1));
        const enc = ctx.device.createCommandEncoder();
        enc.copyTextureToTexture({ texture: P2.texture }, { texture: P.texture }, [
          2048,
          P.texture.height,
        ]);
        enc.copyTextureToTexture({ texture: S2.texture }, { texture: S.texture }, [
          2048,
          S.texture.height,
        ]);
        ctx.device.queue.submit([enc.finish()]);
        optimizerRef(cfg, pf, Float32Array.from(g), m, v, t);
      }
      const tag = `${JSON.stringify(cfg)} texels=${texels}`;
      assertClose(`params ${tag}`, await downloadPadded(ctx, view(P, texels)), pf, 2e-5);
      const state = await downloadPadded(ctx, view(S, 2 * texels));
      assertClose(`first moment ${tag}`, state.subarray(0, n), m, 2e-5);
      if (cfg.kind === "adam") assertClose(`second moment ${tag}`, state.subarray(n), v, 2e-5);
    }
  }
});
