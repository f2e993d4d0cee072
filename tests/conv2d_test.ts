import {
  conv2dBackwardInput,
  conv2dBackwardRef,
  conv2dBackwardWeight,
  conv2dForward,
  conv2dRef,
  type Conv2dShape,
  convGeometry,
  packNHWC,
  padWeightRows,
  partialCols,
  unpackNHWC,
  unpadWeightRows,
  weightFromTorch,
  weightGradChunks,
  weightToTorch,
} from "../src/ops/conv2d.ts";
import { maxPool2BackwardRef, maxPool2Ref } from "../src/ops/maxpool.ts";
import { reluRef } from "../src/ops/relu.ts";
import { download, downloadPadded, pad4, Tensor, upload } from "../src/gpu/tensor.ts";
import { runDispatches } from "../src/gpu/program.ts";
import { assertClose, gpu, numericGrad, randomArray, rng } from "./helpers.ts";

interface Case {
  B: number;
  H: number;
  W: number;
  CI: number;
  CO: number;
  KS: number;
  PAD: number;
  relu: boolean;
  pool: boolean;
  raw: boolean; // single-channel raw-image layout (1 stored channel)
}

const CASES: Case[] = [
  // LeNet-5's two blocks
  { B: 8, H: 28, W: 28, CI: 1, CO: 6, KS: 5, PAD: 2, relu: true, pool: true, raw: true },
  { B: 8, H: 14, W: 14, CI: 6, CO: 16, KS: 5, PAD: 0, relu: true, pool: true, raw: false },
  // odd sizes, odd pooled maps, channel counts that do not fill a texel, no pool, no relu
  { B: 3, H: 9, W: 7, CI: 3, CO: 5, KS: 3, PAD: 1, relu: true, pool: true, raw: false },
  { B: 2, H: 11, W: 6, CI: 5, CO: 9, KS: 3, PAD: 0, relu: false, pool: true, raw: false },
  { B: 5, H: 6, W: 10, CI: 2, CO: 3, KS: 5, PAD: 2, relu: true, pool: false, raw: false },
  { B: 1, H: 5, W: 5, CI: 1, CO: 1, KS: 1, PAD: 0, relu: false, pool: false, raw: true },
  { B: 4, H: 8, W: 8, CI: 1, CO: 4, KS: 3, PAD: 1, relu: false, pool: false, raw: false },
  { B: 3, H: 13, W: 9, CI: 8, CO: 7, KS: 2, PAD: 1, relu: true, pool: true, raw: false },
  // raw images whose rows are whole texels (the aligned row loads), with other paddings
  { B: 2, H: 8, W: 12, CI: 1, CO: 5, KS: 3, PAD: 1, relu: true, pool: false, raw: true },
  { B: 3, H: 6, W: 8, CI: 1, CO: 4, KS: 3, PAD: 0, relu: true, pool: true, raw: true },
  { B: 2, H: 9, W: 16, CI: 1, CO: 9, KS: 7, PAD: 6, relu: false, pool: true, raw: true },
];

function shapeOf(c: Case): Conv2dShape {
  return {
    batch: c.B,
    height: c.H,
    width: c.W,
    inChannels: c.CI,
    inStored: c.raw ? 1 : pad4(c.CI),
    outChannels: c.CO,
    kernel: c.KS,
    padding: c.PAD,
    relu: c.relu,
    pool: c.pool,
  };
}

/** Forward reference of a block: pool(relu(conv)) plus codes and the pre-activation. */
function blockRef(c: Case, x: Float64Array, w: Float64Array, b: Float64Array) {
  const z = conv2dRef(x, w, b, c.B, c.H, c.W, c.CI, c.CO, c.KS, c.PAD);
  const HO = c.H + 2 * c.PAD - c.KS + 1, WO = c.W + 2 * c.PAD - c.KS + 1;
  const a = c.relu ? reluRef(z) : z;
  if (!c.pool) return { z, out: a, code: null, HO, WO };
  const p = maxPool2Ref(a, c.B, HO, WO, c.CO, c.relu);
  return { z, out: p.y, code: p.code, HO, WO };
}

Deno.test("conv2d forward (fused bias, ReLU, max-pool with codes) matches the float64 reference", async () => {
  const ctx = await gpu();
  let salt = 0;
  for (const c of CASES) {
    const r = rng(++salt);
    const s = shapeOf(c), g = convGeometry(s);
    const x = randomArray(r, c.B * c.H * c.W * c.CI);
    const w = randomArray(r, c.KS * c.KS * c.CI * c.CO, -0.5, 0.5);
    const b = randomArray(r, c.CO, -0.2, 0.2);
    const tx = Tensor.create(ctx, c.B, g.inCols, "x"),
      tw = Tensor.create(ctx, g.weightRows, c.CO, "w");
    const tb = Tensor.create(ctx, 1, c.CO, "b"), ty = Tensor.create(ctx, c.B, g.outCols, "y");
    const tcode = Tensor.create(ctx, c.B, g.outCols, "code");
    upload(ctx, tx, packNHWC(x, c.B, c.H, c.W, c.CI, s.inStored));
    upload(ctx, tw, padWeightRows(w, c.KS, c.CI, c.CO, s.inStored));
    upload(ctx, tb, b);
    await runDispatches(ctx, [
      await conv2dForward(ctx, { shape: s, x: tx, w: tw, b: tb, y: ty, code: tcode }),
    ]);
    const ref = blockRef(c, x, w, b);
    const got = unpackNHWC(await download(ctx, ty), c.B, g.outH, g.outW, c.CO, g.cop);
    const tag = JSON.stringify(c);
    assertClose(`conv2d forward ${tag}`, got, ref.out, 1e-5, [c.B, g.outH, g.outW, c.CO]);
    // pad channels stay exactly zero (kernels rely on it)
    const padded = await downloadPadded(ctx, ty);
    for (let i = 0; i < padded.length; i++) {
      if (i % g.cop >= c.CO && padded[i] !== 0) {
        throw new Error(`${tag}: pad channel ${i} is ${padded[i]}`);
      }
    }
    if (ref.code) {
      const code = unpackNHWC(await download(ctx, tcode), c.B, g.outH, g.outW, c.CO, g.cop);
      let mismatched = 0;
      for (let i = 0; i < code.length; i++) if (code[i] !== ref.code[i]) mismatched++;
      // float32 vs float64 may break near-ties differently; those are vanishingly rare here
      if (mismatched > code.length * 0.002) {
        throw new Error(`${tag}: ${mismatched} pool codes differ`);
      }
    }
  }
});

Deno.test("conv2d backward (dX with and without input mask, dW, db, chunked and direct) matches the reference", async () => {
  const ctx = await gpu();
  let salt = 50;
  for (const c of CASES) {
    for (const mask of [false, true]) {
      if (c.raw && mask) continue;
      const r = rng(++salt);
      const s = shapeOf(c), g = convGeometry(s);
      const x = randomArray(r, c.B * c.H * c.W * c.CI);
      const w = randomArray(r, c.KS * c.KS * c.CI * c.CO, -0.5, 0.5);
      const b = randomArray(r, c.CO, -0.2, 0.2);
      const grad = randomArray(r, c.B * g.outH * g.outW * c.CO);
      const tx = Tensor.create(ctx, c.B, g.inCols, "x"),
        tw = Tensor.create(ctx, g.weightRows, c.CO, "w");
      const tb = Tensor.create(ctx, 1, c.CO, "b"), ty = Tensor.create(ctx, c.B, g.outCols, "y");
      const tcode = Tensor.create(ctx, c.B, g.outCols, "code"),
        tg = Tensor.create(ctx, c.B, g.outCols, "grad");
      const tdx = Tensor.create(ctx, c.B, g.inCols, "dx");
      const tdw = Tensor.create(ctx, g.weightRows, c.CO, "dw"),
        tdb = Tensor.create(ctx, 1, c.CO, "db");
      upload(ctx, tx, packNHWC(x, c.B, c.H, c.W, c.CI, s.inStored));
      upload(ctx, tw, padWeightRows(w, c.KS, c.CI, c.CO, s.inStored));
      upload(ctx, tb, b);
      upload(ctx, tg, packNHWC(grad, c.B, g.outH, g.outW, c.CO, g.cop));
      const chunks = mask ? 1 : weightGradChunks(s);
      const partial = Tensor.create(ctx, chunks, partialCols(s), "partial");
      const aux = c.pool ? tcode : c.relu ? ty : undefined;
      const dispatches = [
        await conv2dForward(ctx, { shape: s, x: tx, w: tw, b: tb, y: ty, code: tcode }),
      ];
      dispatches.push(
        ...await conv2dBackwardWeight(ctx, {
          shape: s,
          grad: tg,
          x: tx,
          aux,
          dw: tdw,
          db: tdb,
          chunks,
          partial,
        }),
      );
      if (!c.raw) {
        dispatches.push(
          await conv2dBackwardInput(ctx, {
            shape: s,
            grad: tg,
            w: tw,
            aux,
            dx: tdx,
            maskFrom: mask ? tx : undefined,
          }),
        );
      }
      await runDispatches(ctx, dispatches);

      // reference: the pre-activation gradient from the GPU's own codes (ties are arbitrary)
      const HO = g.ho, WO = g.wo;
      let dz: Float64Array;
      if (c.pool) {
        const code = unpackNHWC(await download(ctx, tcode), c.B, g.outH, g.outW, c.CO, g.cop);
        dz = maxPool2BackwardRef(grad, code, c.B, HO, WO, c.CO);
      } else if (c.relu) {
        const y = unpackNHWC(await download(ctx, ty), c.B, HO, WO, c.CO, g.cop);
        dz = grad.map((v, i) => (y[i] > 0 ? v : 0));
      } else dz = grad;
      const ref = conv2dBackwardRef(x, w, dz, c.B, c.H, c.W, c.CI, c.CO, c.KS, c.PAD);
      const tag = `${JSON.stringify(c)} mask=${mask} chunks=${chunks}`;
      const dw = unpadWeightRows(await download(ctx, tdw), c.KS, c.CI, c.CO, s.inStored);
      assertClose(`conv2d dW ${tag}`, dw, ref.dw, 1e-5, [c.KS, c.KS, c.CI, c.CO]);
      assertClose(`conv2d db ${tag}`, await download(ctx, tdb), ref.db, 1e-5);
      if (!c.raw) {
        const dxRef = mask ? ref.dx.map((v, i) => (x[i] > 0 ? v : 0)) : ref.dx;
        const dx = unpackNHWC(await download(ctx, tdx), c.B, c.H, c.W, c.CI, s.inStored);
        assertClose(`conv2d dX ${tag}`, dx, dxRef, 1e-5, [c.B, c.H, c.W, c.CI]);
      }
    }
  }
});

Deno.test("conv2d + ReLU + max-pool reference gradients agree with finite differences", () => {
  const c: Case = {
    B: 2,
    H: 6,
    W: 5,
    CI: 2,
    CO: 3,
    KS: 3,
    PAD: 1,
    relu: true,
    pool: true,
    raw: false,
  };
  const r = rng(777);
  const x = randomArray(r, c.B * c.H * c.W * c.CI), w = randomArray(r, 9 * c.CI * c.CO, -0.5, 0.5);
  const b = randomArray(r, c.CO, -0.1, 0.1);
  const out0 = blockRef(c, x, w, b);
  const g = randomArray(r, out0.out.length);
  const loss = () => blockRef(c, x, w, b).out.reduce((s, v, i) => s + v * g[i], 0);
  const dz = maxPool2BackwardRef(g, out0.code!, c.B, out0.HO, out0.WO, c.CO);
  const ref = conv2dBackwardRef(x, w, dz, c.B, c.H, c.W, c.CI, c.CO, c.KS, c.PAD);
  const all = (n: number) => Array.from({ length: n }, (_, i) => i);
  assertClose("conv dX vs finite differences", numericGrad(loss, x, all(x.length)), ref.dx, 1e-5);
  assertClose("conv dW vs finite differences", numericGrad(loss, w, all(w.length)), ref.dw, 1e-5);
  assertClose("conv db vs finite differences", numericGrad(loss, b, all(b.length)), ref.db, 1e-5);
});

Deno.test("conv weights convert to and from PyTorch's (out, in, kh, kw) layout", () => {
  const r = rng(5);
  const [CO, CI, KS, CIP] = [5, 3, 3, 4];
  const torch = Float32Array.from(randomArray(r, CO * CI * KS * KS));
  const internal = weightFromTorch(torch, CO, CI, KS, CIP);
  // element (co=4, ci=2, ky=1, kx=0) lands in internal row (ky, kx, ci)
  const want = torch[((4 * CI + 2) * KS + 1) * KS + 0];
  if (internal[((1 * KS + 0) * CIP + 2) * CO + 4] !== want) {
    throw new Error("weightFromTorch misplaces values");
  }
  assertClose("weight layout round trip", weightToTorch(internal, CO, CI, KS, CIP), torch, 0);
});
