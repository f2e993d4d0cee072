import {
  gatherBatch,
  gatherBatchRef,
  pixelNormal,
  uploadDataset,
  uploadUints,
} from "../src/ops/gather.ts";
import { download, Tensor } from "../src/gpu/tensor.ts";
import { runDispatches } from "../src/gpu/program.ts";
import { StepParamsBuffer } from "../src/gpu/step_params.ts";
import { assertClose, gpu, rng } from "./helpers.ts";

Deno.test("batch gather (by permutation, scaled to [0,1], with and without noise) matches the CPU reference", async () => {
  const ctx = await gpu();
  const r = rng(1);
  const count = 50, pixels = 28 * 28;
  const images = new Uint8Array(count * pixels).map(() => r.int(256));
  const labels = Array.from({ length: count }, () => r.int(10));
  const data = uploadDataset(ctx, images, labels, count, pixels);
  const perm = r.permutation(count);
  const permStore = uploadUints(ctx, perm, "perm");
  for (const [B, start, sigma] of [[8, 0, 0], [13, 20, 0], [7, 43, 32], [16, 5, 128]]) {
    const noise = sigma > 0 ? { sigma, seed: 1234 + B } : undefined;
    const x = Tensor.create(ctx, B, pixels, "x"), tl = Tensor.create(ctx, 1, B, "labels");
    const params = new StepParamsBuffer(ctx, 2);
    params.write(0, [{ step: 0, batchStart: 0 }, { step: 1, batchStart: start }]);
    await runDispatches(ctx, [
      await gatherBatch(ctx, { data, perm: permStore, x, labels: tl, params, noise }),
    ], params.offset(1));
    const ref = gatherBatchRef(images, pixels, perm, start, B, noise);
    // float32 Box-Muller vs float64: differences of ~1e-4 of the 0..255 scale
    assertClose(
      `gather B=${B} start=${start} sigma=${sigma}`,
      await download(ctx, x),
      ref,
      sigma > 0 ? 2e-4 : 1e-7,
      [B, pixels],
    );
    const wantLabels = Array.from({ length: B }, (_, i) => labels[perm[start + i]]);
    assertClose(`gathered labels B=${B}`, await download(ctx, tl), wantLabels, 0);
  }
});

Deno.test("pixel noise is standard normal, keyed only by (seed, image, pixel)", () => {
  const n = 200000;
  let s = 0, s2 = 0, s3 = 0, s4 = 0;
  for (let i = 0; i < n; i++) {
    const v = pixelNormal(7, i % 1000, Math.floor(i / 1000));
    s += v;
    s2 += v * v;
    s3 += v * v * v;
    s4 += v * v * v * v;
  }
  const mean = s / n, variance = s2 / n - mean * mean;
  if (Math.abs(mean) > 0.01) throw new Error(`mean ${mean}`);
  if (Math.abs(variance - 1) > 0.02) throw new Error(`variance ${variance}`);
  if (Math.abs(s3 / n) > 0.03) throw new Error(`skewness ${s3 / n}`);
  if (Math.abs(s4 / n - 3) > 0.08) throw new Error(`kurtosis ${s4 / n}`);
  if (pixelNormal(7, 3, 5) !== pixelNormal(7, 3, 5)) throw new Error("not deterministic");
  if (pixelNormal(7, 3, 5) === pixelNormal(8, 3, 5)) throw new Error("seed is ignored");
});
