/**
 * Charts of the label-noise studies (src/study/label_studies.ts): memorization curves, robust
 * losses against cross-entropy, the relabeling curve and the estimated noise matrix.
 * Browser-safe.
 *
 * @module
 */
import {
  type ChartSpec,
  confusionMatrixChart,
  lineChart,
  type LineSeries,
} from "../render/charts.ts";
import { summarize } from "../util/stats.ts";
import type { LabelStudies, MemorizationRun } from "./label_studies.ts";

const pctLabel = (f: number) => `${+(f * 100).toFixed(2)}%`;

/** Mean and sd over runs of a per-epoch value. */
function epochSeries(
  runs: MemorizationRun[],
  label: string,
  value: (r: MemorizationRun, i: number) => number,
): LineSeries {
  const epochs = Math.min(...runs.map((r) => r.epochs.length));
  const x: number[] = [], y: number[] = [], yErr: number[] = [];
  for (let i = 0; i < epochs; i++) {
    const v = runs.map((r) => value(r, i)).filter(Number.isFinite);
    if (v.length === 0) continue;
    const s = summarize(v);
    x.push(runs[0].epochs[i].epoch);
    y.push(s.mean * 100);
    yErr.push(s.std * 100);
  }
  return { label, x, y, yErr };
}

function groups(
  runs: MemorizationRun[],
): { loss: string; frac: number; runs: MemorizationRun[] }[] {
  const out = new Map<string, { loss: string; frac: number; runs: MemorizationRun[] }>();
  for (const r of runs) {
    const k = `${r.loss}/${r.frac}`;
    if (!out.has(k)) out.set(k, { loss: r.loss, frac: r.frac, runs: [] });
    out.get(k)!.runs.push(r);
  }
  return [...out.values()];
}

/** Agreement with the noisy training labels per epoch: changed labels and untouched ones. */
export function memorizationFitChart(st: LabelStudies, loss = "ce"): ChartSpec {
  const series: LineSeries[] = [];
  for (const g of groups(st.memorization).filter((g) => g.loss === loss)) {
    if (g.frac > 0) {
      series.push(
        epochSeries(
          g.runs,
          `${pctLabel(g.frac)}: changed labels fitted`,
          (r, i) => r.epochs[i].fitCorrupted,
        ),
      );
    }
    series.push(
      epochSeries(
        g.runs,
        `${pctLabel(g.frac)}: untouched labels fitted`,
        (r, i) => r.epochs[i].fitClean,
      ),
    );
  }
  return lineChart({
    title: `Memorization (${loss.toUpperCase()}): training images predicted as labelled, per epoch`,
    xLabel: "epoch",
    yLabel: "agreement with the (noisy) training label, %",
    series,
    yMin: 0,
    yMax: 100,
  });
}

/** Clean test error per epoch for each loss and fraction. */
export function memorizationErrorChart(st: LabelStudies): ChartSpec {
  return lineChart({
    title: "Clean test error per epoch (memorization runs)",
    xLabel: "epoch",
    yLabel: "clean test error, %",
    series: groups(st.memorization).map((g) =>
      epochSeries(
        g.runs,
        `${g.loss.toUpperCase()} ${pctLabel(g.frac)}`,
        (r, i) => r.epochs[i].testError,
      )
    ),
    yMin: 0,
  });
}

/** Test error against the label-noise fraction for each loss (the part's schedule). */
export function robustLossChart(st: LabelStudies): ChartSpec {
  const losses = [...new Set(st.robust.map((r) => r.loss))];
  return lineChart({
    title: "Robust losses: clean test error vs label noise",
    xLabel: "fraction of training labels randomized",
    yLabel: "clean test error, %",
    xType: "category",
    series: losses.map((loss) => {
      const rows = st.robust.filter((r) => r.loss === loss);
      const s = rows.map((r) => summarize(r.runs.map((x) => x.testError)));
      return {
        label: loss.toUpperCase(),
        x: rows.map((r) => r.frac),
        y: s.map((v) => v.mean * 100),
        yErr: s.map((v) => v.std * 100),
      };
    }),
    yMin: 0,
  });
}

/** Test error against the relabeling budget: confident learning's suspects vs random images. */
export function relabelChart(st: LabelStudies): ChartSpec {
  const series: LineSeries[] = [];
  for (const frac of [...new Set(st.relabel.map((r) => r.frac))]) {
    for (const method of ["cl", "random"] as const) {
      const budgets = [...new Set(st.relabel.filter((r) => r.frac === frac).map((r) => r.budget))]
        .sort((a, b) => a - b);
      const pts = budgets.map((b) =>
        summarize(
          st.relabel.filter((r) =>
            r.frac === frac && r.budget === b &&
            (b === 0 ? r.method === "none" : r.method === method)
          ).map((r) => r.testError),
        )
      );
      series.push({
        label: `${pctLabel(frac)} noise, ${method === "cl" ? "most suspicious first" : "random"}`,
        x: budgets,
        y: pts.map((p) => p.mean * 100),
        yErr: pts.map((p) => p.std * 100),
      });
    }
  }
  return lineChart({
    title: "Budgeted relabeling: clean test error after relabeling K images and retraining",
    xLabel: "relabeled images K",
    yLabel: "clean test error, %",
    series,
    yMin: 0,
  });
}

/** The confident joint (counts) of one confident-learning run as a heat map. */
export function noiseMatrixChart(st: LabelStudies, frac: number): ChartSpec | undefined {
  const run = st.confidentLearning.find((r) => r.frac === frac);
  if (!run) return undefined;
  return confusionMatrixChart(run.confidentJoint, Array.from({ length: 10 }, (_, i) => String(i)), {
    title: `Confident joint at ${pctLabel(frac)} uniform label noise (seed ${run.seed})`,
    xLabel: "estimated true label",
    yLabel: "given (noisy) label",
  });
}
