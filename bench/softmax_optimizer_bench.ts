/** Softmax + cross-entropy (batch 64, 10 classes) and the optimizer update over LeNet-5's parameters. */
import {
  download,
  downloadPadded,
  Tensor,
  TexelStore,
  upload,
  uploadPadded,
} from "../src/gpu/tensor.ts";
import { runDispatches } from "../src/gpu/program.ts";
import { StepParamsBuffer } from "../src/gpu/step_params.ts";
import { softmaxCrossEntropy, softmaxCrossEntropyRef } from "../src/ops/softmax_xent.ts";
import {
  ADAM_DEFAULTS,
  optimizerRef,
  optimizerStepValues,
  optimizerUpdate,
  SGD_DEFAULTS,
} from "../src/ops/optimizer.ts";
import { paramLayout } from "../src/nn/params.ts";
import { planModel } from "../src/nn/plan.ts";
import { lenet5 } from "../src/nn/spec.ts";
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
const r = benchRng(7);
const [B, N] = [64, 10];
const zv = randomValues(r, B * N, -5, 5), labels = Array.from({ length: B }, () => r.int(N));
const z = Tensor.create(ctx, B, N, "logits"), tl = Tensor.create(ctx, 1, B, "labels");
const dz = Tensor.create(ctx, B, N, "dz"), losses = Tensor.create(ctx, 1, B, "losses");
upload(ctx, z, zv);
upload(ctx, tl, labels);
const log = ctx.device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE });
const params = new StepParamsBuffer(ctx, 1);
params.write(0, [{ step: 0, batchStart: 0, ...optimizerStepValues(ADAM_DEFAULTS, 1) }]);
const xent = await softmaxCrossEntropy(ctx, {
  logits: z,
  labels: tl,
  dz,
  losses,
  lossLog: log,
  params,
});
await runDispatches(ctx, [xent]);
const ref = softmaxCrossEntropyRef(zv, labels, B, N);
checkClose("softmax cross-entropy dZ", await download(ctx, dz), ref.dz);

// optimizer over an arena of LeNet-5's size
const texels = paramLayout(planModel(lenet5())).texels;
const P = new TexelStore(ctx, texels, "P"),
  G = new TexelStore(ctx, texels, "G"),
  S = new TexelStore(ctx, 2 * texels, "S");
const P2 = new TexelStore(ctx, texels, "P'"), S2 = new TexelStore(ctx, 2 * texels, "S'");
const pv = randomValues(r, texels * 4), gv = randomValues(r, texels * 4);
uploadPadded(ctx, new Tensor(P, 0, 1, texels * 4, "P"), Float32Array.from(pv));
uploadPadded(ctx, new Tensor(G, 0, 1, texels * 4, "G"), Float32Array.from(gv));
const adam = await optimizerUpdate(ctx, {
  config: ADAM_DEFAULTS,
  texels,
  params: P,
  grads: G,
  state: S,
  paramsOut: P2,
  stateOut: S2,
  step: params,
});
const sgd = await optimizerUpdate(ctx, {
  config: SGD_DEFAULTS,
  texels,
  params: P,
  grads: G,
  state: S,
  paramsOut: P2,
  stateOut: S2,
  step: params,
});
await runDispatches(ctx, [adam]);
const pRef = Float64Array.from(Float32Array.from(pv)),
  m = new Float64Array(pRef.length),
  v = new Float64Array(pRef.length);
optimizerRef(ADAM_DEFAULTS, pRef, Float32Array.from(gv), m, v, 1);
checkClose("Adam update", await downloadPadded(ctx, new Tensor(P2, 0, 1, texels * 4, "P'")), pRef);

const n = texels * 4;
const cases: KernelCase[] = [
  {
    name: "softmax cross-entropy 64x10 (fwd+bwd)",
    dispatches: [xent],
    flops: 6 * B * N,
    bytes: 4 * (2 * B * N + 2 * B),
  },
  { name: `Adam update (${n} parameters)`, dispatches: [adam], flops: 14 * n, bytes: 4 * 7 * n },
  {
    name: `SGD momentum update (${n} parameters)`,
    dispatches: [sgd],
    flops: 5 * n,
    bytes: 4 * 5 * n,
  },
];
await printKernelTable(ctx, "loss and optimizer", cases);
for (const c of cases) benchKernel("loss and optimizer", c, ctx, 20);
