/**
 * Evaluation on the GPU: the test set is gathered in chunks, forwarded, and reduced to a
 * confusion matrix; only the N x N counts come back.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, recordDispatches } from "../gpu/program.ts";
import { StepParamsBuffer } from "../gpu/step_params.ts";
import { Tensor } from "../gpu/tensor.ts";
import { accumulateConfusion, predictClasses } from "../ops/evaluate.ts";
import { gatherBatch, type GpuDataset, uploadUints } from "../ops/gather.ts";
import type { Model } from "../nn/model.ts";
import { type ClassMetrics, metricsFromConfusion } from "./metrics.ts";

/** Evaluates a model on a GPU-resident data set. */
export class Evaluator {
  readonly #ctx: GpuContext;
  readonly #dispatches: Dispatch[];
  readonly #params: StepParamsBuffer;
  readonly #chunks: number;
  readonly #counts: GPUBuffer;
  readonly #classes: number;
  /** Images evaluated: the first `count` of the data set. */
  readonly count: number;

  private constructor(
    ctx: GpuContext,
    dispatches: Dispatch[],
    params: StepParamsBuffer,
    chunks: number,
    counts: GPUBuffer,
    classes: number,
    count: number,
  ) {
    this.#ctx = ctx;
    this.#dispatches = dispatches;
    this.#params = params;
    this.#chunks = chunks;
    this.#counts = counts;
    this.#classes = classes;
    this.count = count;
  }

  /** Prepares evaluation of the first `count` images of `data` (default all) in chunks of `batch`. */
  static async create(
    ctx: GpuContext,
    model: Model,
    data: GpuDataset,
    opts: { batch?: number; count?: number } = {},
  ): Promise<Evaluator> {
    const count = opts.count ?? data.count;
    if (!Number.isInteger(count) || count < 1 || count > data.count) {
      throw new Error(`evaluation count must be in 1..${data.count}, got ${count}`);
    }
    // 256-image chunks keep activations in the CPU caches of software adapters (a 1000-image
    // chunk took 2.5x as long per image on llvmpipe) and cost GPUs little
    const batch = Math.min(opts.batch ?? 256, count);
    const chunks = Math.ceil(count / batch);
    // identity order; positions past `count` repeat the last image and are excluded from the counts
    const order = new Uint32Array(chunks * batch).map((_, i) => Math.min(i, count - 1));
    const perm = uploadUints(ctx, order, "evaluation order");
    const params = new StepParamsBuffer(ctx, chunks, "evaluation chunks");
    params.write(
      0,
      Array.from(
        { length: chunks },
        (_, c) => ({ step: c, batchStart: c * batch, valid: Math.min(batch, count - c * batch) }),
      ),
    );
    const x = Tensor.create(ctx, batch, model.inputFloats, "eval input");
    const labels = Tensor.create(ctx, 1, batch, "eval labels");
    const preds = Tensor.create(ctx, 1, batch, "eval predictions");
    const counts = ctx.device.createBuffer({
      label: "confusion counts",
      size: model.classes * model.classes * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    const fwd = await model.forward(batch, x, { training: false });
    const dispatches = [
      await gatherBatch(ctx, { data, perm, x, labels, params }),
      ...fwd.dispatches,
      await predictClasses(ctx, { logits: fwd.logits, preds, counts }),
      await accumulateConfusion(ctx, { preds, labels, classes: model.classes, counts, params }),
    ];
    const ev = new Evaluator(ctx, dispatches, params, chunks, counts, model.classes, count);
    ev.#owned.push(perm, params, x.store, labels.store, preds.store, counts);
    return ev;
  }

  /** GPU resources of the evaluation program (freed by destroy). */
  readonly #owned: { destroy(): void }[] = [];

  /** Frees the evaluation program's GPU resources (not the model's or the data's). */
  destroy(): void {
    for (const r of this.#owned) r.destroy();
    this.#owned.length = 0;
  }

  /** Records the evaluation; returns a function that resolves to the confusion matrix. */
  record(encoder: GPUCommandEncoder): () => Promise<number[][]> {
    const n = this.#classes;
    encoder.clearBuffer(this.#counts);
    for (let c = 0; c < this.#chunks; c++) {
      const pass = encoder.beginComputePass();
      recordDispatches(pass, this.#dispatches, this.#params.offset(c));
      pass.end();
    }
    const staging = this.#ctx.device.createBuffer({
      size: n * n * 4,
      usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
    });
    encoder.copyBufferToBuffer(this.#counts, 0, staging, 0, n * n * 4);
    return async () => {
      await staging.mapAsync(GPUMapMode.READ);
      const flat = new Uint32Array(staging.getMappedRange().slice(0));
      staging.unmap();
      staging.destroy();
      this.#ctx.check();
      return Array.from({ length: n }, (_, t) => Array.from(flat.subarray(t * n, t * n + n)));
    };
  }

  /** Runs the evaluation now. */
  async run(): Promise<ClassMetrics> {
    this.#ctx.check();
    const enc = this.#ctx.device.createCommandEncoder();
    const read = this.record(enc);
    this.#ctx.device.queue.submit([enc.finish()]);
    return metricsFromConfusion(await read());
  }
}
