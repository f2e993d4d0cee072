/**
 * The report's "Models and baselines" section: the classical baselines and small networks of
 * `deno task baselines` (results/baselines/metrics.json) next to the study's own networks (Part 1
 * and its ablation), with parameters, training time, prediction time and test error.
 *
 * @module
 */
import { ablationLabel } from "../ablation.ts";
import type { BaselinesMetrics, Part1Ablation, Part1Metrics } from "../results.ts";
import { intText, pctText, table } from "./text.ts";
import type { ReportSectionOut } from "./types.ts";

const seconds = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v)
    ? "–"
    : v < 10
    ? `${v.toFixed(2)} s`
    : `${v.toFixed(1)} s`;

/** The section; says how to produce the baselines when their file is absent. */
export function baselinesSection(
  b: BaselinesMetrics | undefined,
  part1?: Part1Metrics,
  ablation?: Part1Ablation,
): ReportSectionOut {
  const rows: string[][] = [];
  const lines: string[] = [];
  if (b) {
    for (const r of b.rows) {
      rows.push([
        r.model,
        intText(r.parameters),
        seconds(r.trainSeconds),
        seconds(r.predictSeconds),
        pctText(r.testError),
        `deno task baselines: ${r.note}`,
      ]);
    }
  }
  const sameData = (x: { trainImages: number; testImages: number }) =>
    !b || (x.trainImages === b.trainImages && x.testImages === b.testImages);
  if (ablation && part1 && sameData(ablation)) {
    for (const r of ablation.rows) {
      rows.push([
        ablationLabel(r),
        intText(r.parameters),
        seconds(r.trainSeconds),
        seconds(r.predictSeconds),
        pctText(r.testError.mean),
        r.key === "ensemble"
          ? "Part 1's networks, probabilities averaged"
          : `Part 1 ablation: mean of ${r.seeds.length} seed${r.seeds.length === 1 ? "" : "s"}`,
      ]);
    }
  } else if (part1 && sameData(part1)) {
    const evals = part1.learningCurve.testError.length;
    const evalSeconds = part1.timings.evalSeconds;
    rows.push([
      `${part1.model === "lenet5" ? "LeNet-5" : part1.model} (Part 1)`,
      "–",
      seconds(part1.runs.reduce((a, r) => a + r.trainSeconds, 0) / part1.runs.length),
      typeof evalSeconds === "number" && evals ? seconds(evalSeconds / evals) : "–",
      pctText(part1.testErrorSummary.mean),
      `Part 1: mean of ${part1.runs.length} seed${part1.runs.length === 1 ? "" : "s"}`,
    ]);
  }
  if (!b) {
    lines.push(
      "**The classical baselines were not run**: results/baselines/metrics.json was not found. " +
        "Produce it with `deno task baselines` (naive Bayes, k-NN with k = 1, 3, 5 on the GPU, " +
        "logistic regression, an MLP, LeNet-5 and the wider CNN; about 2 minutes on a 2-core " +
        "CPU) or with `deno task all`, then run `deno task report` again.",
    );
  } else {
    lines.push(
      `Classical baselines and the engine's networks on the same ${intText(b.trainImages)} ` +
        `training and ${intText(b.testImages)} test images (${b.trainData}), adapter ` +
        `${b.adapter}. Prediction time is one pass over the whole test set; k-NN has no ` +
        "training (it stores the training set: its parameters are the stored pixels) and " +
        `computes the ${intText(b.testImages)} × ${intText(b.trainImages)} distance matrix as a ` +
        "GEMM on the GPU with a top-k selection, one search serving every k.",
    );
    if (part1 && !sameData(part1)) {
      lines.push(
        "",
        "Part 1 ran on other data than the baselines, so its networks are not listed here.",
      );
    }
  }
  if (rows.length) {
    lines.push(
      "",
      table(
        ["model", "parameters", "training", "prediction (test set)", "test error", "source"],
        rows,
        ["l", "r", "r", "r", "r", "l"],
      ),
    );
  }
  return { heading: "Models and baselines", markdown: lines.join("\n"), figures: [] };
}
