/**
 * The report generator on small synthetic result files: the numbers it writes come from the
 * files, comparisons follow the spread rule (real only beyond the larger sd; never with one
 * run), missing parts are reported, and the Markdown and HTML outputs are complete.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type {
  ConditionSummary,
  Part1Metrics,
  Part2Metrics,
  Part3Metrics,
  RunRecord,
} from "../src/study/results.ts";
import { summarizeRuns } from "../src/study/results.ts";
import {
  buildReport,
  comparisonText,
  pointsText,
  reportHtml,
  reportMarkdown,
  type StudyReport,
} from "../src/study/report/index.ts";
import { auditSampleSize, linearFit } from "../src/util/stats.ts";
import { compare, trend } from "../src/study/compare.ts";
import { readStudyResults, runReport } from "../experiments/report.ts";

const CLASSES = 10;
const TEST = 10000;

/** A run whose confusion matrix has exactly the given per-class errors (1000 images a class). */
function syntheticRun(seed: number, perClass: number[], finalError?: number): RunRecord {
  const confusion = perClass.map((e, t) => {
    const row = new Array(CLASSES).fill(0);
    const wrong = Math.round(e * 1000);
    row[t] = 1000 - wrong;
    row[(t + 1) % CLASSES] += wrong; // every digit is taken for the next one
    return row;
  });
  const testError = finalError ?? perClass.reduce((a, b) => a + b, 0) / CLASSES;
  // 10 evaluation points falling towards the final error, 18 loss points falling too
  const testCurve = Array.from({ length: 10 }, (_, i) => ({
    epoch: 0,
    epochs: (i + 1) / 10,
    imagesSeen: (i + 1) * 6000,
    error: testError * (1 + (9 - i) * 0.15),
  }));
  const loss = Array.from({ length: 18 }, (_, i) => ({
    epoch: 0,
    step: (i + 1) * 50,
    imagesSeen: (i + 1) * 3200,
    loss: 0.05 + 1 / (i + 1),
  }));
  return {
    seed,
    testError,
    perClassError: perClass,
    confusion,
    learningCurve: { trainLoss: loss, testError: testCurve },
    trainSeconds: 20,
    imagesPerSecond: 3000,
  };
}

/** Runs whose test errors are exactly `errors` (the per-class errors all equal). */
function runsWithErrors(errors: number[]): RunRecord[] {
  return errors.map((e, i) => syntheticRun(i + 1, new Array(CLASSES).fill(e), e));
}

const SETUP = {
  createdAt: "2026-01-01T00:00:00.000Z",
  adapter: "synthetic adapter",
  cpuAdapter: true,
  deno: "2.9.6",
  model: "lenet5",
  modelTorch: "nn.Sequential()",
  trainImages: 60000,
  testImages: TEST,
  trainData: "mnist-train",
  testData: "mnist-test",
  recipe: {
    model: "lenet5",
    optimizer: { kind: "adam", lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
    schedule: { kind: "constant" },
    batchSize: 64,
    epochs: 1,
  },
  seed: 1,
  timings: { setupSeconds: 2, totalSeconds: 30 },
};

function part1(runs: RunRecord[]): Part1Metrics {
  const s = summarizeRuns(runs);
  return {
    ...SETUP,
    schema: "webgpu-mnist/part1@1",
    testError: runs[0].testError,
    testErrorSummary: s.testError,
    perClassError: runs[0].perClassError,
    precision: new Array(CLASSES).fill(0.99),
    recall: new Array(CLASSES).fill(0.99),
    f1: new Array(CLASSES).fill(0.99),
    support: new Array(CLASSES).fill(1000),
    confusion: runs[0].confusion,
    learningCurve: runs[0].learningCurve,
    runs,
  };
}

const NOISE_STATS = {
  images: 2000,
  clippedLow: 0.4,
  clippedHigh: 0.01,
  meanAbsChange: 30,
  backgroundMean: 12.5,
  changeStd: 20,
};

function part2(conditions: [number, RunRecord[]][]): Part2Metrics {
  const seeds = conditions[0][1].map((r) => r.seed);
  return {
    ...SETUP,
    schema: "webgpu-mnist/part2@1",
    seeds,
    noise: {},
    conditions: conditions.map(([sigma, runs]) => ({
      sigma,
      noiseStats: { ...NOISE_STATS, clippedHigh: sigma / 10000 },
      ...(summarizeRuns(runs.map((r) => ({ ...r, noiseSeed: 1 }))) as ConditionSummary<
        RunRecord & { noiseSeed: number }
      >),
    })),
    samples: { file: "samples.png", indices: [1, 2, 3], labels: [0, 1, 2] },
  };
}

function part3(conditions: [number, RunRecord[], number][]): Part3Metrics {
  const seeds = conditions[0][1].map((r) => r.seed);
  return {
    ...SETUP,
    schema: "webgpu-mnist/part3@1",
    seeds,
    labelMode: "uniform",
    conditions: conditions.map(([frac, runs, disagreement]) => {
      const corrupted = Math.round(frac * 60000);
      const changed = Math.round(corrupted * 0.9);
      const withLabels = runs.map((r) => ({
        ...r,
        labelSeed: 1,
        corrupted,
        changed,
        trainDisagreement: disagreement,
      }));
      const n = runs.length;
      const one = (v: number) => ({ mean: v, std: 0, min: v, max: v, n });
      return {
        frac,
        corrupted,
        changed: one(changed),
        changedFraction: one(changed / 60000),
        trainDisagreement: one(disagreement),
        ...summarizeRuns(withLabels),
      };
    }),
  };
}

function markdownOf(report: StudyReport): string {
  return reportMarkdown(report, "2026-01-01T00:00:00.000Z");
}

/** The bullet line comparing `name` with the baseline. */
function line(md: string, start: string): string {
  const found = md.split("\n").find((l) => l.startsWith(start));
  assert.ok(found, `no line starting with "${start}"`);
  return found;
}

Deno.test("spread rule: with 3 seeds, a difference within the spread is not called real, one beyond it is", () => {
  const report = buildReport({
    part1: part1(runsWithErrors([0.015, 0.016, 0.017])),
    part2: part2([
      [0, runsWithErrors([0.015, 0.016, 0.017])], // mean 1.60%, sd 0.10
      [8, runsWithErrors([0.016, 0.0155, 0.018])], // +0.05 points, paired: interval has 0
      [128, runsWithErrors([0.030, 0.031, 0.032])], // +1.50 points: real
    ]),
    part3: part3([
      [0, runsWithErrors([0.015, 0.016, 0.017]), 0.01],
      [0.05, runsWithErrors([0.014, 0.017, 0.020]), 0.06], // +0.10, larger sd 0.30: within
      [0.5, runsWithErrors([0.019, 0.020, 0.021]), 0.46], // +0.40 > 0.10: real
    ]),
  });
  const md = markdownOf(report);
  // Part 2 judges by the paired 95% interval over seeds (the same seed index is paired)
  const s8 = line(md, "- sigma 8 vs sigma 0:");
  assert.match(s8, /\+0\.05 points \[95%: −0\.\d\d, \+0\.\d\d\], not established/);
  const s128 = line(md, "- sigma 128 vs sigma 0:");
  assert.match(s128, /\+1\.50 points \[95%: \+1\.50, \+1\.50\], established/);
  // Part 3 too: paired by seed, differences -0.10, +0.10, +0.30 points: the interval has 0
  const f5 = line(md, "- 5% vs 0% noisy labels:");
  assert.match(f5, /\+0\.10 points \[95%: −0\.\d\d, \+0\.\d\d\], not established/);
  assert.match(
    line(md, "- 50% vs 0% noisy labels:"),
    /\+0\.40 points \[95%: \+0\.40, \+0\.40\], established/,
  );
  // the measured numbers are in the text
  assert.match(md, /sigma 0: 1\.60% ± 0\.10; sigma 8: 1\.65% ± 0\.13; sigma 128: 3\.10% ± 0\.10/);
  assert.match(md, /3 runs per condition/);
  // tolerated test noise needs the test-time grid, which these records do not have
  assert.match(md, /These results have no test-time measurements/);
  // image noise at sigma 128 (3.10%) vs label noise at 50% (2.00%), paired by seed: +1.10 each
  assert.match(
    md,
    /The image-noise end point is worse: \+1\.10 points \[95%: \+1\.10, \+1\.10\], established/,
  );
  assert.doesNotMatch(md, /\(measured once/);
  assert.match(
    md,
    /sigma 0 in Part 2 \(1\.50%, 1\.60%, 1\.70%\) and fraction 0 in Part 3 \(1\.50%, 1\.60%, 1\.70%\) repeat Part 1 \(1\.50%, 1\.60%, 1\.70%\) with the same seeds and gave exactly the same/,
  );
});

Deno.test("reproducibility: a baseline that does not repeat Part 1 exactly is reported", () => {
  const md = markdownOf(buildReport({
    part1: part1(runsWithErrors([0.016])),
    part2: part2([[0, runsWithErrors([0.0161])], [8, runsWithErrors([0.017])]]),
  }));
  assert.match(
    md,
    /sigma 0 in Part 2 \(1\.61%\) repeat Part 1 \(1\.60%\) with the same seeds but gave different/,
  );
});

Deno.test("spread rule: with one seed nothing is called real, and the report says conclusions need --seeds", () => {
  const report = buildReport({
    part1: part1(runsWithErrors([0.016])),
    part2: part2([[0, runsWithErrors([0.016])], [32, runsWithErrors([0.018])], [
      128,
      runsWithErrors([0.05]),
    ]]),
    part3: part3([[0, runsWithErrors([0.016]), 0.01], [0.15, runsWithErrors([0.02]), 0.14]]),
  });
  const md = markdownOf(report);
  assert.doesNotMatch(md, /real (increase|decrease)/);
  assert.doesNotMatch(md, /more than the spread/);
  assert.match(
    line(md, "- sigma 128 vs sigma 0:"),
    /\+3\.40 points \[95%: ±∞, ±∞\], not established \(quick look: 1 seed\)/,
  );
  assert.match(md, /Quick look: one seed, so nothing is established/);
  assert.match(
    line(md, "- 15% vs 0% noisy labels:"),
    /\+0\.40 points \[95%: ±∞, ±∞\], not established \(quick look: 1 seed\)/,
  );
  assert.match(md, /One run per condition: there is no spread.*`--seeds 3`/);
  assert.match(md, /Measured once, the image-noise condition ended with the higher error/);
  assert.match(md, /a measured-once reading/);
});

Deno.test("class rankings follow the rule too; confusions come from the matrix", () => {
  const perClass = [0.005, 0.004, 0.02, 0.015, 0.01, 0.012, 0.008, 0.018, 0.03, 0.025];
  const runs = [1, 2, 3].map((seed) => syntheticRun(seed, perClass.map((e) => e + seed * 0.0001)));
  const md = markdownOf(buildReport({ part1: part1(runs) }));
  // digit 8 is hardest (3.02%), taken for 9 (every digit is taken for the next one); 1 is easiest
  assert.match(md, /Highest error: 8 \(3\.02% ± 0\.01, mostly taken for 9 \(90×\)\)/);
  assert.match(md, /Lowest: 1 \(0\.42% ± 0\.01\)/);
  assert.match(md, /Hardest against easiest: \+2\.60 points, more than the spread/);
  assert.match(md, /8 → 9 \(90×\)/); // 30 + 30 + 30 wrong over three runs, summed
});

Deno.test("more training: judged from the second half of epoch 1", () => {
  const falling = {
    imagesSeen: [1, 2, 3, 4, 5, 6].map((i) => i * 10000),
    mean: [9, 7, 5, 4, 3, 2].map((v) => v / 100),
    std: new Array(6).fill(0),
  };
  const t = trend(falling)!;
  assert.equal(t.direction, "falling");
  assert.equal(t.points, 4); // x >= 30,000 of 60,000
  assert.equal(t.first, 0.05);
  const flat = { ...falling, mean: [0.03, 0.0201, 0.02, 0.0202, 0.0199, 0.0201] };
  assert.equal(trend(flat)!.direction, "flat");
  assert.equal(trend({ imagesSeen: [1], mean: [1], std: [0] })!.direction, null);
  const fit = linearFit([0, 1, 2, 3], [1, 3, 5, 7])!;
  assert.equal(fit.slope, 2);
  assert.equal(fit.slopeSe, 0);
  const md = markdownOf(buildReport({ part1: part1(runsWithErrors([0.016])) }));
  assert.match(md, /Both are still falling, so more training is likely to help/);
  assert.match(md, /the test error went from 2\.80% to 1\.60%/);
});

Deno.test("missing parts are named with the command that produces them; nothing at all is an error", () => {
  const report = buildReport({
    part1: part1(runsWithErrors([0.016])),
    missingReasons: { 2: "results/part2/metrics.json was not found" },
  });
  const md = markdownOf(report);
  assert.match(md, /## Part 2: not run/);
  assert.match(
    md,
    /results\/part2\/metrics.json was not found\. Produce it with `deno task part2`/,
  );
  assert.match(md, /## Part 3: not run/);
  assert.match(md, /This needs Parts 2 and 3; Part 2 has no results/);
  assert.match(md, /## Part 1: answers/);
  assert.throws(() => buildReport({}), /no results to report/);
});

Deno.test("reused baselines are reported as such, and not counted as trained runs", () => {
  const reused = runsWithErrors([0.016]).map((r) => ({ ...r, reusedFrom: "part1" as const }));
  const md = markdownOf(buildReport({
    part1: part1(runsWithErrors([0.016])),
    part2: part2([[0, reused], [8, runsWithErrors([0.017])]]),
  }));
  assert.match(md, /sigma 0 \(Part 2\) reuse Part 1's runs instead of training them again/);
  assert.match(md, /\| Part 2 \| 1 \(\+1 reused from Part 1\) \| 20 s \|/);
});

Deno.test("a part with a single level says there is nothing to compare", () => {
  const md = markdownOf(buildReport({
    part2: part2([[32, runsWithErrors([0.02])]]),
    part3: part3([[0.15, runsWithErrors([0.02]), 0.15]]),
  }));
  assert.match(md, /Only sigma 32 was run, so there is nothing to compare it with/);
  assert.match(md, /Only fraction 15% was run, so there is no baseline/);
  assert.match(md, /Part 2 ran only one, so the question is not answered/);
  assert.doesNotMatch(md, /vs sigma 32:|changed by/);
});

Deno.test("formatting helpers and the audit sample size", () => {
  assert.equal(pointsText(0.0045), "+0.45 points");
  assert.equal(pointsText(-0.012), "−1.20 points");
  assert.equal(pointsText(0), "±0.00 points");
  assert.equal(auditSampleSize(0.05, 0.01), 1825);
  const c = compare({ mean: 0.02, std: 0.001, n: 2 }, { mean: 0.019, std: 0.002, n: 2 });
  assert.match(comparisonText(c), /within the spread/);
});

Deno.test("Markdown links the PNGs; the HTML is self-contained with live charts and the inlined grid", () => {
  const report = buildReport({
    part1: part1(runsWithErrors([0.016])),
    part2: part2([[0, runsWithErrors([0.016])], [8, runsWithErrors([0.017])]]),
    part3: part3([[0, runsWithErrors([0.016]), 0.01], [0.5, runsWithErrors([0.02]), 0.46]]),
  });
  const md = markdownOf(report);
  for (
    const png of [
      "part1/learning_curve.png",
      "part1/per_class_error.png",
      "part1/confusion_matrix.png",
      "part2/error_vs_sigma.png",
      "part2/per_class_error.png",
      "part2/samples.png",
      "part3/error_vs_frac.png",
      "part3/per_class_error.png",
    ]
  ) {
    assert.ok(md.includes(`](${png})`), `REPORT.md links ${png}`);
  }
  const html = reportHtml(report, {
    chartJsSource: "/* chart.js stand-in */ window.Chart = function () {};",
    resolveImage: (png) => (png === "part2/samples.png" ? "data:image/png;base64,AAAA" : png),
  });
  assert.ok(html.includes("chart.js stand-in"), "chart.js is inlined");
  assert.doesNotMatch(html, /<script[^>]+src=/, "no external scripts");
  assert.ok(html.includes('src="data:image/png;base64,AAAA"'), "the digit grid is inlined");
  // 3 charts per part, and Part 2's per-class change and confusion change
  assert.equal((html.match(/<canvas /g) ?? []).length, 11, "3 charts per part + 2");
  assert.ok(html.includes("Image noise or label noise"));
});

Deno.test("runReport reads the result files, reports a missing part and rejects damaged files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "report_test_" });
  try {
    await assert.rejects(readStudyResults(dir), /no results under .*run\s+deno task all/);
    await Deno.mkdir(join(dir, "part1"));
    await Deno.writeTextFile(
      join(dir, "part1", "metrics.json"),
      JSON.stringify(part1(runsWithErrors([0.016]))),
    );
    await Deno.mkdir(join(dir, "part3"));
    await Deno.writeTextFile(
      join(dir, "part3", "metrics.json"),
      JSON.stringify(
        part3([[0, runsWithErrors([0.016]), 0.01], [0.5, runsWithErrors([0.02]), 0.46]]),
      ),
    );
    const written = await runReport({ results: dir });
    assert.deepEqual(written.map((p) => p.slice(dir.length + 1)).sort(), [
      "REPORT.md",
      "report.html",
    ]);
    const md = await Deno.readTextFile(join(dir, "REPORT.md"));
    assert.match(md, /## Part 2: not run/);
    assert.match(md, /## Part 3: answers/);
    const html = await Deno.readTextFile(join(dir, "report.html"));
    assert.ok(html.length > 100_000, "chart.js is inlined");
    // a damaged file stops the report with a message naming it, and nothing is rewritten
    await Deno.writeTextFile(join(dir, "part3", "metrics.json"), "{ not json");
    await assert.rejects(runReport({ results: dir }), /part3\/metrics\.json is not valid JSON/);
    await Deno.writeTextFile(
      join(dir, "part3", "metrics.json"),
      JSON.stringify({ schema: "other" }),
    );
    await assert.rejects(runReport({ results: dir }), /expected schema "webgpu-mnist\/part3@1"/);
    assert.equal(await Deno.readTextFile(join(dir, "REPORT.md")), md);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
