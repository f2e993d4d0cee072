import { accumulateConfusion, confusionRef, predictClasses } from "../src/ops/evaluate.ts";
import { Tensor, upload } from "../src/gpu/tensor.ts";
import { runDispatches } from "../src/gpu/program.ts";
import { StepParamsBuffer } from "../src/gpu/step_params.ts";
import { gpu, randomArray, rng } from "./helpers.ts";

Deno.test("predictions and the confusion matrix accumulated over batches match the reference", async () => {
  const ctx = await gpu();
  const r = rng(3);
  const N = 10;
  const counts = ctx.device.createBuffer({
    size: N * N * 4,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  const want = Array.from({ length: N }, () => new Array<number>(N).fill(0));
  // (batch rows, rows that are real samples): the last chunk of an evaluation is partial
  for (const [B, valid] of [[1000, 1000], [37, 30], [1, 1]]) {
    const z = randomArray(r, B * N), labels = Array.from({ length: B }, () => r.int(N));
    const tz = Tensor.create(ctx, B, N, "logits"), tl = Tensor.create(ctx, 1, B, "labels");
    const tp = Tensor.create(ctx, 1, B, "preds");
    upload(ctx, tz, z);
    upload(ctx, tl, labels);
    const params = new StepParamsBuffer(ctx, 1);
    params.write(0, [{ step: 0, batchStart: 0, valid }]);
    await runDispatches(ctx, [
      await predictClasses(ctx, { logits: tz, preds: tp, counts }),
      await accumulateConfusion(ctx, { preds: tp, labels: tl, classes: N, counts, params }),
    ]);
    const m = confusionRef(z, labels, valid, N);
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) want[i][j] += m[i][j];
  }
  const st = ctx.device.createBuffer({
    size: N * N * 4,
    usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
  });
  const enc = ctx.device.createCommandEncoder();
  enc.copyBufferToBuffer(counts, 0, st, 0, N * N * 4);
  ctx.device.queue.submit([enc.finish()]);
  await st.mapAsync(GPUMapMode.READ);
  const got = new Uint32Array(st.getMappedRange().slice(0));
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      if (got[i * N + j] !== want[i][j]) {
        throw new Error(`confusion[${i}][${j}] = ${got[i * N + j]}, want ${want[i][j]}`);
      }
    }
  }
});
