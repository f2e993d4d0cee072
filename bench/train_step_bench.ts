/**
 * One full LeNet-5 training step at batch 64 (gather, forward, loss, backward, Adam): the whole
 * recorded program, timed with the GPU finishing; plus the per-kernel breakdown.
 */
import { ADAM_DEFAULTS, lenet5, Model, subset, Trainer, uploadDataset } from "../mod.ts";
import { loadMnistSplit } from "../mod_deno.ts";
import { kernelBench } from "./common.ts";

const title = "full training step (GPU time of all its dispatches)";
await kernelBench("training step", title, async (ctx) => {
  const train = subset(await loadMnistSplit("train"), 6400);
  const data = uploadDataset(ctx, train.images, train.labels, train.count, 784, "train");
  const model = Model.create(ctx, lenet5(), { seed: 1 });
  const trainer = await Trainer.create(ctx, model, data, {
    batchSize: 64,
    epochs: 1,
    optimizer: ADAM_DEFAULTS,
    seed: 1,
  });
  await trainer.run(); // warm up, and check that it learns
  const loss = trainer.state.lossCurve.at(-1)!.loss;
  if (!(loss < 1.5)) throw new Error(`training step does not learn: loss ${loss} after 100 steps`);
  return [{
    name: "LeNet-5 training step, batch 64",
    dispatches: [...trainer.stepDispatches],
    flops: 64 * 2.3e6,
    bytes: 0,
  }];
}, 10);
