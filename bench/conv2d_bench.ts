/**
 * conv2d at LeNet-5's two layers (batch 64): forward (fused bias, ReLU, max-pool), input gradient
 * and weight gradient; checked against the float64 reference before timing.
 */
import { download, Tensor, upload } from "../src/gpu/tensor.ts";
import { runDispatches } from "../src/gpu/program.ts";
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
  weightGradChunks,
} from "../src/ops/conv2d.ts";
import { maxPool2Ref } from "../src/ops/maxpool.ts";
import {
  benchGpu,
  benchKernel,
  benchRng,
  checkClose,
  type KernelCase,
  printKernelTable,
  randomValues,
} from "./common.ts";

const ctx = await benchGpu();
const B = 64;
const LAYERS: [string, Conv2dShape][] = [
  ["conv1 28x28x1 -> 6@5x5 pad 2", {
    batch: B,
    height: 28,
    width: 28,
    inChannels: 1,
    inStored: 1,
    outChannels: 6,
    kernel: 5,
    padding: 2,
    relu: true,
    pool: true,
  }],
  ["conv2 14x14x6 -> 16@5x5", {
    batch: B,
    height: 14,
    width: 14,
    inChannels: 6,
    inStored: 8,
    outChannels: 16,
    kernel: 5,
    padding: 0,
    relu: true,
    pool: true,
  }],
];

const cases: KernelCase[] = [];
let salt = 0;
for (const [name, s] of LAYERS) {
  const r = benchRng(++salt);
  const g = convGeometry(s);
  const xv = randomValues(r, B * s.height * s.width * s.inChannels, 0, 1);
  const wv = randomValues(r, s.kernel * s.kernel * s.inChannels * s.outChannels, -0.3, 0.3);
  const bv = randomValues(r, s.outChannels, -0.1, 0.1);
  const x = Tensor.create(ctx, B, g.inCols, "x"),
    w = Tensor.create(ctx, g.weightRows, s.outChannels, "w");
  const b = Tensor.create(ctx, 1, s.outChannels, "b"), y = Tensor.create(ctx, B, g.outCols, "y");
  const code = Tensor.create(ctx, B, g.outCols, "code");
  upload(ctx, x, packNHWC(xv, B, s.height, s.width, s.inChannels, s.inStored));
  upload(ctx, w, padWeightRows(wv, s.kernel, s.inChannels, s.outChannels, s.inStored));
  upload(ctx, b, bv);
  const fwd = await conv2dForward(ctx, { shape: s, x, w, b, y, code });
  await runDispatches(ctx, [fwd]);
  const z = conv2dRef(
    xv,
    wv,
    bv,
    B,
    s.height,
    s.width,
    s.inChannels,
    s.outChannels,
    s.kernel,
    s.padding,
  );
  const ref = maxPool2Ref(z.map((v) => Math.max(v, 0)), B, g.ho, g.wo, s.outChannels, true);
  checkClose(
    `${name} forward`,
    unpackNHWC(await download(ctx, y), B, g.outH, g.outW, s.outChannels, g.cop),
    ref.y,
  );

  // backward on the pre-activation gradient (as the model runs it after gathering the pooled one)
  const bs: Conv2dShape = { ...s, relu: false, pool: false };
  const bg = convGeometry(bs);
  const dzv = randomValues(r, B * g.ho * g.wo * s.outChannels);
  const dz = Tensor.create(ctx, B, bg.outCols, "dz");
  upload(ctx, dz, packNHWC(dzv, B, g.ho, g.wo, s.outChannels, g.cop));
  const dw = Tensor.create(ctx, g.weightRows, s.outChannels, "dw"),
    db = Tensor.create(ctx, 1, s.outChannels, "db");
  const chunks = weightGradChunks(bs);
  const partial = Tensor.create(ctx, chunks, partialCols(bs), "partial");
  const bw = await conv2dBackwardWeight(ctx, { shape: bs, grad: dz, x, dw, db, chunks, partial });
  const gradRef = conv2dBackwardRef(
    xv,
    wv,
    dzv,
    B,
    s.height,
    s.width,
    s.inChannels,
    s.outChannels,
    s.kernel,
    s.padding,
  );
  await runDispatches(ctx, bw);
  const dwGot = await download(ctx, dw);
  const dwInternal = padWeightRows(gradRef.dw, s.kernel, s.inChannels, s.outChannels, s.inStored);
  checkClose(`${name} weight gradient`, dwGot, dwInternal);
  const flops = 2 * B * g.ho * g.wo * s.outChannels * s.inChannels * s.kernel * s.kernel;
  const inBytes = 4 * B * g.inCols, wBytes = 4 * g.weightRows * g.cop, outBytes = 4 * B * g.outCols;
  cases.push({
    name: `${name} forward`,
    dispatches: [fwd],
    flops,
    bytes: inBytes + wBytes + 2 * outBytes,
  });
  cases.push({
    name: `${name} weight gradient`,
    dispatches: bw,
    flops,
    bytes: inBytes + 4 * B * bg.outCols + wBytes,
  });
  if (s.inStored % 4 === 0) {
    const dx = Tensor.create(ctx, B, g.inCols, "dx");
    const bin = await conv2dBackwardInput(ctx, { shape: bs, grad: dz, w, dx });
    await runDispatches(ctx, [bin]);
    checkClose(
      `${name} input gradient`,
      unpackNHWC(await download(ctx, dx), B, s.height, s.width, s.inChannels, s.inStored),
      gradRef.dx,
    );
    cases.push({
      name: `${name} input gradient`,
      dispatches: [bin],
      flops,
      bytes: 4 * B * bg.outCols + wBytes + inBytes,
    });
  }
}

await printKernelTable(ctx, "conv2d kernels (batch 64)", cases);
for (const c of cases) benchKernel("conv2d", c, ctx, 10);
