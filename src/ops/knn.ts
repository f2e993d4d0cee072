/**
 * k-nearest-neighbour kernels (`shaders/knn.wgsl`) and their float64 reference: images are
 * expanded from bytes to integer-valued floats a chunk at a time, the squared distances of a
 * test chunk to a train chunk are one GEMM (||a||^2 + ||b||^2 - 2 a.b, exact integers below
 * 2^24), and a selection kernel merges each chunk into every test row's k best neighbours.
 *
 * Shapes: test rows (CM, P), train rows (CN, P), norms (rows, 4), dist (CM, CN), state
 * (test count, 2 * pad4(k)): k distances then k train indices per test row, ascending by
 * (distance, index).
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, makeDispatch } from "../gpu/program.ts";
import { pad4, type Tensor } from "../gpu/tensor.ts";
import { expectShape } from "./common.ts";
import type { GpuDataset } from "./gather.ts";
import SOURCE from "../../shaders/knn.wgsl" with { type: "text" };

/** Register block of one distance invocation: `rm` test rows by `rn4` texels (4 train rows each). */
export interface KnnTile {
  /** Test rows per invocation. */
  rm: number;
  /** Texels of 4 train rows per invocation. */
  rn4: number;
}

/** Default block (dense.wgsl's fastest forward block on the CPU adapter). */
export const KNN_TILE: KnnTile = { rm: 16, rn4: 2 };

/** Largest number of neighbours a selection keeps. */
export const KNN_MAX_K = 16;

/** Bytes per chunk-parameter slot (uniform offsets must be multiples of 256). */
export const KNN_CHUNK_BYTES = 256;

/** Where one (train chunk, test chunk) pair lies in the data sets. */
export interface KnnChunk {
  /** First test row of the chunk. */
  testRow0: number;
  /** Valid test rows in the chunk. */
  testRows: number;
  /** First train row of the chunk. */
  trainRow0: number;
  /** Valid train rows in the chunk. */
  trainRows: number;
  /** True for the first train chunk: the selection starts from an empty state. */
  first: boolean;
}

/** A uniform buffer of chunk-parameter slots, one per (train chunk, test chunk) pair. */
export class KnnChunkParams {
  /** The uniform buffer, {@link KNN_CHUNK_BYTES} per slot. */
  readonly buffer: GPUBuffer;
  /** Number of slots. */
  readonly slots: number;

  /** Writes the slots once (queued; visible to work submitted afterwards). */
  constructor(ctx: GpuContext, chunks: readonly KnnChunk[], label = "knn chunks") {
    if (ctx.device.limits.minUniformBufferOffsetAlignment > KNN_CHUNK_BYTES) {
      throw new Error("minUniformBufferOffsetAlignment above 256 is not supported");
    }
    this.slots = Math.max(1, chunks.length);
    this.buffer = ctx.device.createBuffer({
      label,
      size: this.slots * KNN_CHUNK_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    const data = new Uint32Array((this.slots * KNN_CHUNK_BYTES) / 4);
    chunks.forEach((c, i) => {
      data.set(
        [c.testRow0, c.testRows, c.trainRow0, c.trainRows, c.first ? 1 : 0],
        (i * KNN_CHUNK_BYTES) / 4,
      );
    });
    ctx.device.queue.writeBuffer(this.buffer, 0, data);
  }

  /** The binding of slot `i` (32 bytes). */
  slot(i: number): GPUBufferBinding {
    if (!(i >= 0 && i < this.slots)) throw new Error(`knn chunk slot ${i} out of range`);
    return { buffer: this.buffer, offset: i * KNN_CHUNK_BYTES, size: 32 };
  }

  /** Frees the buffer. */
  destroy(): void {
    this.buffer.destroy();
  }
}

const SHADER = { name: "knn.wgsl", source: SOURCE };

/**
 * rows (R, P) := the chunk's rows of `data` as floats 0..255 (zeros past its valid rows) and
 * norms (R, 4) := their squared norms as [low 16 bits, high bits, 0, 0]. `train` picks the
 * chunk slot's train rows, else its test rows.
 */
export async function knnExpand(
  ctx: GpuContext,
  a: { data: GpuDataset; rows: Tensor; norms: Tensor; train: boolean; chunk: GPUBufferBinding },
): Promise<Dispatch> {
  const R = a.rows.rows, P = a.data.pixels;
  expectShape("knnExpand", "rows", a.rows, R, P);
  expectShape("knnExpand", "norms", a.norms, R, 4);
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint: "knn_expand",
    constants: { PIX: P, ER: R, TRAIN: a.train },
    reads: { images: a.data.images },
    writes: { rows: a.rows, norms: a.norms },
    buffers: { chunk: a.chunk },
    size: { lanes: R },
  });
}

/** dist (CM, CN) := squared distances between the test rows (CM, P) and train rows (CN, P). */
export async function knnDistance(
  ctx: GpuContext,
  a: {
    test: Tensor;
    train: Tensor;
    testNorms: Tensor;
    trainNorms: Tensor;
    dist: Tensor;
    tile?: KnnTile;
  },
): Promise<Dispatch> {
  const CM = a.test.rows, CN = a.train.rows, P = a.test.cols;
  const t = a.tile ?? KNN_TILE;
  if (P % 4 !== 0) throw new Error(`knnDistance: ${P} pixels per row: a multiple of 4 is needed`);
  expectShape("knnDistance", "train rows", a.train, CN, P);
  expectShape("knnDistance", "test norms", a.testNorms, CM, 4);
  expectShape("knnDistance", "train norms", a.trainNorms, CN, 4);
  expectShape("knnDistance", "distances", a.dist, CM, CN);
  if (CM % t.rm !== 0 || CN % (4 * t.rn4) !== 0) {
    throw new Error(
      `knnDistance: chunks of ${CM} test x ${CN} train rows do not divide into blocks of ` +
        `${t.rm} x ${4 * t.rn4}; use multiples of those`,
    );
  }
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint: "knn_distance",
    constants: { PIX: P, CM, CN, RM: t.rm, RN4: t.rn4 },
    reads: { test: a.test, train: a.train, test_norms: a.testNorms, train_norms: a.trainNorms },
    writes: { dist_out: a.dist },
    size: { lanes: (CN / (4 * t.rn4)) * (CM / t.rm) },
  });
}

/** Columns of a selection state for k neighbours: k distances and k indices, each padded to 4. */
export function knnStateCols(k: number): number {
  return 2 * pad4(k);
}

/**
 * stateOut rows of the chunk's test rows := the k best of stateIn's (ignored on the first train
 * chunk) and the chunk's distances `dist` (CM, CN), ordered by (distance, train index).
 */
export async function knnSelect(
  ctx: GpuContext,
  a: { dist: Tensor; stateIn: Tensor; stateOut: Tensor; k: number; chunk: GPUBufferBinding },
): Promise<Dispatch> {
  const CM = a.dist.rows, CN = a.dist.cols;
  if (!Number.isInteger(a.k) || a.k < 1 || a.k > KNN_MAX_K) {
    throw new Error(`knnSelect: k must be an integer from 1 to ${KNN_MAX_K}, got ${a.k}`);
  }
  expectShape("knnSelect", "state out", a.stateOut, a.stateIn.rows, knnStateCols(a.k));
  expectShape("knnSelect", "state in", a.stateIn, a.stateOut.rows, knnStateCols(a.k));
  if (CN % 4 !== 0) throw new Error(`knnSelect: ${CN} train rows per chunk: use a multiple of 4`);
  return await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint: "knn_select",
    constants: { CM, CN, KSEL: a.k },
    reads: { dist: a.dist, state_in: a.stateIn },
    writes: { state_out: a.stateOut },
    buffers: { chunk: a.chunk },
    size: { lanes: CM },
  });
}

// ---------------------------------------------------------------------------------------------
// float64 reference

/** The k nearest train rows of each test row: indices and squared distances, (test count, k). */
export interface Neighbours {
  /** Neighbours per test row. */
  k: number;
  /** Train indices, row-major (test count, k), nearest first. */
  indices: Int32Array;
  /** Squared distances on the 0..255 pixel scale, (test count, k). */
  distances: Float64Array;
}

/**
 * Float64 reference: for each test image the k train images with the smallest squared distance,
 * ties broken by the lower train index. Images are row-major bytes (count, pixels).
 */
export function knnRef(
  test: ArrayLike<number>,
  train: ArrayLike<number>,
  pixels: number,
  k: number,
): Neighbours {
  const M = test.length / pixels, N = train.length / pixels;
  if (!Number.isInteger(M) || !Number.isInteger(N)) {
    throw new Error(`knnRef: image data is not a whole number of ${pixels}-pixel images`);
  }
  if (!(k >= 1 && k <= N)) throw new Error(`knnRef: k = ${k} needs 1 <= k <= ${N} train images`);
  const indices = new Int32Array(M * k), distances = new Float64Array(M * k);
  const bd = new Float64Array(k), bi = new Int32Array(k);
  for (let m = 0; m < M; m++) {
    bd.fill(Infinity);
    bi.fill(-1);
    for (let n = 0; n < N; n++) {
      let d = 0;
      for (let p = 0; p < pixels; p++) {
        const e = test[m * pixels + p] - train[n * pixels + p];
        d += e * e;
      }
      // n increases, so an equal distance ranks after the ones already kept
      if (!(d < bd[k - 1])) continue;
      let s = k - 1;
      while (s > 0 && d < bd[s - 1]) {
        bd[s] = bd[s - 1];
        bi[s] = bi[s - 1];
        s--;
      }
      bd[s] = d;
      bi[s] = n;
    }
    indices.set(bi, m * k);
    distances.set(bd, m * k);
  }
  return { k, indices, distances };
}
