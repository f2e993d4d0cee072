/**
 * Part 1's ablation (src/study/ablation.ts) and its report: variants resolved against the
 * baseline, the planned cost, the ensemble of averaged probabilities against a direct float64
 * computation on random data, rows paired by seed (established only when the 95% interval
 * excludes 0), and the report's measured answer and baselines table from synthetic files.
 */
import assert from "node:assert/strict";
import {
  ablationChart,
  ablationCost,
  ablationRows,
  EnsembleAccumulator,
  errorOfRows,
  FULL_ABLATION,
  meanInterval,
  pairedBySeed,
  resolveVariants,
  STANDARD_ABLATION,
  stepCost,
} from "../src/study/ablation.ts";
import type {
  AblationRun,
  BaselinesMetrics,
  Part1Ablation,
  Part1Metrics,
  RunRecord,
} from "../src/study/results.ts";
import { summarizeRuns } from "../src/study/results.ts";
import { buildReport, reportMarkdown } from "../src/study/report/index.ts";
import { pairedDifference, tQuantile } from "../src/util/stats.ts";
import { Rng } from "../mod.ts";

const BASE = { model: "lenet5", augment: "none", epochs: 1 };

function run(seed: number, testError: number, trainSeconds = 10): AblationRun {
  return {
    seed,
    testError,
    perClassError: new Array(10).fill(testError),
    confusion: Array.from({ length: 10 }, (_, t) => {
      const row = new Array(10).fill(0);
      row[t] = 1000 - Math.round(testError * 1000);
      row[(t + 1) % 10] = Math.round(testError * 1000);
      return row;
    }),
    learningCurve: {
      trainLoss: Array.from({ length: 18 }, (_, i) => ({
        epoch: 0,
        step: i * 50,
        imagesSeen: (i + 1) * 3200,
        loss: 1 / (i + 1),
      })),
      testError: Array.from({ length: 10 }, (_, i) => ({
        epoch: 0,
        epochs: (i + 1) / 10,
        imagesSeen: (i + 1) * 6000,
        error: testError * (1 + (9 - i) * 0.1),
      })),
    },
    trainSeconds,
    imagesPerSecond: 6000,
    evalSeconds: 2,
    evaluations: 4,
  };
}

Deno.test("variants: one change each, duplicates of the baseline dropped, references resolved", () => {
  const v = resolveVariants(STANDARD_ABLATION, BASE);
  assert.deepEqual(v.map((x) => [x.key, x.model, x.augment, x.epochs, x.against]), [
    ["epochs", "lenet5", "none", 5, undefined],
    ["affine", "lenet5", "affine", 5, "epochs"],
    ["cnn", "cnn", "none", 1, undefined],
  ]);
  // a baseline that is already the CNN with affine augmentation at 2 epochs
  const w = resolveVariants(FULL_ABLATION, { model: "cnn", augment: "affine", epochs: 2 });
  assert.deepEqual(w.map((x) => [x.key, x.model, x.augment, x.epochs]), [
    ["epochs", "cnn", "affine", 10],
    ["elastic", "cnn", "elastic", 10],
  ]);
});

Deno.test("cost: baseline seeds Part 1 lacks, every variant run, weighted by model cost", () => {
  const c = ablationCost(STANDARD_ABLATION, BASE, 60_000, 5);
  assert.equal(c.runs, 6);
  assert.equal(c.imageSteps, 2 * (5 + 5 + 1) * 60_000);
  const weighted = 2 * 5 * 60_000 * (1 + stepCost({ model: "lenet5", augment: "affine" })) +
    2 * 60_000 * stepCost({ model: "cnn", augment: "none" });
  assert.ok(Math.abs(c.weightedSteps - weighted) < 1e-6);
  assert.equal(c.evaluations, 2 * 11 + 5);
  // Part 1 with one seed: the ablation trains the second baseline seed itself
  assert.equal(ablationCost(STANDARD_ABLATION, BASE, 1000, 1).runs, 7);
});

Deno.test("ensemble: averaged probabilities match a float64 computation on random data", () => {
  for (const [n, C, members] of [[37, 10, 5], [101, 3, 2], [1, 7, 3]]) {
    const rng = new Rng(n * 31 + C);
    const labels = Array.from({ length: n }, () => Math.floor(rng.next() * C));
    const acc = new EnsembleAccumulator(labels, C);
    const all: Float32Array[] = [];
    for (let m = 0; m < members; m++) {
      const p = new Float32Array(n * C);
      for (let i = 0; i < n; i++) {
        let sum = 0;
        for (let k = 0; k < C; k++) sum += p[i * C + k] = Math.exp(3 * rng.next());
        for (let k = 0; k < C; k++) p[i * C + k] /= sum;
      }
      all.push(p);
      acc.add(100 + m, p);
    }
    const e = acc.result(1.5);
    assert.deepEqual(e.members, Array.from({ length: members }, (_, m) => 100 + m));
    for (let k = 1; k <= members; k++) {
      const mean = new Float64Array(n * C);
      for (const p of all.slice(0, k)) p.forEach((v, i) => (mean[i] += v / k));
      let wrong = 0;
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let c = 1; c < C; c++) if (mean[i * C + c] > mean[i * C + best]) best = c;
        if (best !== labels[i]) wrong++;
      }
      assert.equal(e.bySize[k - 1].testError, wrong / n, `size ${k}`);
    }
    assert.equal(e.testError, e.bySize.at(-1)!.testError);
    assert.deepEqual(e.memberErrors, all.map((p) => errorOfRows(p, labels, C)));
    assert.equal(e.confusion.flat().reduce((a, b) => a + b, 0), n);
    const diag = e.confusion.reduce((a, row, t) => a + row[t], 0);
    assert.equal(n - diag, Math.round(e.testError * n));
  }
  assert.throws(() => new EnsembleAccumulator([0, 1], 2).add(1, [0.5, 0.5]), /expected 2 x 2/);
});

Deno.test("rows: 95% intervals over seeds, differences paired by seed", () => {
  const base = [run(1, 0.020), run(2, 0.022), run(3, 0.018)];
  const longer = [run(1, 0.012, 50), run(2, 0.0135, 50)];
  const affine = [run(1, 0.011, 55), run(2, 0.0125, 55)];
  const cnn = [run(1, 0.0205), run(2, 0.0185)];
  const variants = resolveVariants(STANDARD_ABLATION, BASE);
  const rows = ablationRows({
    baseline: { recipe: BASE, parameters: 1000, runs: base },
    variants: [
      { variant: variants[0], parameters: 1000, runs: longer },
      { variant: variants[1], parameters: 1000, runs: affine },
      { variant: variants[2], parameters: 9000, runs: cnn },
    ],
    ensemble: {
      members: [1, 2, 3],
      memberErrors: [0.020, 0.022, 0.018],
      testError: 0.015,
      bySize: [],
      confusion: [],
      perClassError: [],
      evalSeconds: 3,
    },
  });
  assert.deepEqual(rows.map((r) => r.key), ["baseline", "epochs", "affine", "cnn", "ensemble"]);
  const [b, e5, af, c, ens] = rows;
  assert.equal(b.vsBaseline, null);
  const half = tQuantile(0.975, 2) * b.testError.std / Math.sqrt(3);
  assert.ok(Math.abs(b.interval.high - b.testError.mean - half) < 1e-15);
  // 5 epochs pairs with seeds 1 and 2 of the baseline only
  assert.deepEqual(e5.vsBaseline, pairedDifference([0.012, 0.0135], [0.020, 0.022]));
  assert.equal(e5.vsBaseline!.established, true);
  assert.equal(af.against, "epochs");
  assert.deepEqual(af.vsAgainst, pairedDifference([0.011, 0.0125], [0.012, 0.0135]));
  // the CNN differs in sign between the seeds: not established
  assert.equal(c.vsBaseline!.established, false);
  assert.equal(c.parameters, 9000);
  // the ensemble against each member's own error
  assert.deepEqual(ens.vsBaseline, pairedDifference([0.015, 0.015, 0.015], [0.020, 0.022, 0.018]));
  assert.equal(ens.trainSeconds, 30);
  assert.equal(ens.parameters, 3000);
  assert.equal(ens.predictSeconds, 1.5); // 3 members x 2 s / 4 evaluations
  assert.equal(pairedBySeed([run(7, 0.1)], base), null);
  assert.deepEqual(meanInterval([0.5]), { low: -Infinity, high: Infinity });
  const chart = ablationChart(rows) as { data: { labels: string[] } };
  assert.equal(chart.data.labels.length, 5);
  assert.match(chart.data.labels[2], /LeNet-5, 5 epochs, affine/);
});

const SETUP = {
  createdAt: "2026-01-01T00:00:00.000Z",
  adapter: "synthetic adapter",
  cpuAdapter: true,
  deno: "2.9.6",
  model: "lenet5",
  modelTorch: "nn.Sequential()",
  trainImages: 60000,
  testImages: 10000,
  trainData: "mnist-train",
  testData: "mnist-test",
  recipe: {
    model: "lenet5",
    augment: "none",
    optimizer: { kind: "adam", lr: 0.002 },
    schedule: { kind: "cosine", warmupFraction: 0.05 },
    batchSize: 64,
    epochs: 1,
  },
  seed: 1,
  timings: { setupSeconds: 2, totalSeconds: 30, evalSeconds: 1 },
};

function part1(runs: RunRecord[]): Part1Metrics {
  const s = summarizeRuns(runs);
  return {
    ...SETUP,
    schema: "webgpu-mnist/part1@1",
    testError: runs[0].testError,
    testErrorSummary: s.testError,
    perClassError: runs[0].perClassError,
    precision: new Array(10).fill(0.99),
    recall: new Array(10).fill(0.99),
    f1: new Array(10).fill(0.99),
    support: new Array(10).fill(1000),
    confusion: runs[0].confusion,
    learningCurve: runs[0].learningCurve,
    runs,
  };
}

function ablationFile(rows: ReturnType<typeof ablationRows>): Part1Ablation {
  // written and read back as JSON: unbounded intervals become null
  return JSON.parse(JSON.stringify({
    schema: "webgpu-mnist/part1-ablation@1",
    createdAt: SETUP.createdAt,
    profile: "standard",
    seeds: [1, 2],
    adapter: SETUP.adapter,
    trainImages: 60000,
    testImages: 10000,
    trainData: "mnist-train",
    testData: "mnist-test",
    baselineRecipe: SETUP.recipe,
    rows,
    timings: { trainSeconds: 100, totalSeconds: 120 },
    chart: ablationChart(rows),
  }));
}

Deno.test("report: the measured answer replaces the reasoning-only one; baselines side by side", () => {
  const base = [run(1, 0.020), run(2, 0.022), run(3, 0.018)];
  const variants = resolveVariants(STANDARD_ABLATION, BASE);
  const rows = ablationRows({
    baseline: { recipe: BASE, parameters: 62506, runs: base },
    variants: [
      { variant: variants[0], parameters: 62506, runs: [run(1, 0.012), run(2, 0.0135)] },
      { variant: variants[1], parameters: 62506, runs: [run(1, 0.011), run(2, 0.0125)] },
      { variant: variants[2], parameters: 824458, runs: [run(1, 0.0205), run(2, 0.0185)] },
    ],
  });
  const p1 = part1(base);
  const baselines: BaselinesMetrics = {
    schema: "webgpu-mnist/baselines@1",
    createdAt: SETUP.createdAt,
    adapter: "synthetic adapter",
    trainImages: 60000,
    testImages: 10000,
    trainData: "mnist-train",
    rows: [{
      model: "k-NN (k = 3)",
      parameters: 47_040_000,
      trainSeconds: 0,
      predictSeconds: 19.5,
      testError: 0.0295,
      note: "GPU distance GEMM",
    }],
  };
  const md = reportMarkdown(
    buildReport({ part1: p1, ablation: ablationFile(rows), baselines }),
    SETUP.createdAt,
  );
  assert.match(md, /\*\*What else would improve accuracy\? \(Measured: the ablation\.\)\*\*/);
  assert.doesNotMatch(md, /Reasoning, not measured here/);
  assert.match(md, /\| LeNet-5, 5 epochs \| 2 \| 62,506 \| 1\.28% \[95%: /);
  assert.match(md, /\*\*LeNet-5, 5 epochs\*\* against the baseline: −0\.83 points .*, established/);
  assert.match(md, /\*\*wider CNN, 1 epoch\*\* against the baseline: .*not established/);
  assert.match(md, /part1\/ablation\/ablation\.png/);
  assert.match(md, /## Models and baselines/);
  assert.match(md, /\| k-NN \(k = 3\) \| 47,040,000 \| 0\.00 s \| 19\.5 s \| 2\.95% \|/);
  assert.match(md, /\| wider CNN, 1 epoch \| 824,458 \|/);

  // an ablation of another recipe is not used; without baselines the report says how to run them
  const other = ablationFile(rows);
  other.baselineRecipe = { ...other.baselineRecipe, epochs: 3 };
  const md2 = reportMarkdown(buildReport({ part1: p1, ablation: other }), SETUP.createdAt);
  assert.match(md2, /measured with another recipe or data than this Part 1/);
  assert.match(md2, /The classical baselines were not run.*deno task baselines/);
  const md3 = reportMarkdown(buildReport({ part1: p1 }), SETUP.createdAt);
  assert.match(md3, /Not measured: run `deno task part1`/);
});
