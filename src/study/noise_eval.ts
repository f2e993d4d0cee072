/**
 * Test-time evaluation under image noise and corruptions: the test images are gathered (with
 * optional Gaussian noise drawn by the gather kernel from a test seed), passed through a chain of
 * corruption kernels (`src/ops/corrupt.ts`, e.g. impulse noise then the 3x3 median), forwarded
 * by the model and reduced to one predicted class per image, all on the GPU; only the
 * predictions come back. Every draw is keyed by (seed, image index, pixel), so every model sees
 * the same corrupted images and comparisons can be paired per image.
 *
 * Browser-safe.
 *
 * @module
 */
import { TEX_WIDTH } from "../gpu/context.ts";
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, recordDispatches } from "../gpu/program.ts";
import { StepParamsBuffer } from "../gpu/step_params.ts";
import { encodeReadTexels, Tensor, TexelStore } from "../gpu/tensor.ts";
import type { Model } from "../nn/model.ts";
import { corruptBatch, type Corruption, resolveCorruption } from "../ops/corrupt.ts";
import { predictClasses } from "../ops/evaluate.ts";
import { gatherBatch, type GpuDataset, type PixelNoise, uploadUints } from "../ops/gather.ts";

/** What is done to the test images before the model sees them, in this order. */
export interface TestTransform {
  /** Additive Gaussian noise (0..255 scale, clipped), drawn while gathering. */
  noise?: PixelNoise;
  /** Corruptions applied one after the other (e.g. `impulse`, then `median` as denoising). */
  corruptions?: readonly Corruption[];
}

/** Chunk size: a power of two, so a chunk's predictions never straddle a texture row. */
function chunkSize(count: number): number {
  let b = 4;
  while (b < Math.min(count, 256)) b *= 2;
  return b;
}

/** Predicts the first `count` images of a GPU data set under test-time transforms. */
export class TestTimeEvaluator {
  readonly #ctx: GpuContext;
  readonly #model: Model;
  readonly #data: GpuDataset;
  readonly #batch: number;
  readonly #chunks: number;
  readonly #perm: TexelStore;
  readonly #params: StepParamsBuffer;
  readonly #x: Tensor;
  readonly #y: Tensor;
  readonly #labels: Tensor;
  readonly #preds: Tensor;
  readonly #all: TexelStore;
  readonly #dummy: GPUBuffer;
  readonly #tail = new Map<Tensor, Dispatch[]>();
  /** Images evaluated: the first `count` of the data set. */
  readonly count: number;

  private constructor(ctx: GpuContext, model: Model, data: GpuDataset, count: number) {
    this.#ctx = ctx;
    this.#model = model;
    this.#data = data;
    this.count = count;
    this.#batch = chunkSize(count);
    this.#chunks = Math.ceil(count / this.#batch);
    const B = this.#batch;
    // identity order; positions past `count` repeat the last image and are ignored
    const order = Array.from({ length: this.#chunks * B }, (_, i) => Math.min(i, count - 1));
    this.#perm = uploadUints(ctx, order, "test-time order");
    this.#params = new StepParamsBuffer(ctx, this.#chunks, "test-time chunks");
    this.#params.write(
      0,
      Array.from({ length: this.#chunks }, (_, c) => ({ step: c, batchStart: c * B })),
    );
    this.#x = Tensor.create(ctx, B, data.pixels, "test-time images");
    this.#y = Tensor.create(ctx, B, data.pixels, "test-time corrupted images");
    this.#labels = Tensor.create(ctx, 1, B, "test-time labels");
    this.#preds = Tensor.create(ctx, 1, B, "test-time predictions");
    this.#all = new TexelStore(ctx, (this.#chunks * B) / 4, "test-time all predictions");
    this.#dummy = ctx.device.createBuffer({
      label: "unused counts",
      size: 16,
      usage: GPUBufferUsage.STORAGE,
    });
  }

  /**
   * Prepares evaluation of the first `count` images of `data` (default all).
   *
   * @throws Error when count is not in 1..data.count or the model does not take these images
   */
  static create(
    ctx: GpuContext,
    model: Model,
    data: GpuDataset,
    opts: { count?: number } = {},
  ): TestTimeEvaluator {
    const count = opts.count ?? data.count;
    if (!Number.isInteger(count) || count < 1 || count > data.count) {
      throw new Error(`test-time evaluation count must be in 1..${data.count}, got ${count}`);
    }
    if (data.pixels !== model.inputFloats) {
      throw new Error(`images of ${data.pixels} pixels; the model takes ${model.inputFloats}`);
    }
    return new TestTimeEvaluator(ctx, model, data, count);
  }

  /** Forward and argmax for images in `input` (built once per input tensor). */
  async #forwardFrom(input: Tensor): Promise<Dispatch[]> {
    let tail = this.#tail.get(input);
    if (!tail) {
      const fwd = await this.#model.forward(this.#batch, input, { training: false });
      tail = [
        ...fwd.dispatches,
        await predictClasses(this.#ctx, {
          logits: fwd.logits,
          preds: this.#preds,
          counts: this.#dummy,
        }),
      ];
      this.#tail.set(input, tail);
    }
    return tail;
  }

  /**
   * The predicted class of each of the first `count` images under `t`.
   *
   * @throws Error for an invalid corruption (see `resolveCorruption`), before any GPU work
   */
  async predict(t: TestTransform = {}): Promise<Uint8Array> {
    const ctx = this.#ctx;
    const side = Math.round(Math.sqrt(this.#data.pixels));
    for (const c of t.corruptions ?? []) resolveCorruption(c);
    const dispatches: Dispatch[] = [
      await gatherBatch(ctx, {
        data: this.#data,
        perm: this.#perm,
        x: this.#x,
        labels: this.#labels,
        params: this.#params,
        noise: t.noise && t.noise.sigma > 0 ? t.noise : undefined,
      }),
    ];
    let from = this.#x, to = this.#y;
    for (const corruption of t.corruptions ?? []) {
      dispatches.push(
        await corruptBatch(ctx, {
          x: from,
          y: to,
          perm: this.#perm,
          params: this.#params,
          width: side,
          height: side,
          corruption,
        }),
      );
      [from, to] = [to, from];
    }
    dispatches.push(...await this.#forwardFrom(from));
    ctx.check();
    const enc = ctx.device.createCommandEncoder();
    const perChunk = this.#batch / 4; // texels of one chunk's predictions (divides TEX_WIDTH)
    for (let c = 0; c < this.#chunks; c++) {
      const pass = enc.beginComputePass();
      recordDispatches(pass, dispatches, this.#params.offset(c));
      pass.end();
      const at = c * perChunk;
      enc.copyTextureToTexture(
        { texture: this.#preds.store.texture, origin: [0, 0] },
        { texture: this.#all.texture, origin: [at % TEX_WIDTH, Math.floor(at / TEX_WIDTH)] },
        [perChunk, 1],
      );
    }
    const read = encodeReadTexels(ctx, enc, this.#all, 0, this.#all.texels);
    ctx.device.queue.submit([enc.finish()]);
    await read.buffer.mapAsync(GPUMapMode.READ);
    const values = new Float32Array(
      read.buffer.getMappedRange().slice(read.offset, read.offset + read.bytes),
    );
    read.buffer.unmap();
    read.buffer.destroy();
    ctx.check();
    return Uint8Array.from(values.subarray(0, this.count), (v) => Math.round(v));
  }

  /** Frees the evaluator's GPU resources (not the model's or the data's). */
  destroy(): void {
    for (const r of [this.#perm, this.#all, this.#x.store, this.#y.store]) r.destroy();
    for (const r of [this.#labels.store, this.#preds.store, this.#params, this.#dummy]) r.destroy();
  }
}

/** Confusion matrix [true][predicted] of predictions against labels. */
export function confusionOf(
  predictions: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes = 10,
): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < predictions.length; i++) m[labels[i]][predictions[i]]++;
  return m;
}

/** One bit per image, set where the prediction is wrong, as base64 (bit i: byte i >> 3, i & 7). */
export function wrongBits(predictions: ArrayLike<number>, labels: ArrayLike<number>): string {
  const bytes = new Uint8Array(Math.ceil(predictions.length / 8));
  for (let i = 0; i < predictions.length; i++) {
    if (predictions[i] !== labels[i]) bytes[i >> 3] |= 1 << (i & 7);
  }
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** The 0/1 wrong flags of `count` images from {@link wrongBits}. */
export function decodeWrong(bits: string, count: number): Uint8Array {
  const s = atob(bits);
  if (s.length !== Math.ceil(count / 8)) {
    throw new Error(`wrong-image bits hold ${s.length * 8} images, expected ${count}`);
  }
  return Uint8Array.from({ length: count }, (_, i) => (s.charCodeAt(i >> 3) >> (i & 7)) & 1);
}
