/**
 * A float64 CPU reference of a whole model (forward, loss and backward) built from the per-op
 * references, with PyTorch-layout parameters and PyTorch semantics (NCHW flatten order). Tests use
 * it to check the GPU gradients of complete models, and it is checked by finite differences.
 *
 * @module
 */
import { conv2dBackwardRef, conv2dRef } from "../ops/conv2d.ts";
import { denseBackwardRef, denseForwardRef } from "../ops/dense.ts";
import { dropoutKeeps, layerDropoutSeed } from "../ops/dropout.ts";
import { maxPool2BackwardRef, maxPool2Ref } from "../ops/maxpool.ts";
import { softmaxCrossEntropyRef } from "../ops/softmax_xent.ts";
import { type ActShape, type DropoutBlock, type Plan, rowFloats } from "./plan.ts";

/** torch (CO, CI, K, K) -> logical (K, K, CI, CO). */
function convWeightLogical(w: ArrayLike<number>, CO: number, CI: number, K: number): Float64Array {
  const out = new Float64Array(K * K * CI * CO);
  for (let co = 0; co < CO; co++) {
    for (let ci = 0; ci < CI; ci++) {
      for (let t = 0; t < K * K; t++) out[(t * CI + ci) * CO + co] = w[(co * CI + ci) * K * K + t];
    }
  }
  return out;
}

function convWeightTorch(w: ArrayLike<number>, CO: number, CI: number, K: number): Float64Array {
  const out = new Float64Array(K * K * CI * CO);
  for (let co = 0; co < CO; co++) {
    for (let ci = 0; ci < CI; ci++) {
      for (let t = 0; t < K * K; t++) out[(co * CI + ci) * K * K + t] = w[(t * CI + ci) * CO + co];
    }
  }
  return out;
}

/** NHWC (B, H, W, C) -> PyTorch flatten order (B, C*H*W) (`toFlat`), or back. */
function permuteNhwc(
  a: ArrayLike<number>,
  B: number,
  m: { height: number; width: number; channels: number },
  toFlat: boolean,
): Float64Array {
  const H = m.height, W = m.width, C = m.channels;
  const out = new Float64Array(B * H * W * C);
  for (let n = 0; n < B; n++) {
    for (let p = 0; p < H * W; p++) {
      for (let c = 0; c < C; c++) {
        const nhwc = (n * H * W + p) * C + c, flat = (n * C + c) * H * W + p;
        if (toFlat) out[flat] = a[nhwc];
        else out[nhwc] = a[flat];
      }
    }
  }
  return out;
}

/**
 * The training-time dropout factor (0 or 1 / (1 - p)) of each logical value of a block's input:
 * the GPU keys its mask by the stored index (NHWC with channels padded to `stored`, rows of
 * rowFloats padded to 4), so logical positions are mapped to it.
 */
function dropoutFactors(b: DropoutBlock, B: number, seed: number, step: number): Float64Array {
  const s = b.input, layerSeed = layerDropoutSeed(seed, b.name), scale = 1 / (1 - b.p);
  const map = s.kind === "map" ? s : s.fromMap;
  const pitch = Math.ceil(rowFloats(s) / 4) * 4;
  const out: number[] = [];
  for (let n = 0; n < B; n++) {
    if (map) {
      for (let p = 0; p < map.height * map.width; p++) {
        for (let c = 0; c < map.channels; c++) out.push(n * pitch + p * map.stored + c);
      }
    } else {
      for (let j = 0; j < (s as { features: number }).features; j++) out.push(n * pitch + j);
    }
  }
  return Float64Array.from(out, (e) => (dropoutKeeps(layerSeed, step, e, b.p) ? scale : 0));
}

/**
 * Mean cross-entropy loss and gradients (PyTorch layout) for one batch, in float64.
 *
 * @param params parameter values by PyTorch name in PyTorch layout (e.g. from `Model.torchState`)
 * @param images B images of height * width values each (the plan's input), row-major
 * @param labels B class indices
 * @param dropout training-mode dropout: the model's dropout seed and the global step (without
 *   it, dropout layers are the identity, as at inference)
 * @returns the loss, the gradient of every parameter by name, and the logits (B, classes)
 */
export function referenceLossAndGrads(
  plan: Plan,
  params: Map<string, ArrayLike<number>>,
  images: ArrayLike<number>,
  labels: ArrayLike<number>,
  B: number,
  dropout?: { seed: number; step: number },
): { loss: number; grads: Map<string, Float64Array>; logits: Float64Array } {
  // forward, keeping what backward needs; activations are logical NHWC maps or vectors
  type Saved = {
    x: Float64Array;
    xShape: ActShape;
    out: Float64Array;
    code?: Float64Array;
    pre?: Float64Array;
    factor?: Float64Array;
  };
  const saved: Saved[] = [];
  let x: Float64Array = Float64Array.from(images);
  let shape: ActShape = plan.input;
  for (const b of plan.blocks) {
    const s: Saved = { x, xShape: shape, out: x };
    if (b.kind === "conv") {
      const { height: H, width: W, channels: CI } = b.input;
      const w = convWeightLogical(params.get(`${b.name}.weight`)!, b.outChannels, CI, b.kernel);
      const z = conv2dRef(
        x,
        w,
        params.get(`${b.name}.bias`)!,
        B,
        H,
        W,
        CI,
        b.outChannels,
        b.kernel,
        b.padding,
      );
      s.pre = z;
      const a = b.relu ? z.map((v) => Math.max(v, 0)) : z;
      if (b.pool) {
        const ho = H + 2 * b.padding - b.kernel + 1, wo = W + 2 * b.padding - b.kernel + 1;
        const p = maxPool2Ref(a, B, ho, wo, b.outChannels, b.relu);
        s.out = p.y;
        s.code = p.code;
      } else s.out = a;
    } else if (b.kind === "dense") {
      const m = b.input.fromMap;
      const flat = m ? permuteNhwc(x, B, m, true) : x;
      s.x = flat;
      const K = m ? m.height * m.width * m.channels : b.input.features;
      s.out = denseForwardRef(
        flat,
        params.get(`${b.name}.weight`)!,
        params.get(`${b.name}.bias`)!,
        B,
        K,
        b.units,
        b.relu,
      );
    } else if (b.kind === "pool") {
      const p = maxPool2Ref(x, B, b.input.height, b.input.width, b.input.channels);
      s.out = p.y;
      s.code = p.code;
    } else if (b.kind === "dropout") {
      if (dropout) {
        const f = dropoutFactors(b, B, dropout.seed, dropout.step);
        s.factor = f;
        s.out = x.map((v, j) => v * f[j]);
      }
    } else {
      s.out = x.map((v) => Math.max(v, 0));
    }
    saved.push(s);
    x = s.out;
    shape = b.output;
  }
  const xent = softmaxCrossEntropyRef(x, labels, B, plan.classes);
  const grads = new Map<string, Float64Array>();
  let g: Float64Array = xent.dz; // gradient w.r.t. the output of the current block
  for (let i = plan.blocks.length - 1; i >= 0; i--) {
    const b = plan.blocks[i], s = saved[i];
    if (b.kind === "dense") {
      const m = b.input.fromMap;
      const K = m ? m.height * m.width * m.channels : b.input.features;
      const dz = b.relu ? g.map((v, j) => (s.out[j] > 0 ? v : 0)) : g;
      const r = denseBackwardRef(s.x, params.get(`${b.name}.weight`)!, dz, B, K, b.units, false);
      grads.set(`${b.name}.weight`, r.dw);
      grads.set(`${b.name}.bias`, r.db);
      g = m ? permuteNhwc(r.dx, B, m, false) : r.dx;
    } else if (b.kind === "conv") {
      const { height: H, width: W, channels: CI } = b.input;
      const ho = H + 2 * b.padding - b.kernel + 1, wo = W + 2 * b.padding - b.kernel + 1;
      let dz: Float64Array;
      if (b.pool) dz = maxPool2BackwardRef(g, s.code!, B, ho, wo, b.outChannels);
      else dz = b.relu ? g.map((v, j) => (s.pre![j] > 0 ? v : 0)) : g;
      const w = convWeightLogical(params.get(`${b.name}.weight`)!, b.outChannels, CI, b.kernel);
      const r = conv2dBackwardRef(s.x, w, dz, B, H, W, CI, b.outChannels, b.kernel, b.padding);
      grads.set(`${b.name}.weight`, convWeightTorch(r.dw, b.outChannels, CI, b.kernel));
      grads.set(`${b.name}.bias`, r.db);
      g = r.dx;
    } else if (b.kind === "pool") {
      g = maxPool2BackwardRef(g, s.code!, B, b.input.height, b.input.width, b.input.channels);
    } else if (b.kind === "dropout") {
      if (s.factor) g = g.map((v, j) => v * s.factor![j]);
    } else {
      g = g.map((v, j) => (s.out[j] > 0 ? v : 0));
    }
  }
  return { loss: xent.mean, grads, logits: x };
}
