/**
 * Shader compile time of the conv2d kernels: every entry point at LeNet-5's and the `cnn` model's
 * shapes (batch 64, default tiles), timed one by one in a fresh process (lavapipe compiles each
 * pipeline with LLVM when it is created). Prints the time of each and the sum.
 *
 *   deno run --allow-read=. bench/conv_compile_time.ts
 *
 * @module
 */
import { acquireGpu, Tensor } from "../mod.ts";
import { type Dispatch, runDispatches } from "../src/gpu/program.ts";
import { conv2dForward, type Conv2dShape, convGeometry } from "../src/ops/conv2d.ts";
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  partialCols,
  weightGradChunks,
} from "../src/ops/conv2d_backward.ts";

const block = (
  height: number,
  inChannels: number,
  inStored: number,
  outChannels: number,
  kernel: number,
  padding: number,
): Conv2dShape => ({
  batch: 64,
  height,
  width: height,
  inChannels,
  inStored,
  outChannels,
  kernel,
  padding,
  relu: true,
  pool: true,
});

const SHAPES: [string, Conv2dShape][] = [
  ["lenet conv1", block(28, 1, 1, 6, 5, 2)],
  ["lenet conv2", block(14, 6, 8, 16, 5, 0)],
  ["cnn conv1", block(28, 1, 1, 32, 3, 1)],
  ["cnn conv2", block(14, 32, 32, 64, 3, 1)],
];

const ctx = await acquireGpu();
let total = 0;
let totalRun = 0;
// creating the pipeline (WGSL to the driver), then its first run (lavapipe compiles with LLVM
// on first use), then a second run (the kernel alone)
const time = async (label: string, f: () => Promise<Dispatch | Dispatch[]>) => {
  const t0 = performance.now();
  const d = await f();
  const t1 = performance.now();
  await runDispatches(ctx, [d].flat());
  const t2 = performance.now();
  await runDispatches(ctx, [d].flat());
  const t3 = performance.now();
  const first = t2 - t1 - (t3 - t2);
  total += t1 - t0;
  totalRun += first;
  const f0 = (v: number) => v.toFixed(0).padStart(6);
  console.log(`${label.padEnd(28)} create ${f0(t1 - t0)} ms, first run ${f0(first)} ms`);
};
for (const [name, s] of SHAPES) {
  const g = convGeometry(s);
  const t = (rows: number, cols: number) => Tensor.create(ctx, rows, cols, "t");
  const x = t(s.batch, g.inCols), w = t(g.weightRows, s.outChannels), b = t(1, s.outChannels);
  const y = t(s.batch, g.outCols), code = t(s.batch, g.outCols), grad = t(s.batch, g.outCols);
  const dw = t(g.weightRows, s.outChannels), db = t(1, s.outChannels);
  const chunks = weightGradChunks(s);
  const partial = t(chunks, partialCols(s));
  await time(`${name} forward`, () => conv2dForward(ctx, { shape: s, x, w, b, y, code }));
  await time(
    `${name} weight gradient`,
    () => conv2dBackwardWeight(ctx, { shape: s, grad, x, aux: code, dw, db, chunks, partial }),
  );
  if (s.inStored % 4 === 0) {
    const dx = t(s.batch, g.inCols);
    await time(
      `${name} input gradient`,
      () => conv2dBackwardInput(ctx, { shape: s, grad, w, aux: code, dx, maskFrom: x }),
    );
  }
}
console.log(
  `sum: create ${total.toFixed(0)} ms, first-run compile ${
    totalRun.toFixed(0)
  } ms on ${ctx.adapterName}`,
);
