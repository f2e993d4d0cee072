/**
 * conv2d at LeNet-5's two layers (batch 64): forward (fused bias, ReLU, max-pool), input gradient
 * and weight gradient; validated by the kernel-check suite before timing.
 */
import { checkConv2d, type ConvCase, convCase, convGeometry, convShape } from "../mod.ts";
import { benchRng, kernelBench, type KernelCase, validated } from "./common.ts";

const B = 64;
const LAYERS: [string, ConvCase][] = [
  ["conv1 28x28x1 -> 6@5x5 pad 2", convCase([B, 28, 28, 1, 6, 5, 2], "relu pool raw")],
  ["conv2 14x14x6 -> 16@5x5", convCase([B, 14, 14, 6, 16, 5, 0], "relu pool")],
];

await kernelBench("conv2d", "conv2d kernels (batch 64)", async (ctx) => {
  const cases: KernelCase[] = [];
  let salt = 0;
  for (const [name, c] of LAYERS) {
    const fused = validated(await checkConv2d(ctx, c, benchRng(++salt)));
    // backward on the pre-activation gradient (as the model runs it after gathering the pooled one)
    const plain = { ...c, relu: false, pool: false };
    const back = validated(await checkConv2d(ctx, plain, benchRng(++salt)));
    const g = convGeometry(convShape(c)),
      gradBytes = 4 * B * convGeometry(convShape(plain)).outCols;
    const flops = 2 * B * g.ho * g.wo * c.CO * c.CI * c.KS * c.KS;
    const inBytes = 4 * B * g.inCols, wBytes = 4 * g.weightRows * g.cop;
    cases.push({
      name: `${name} forward`,
      dispatches: [fused.forward],
      flops,
      bytes: inBytes + wBytes + 2 * 4 * B * g.outCols,
    });
    cases.push({
      name: `${name} weight gradient`,
      dispatches: back.backwardWeight,
      flops,
      bytes: inBytes + gradBytes + wBytes,
    });
    if (back.backwardInput) {
      cases.push({
        name: `${name} input gradient`,
        dispatches: [back.backwardInput],
        flops,
        bytes: gradBytes + wBytes + inBytes,
      });
    }
  }
  return cases;
}, 10);
