import {
  softmaxCrossEntropy,
  softmaxCrossEntropyRef,
  softmaxForward,
} from "../src/ops/softmax_xent.ts";
import { download, Tensor, upload } from "../src/gpu/tensor.ts";
import { runDispatches } from "../src/gpu/program.ts";
import { StepParamsBuffer } from "../src/gpu/step_params.ts";
import { assertClose, gpu, numericGrad, randomArray, rng } from "./helpers.ts";

async function readF32(
  ctx: Awaited<ReturnType<typeof gpu>>,
  buf: GPUBuffer,
  n: number,
): Promise<Float32Array> {
  const st = ctx.device.createBuffer({
    size: n * 4,
    usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
  });
  const enc = ctx.device.createCommandEncoder();
  enc.copyBufferToBuffer(buf, 0, st, 0, n * 4);
  ctx.device.queue.submit([enc.finish()]);
  await st.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(st.getMappedRange().slice(0));
  st.unmap();
  return out;
}

Deno.test("softmax cross-entropy (loss, mean loss at the step slot, dZ) and softmax match the reference", async () => {
  const ctx = await gpu();
  let salt = 0;
  for (const [B, N] of [[64, 10], [7, 3], [1, 1], [300, 13], [5, 4]]) {
    const r = rng(++salt);
    const z = randomArray(r, B * N, -8, 8);
    const labels = Array.from({ length: B }, () => r.int(N));
    const tz = Tensor.create(ctx, B, N, "logits"), tl = Tensor.create(ctx, 1, B, "labels");
    const tdz = Tensor.create(ctx, B, N, "dz"), tloss = Tensor.create(ctx, 1, B, "losses");
    const tp = Tensor.create(ctx, B, N, "probs");
    upload(ctx, tz, z);
    upload(ctx, tl, labels);
    const log = ctx.device.createBuffer({
      size: 64,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const params = new StepParamsBuffer(ctx, 4);
    params.write(0, [0, 1, 2, 3].map((s) => ({ step: s, batchStart: 0 })));
    const d = await softmaxCrossEntropy(ctx, {
      logits: tz,
      labels: tl,
      dz: tdz,
      losses: tloss,
      lossLog: log,
      params,
    });
    await runDispatches(ctx, [d], params.offset(3)); // slot 3 says step 3
    await runDispatches(ctx, [await softmaxForward(ctx, { logits: tz, probs: tp })]);
    const ref = softmaxCrossEntropyRef(z, labels, B, N);
    const tag = `B=${B} N=${N}`;
    assertClose(`xent losses ${tag}`, await download(ctx, tloss), ref.losses, 1e-5);
    assertClose(`xent dZ ${tag}`, await download(ctx, tdz), ref.dz, 1e-5, [B, N]);
    assertClose(`softmax ${tag}`, await download(ctx, tp), ref.probs, 1e-5, [B, N]);
    const logged = await readF32(ctx, log, 16);
    assertClose(`mean loss at step slot ${tag}`, [logged[3]], [ref.mean], 1e-5);
    if (logged[0] !== 0 || logged[2] !== 0) throw new Error("mean loss written to the wrong slot");
  }
});

Deno.test("cross-entropy reference gradient agrees with finite differences", () => {
  const r = rng(42);
  const [B, N] = [3, 5];
  const z = randomArray(r, B * N, -3, 3), labels = [1, 4, 0];
  const ref = softmaxCrossEntropyRef(z, labels, B, N);
  const idx = Array.from({ length: B * N }, (_, i) => i);
  assertClose(
    "dZ vs finite differences",
    numericGrad(() => softmaxCrossEntropyRef(z, labels, B, N).mean, z, idx),
    ref.dz,
    1e-6,
  );
});
