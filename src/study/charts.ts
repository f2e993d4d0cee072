/**
 * The study's charts, built from result records (not from live runs), so the experiment scripts
 * (PNG) and the report generator (HTML) draw exactly the same chart configurations.
 *
 * Browser-safe: only JSON chart specs (see `src/render/charts.ts`).
 *
 * @module
 */
import {
  barChart,
  type ChartSpec,
  confusionMatrixChart,
  learningCurveChart,
  lineChart,
  type LineChartOptions,
} from "../render/charts.ts";
import type { ConditionSummary, RunRecord } from "./results.ts";
import { classNounOf, MNIST_CLASS_NAMES } from "../data/catalog.ts";

/** MNIST's class names (the digits), the default of every chart. */
export const CLASS_NAMES: string[] = [...MNIST_CLASS_NAMES];

/** "digit (true class)" for the digits, else "true class". */
function classAxisLabel(classNames?: readonly string[]): string {
  return classNounOf(classNames) === "digit" ? "digit (true class)" : "true class";
}

/** `given` when it names `classes` classes, else "0".."classes-1". */
function namesFor(classes: number, given?: readonly string[]): string[] {
  return given?.length === classes
    ? [...given]
    : Array.from({ length: classes }, (_, i) => String(i));
}

const toPct = (values: number[]) => values.map((v) => v * 100);

/** "seed 1" for one run, "mean of 3 seeds (±1 sd)" for several. */
function runsLabel(n: number): string {
  return n === 1 ? "1 run" : `mean of ${n} seeds, bars ±1 sd`;
}

/**
 * Part 1: learning curve (every run), per-class error and confusion matrix; `classNames` label
 * the classes (default the digits).
 */
export function part1ChartSpecs(
  runs: RunRecord[],
  title = "Part 1",
  classNames?: readonly string[],
): {
  curve: ChartSpec;
  perClass: ChartSpec;
  confusion: ChartSpec;
} {
  const curve = learningCurveChart({
    title: `${title}: learning curve (training loss and test error)`,
    xLabel: "training images seen",
    runs: runs.map((r) => ({
      label: "seed " + r.seed,
      loss: {
        x: r.learningCurve.trainLoss.map((p) => p.imagesSeen),
        y: r.learningCurve.trainLoss.map((p) => p.loss),
      },
      testErrorPct: {
        x: r.learningCurve.testError.map((p) => p.imagesSeen),
        y: r.learningCurve.testError.map((p) => p.error * 100),
      },
    })),
  });
  const classes = runs[0].perClassError.length;
  const names = namesFor(classes, classNames);
  const perClassRuns = Array.from(
    { length: classes },
    (_, c) => runs.map((r) => r.perClassError[c]),
  );
  const meanOf = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const sdOf = (v: number[]) => {
    if (v.length < 2) return 0;
    const m = meanOf(v);
    return Math.sqrt(v.reduce((a, b) => a + (b - m) * (b - m), 0) / (v.length - 1));
  };
  const perClass = barChart({
    title: `${title}: test error per class (${runsLabel(runs.length)})`,
    xLabel: classAxisLabel(classNames),
    yLabel: "test error (%)",
    categories: names,
    series: [{
      label: runs.length === 1 ? "seed " + runs[0].seed : `mean of ${runs.length} seeds`,
      values: perClassRuns.map((v) => meanOf(v) * 100),
      ...(runs.length > 1 ? { errors: perClassRuns.map((v) => sdOf(v) * 100) } : {}),
    }],
  });
  const summed = runs[0].confusion.map((row) => row.map(() => 0));
  for (const r of runs) r.confusion.forEach((row, t) => row.forEach((v, p) => (summed[t][p] += v)));
  const confusion = confusionMatrixChart(summed, names, {
    title: `${title}: confusion matrix (test set${
      runs.length > 1 ? `, counts summed over ${runs.length} runs` : ""
    })`,
  });
  return { curve, perClass, confusion };
}

/** One condition of a sweep (one sigma, one label-noise fraction). */
export interface SweepCondition {
  /** Legend label, e.g. "sigma 32". */
  label: string;
  /** The x value, e.g. 32. */
  value: number;
  /** Statistics of the condition's runs (test error, per class, curves). */
  summary: ConditionSummary;
}

/** Test error (mean, error bars ±1 sd) against the swept value. */
export function sweepErrorChart(o: {
  title: string;
  xLabel: string;
  conditions: SweepCondition[];
}): ChartSpec {
  const n = Math.max(...o.conditions.map((c) => c.summary.testError.n));
  return lineChart({
    title: `${o.title} (${runsLabel(n)})`,
    xLabel: o.xLabel,
    yLabel: "test error on the clean test set (%)",
    xType: "category",
    series: [{
      label: n === 1 ? "test error (1 run per condition)" : `mean test error (${n} seeds)`,
      x: o.conditions.map((c) => c.value),
      y: o.conditions.map((c) => c.summary.testError.mean * 100),
      yErr: o.conditions.map((c) => c.summary.testError.std * 100),
    }],
    yMin: 0,
  });
}

/** Per-class test error, one bar series per condition, error bars ±1 sd. */
export function sweepPerClassChart(o: {
  title: string;
  conditions: SweepCondition[];
  /** Class names (default the digits). */
  classNames?: readonly string[];
}): ChartSpec {
  const n = Math.max(...o.conditions.map((c) => c.summary.testError.n));
  const classes = o.conditions[0].summary.perClassError.mean.length;
  return barChart({
    title: `${o.title} (${runsLabel(n)})`,
    xLabel: classAxisLabel(o.classNames),
    yLabel: "test error (%)",
    categories: namesFor(classes, o.classNames),
    series: o.conditions.map((c) => ({
      label: c.label,
      values: toPct(c.summary.perClassError.mean),
      ...(n > 1 ? { errors: toPct(c.summary.perClassError.std) } : {}),
    })),
  });
}

/** Training loss and test error during training, one run-mean per condition. */
export function sweepCurvesChart(o: { title: string; conditions: SweepCondition[] }): ChartSpec {
  const n = Math.max(...o.conditions.map((c) => c.summary.testError.n));
  return learningCurveChart({
    title: `${o.title} (${n === 1 ? "1 run each" : `mean of ${n} seeds`})`,
    xLabel: "training images seen",
    runs: o.conditions.map((c) => ({
      label: c.label,
      loss: { x: c.summary.lossCurve.imagesSeen, y: c.summary.lossCurve.mean },
      testErrorPct: {
        x: c.summary.testCurve.imagesSeen,
        y: toPct(c.summary.testCurve.mean),
        ...(n > 1 ? { yErr: toPct(c.summary.testCurve.std) } : {}),
      },
    })),
  });
}

// ---------------------------------------------------------------------------------------------
// Part 2 test-time charts: the train x test noise grid, the corruption suite, the median filter,
// per-epoch noise and per-class changes with 95% intervals.

/** Half the width of an interval (for symmetric error bars); 0 when it is unbounded. */
function halfWidth(e: { low: number; high: number }): number {
  const h = (e.high - e.low) / 2;
  return Number.isFinite(h) ? h * 100 : 0;
}

/** A heatmap of `values` (rows: yCats top to bottom) with cell text and shade in [-1, 1]. */
export function heatmapChart(
  o: Pick<LineChartOptions, "title" | "xLabel" | "yLabel"> & {
    xCats: string[];
    yCats: string[];
    text: string[][];
    shade: number[][];
  },
): ChartSpec {
  const n = Math.max(o.xCats.length, o.yCats.length);
  const square = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const names = Array.from({ length: n }, (_, i) => String(i));
  const spec = confusionMatrixChart(square, names, {
    title: o.title,
    xLabel: o.xLabel,
    yLabel: o.yLabel,
  });
  const options = spec.options as Record<string, Record<string, Record<string, unknown>>>;
  options.scales.x.labels = [...o.xCats];
  options.scales.y.labels = [...o.yCats];
  options.plugins.matrixCells = {
    matrix: o.shade.map((row) => row.map((v) => Math.abs(v))),
    shade: o.shade,
    text: o.text,
  };
  (spec.options as Record<string, unknown>).aspectRatio = Math.max(1, o.xCats.length / n * 1.4);
  return spec;
}

/** A measured condition for the test-time charts: label and bands or effects per category. */
export interface BandSeries {
  /** Legend label. */
  label: string;
  /** Mean (fraction) and 95% interval per category; null where not measured. */
  values: ({ mean: number; low: number; high: number } | null)[];
}

/** Lines of mean error against a category axis (test sigma), bars = 95% intervals. */
export function bandLineChart(o: {
  title: string;
  xLabel: string;
  yLabel: string;
  x: number[];
  series: BandSeries[];
}): ChartSpec {
  return lineChart({
    title: o.title,
    xLabel: o.xLabel,
    yLabel: o.yLabel,
    xType: "category",
    yMin: 0,
    series: o.series.map((s) => ({
      label: s.label,
      x: o.x,
      y: s.values.map((v) => (v ? v.mean * 100 : NaN)),
      yErr: s.values.map((v) => (v ? halfWidth(v) : 0)),
    })),
  });
}

/** Grouped bars of means (fractions shown in % or points) with 95% intervals. */
export function bandBarChart(o: {
  title: string;
  xLabel: string;
  yLabel: string;
  categories: string[];
  series: BandSeries[];
}): ChartSpec {
  return barChart({
    title: o.title,
    xLabel: o.xLabel,
    yLabel: o.yLabel,
    categories: o.categories,
    series: o.series.map((s) => ({
      label: s.label,
      values: s.values.map((v) => (v ? v.mean * 100 : NaN)),
      errors: s.values.map((v) => (v ? halfWidth(v) : 0)),
    })),
  });
}
