/**
 * Softmax + cross-entropy (batch 64, 10 classes) and the optimizer updates over LeNet-5's
 * parameters, validated by the kernel-check suite before timing.
 */
import {
  ADAM_DEFAULTS,
  checkOptimizer,
  checkSoftmax,
  lenet5,
  paramLayout,
  planModel,
  SGD_DEFAULTS,
} from "../mod.ts";
import { benchRng, kernelBench, validated } from "./common.ts";

const [B, N] = [64, 10];
const texels = paramLayout(planModel(lenet5())).texels, n = texels * 4;

await kernelBench("loss and optimizer", "loss and optimizer", async (ctx) => {
  const xent = validated(await checkSoftmax(ctx, { B, N }, benchRng(7)));
  const adam = validated(await checkOptimizer(ctx, { config: ADAM_DEFAULTS, texels }, benchRng(8)));
  const sgd = validated(await checkOptimizer(ctx, { config: SGD_DEFAULTS, texels }, benchRng(9)));
  return [
    {
      name: `softmax cross-entropy ${B}x${N} (fwd+bwd)`,
      dispatches: [xent.crossEntropy],
      flops: 6 * B * N,
      bytes: 4 * (2 * B * N + 2 * B),
    },
    {
      name: `Adam update (${n} parameters)`,
      dispatches: [adam.update],
      flops: 14 * n,
      bytes: 4 * 7 * n,
    },
    {
      name: `SGD momentum update (${n} parameters)`,
      dispatches: [sgd.update],
      flops: 5 * n,
      bytes: 4 * 5 * n,
    },
  ];
});
