/**
 * The tuner. That every kernel variant it may pick gives the default variant's bits (so tuning
 * cannot change a run) is checked by the kernel-check suite's tile cases (src/check/dense.ts,
 * src/check/conv2d.ts), run by tests/dense_test.ts and tests/conv2d_test.ts.
 */
import { MemoryTuningStore, Tuner } from "../src/gpu/tuner.ts";
import { Tensor } from "../src/gpu/tensor.ts";
import { denseForward, denseTileCandidates } from "../src/ops/dense.ts";
import { gpu } from "./helpers.ts";

Deno.test("the tuner measures candidates once, then reuses the stored choice", async () => {
  const ctx = await gpu();
  const store = new MemoryTuningStore();
  const [M, K, N] = [64, 120, 84];
  const x = Tensor.create(ctx, M, K, "x"),
    w = Tensor.create(ctx, N, K, "w"),
    b = Tensor.create(ctx, 1, N, "b"),
    y = Tensor.create(ctx, M, N, "y");
  let built = 0;
  const build = async (tile: (typeof denseTileCandidates)[number]) => {
    built++;
    return [await denseForward(ctx, { x, w, b, y, relu: false, tile })];
  };
  const a = new Tuner(ctx, "auto", store);
  const choice = await a.pick("dense test", denseTileCandidates, denseTileCandidates[0], build);
  await a.flush();
  if (built !== denseTileCandidates.length) {
    throw new Error(`measured ${built} of ${denseTileCandidates.length} candidates`);
  }
  if (Object.keys(a.decisions[0].timings).length !== denseTileCandidates.length) {
    throw new Error("timings missing");
  }
  const b2 = new Tuner(ctx, "auto", store);
  const again = await b2.pick("dense test", denseTileCandidates, denseTileCandidates[0], build);
  if (built !== denseTileCandidates.length) throw new Error("a stored choice was measured again");
  if (JSON.stringify(again) !== JSON.stringify(choice) || !b2.decisions[0].fromCache) {
    throw new Error("stored choice not reused");
  }
  const off = new Tuner(ctx, "off", store);
  const fallback = await off.pick("dense test", denseTileCandidates, denseTileCandidates[1], build);
  if (fallback !== denseTileCandidates[1] || built !== denseTileCandidates.length) {
    throw new Error("tuning off still measured");
  }
});
