/**
 * Classical baselines on the full MNIST test set: k-nearest neighbours on raw pixels (GPU; all
 * 10,000 test images against the 60,000 training images) for k = 1, 3, 5, and Gaussian naive
 * Bayes (CPU). Prints the time, the distance GEMM's GFLOP/s and the test errors.
 *
 *   deno run --no-prompt --allow-read=. bench/knn_mnist.ts [--test N] [--train N]
 *
 * `--test N` / `--train N` use the first N images of each split (for a quick look). A script,
 * not a `*_bench.ts` file, so that `deno task bench` does not run it.
 */
import {
  acquireGpu,
  classifyKnn,
  fitGaussianNb,
  knnRef,
  predictGaussianNb,
  subset,
  uploadDataset,
} from "../mod.ts";
import { loadMnist } from "../mod_deno.ts";

function countArg(name: string, max: number): number {
  const at = Deno.args.indexOf(name);
  if (at < 0) return max;
  const v = Number(Deno.args[at + 1]);
  if (!Number.isInteger(v) || v < 1 || v > max) {
    console.error(`${name} needs a whole number from 1 to ${max}, got '${Deno.args[at + 1]}'`);
    Deno.exit(2);
  }
  return v;
}

const unknown = Deno.args.filter((a, i) =>
  a.startsWith("--") ? a !== "--test" && a !== "--train" : !["--test", "--train"]
    .includes(Deno.args[i - 1])
);
if (unknown.length > 0) {
  console.error(`unknown argument '${unknown[0]}'; usage: knn_mnist.ts [--test N] [--train N]`);
  Deno.exit(2);
}

// MNIST's sizes, so bad counts are reported before the files are read
const wantTrain = countArg("--train", 60000), wantTest = countArg("--test", 10000);
const mnist = await loadMnist();
const train = subset(mnist.train, Math.min(wantTrain, mnist.train.count));
const test = subset(mnist.test, Math.min(wantTest, mnist.test.count));
const P = train.rows * train.cols;
const errorOf = (pred: ArrayLike<number>) => {
  let wrong = 0;
  for (let i = 0; i < test.count; i++) if (pred[i] !== test.labels[i]) wrong++;
  return (100 * wrong) / test.count;
};

const ctx = await acquireGpu();
console.log(`adapter: ${ctx.adapterName}`);
console.log(`k-NN: ${test.count} test x ${train.count} train images of ${P} pixels`);
const gTrain = uploadDataset(ctx, train.images, train.labels, train.count, P, "mnist train");
const gTest = uploadDataset(ctx, test.images, test.labels, test.count, P, "mnist test");
const t0 = performance.now();
const knn = await classifyKnn(ctx, gTrain, gTest, [1, 3, 5], {
  onProgress: (done, total) => {
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(`  train chunk ${done}/${total} (${s} s)`);
  },
});
const seconds = (performance.now() - t0) / 1000;
// a wrong fast kernel is worthless: the first test images' neighbours against the float64 reference
const CHECK = Math.min(10, test.count);
const ref = knnRef(test.images.subarray(0, CHECK * P), train.images, P, 5);
for (let i = 0; i < CHECK * 5; i++) {
  if (
    ref.indices[i] !== knn.neighbours.indices[i] || ref.distances[i] !== knn.neighbours.distances[i]
  ) {
    console.error(`neighbour ${i % 5} of test image ${Math.floor(i / 5)} differs from knnRef`);
    Deno.exit(1);
  }
}
const t = knn.timing;
console.log(`neighbours of the first ${CHECK} test images equal knnRef's (float64)`);
console.log(
  `k-NN time ${seconds.toFixed(1)} s (GEMM ${t.gemmSeconds.toFixed(1)} s at ` +
    `${t.gemmGflops.toFixed(1)} effective GFLOP/s, top-k merge ${t.selectSeconds.toFixed(1)} s, ` +
    `bytes to floats ${t.prepareSeconds.toFixed(1)} s; chunks ` +
    `${t.chunks.test} test x ${t.chunks.train} train rows, ${t.chunks.testChunks} x ` +
    `${t.chunks.trainChunks})`,
);
/** Votes with scikit-learn's tie rule (the smallest tied class), for comparison with its figures. */
function voteSmallestTied(k: number): Int32Array {
  const nb = knn.neighbours, out = new Int32Array(test.count);
  for (let m = 0; m < test.count; m++) {
    const counts = new Array<number>(10).fill(0);
    for (let s = 0; s < k; s++) counts[train.labels[nb.indices[m * nb.k + s]]]++;
    out[m] = counts.indexOf(Math.max(...counts));
  }
  return out;
}
for (const { k, predictions } of knn.predictions) {
  console.log(
    `  k = ${k}: test error ${errorOf(predictions).toFixed(2)}% (class ties to the nearest ` +
      `neighbour; to the smallest class, as scikit-learn: ${
        errorOf(voteSmallestTied(k)).toFixed(2)
      }%)`,
  );
}

const nbStart = performance.now();
const nb = fitGaussianNb(train.images, train.labels, P, { classes: 10 });
const nbPred = predictGaussianNb(nb, test.images);
console.log(
  `Gaussian naive Bayes (var smoothing 1e-9 x max variance = ${nb.epsilon.toExponential(3)}): ` +
    `test error ${errorOf(nbPred).toFixed(2)}% (${
      ((performance.now() - nbStart) / 1000).toFixed(1)
    } s, CPU)`,
);
ctx.destroy();
