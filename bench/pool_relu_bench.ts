/** Standalone max-pool (forward with codes, gather backward) and ReLU at LeNet's conv1 map size. */
import { download, pad4, Tensor, upload } from "../src/gpu/tensor.ts";
import { runDispatches } from "../src/gpu/program.ts";
import {
  maxPool2BackwardRef,
  maxPool2Ref,
  maxPoolBackward,
  maxPoolForward,
} from "../src/ops/maxpool.ts";
import { reluBackward, reluForward } from "../src/ops/relu.ts";
import { packNHWC, unpackNHWC } from "../src/ops/conv2d.ts";
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
const [B, H, W, C] = [64, 28, 28, 6];
const CP = pad4(C), PH = H / 2, PW = W / 2;
const r = benchRng(1);
const xv = Float64Array.from(Float32Array.from(randomValues(r, B * H * W * C)));
const dyv = Float64Array.from(Float32Array.from(randomValues(r, B * PH * PW * C)));
const x = Tensor.create(ctx, B, H * W * CP, "x"), y = Tensor.create(ctx, B, PH * PW * CP, "y");
const code = Tensor.create(ctx, B, PH * PW * CP, "code"),
  dy = Tensor.create(ctx, B, PH * PW * CP, "dy");
const dx = Tensor.create(ctx, B, H * W * CP, "dx"),
  ry = Tensor.create(ctx, B, H * W * CP, "relu y");
const rdx = Tensor.create(ctx, B, H * W * CP, "relu dx");
upload(ctx, x, packNHWC(xv, B, H, W, C, CP));
upload(ctx, dy, packNHWC(dyv, B, PH, PW, C, CP));
const shape = { batch: B, height: H, width: W, stored: CP };
const pf = await maxPoolForward(ctx, { shape, x, y, code });
const pb = await maxPoolBackward(ctx, { shape, dy, code, dx });
const rf = await reluForward(ctx, { x, y: ry });
const rb = await reluBackward(ctx, { dy: x, y: ry, dx: rdx });
await runDispatches(ctx, [pf, pb, rf, rb]);
const ref = maxPool2Ref(xv, B, H, W, C);
checkClose("max-pool forward", unpackNHWC(await download(ctx, y), B, PH, PW, C, CP), ref.y, 0);
checkClose(
  "max-pool backward",
  unpackNHWC(await download(ctx, dx), B, H, W, C, CP),
  maxPool2BackwardRef(dyv, ref.code, B, H, W, C),
  0,
);
const inB = 4 * B * H * W * CP, outB = 4 * B * PH * PW * CP;
const cases: KernelCase[] = [
  {
    name: "max-pool forward 64x28x28x6",
    dispatches: [pf],
    flops: 3 * B * PH * PW * CP,
    bytes: inB + 2 * outB,
  },
  {
    name: "max-pool backward (gather) 64x28x28x6",
    dispatches: [pb],
    flops: B * H * W * CP,
    bytes: 2 * outB + inB,
  },
  { name: "ReLU forward 64x28x28x6", dispatches: [rf], flops: B * H * W * CP, bytes: 2 * inB },
  { name: "ReLU backward 64x28x28x6", dispatches: [rb], flops: B * H * W * CP, bytes: 3 * inB },
];
await printKernelTable(ctx, "max-pool and ReLU", cases);
for (const c of cases) benchKernel("pool and relu", c, ctx, 20);
