/**
 * k-nearest-neighbour classifier on raw pixels, on the GPU: the test x train squared-distance
 * matrix is computed chunk by chunk as a GEMM and never held whole; each chunk is merged into
 * every test row's k best neighbours (kernels in `src/ops/knn.ts`), then the neighbours vote.
 *
 * Votes: the class with the most of the k nearest neighbours; when classes tie, the tied class
 * of the nearest neighbour wins (deterministic). Neighbours tie-break on the lower train index.
 *
 * Browser-safe.
 *
 * @module
 */
import { TEX_WIDTH } from "../gpu/context.ts";
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, runDispatches } from "../gpu/program.ts";
import { download, encodeReadTexels, Tensor, type TexelStore } from "../gpu/tensor.ts";
import type { GpuDataset } from "../ops/gather.ts";
import {
  KNN_MAX_K,
  KNN_TILE,
  type KnnChunk,
  KnnChunkParams,
  knnDistance,
  knnExpand,
  knnSelect,
  knnStateCols,
  type KnnTile,
  type Neighbours,
} from "../ops/knn.ts";

/** Options of {@link knnNeighbours} and {@link classifyKnn}. */
export interface KnnOptions {
  /** Most test rows per chunk (default 2048; rounded to the tile and balanced across chunks). */
  testChunk?: number;
  /** Most train rows per chunk (default 4096; shrunk when a chunk would not fit a texture). */
  trainChunk?: number;
  /** Register block of the distance GEMM (default {@link KNN_TILE}). */
  tile?: KnnTile;
  /** Called after each train chunk with the chunks done and their total. */
  onProgress?: (done: number, total: number) => void;
}

/** Wall-clock times of a neighbour search. */
export interface KnnTiming {
  /** Seconds in the distance GEMM dispatches (waited for one by one). */
  gemmSeconds: number;
  /** Seconds in the selection (top-k merge) dispatches. */
  selectSeconds: number;
  /** Seconds expanding image bytes to floats and norms, chunk by chunk. */
  prepareSeconds: number;
  /** Seconds of the whole search, including expanding bytes to floats and reading back. */
  totalSeconds: number;
  /**
   * The dense GEMM's work, 2 * test * train * pixels, per GEMM second, in 10^9 per second: an
   * effective rate, since texels that are dark in a whole block of test rows are skipped.
   */
  gemmGflops: number;
  /** Test rows x train rows per chunk, and the number of chunks along each. */
  chunks: { test: number; train: number; testChunks: number; trainChunks: number };
}

/** Rows per chunk and chunk count: at most `max` rows, a multiple of `multiple`, balanced. */
function chunking(total: number, max: number, multiple: number): { size: number; count: number } {
  const cap = Math.max(multiple, Math.floor(max / multiple) * multiple);
  const count = Math.ceil(total / cap);
  return { size: Math.ceil(Math.ceil(total / count) / multiple) * multiple, count };
}

function checkInputs(train: GpuDataset, test: GpuDataset, k: number): void {
  if (train.pixels !== test.pixels) {
    throw new Error(
      `k-NN: train images have ${train.pixels} pixels, test images ${test.pixels}; they must match`,
    );
  }
  if (!Number.isInteger(k) || k < 1 || k > KNN_MAX_K) {
    throw new Error(`k-NN: k must be an integer from 1 to ${KNN_MAX_K}, got ${k}`);
  }
  if (k > train.count) throw new Error(`k-NN: k = ${k} exceeds the ${train.count} train images`);
  if (train.count >= 2 ** 24) {
    throw new Error(`k-NN: at most ${2 ** 24 - 1} train images (indices are exact f32)`);
  }
  if (test.count < 1) throw new Error("k-NN: the test set is empty");
}

/**
 * The k nearest train images of every test image (squared distance on the 0..255 scale, ties to
 * the lower train index), with wall-clock times. Distances are exact integers below 2^24 (all of
 * them for images of at most 258 pixels; MNIST's nearest neighbours lie far below), larger ones
 * round monotonically in f32.
 *
 * @throws Error when the data sets differ in pixels or k is out of range
 */
export async function knnNeighbours(
  ctx: GpuContext,
  train: GpuDataset,
  test: GpuDataset,
  k: number,
  options: KnnOptions = {},
): Promise<{ neighbours: Neighbours; timing: KnnTiming }> {
  checkInputs(train, test, k);
  const t0 = performance.now();
  const P = train.pixels, M = test.count, N = train.count;
  const tile = options.tile ?? KNN_TILE;
  const maxTexels = ctx.maxTextureRows * TEX_WIDTH;
  const maxLanes = ctx.device.limits.maxComputeWorkgroupsPerDimension * 16; // knn.wgsl's WG
  const tc = chunking(M, options.testChunk ?? 2048, tile.rm);
  let trainMax = options.trainChunk ?? 4096;
  let nc = chunking(N, trainMax, 4 * tile.rn4);
  // shrink the train chunk until the distance chunk, the train rows and the dispatch all fit
  while (
    nc.size > 4 * tile.rn4 &&
    ((tc.size * nc.size) / 4 > maxTexels || (nc.size * P) / 4 > maxTexels ||
      (tc.size * nc.size) / (4 * tile.rn4 * tile.rm) > maxLanes)
  ) {
    trainMax = Math.floor(nc.size / 2);
    nc = chunking(N, trainMax, 4 * tile.rn4);
  }
  const CM = tc.size, CN = nc.size;

  const chunks: KnnChunk[] = [];
  for (let j = 0; j < nc.count; j++) {
    for (let i = 0; i < tc.count; i++) {
      chunks.push({
        testRow0: i * CM,
        testRows: Math.min(CM, M - i * CM),
        trainRow0: j * CN,
        trainRows: Math.min(CN, N - j * CN),
        first: j === 0,
      });
    }
  }
  const params = new KnnChunkParams(ctx, chunks);
  const testRows = Tensor.create(ctx, CM, P, "knn test rows");
  const testNorms = Tensor.create(ctx, CM, 4, "knn test norms");
  const trainRows = Tensor.create(ctx, CN, P, "knn train rows");
  const trainNorms = Tensor.create(ctx, CN, 4, "knn train norms");
  const dist = Tensor.create(ctx, CM, CN, "knn distances");
  const cols = knnStateCols(k);
  const states = [
    Tensor.create(ctx, M, cols, "knn state A"),
    Tensor.create(ctx, M, cols, "knn state B"),
  ];
  const tensors = [testRows, testNorms, trainRows, trainNorms, dist, ...states];
  try {
    const gemm = await knnDistance(ctx, {
      test: testRows,
      train: trainRows,
      testNorms,
      trainNorms,
      dist,
      tile,
    });
    let gemmMs = 0, selectMs = 0, prepareMs = 0;
    for (let s = 0; s < chunks.length; s++) {
      const j = Math.floor(s / tc.count), i = s % tc.count;
      const chunk = params.slot(s);
      const prepare: Dispatch[] = [];
      if (i === 0) {
        prepare.push(
          await knnExpand(ctx, {
            data: train,
            rows: trainRows,
            norms: trainNorms,
            train: true,
            chunk,
          }),
        );
      }
      if (tc.count > 1 || j === 0) {
        prepare.push(
          await knnExpand(ctx, {
            data: test,
            rows: testRows,
            norms: testNorms,
            train: false,
            chunk,
          }),
        );
      }
      const select = await knnSelect(ctx, {
        dist,
        stateIn: states[j % 2],
        stateOut: states[(j + 1) % 2],
        k,
        chunk,
      });
      let at = performance.now();
      if (prepare.length > 0) await runDispatches(ctx, prepare);
      prepareMs += performance.now() - at;
      at = performance.now();
      await runDispatches(ctx, [gemm]);
      gemmMs += performance.now() - at;
      at = performance.now();
      await runDispatches(ctx, [select]);
      selectMs += performance.now() - at;
      if (i === tc.count - 1) options.onProgress?.(j + 1, nc.count);
    }
    const state = await download(ctx, states[nc.count % 2]);
    const indices = new Int32Array(M * k), distances = new Float64Array(M * k);
    const half = cols / 2;
    for (let m = 0; m < M; m++) {
      for (let s = 0; s < k; s++) {
        distances[m * k + s] = state[m * cols + s];
        indices[m * k + s] = state[m * cols + half + s];
      }
    }
    const gemmSeconds = gemmMs / 1000;
    return {
      neighbours: { k, indices, distances },
      timing: {
        gemmSeconds,
        selectSeconds: selectMs / 1000,
        prepareSeconds: prepareMs / 1000,
        totalSeconds: (performance.now() - t0) / 1000,
        gemmGflops: (2 * M * N * P) / gemmSeconds / 1e9,
        chunks: { test: CM, train: CN, testChunks: tc.count, trainChunks: nc.count },
      },
    };
  } finally {
    params.destroy();
    for (const t of tensors) t.store.destroy();
  }
}

/** Reads `count` unsigned integers back from an rgba32uint store (e.g. a data set's labels). */
export async function downloadUints(
  ctx: GpuContext,
  store: TexelStore,
  count: number,
): Promise<Uint32Array> {
  ctx.check();
  const enc = ctx.device.createCommandEncoder();
  const r = encodeReadTexels(ctx, enc, store, 0, Math.ceil(count / 4));
  ctx.device.queue.submit([enc.finish()]);
  await r.buffer.mapAsync(GPUMapMode.READ);
  const out = new Uint32Array(r.buffer.getMappedRange().slice(r.offset, r.offset + count * 4));
  r.buffer.unmap();
  r.buffer.destroy();
  ctx.check();
  return out;
}

/**
 * Majority vote of the first `k` neighbours of each test row: the class with the most votes;
 * among tied classes, the one of the nearest neighbour.
 */
export function majorityVote(
  neighbours: Neighbours,
  k: number,
  trainLabels: ArrayLike<number>,
  classes = 10,
): Int32Array {
  if (!(k >= 1 && k <= neighbours.k)) {
    throw new Error(`majorityVote: k = ${k} but only ${neighbours.k} neighbours were kept`);
  }
  const M = neighbours.indices.length / neighbours.k;
  const out = new Int32Array(M);
  const counts = new Int32Array(classes);
  for (let m = 0; m < M; m++) {
    counts.fill(0);
    let most = 0;
    for (let s = 0; s < k; s++) {
      const c = trainLabels[neighbours.indices[m * neighbours.k + s]];
      most = Math.max(most, ++counts[c]);
    }
    for (let s = 0; s < k; s++) {
      const c = trainLabels[neighbours.indices[m * neighbours.k + s]];
      if (counts[c] === most) {
        out[m] = c;
        break;
      }
    }
  }
  return out;
}

/** Predictions for each k, and the search's times. */
export interface KnnClassification {
  /** Predicted classes of the test images, per k. */
  predictions: { k: number; predictions: Int32Array }[];
  /** The max(ks) nearest neighbours of each test image. */
  neighbours: Neighbours;
  /** Wall-clock times and GEMM throughput. */
  timing: KnnTiming;
}

/**
 * Classifies every test image by a majority vote of its k nearest train images, for each k in
 * `ks` (default 1, 3, 5); one neighbour search serves all of them.
 *
 * @throws Error when the data sets differ in pixels or a k is out of range
 */
export async function classifyKnn(
  ctx: GpuContext,
  train: GpuDataset,
  test: GpuDataset,
  ks: readonly number[] = [1, 3, 5],
  options: KnnOptions = {},
): Promise<KnnClassification> {
  if (ks.length === 0) throw new Error("k-NN: give at least one k");
  const kMax = Math.max(...ks);
  for (const k of ks) checkInputs(train, test, k);
  const labels = await downloadUints(ctx, train.labels, train.count);
  let classes = 1;
  for (const l of labels) classes = Math.max(classes, l + 1);
  const { neighbours, timing } = await knnNeighbours(ctx, train, test, kMax, options);
  return {
    predictions: ks.map((k) => ({ k, predictions: majorityVote(neighbours, k, labels, classes) })),
    neighbours,
    timing,
  };
}
