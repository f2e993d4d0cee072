/**
 * Inference: class probabilities for images given as bytes (0 = background, 255 = ink).
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { runDispatches } from "../gpu/program.ts";
import { download, Tensor, upload } from "../gpu/tensor.ts";
import type { Model } from "../nn/model.ts";
import { softmaxForward } from "../ops/softmax_xent.ts";

/** The predicted class of one image and the probability of every class. */
export interface Prediction {
  /** The most probable class (the lowest one on a tie). */
  label: number;
  /** Softmax probability of each class, indexed by class; they sum to 1. */
  probabilities: number[];
}

/** Runs a model forward on up to `maxBatch` images at a time. */
export class Predictor {
  readonly #ctx: GpuContext;
  readonly #model: Model;
  readonly #maxBatch: number;
  #programs = new Map<number, { x: Tensor; probs: Tensor; run: () => Promise<void> }>();

  /**
   * Prepares inference for `model` in batches of at most `maxBatch` images (default 256); the
   * program for each batch size is built on first use and kept.
   */
  constructor(ctx: GpuContext, model: Model, maxBatch = 256) {
    this.#ctx = ctx;
    this.#model = model;
    this.#maxBatch = maxBatch;
  }

  async #program(batch: number) {
    let p = this.#programs.get(batch);
    if (!p) {
      const fwd = await this.#model.forward(batch, undefined, { training: false });
      const probs = Tensor.create(this.#ctx, batch, this.#model.classes, "probabilities");
      const dispatches = [
        ...fwd.dispatches,
        await softmaxForward(this.#ctx, { logits: fwd.logits, probs }),
      ];
      p = { x: fwd.input, probs, run: () => runDispatches(this.#ctx, dispatches) };
      this.#programs.set(batch, p);
    }
    return p;
  }

  /** Probabilities for `count` images of `inputFloats` bytes each, concatenated. */
  async predict(
    images: Uint8Array,
    count = images.length / this.#model.inputFloats,
  ): Promise<Prediction[]> {
    const n = this.#model.inputFloats;
    if (!Number.isInteger(count) || images.length !== count * n) {
      throw new Error(
        `predict: expected a multiple of ${n} bytes (one image), got ${images.length}`,
      );
    }
    const out: Prediction[] = [];
    for (let start = 0; start < count; start += this.#maxBatch) {
      const batch = Math.min(this.#maxBatch, count - start);
      const p = await this.#program(batch);
      upload(
        this.#ctx,
        p.x,
        Float32Array.from(images.subarray(start * n, (start + batch) * n), (v) => v / 255),
      );
      await p.run();
      const probs = await download(this.#ctx, p.probs);
      const k = this.#model.classes;
      for (let i = 0; i < batch; i++) {
        const row = Array.from(probs.subarray(i * k, i * k + k));
        let label = 0;
        for (let c = 1; c < k; c++) if (row[c] > row[label]) label = c;
        out.push({ label, probabilities: row });
      }
    }
    return out;
  }
}
