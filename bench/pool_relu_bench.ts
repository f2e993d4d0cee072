/**
 * Standalone max-pool (forward with codes, gather backward) and ReLU at LeNet's conv1 map size,
 * validated by the kernel-check suite before timing.
 */
import { checkMaxPool, checkRelu, pad4 } from "../mod.ts";
import { benchRng, kernelBench, validated } from "./common.ts";

const [B, H, W, C] = [64, 28, 28, 6];
const CP = pad4(C), PH = H / 2, PW = W / 2;
const inB = 4 * B * H * W * CP, outB = 4 * B * PH * PW * CP, shape = "64x28x28x6";

await kernelBench("pool and relu", "max-pool and ReLU", async (ctx) => {
  const pool = validated(await checkMaxPool(ctx, { B, H, W, C }, benchRng(1)));
  // the same floats as the pooled map's (B, H * W * CP) tensor
  const relu = validated(await checkRelu(ctx, { rows: B, cols: H * W * CP }, benchRng(2)));
  return [
    {
      name: `max-pool forward ${shape}`,
      dispatches: [pool.forward],
      flops: 3 * B * PH * PW * CP,
      bytes: inB + 2 * outB,
    },
    {
      name: `max-pool backward (gather) ${shape}`,
      dispatches: [pool.backward],
      flops: B * H * W * CP,
      bytes: 2 * outB + inB,
    },
    { name: `ReLU forward ${shape}`, dispatches: [relu.forward], flops: inB / 4, bytes: 2 * inB },
    { name: `ReLU backward ${shape}`, dispatches: [relu.backward], flops: inB / 4, bytes: 3 * inB },
  ];
});
