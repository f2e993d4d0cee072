import { MemoryTuningStore, Tuner } from "../src/gpu/tuner.ts";
import { downloadPadded, Tensor, upload } from "../src/gpu/tensor.ts";
import { runDispatches } from "../src/gpu/program.ts";
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  type Conv2dShape,
  convGeometry,
  convTileCandidates,
  partialCols,
  weightGradChunks,
} from "../src/ops/conv2d.ts";
import {
  denseBackwardInput,
  denseBackwardWeight,
  denseForward,
  denseTileCandidates,
} from "../src/ops/dense.ts";
import { gpu, randomArray, rng } from "./helpers.ts";

/** A spread of at most four candidates (each one compiles a pipeline). */
function spread<T>(all: readonly T[]): T[] {
  if (all.length <= 4) return [...all];
  return [0, Math.floor(all.length / 3), Math.floor((2 * all.length) / 3), all.length - 1].map((
    i,
  ) => all[i]);
}

function sameBits(what: string, a: Float32Array, b: Float32Array): void {
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) {
      throw new Error(`${what}: element ${i} differs (${a[i]} vs ${b[i]})`);
    }
  }
}

Deno.test("every kernel variant gives bit-identical results (tuning cannot change a run)", async () => {
  const ctx = await gpu();
  const r = rng(31);
  // conv: LeNet's second layer with pooling, and the same without (backward kernels)
  const s: Conv2dShape = {
    batch: 6,
    height: 14,
    width: 14,
    inChannels: 6,
    inStored: 8,
    outChannels: 16,
    kernel: 5,
    padding: 0,
    relu: true,
    pool: true,
  };
  const g = convGeometry(s);
  const x = Tensor.create(ctx, s.batch, g.inCols, "x"),
    w = Tensor.create(ctx, g.weightRows, 16, "w");
  const b = Tensor.create(ctx, 1, 16, "b"),
    y = Tensor.create(ctx, s.batch, g.outCols, "y"),
    code = Tensor.create(ctx, s.batch, g.outCols, "code");
  upload(ctx, x, randomArray(r, s.batch * g.inCols));
  upload(ctx, w, randomArray(r, g.weightRows * 16));
  upload(ctx, b, randomArray(r, 16));
  let first: Float32Array | null = null;
  for (const tile of spread(convTileCandidates("forward", s))) {
    await runDispatches(ctx, [await conv2dForward(ctx, { shape: s, x, w, b, y, code, tile })]);
    const out = await downloadPadded(ctx, y);
    if (first) sameBits(`conv forward tile ${JSON.stringify(tile)}`, out, first);
    else first = out;
  }
  const bs = { ...s, pool: false, relu: false }, bg = convGeometry(bs);
  const dz = Tensor.create(ctx, s.batch, bg.outCols, "dz"),
    dx = Tensor.create(ctx, s.batch, g.inCols, "dx");
  const dw = Tensor.create(ctx, g.weightRows, 16, "dw"), db = Tensor.create(ctx, 1, 16, "db");
  upload(ctx, dz, randomArray(r, s.batch * bg.outCols));
  const chunks = weightGradChunks(bs), partial = Tensor.create(ctx, chunks, partialCols(bs), "p");
  first = null;
  for (const tile of spread(convTileCandidates("backwardInput", bs))) {
    await runDispatches(ctx, [
      await conv2dBackwardInput(ctx, { shape: bs, grad: dz, w, dx, tile }),
    ]);
    const out = await downloadPadded(ctx, dx);
    if (first) sameBits(`conv input gradient tile ${JSON.stringify(tile)}`, out, first);
    else first = out;
  }
  first = null;
  for (const tile of spread(convTileCandidates("backwardWeight", bs))) {
    await runDispatches(
      ctx,
      await conv2dBackwardWeight(ctx, { shape: bs, grad: dz, x, dw, db, chunks, partial, tile }),
    );
    const out = await downloadPadded(ctx, dw);
    if (first) sameBits(`conv weight gradient tile ${JSON.stringify(tile)}`, out, first);
    else first = out;
  }
  // dense
  const [M, K, N] = [37, 100, 45];
  const dxT = Tensor.create(ctx, M, K, "x"),
    dwT = Tensor.create(ctx, N, K, "w"),
    dbT = Tensor.create(ctx, 1, N, "b");
  const dyT = Tensor.create(ctx, M, N, "y"), dzT = Tensor.create(ctx, M, N, "dz");
  const gx = Tensor.create(ctx, M, K, "gx"),
    gw = Tensor.create(ctx, N, K, "gw"),
    gb = Tensor.create(ctx, 1, N, "gb");
  for (const [t, n] of [[dxT, M * K], [dwT, N * K], [dbT, N], [dzT, M * N]] as const) {
    upload(ctx, t, randomArray(r, n));
  }
  const seen: Record<string, Float32Array> = {};
  for (const tile of denseTileCandidates) {
    const ds = [
      await denseForward(ctx, { x: dxT, w: dwT, b: dbT, y: dyT, relu: true, tile }),
      await denseBackwardInput(ctx, { dz: dzT, w: dwT, dx: gx, tile }),
    ];
    if (tile.rm % 4 === 0 && tile.variant !== "workgroup") {
      ds.push(await denseBackwardWeight(ctx, { dz: dzT, x: dxT, dw: gw, db: gb, tile }));
    }
    await runDispatches(ctx, ds);
    const outs: [string, Tensor][] = [
      ["forward", dyT],
      ["input gradient", gx],
      ...(tile.rm % 4 === 0 && tile.variant !== "workgroup"
        ? [["weight gradient", gw]] as [string, Tensor][]
        : []),
    ];
    for (const [name, t] of outs) {
      const out = await downloadPadded(ctx, t);
      if (seen[name]) sameBits(`dense ${name} tile ${JSON.stringify(tile)}`, out, seen[name]);
      else seen[name] = out;
    }
  }
});

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
