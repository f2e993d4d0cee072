/**
 * The figures of Part 2's test-time measurements, built from the metrics file's records, so the
 * experiment (PNG files) and the report (HTML charts) draw the same specs: the train x test
 * noise heatmap, error against test sigma with 95% intervals, the corruption suite, the median
 * filter's effect, per-epoch against fixed noise, per-class changes and the confusion change.
 *
 * Browser-safe.
 *
 * @module
 */
import { classNounOf } from "../data/catalog.ts";
import type { ChartSpec } from "../render/charts.ts";
import { bandBarChart, bandLineChart, type BandSeries, heatmapChart } from "./charts.ts";
import {
  confusionRateChange,
  gridBands,
  hasTestTime,
  meanBand,
  medianEffect,
  perClassChange,
} from "./noise_analysis.ts";
import type { Part2Compensation, Part2Condition, Part2TestTimeSetup } from "./results.ts";

/** One figure: its PNG file name (in the Part 2 folder), chart spec, size and caption. */
export interface Part2Figure {
  /** Key in metrics.json's `testTimeCharts`, e.g. "noiseGrid". */
  key: string;
  /** PNG file name, e.g. "noise_grid.png". */
  file: string;
  /** The chart configuration. */
  spec: ChartSpec;
  /** PNG width in pixels. */
  width: number;
  /** PNG height in pixels. */
  height: number;
  /** What the figure shows. */
  caption: string;
}

const sigmaName = (c: { sigma: number }) => `train sigma ${c.sigma}`;

/** The suite's error of every run of a condition at entry j, with the 95% band over seeds. */
function suiteBand(runs: Part2Condition["runs"], j: number, median = false) {
  const v = runs.map((r) => {
    const e = r.testTime!.suite[j];
    return median ? e.median!.error : e.error;
  });
  return meanBand(v);
}

/** Every test-time figure the metrics support (none for files without test-time results). */
export function part2TestFigures(
  conditions: readonly Part2Condition[],
  setup: Part2TestTimeSetup | undefined,
  compensation?: Part2Compensation,
  classNames?: readonly string[],
): Part2Figure[] {
  const conds = [...conditions].sort((a, b) => a.sigma - b.sigma);
  const figs: Part2Figure[] = [];
  const n = conds[0]?.runs.length ?? 0;
  const seedsText = n === 1 ? "1 seed, no intervals" : `mean of ${n} seeds, bars: 95% intervals`;
  if (setup && hasTestTime(conds)) {
    const bands = conds.map((c) => gridBands(c, setup));
    const all = bands.flat().map((b) => b.mean);
    const min = Math.min(...all), span = Math.max(Math.max(...all) - min, 1e-9);
    figs.push({
      key: "noiseGrid",
      file: "noise_grid.png",
      width: 900,
      height: 520,
      caption: `Test error (%) of models trained at each sigma (rows) on test images with ` +
        `Gaussian noise of each sigma (columns), ${setup.gridImages} test images, mean over ` +
        `${n} seed(s).`,
      spec: heatmapChart({
        title: `Part 2: test error (%) by training and test noise (${n} seed(s))`,
        xLabel: "test-image noise sigma (0..255 scale)",
        yLabel: "training noise sigma",
        xCats: setup.testSigmas.map(String),
        yCats: conds.map((c) => String(c.sigma)),
        text: bands.map((row) => row.map((b) => (b.mean * 100).toFixed(1))),
        shade: bands.map((row) => row.map((b) => 0.08 + 0.92 * Math.sqrt((b.mean - min) / span))),
      }),
    });
    figs.push({
      key: "errorVsTestSigma",
      file: "error_vs_test_sigma.png",
      width: 900,
      height: 520,
      caption: `Test error against the test-image noise, one line per training sigma ` +
        `(${seedsText}).`,
      spec: bandLineChart({
        title: `Part 2: test error vs test-image noise (${seedsText})`,
        xLabel: "test-image noise sigma (0..255 scale)",
        yLabel: "test error (%)",
        x: setup.testSigmas,
        series: conds.map((c, i) => ({ label: sigmaName(c), values: bands[i] })),
      }),
    });
    const cats = setup.suite.map((e) => e.label);
    figs.push({
      key: "corruptions",
      file: "corruptions.png",
      width: 1200,
      height: 560,
      caption: `Test error on the corruption suite (${setup.suiteImages} test images), one bar ` +
        `per training sigma (${seedsText}).`,
      spec: bandBarChart({
        title: `Part 2: test error under camera-like corruptions (${seedsText})`,
        xLabel: "corruption and level",
        yLabel: "test error (%)",
        categories: cats,
        series: conds.map((c) => ({
          label: sigmaName(c),
          values: setup.suite.map((_, j) => suiteBand(c.runs, j)),
        })),
      }),
    });
    const medianSeries: BandSeries[] = conds.map((c) => ({
      label: sigmaName(c),
      values: setup.suite.map((_, j) => medianEffect(c, j, setup.suiteImages)),
    }));
    figs.push({
      key: "median",
      file: "median_filter.png",
      width: 1200,
      height: 560,
      caption: "Change of the test error when the 3x3 median filter is applied before the " +
        "model (negative: the filter helps), paired per image and seed, bars: 95% intervals.",
      spec: bandBarChart({
        title: "Part 2: effect of the 3x3 median filter (points; below 0 = helps)",
        xLabel: "corruption and level",
        yLabel: "error change (percentage points)",
        categories: cats,
        series: medianSeries,
      }),
    });
    if (compensation && hasTestTime(compensation.conditions)) {
      const series: BandSeries[] = [];
      for (const c of compensation.conditions) {
        series.push({
          label: c.label,
          values: setup.suite.map((_, j) => suiteBand(c.runs, j)),
        });
      }
      figs.push({
        key: "compensation",
        file: "compensation.png",
        width: 1200,
        height: 560,
        caption:
          `Noise redrawn every epoch against fixed per-image noise (sigma ${compensation.sigma}, ${compensation.epochs} epochs on ${compensation.trainImages} training images), ` +
          `on the corruption suite (${seedsText}).`,
        spec: bandBarChart({
          title: `Part 2: per-epoch vs fixed training noise, sigma ${compensation.sigma}`,
          xLabel: "corruption and level",
          yLabel: "test error (%)",
          categories: cats,
          series,
        }),
      });
    }
  }
  if (conds.length > 1 && conds[0].sigma === 0) {
    const base = conds[0];
    figs.push({
      key: "perClassChange",
      file: "per_class_change.png",
      width: 900,
      height: 500,
      caption: "Change of each class's error from sigma 0, paired by seed; bars: 95% " +
        "intervals over seeds (a class's change is established where its bar excludes 0).",
      spec: bandBarChart({
        title: `Part 2: per-class error change from sigma 0 (${seedsText})`,
        xLabel: classNounOf(classNames) === "digit" ? "digit (true class)" : "true class",
        yLabel: "error change (percentage points)",
        categories: base.perClassError.mean.map((_, k) => classNames?.[k] ?? String(k)),
        series: conds.slice(1).map((c) => ({
          label: `sigma ${c.sigma}`,
          values: perClassChange(base, c),
        })),
      }),
    });
    const top = conds[conds.length - 1];
    const change = confusionRateChange(base.confusion, top.confusion);
    const maxAbs = Math.max(
      ...change.flatMap((row, t) => row.filter((_, p) => p !== t).map(Math.abs)),
      1e-9,
    );
    figs.push({
      key: "confusionChange",
      file: "confusion_change.png",
      width: 640,
      height: 640,
      caption: `Change of the confusion rates from sigma 0 to sigma ${top.sigma} (percentage ` +
        `points of the true class's images, all seeds pooled; red: more often, blue: less ` +
        `often; the diagonal is left blank).`,
      spec: heatmapChart({
        title: `Part 2: confusion change, sigma 0 to ${top.sigma} (points)`,
        xLabel: "predicted class",
        yLabel: "true class",
        xCats: change.map((_, k) => String(k)),
        yCats: change.map((_, k) => String(k)),
        text: change.map((row, t) =>
          row.map((v, p) => (p === t || Math.abs(v) < 0.0005 ? "" : (v * 100).toFixed(1)))
        ),
        shade: change.map((row, t) =>
          row.map((v, p) => (p === t ? 0 : Math.sign(v) * Math.sqrt(Math.abs(v) / maxAbs)))
        ),
      }),
    });
  }
  return figs;
}
