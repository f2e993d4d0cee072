import {
  maxPool2BackwardRef,
  maxPool2Ref,
  maxPoolBackward,
  maxPoolForward,
} from "../src/ops/maxpool.ts";
import { reluBackward, reluBackwardRef, reluForward, reluRef } from "../src/ops/relu.ts";
import { packNHWC, unpackNHWC } from "../src/ops/conv2d.ts";
import { download, pad4, Tensor, upload } from "../src/gpu/tensor.ts";
import { runDispatches } from "../src/gpu/program.ts";
import { assertClose, gpu, numericGrad, randomArray, rng } from "./helpers.ts";

/** Exact comparisons need inputs that float32 represents exactly. */
const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));

Deno.test("standalone max-pool forward (with codes) and gather backward match the reference", async () => {
  const ctx = await gpu();
  let salt = 0;
  for (const [B, H, W, C] of [[4, 28, 28, 6], [3, 7, 9, 5], [1, 2, 2, 1], [2, 11, 4, 16]]) {
    const r = rng(++salt);
    const CP = pad4(C), PH = Math.floor(H / 2), PW = Math.floor(W / 2);
    const x = f32(randomArray(r, B * H * W * C)), dy = f32(randomArray(r, B * PH * PW * C));
    const tx = Tensor.create(ctx, B, H * W * CP, "x"),
      ty = Tensor.create(ctx, B, PH * PW * CP, "y");
    const tc = Tensor.create(ctx, B, PH * PW * CP, "code"),
      tdy = Tensor.create(ctx, B, PH * PW * CP, "dy");
    const tdx = Tensor.create(ctx, B, H * W * CP, "dx");
    upload(ctx, tx, packNHWC(x, B, H, W, C, CP));
    upload(ctx, tdy, packNHWC(dy, B, PH, PW, C, CP));
    const shape = { batch: B, height: H, width: W, stored: CP };
    await runDispatches(ctx, [
      await maxPoolForward(ctx, { shape, x: tx, y: ty, code: tc }),
      await maxPoolBackward(ctx, { shape, dy: tdy, code: tc, dx: tdx }),
    ]);
    const ref = maxPool2Ref(x, B, H, W, C);
    const tag = `B=${B} H=${H} W=${W} C=${C}`;
    assertClose(
      `maxpool forward ${tag}`,
      unpackNHWC(await download(ctx, ty), B, PH, PW, C, CP),
      ref.y,
      0,
    );
    assertClose(
      `maxpool codes ${tag}`,
      unpackNHWC(await download(ctx, tc), B, PH, PW, C, CP),
      ref.code,
      0,
    );
    const dxRef = maxPool2BackwardRef(dy, ref.code, B, H, W, C);
    assertClose(
      `maxpool backward ${tag}`,
      unpackNHWC(await download(ctx, tdx), B, H, W, C, CP),
      dxRef,
      0,
    );
  }
});

Deno.test("max-pool reference gradient agrees with finite differences", () => {
  const r = rng(9);
  const [B, H, W, C] = [2, 5, 4, 3];
  const x = randomArray(r, B * H * W * C), g = randomArray(r, B * 2 * 2 * C);
  const loss = () => maxPool2Ref(x, B, H, W, C).y.reduce((s, v, i) => s + v * g[i], 0);
  const ref = maxPool2BackwardRef(g, maxPool2Ref(x, B, H, W, C).code, B, H, W, C);
  assertClose(
    "pool dX vs finite differences",
    numericGrad(loss, x, Array.from({ length: x.length }, (_, i) => i)),
    ref,
    1e-6,
  );
});

Deno.test("standalone ReLU forward and backward match the reference", async () => {
  const ctx = await gpu();
  for (const [rows, cols] of [[64, 120], [3, 7], [1, 1]]) {
    const r = rng(rows + cols);
    const x = f32(randomArray(r, rows * cols)), dy = f32(randomArray(r, rows * cols));
    const tx = Tensor.create(ctx, rows, cols, "x"), ty = Tensor.create(ctx, rows, cols, "y");
    const tdy = Tensor.create(ctx, rows, cols, "dy"), tdx = Tensor.create(ctx, rows, cols, "dx");
    upload(ctx, tx, x);
    upload(ctx, tdy, dy);
    await runDispatches(ctx, [
      await reluForward(ctx, { x: tx, y: ty }),
      await reluBackward(ctx, { dy: tdy, y: ty, dx: tdx }),
    ]);
    const y = reluRef(x);
    assertClose(`relu forward ${rows}x${cols}`, await download(ctx, ty), y, 0);
    assertClose(
      `relu backward ${rows}x${cols}`,
      await download(ctx, tdx),
      reluBackwardRef(dy, y),
      0,
    );
  }
});
