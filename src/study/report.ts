/**
 * The report generator: turns the result files of Parts 1-3 into `REPORT.md` and the sections of
 * `report.html`, answering the study's questions with the measured numbers.
 *
 * Every sentence that compares two conditions goes through {@link compare} (src/study/compare.ts):
 * a difference is called real only when it exceeds the larger standard deviation over seeds of
 * the two conditions; with one run per condition there is no spread, and the sentence says the
 * difference was measured once and is not established.
 *
 * Pure and browser-safe: the caller reads the files and writes the outputs.
 *
 * @module
 */
import type { ChartSpec } from "../render/charts.ts";
import { htmlReport, markdownToHtml, type ReportSection } from "../render/html.ts";
import { metricsFromConfusion, topConfusions } from "../train/metrics.ts";
import type { Summary } from "../util/stats.ts";
import {
  part1ChartSpecs,
  type SweepCondition,
  sweepCurvesChart,
  sweepErrorChart,
  sweepPerClassChart,
} from "./charts.ts";
import { compare, type Comparison, isReal, type Measured } from "./compare.ts";
import {
  type ConditionSummary,
  type MeanCurve,
  type Part1Metrics,
  type Part2Metrics,
  type Part3Metrics,
  type RunRecord,
  type SetupRecord,
  summarizeRuns,
} from "./results.ts";

/** What the generator reads. A part that is absent gets a "not run" section. */
export interface StudyResults {
  part1?: Part1Metrics;
  part2?: Part2Metrics;
  part3?: Part3Metrics;
  /** Why each absent part is absent (e.g. "results/part2/metrics.json not found"). */
  missingReasons?: Partial<Record<1 | 2 | 3, string>>;
  /** Wall time of `deno task all` up to the report, when the report is part of it. */
  allSeconds?: number;
}

export interface ReportOptions {
  /**
   * The example error budget for "how much noise could a production classifier tolerate":
   * the largest increase in test error over the clean baseline that counts as tolerable.
   * Default 0.005 (half a percentage point).
   */
  toleranceBudget?: number;
}

/** A figure: a PNG the parts wrote (path relative to the results folder) and its chart spec. */
export interface ReportFigure {
  id: string;
  caption: string;
  /** Path of the PNG relative to the results folder, e.g. "part2/error_vs_sigma.png". */
  png: string;
  /** The chart configuration, drawn live in the HTML report; absent for images (digit grid). */
  spec?: ChartSpec;
  width: number;
  height: number;
}

export interface ReportSectionOut {
  heading: string;
  markdown: string;
  figures: ReportFigure[];
}

export interface StudyReport {
  title: string;
  sections: ReportSectionOut[];
}

export const REPORT_TITLE = "WebGPU MNIST study: LeNet-5, image noise and label noise";

// ---------------------------------------------------------------------------------------------
// Formatting

/** A fraction as a percentage with two decimals: 0.01234 -> "1.23%". */
export function pctText(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

/** A difference of fractions in percentage points, signed: 0.0045 -> "+0.45 points". */
export function pointsText(d: number): string {
  const v = (d * 100).toFixed(2);
  const sign = d > 0 && Number(v) !== 0 ? "+" : d < 0 && Number(v) !== 0 ? "−" : "±";
  return `${sign}${v.replace("-", "")} points`;
}

/** The size of a difference in percentage points, unsigned: -0.0045 -> "0.45 points". */
export function absPoints(d: number): string {
  return `${Math.abs(d * 100).toFixed(2)} points`;
}

/** "1.23%" for one run, "1.23% ± 0.10" (mean ± sd in points) for several. */
export function measuredText(s: Measured): string {
  return s.n === 1 ? pctText(s.mean) : `${pctText(s.mean)} ± ${(s.std * 100).toFixed(2)}`;
}

function int(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${String(s % 60).padStart(2, "0")} s` : `${s} s`;
}

const fracText = (f: number) => `${+(f * 100).toFixed(4)}%`;

/**
 * One clause comparing `a` with `b`, e.g. "+0.45 points (larger sd 0.10 points): higher by more
 * than the spread". Never calls a difference real unless {@link compare} does.
 */
export function comparisonText(c: Comparison): string {
  const d = pointsText(c.diff);
  switch (c.verdict) {
    case "single-run":
      return `${d} (measured once: no spread, so not established)`;
    case "within-spread":
      return `${d}, within the spread (larger sd ${(c.spread! * 100).toFixed(2)} points): ` +
        `not distinguishable`;
    case "higher":
      return `${d}, more than the spread (larger sd ${(c.spread! * 100).toFixed(2)} points): ` +
        `a real increase by the report's rule`;
    case "lower":
      return `${d}, more than the spread (larger sd ${(c.spread! * 100).toFixed(2)} points): ` +
        `a real decrease by the report's rule`;
  }
}

/** Short verdict for tables. */
function verdictCell(c: Comparison): string {
  switch (c.verdict) {
    case "single-run":
      return "measured once";
    case "within-spread":
      return "within spread";
    case "higher":
      return "real increase";
    case "lower":
      return "real decrease";
  }
}

function seedsNote(n: number): string {
  return n === 1
    ? "One run per condition: there is no spread, so differences are measured once and not " +
      "established; rerun with `--seeds 3` or more to judge them"
    : `${n} runs per condition with derived seeds (mean ± sample standard deviation)`;
}

function table(header: string[], rows: string[][], align?: ("l" | "r")[]): string {
  const sep = header.map((_, i) => (align?.[i] === "l" ? ":--" : "--:"));
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(header), `| ${sep.join(" | ")} |`, ...rows.map(line)].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Analysis helpers (exported for tests)

/** Least-squares line through (x, y): slope, its standard error and the residual sd. */
export function linearFit(x: number[], y: number[]): { slope: number; slopeSe: number } | null {
  const n = x.length;
  if (n < 3) return null;
  const mx = x.reduce((a, b) => a + b, 0) / n, my = y.reduce((a, b) => a + b, 0) / n;
  let sxx = 0, sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i] - mx) ** 2;
    sxy += (x[i] - mx) * (y[i] - my);
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  let rss = 0;
  for (let i = 0; i < n; i++) rss += (y[i] - my - slope * (x[i] - mx)) ** 2;
  return { slope, slopeSe: Math.sqrt(rss / (n - 2) / sxx) };
}

/** The trend of a curve over its last part (from `fromFraction` of the x range on). */
export interface Trend {
  points: number;
  fromX: number;
  toX: number;
  first: number;
  last: number;
  /** Least-squares change per 10,000 images (null with fewer than 3 points). */
  slopePer10k: number | null;
  slopeSePer10k: number | null;
  /** "falling" or "rising" when |slope| > 2 standard errors, "flat" otherwise, null if unknown. */
  direction: "falling" | "rising" | "flat" | null;
}

export function trend(curve: MeanCurve, fromFraction = 0.5): Trend | null {
  const xs = curve.imagesSeen;
  if (xs.length === 0) return null;
  const end = xs[xs.length - 1];
  const idx = xs.map((x, i) => [x, i] as const).filter(([x]) => x >= fromFraction * end);
  if (idx.length === 0) return null;
  const x = idx.map(([v]) => v), y = idx.map(([, i]) => curve.mean[i]);
  const fit = linearFit(x, y);
  let direction: Trend["direction"] = null;
  if (fit) {
    direction = Math.abs(fit.slope) > 2 * fit.slopeSe
      ? (fit.slope < 0 ? "falling" : "rising")
      : "flat";
  }
  return {
    points: x.length,
    fromX: x[0],
    toX: x[x.length - 1],
    first: y[0],
    last: y[y.length - 1],
    slopePer10k: fit ? fit.slope * 10_000 : null,
    slopeSePer10k: fit ? fit.slopeSe * 10_000 : null,
    direction,
  };
}

/** Test-set sampling standard error of an error rate p measured on n images. */
export function samplingError(p: number, n: number): number {
  return Math.sqrt(Math.max(0, p * (1 - p)) / n);
}

/** Images to audit to estimate a rate near p to within ±margin at 95% confidence. */
export function auditSampleSize(p: number, margin: number): number {
  return Math.ceil((1.96 * 1.96 * p * (1 - p)) / (margin * margin));
}

/** Per-class test error as Measured values. */
function perClassMeasured(s: ConditionSummary): Measured[] {
  return s.perClassError.mean.map((m, c) => ({
    mean: m,
    std: s.perClassError.std[c],
    n: s.testError.n,
  }));
}

/** The classes a true class is most often taken for: "4 (12×), 7 (5×)". */
function takenFor(confusion: number[][], truth: number, k = 2): string {
  const row = confusion[truth];
  const wrong = row.map((count, p) => ({ p, count })).filter((e) => e.p !== truth && e.count > 0)
    .sort((a, b) => b.count - a.count || a.p - b.p).slice(0, k);
  return wrong.length ? wrong.map((e) => `${e.p} (${int(e.count)}×)`).join(", ") : "nothing";
}

/**
 * The largest condition value (sorted ascending) up to which every condition stays acceptable
 * against the baseline (the first): by the spread rule (no real increase), or within a budget.
 */
export function toleratedUpTo(
  values: number[],
  summaries: Measured[],
  acceptable: (c: Comparison) => boolean,
): { upTo: number; firstBad: number | null } {
  let upTo = values[0];
  for (let i = 1; i < values.length; i++) {
    if (!acceptable(compare(summaries[i], summaries[0]))) return { upTo, firstBad: values[i] };
    upTo = values[i];
  }
  return { upTo, firstBad: null };
}

// ---------------------------------------------------------------------------------------------
// Sections

function missingSection(part: 1 | 2 | 3, reason: string | undefined): ReportSectionOut {
  const what = { 1: "the clean baseline", 2: "image noise", 3: "label noise" }[part];
  return {
    heading: `Part ${part}: not run`,
    markdown:
      `**Part ${part} (${what}) has no results**: ${
        reason ?? `results/part${part}/metrics.json was not found`
      }. Produce it with \`deno task part${part}\` (or everything with \`deno task all\`), then ` +
      `run \`deno task report\` again. The questions of Part ${part} are not answered below.`,
    figures: [],
  };
}

function recipeText(r: SetupRecord["recipe"]): string {
  const o = r.optimizer;
  const opt = o.kind === "adam"
    ? `Adam (lr ${o.lr}, betas ${o.beta1}/${o.beta2}, eps ${o.eps}, weight decay ${o.weightDecay})`
    : `SGD (lr ${o.lr}, momentum ${o.momentum}, weight decay ${o.weightDecay})`;
  const sched = r.schedule.kind === "cosine"
    ? `cosine decay with ${Number(r.schedule.warmupFraction) * 100}% warm-up`
    : "constant learning rate";
  return `${opt}, ${sched}, batch ${r.batchSize}, ${r.epochs} epoch${r.epochs === 1 ? "" : "s"}`;
}

/**
 * Sigma 0 and fraction 0 are Part 1's recipe; with the same seeds, data and adapter the engine
 * must reproduce Part 1's numbers exactly. Says whether it did (null when not comparable).
 */
function reproducibilityCheck(r: StudyResults): string | null {
  const p1 = r.part1;
  if (!p1) return null;
  const same = (p: Part2Metrics | Part3Metrics) =>
    JSON.stringify(p.recipe) === JSON.stringify(p1.recipe) && p.trainData === p1.trainData &&
    p.testData === p1.testData && p.adapter === p1.adapter &&
    JSON.stringify(p.seeds) === JSON.stringify(p1.runs.map((x) => x.seed));
  const reused: string[] = [];
  const c2r = r.part2?.conditions.find((c) => c.sigma === 0);
  const c3r = r.part3?.conditions.find((c) => c.frac === 0);
  if (c2r?.runs.some((x) => x.reusedFrom)) reused.push("sigma 0 (Part 2)");
  if (c3r?.runs.some((x) => x.reusedFrom)) reused.push("fraction 0 (Part 3)");
  if (reused.length) {
    return `${reused.join(" and ")} reuse Part 1's runs instead of training them again: same ` +
      "seeds, recipe and data, and training is deterministic (bit-identical results for the " +
      "same seed on the same adapter, checked by the test suite), so the numbers are the same " +
      "by construction. `deno task all --rerun-baselines` trains them again and lets this " +
      "report compare them.";
  }
  const found: string[] = [];
  let allEqual = true;
  const c2 = r.part2?.conditions.find((c) => c.sigma === 0);
  if (r.part2 && c2 && same(r.part2)) {
    found.push(`sigma 0 in Part 2 (${c2.runs.map((x) => pctText(x.testError)).join(", ")})`);
    allEqual &&= c2.runs.every((x, i) => x.testError === p1.runs[i].testError);
  }
  const c3 = r.part3?.conditions.find((c) => c.frac === 0);
  if (r.part3 && c3 && same(r.part3)) {
    found.push(`fraction 0 in Part 3 (${c3.runs.map((x) => pctText(x.testError)).join(", ")})`);
    allEqual &&= c3.runs.every((x, i) => x.testError === p1.runs[i].testError);
  }
  if (!found.length) return null;
  const p1Text = p1.runs.map((x) => pctText(x.testError)).join(", ");
  return allEqual
    ? `${found.join(" and ")} repeat Part 1 (${p1Text}) with the same seeds and gave exactly ` +
      "the same test errors, as deterministic training should."
    : `${found.join(" and ")} repeat Part 1 (${p1Text}) with the same seeds but gave different ` +
      "test errors: training was not reproducible on this adapter, so treat small differences " +
      "with extra caution.";
}

function setupSection(r: StudyResults): ReportSectionOut {
  const parts = [r.part1, r.part2, r.part3];
  const present = parts.filter((p): p is NonNullable<typeof p> => p !== undefined);
  const first = present[0];
  const lines: string[] = [];
  lines.push(
    `- **Model**: ${first.model} (modern LeNet-5: two 5×5 convolutions with ReLU and 2×2 ` +
      `max-pooling, dense 400-120-84-10), trained from scratch; every heavy pass is a WGSL ` +
      `compute shader.`,
    `- **Recipe**: ${recipeText(first.recipe)}; cross-entropy loss.`,
    `- **Data**: ${int(first.trainImages)} training images (${first.trainData}), ` +
      `${int(first.testImages)} test images (${first.testData}); the test set is always clean.`,
    `- **Adapter**: ${first.adapter}${
      (first as { cpuAdapter?: boolean }).cpuAdapter ? " (a CPU implementation of WebGPU)" : ""
    }; Deno ${(first as { deno?: string }).deno ?? "?"}.`,
  );
  const seedParts = ([[1, r.part1], [2, r.part2], [3, r.part3]] as const)
    .filter(([, p]) => p)
    .map(([k, p]) => {
      const runs = k === 1
        ? (p as Part1Metrics).runs.length
        : (p as Part2Metrics | Part3Metrics).conditions[0].runs.length;
      const seeds = k === 1
        ? (p as Part1Metrics).runs.map((x) => x.seed)
        : (p as Part2Metrics | Part3Metrics).seeds;
      return `Part ${k}: master seed ${p!.seed}, ${runs} run${runs === 1 ? "" : "s"} per ` +
        `condition (seeds ${seeds.join(", ")})`;
    });
  lines.push(
    `- **Seeds**: ${seedParts.join("; ")}. A run seed derives the initialization, each ` +
      `epoch's shuffle, the image noise and the label corruption; the same seed on the same ` +
      `adapter gives identical numbers.`,
  );
  // Set-ups that differ between parts make cross-part comparisons unfair: say so.
  const differences: string[] = [];
  for (const p of present.slice(1)) {
    if (JSON.stringify(p.recipe) !== JSON.stringify(first.recipe)) differences.push("recipe");
    if (p.trainImages !== first.trainImages || p.testImages !== first.testImages) {
      differences.push("data");
    }
    if (p.adapter !== first.adapter) differences.push("adapter");
  }
  if (differences.length) {
    lines.push(
      `- **Warning**: the parts differ in ${[...new Set(differences)].join(", ")}; ` +
        `comparisons across parts are not like for like. Rerun with \`deno task all\`.`,
    );
  }
  const check = reproducibilityCheck(r);
  if (check) lines.push(`- **Reproducibility**: ${check}`);
  const timeRows = ([[1, r.part1], [2, r.part2], [3, r.part3]] as const)
    .filter(([, p]) => p)
    .map(([k, p]) => {
      const runs: RunRecord[] = k === 1
        ? (p as Part1Metrics).runs
        : (p as Part2Metrics | Part3Metrics).conditions.flatMap((c): RunRecord[] => c.runs);
      const trained = runs.filter((x) => !x.reusedFrom);
      const reused = runs.length - trained.length;
      const train = trained.reduce((a, x) => a + x.trainSeconds, 0);
      const rate = trained.length
        ? trained.reduce((a, x) => a + x.imagesPerSecond, 0) / trained.length
        : NaN;
      return [
        `Part ${k}`,
        `${trained.length}${reused ? ` (+${reused} reused from Part 1)` : ""}`,
        duration(train),
        Number.isFinite(rate) ? int(rate) : "–",
        duration(p!.timings.totalSeconds),
      ];
    });
  lines.push(
    "",
    "Time taken (training excludes the test-error evaluations during training):",
    "",
    table(
      ["part", "runs trained", "training", "images/s (mean)", "total"],
      timeRows,
      ["l", "r", "r", "r", "r"],
    ),
  );
  if (r.allSeconds !== undefined) {
    lines.push("", `\`deno task all\` took ${duration(r.allSeconds)} up to writing this report.`);
  }
  const p1 = r.part1;
  const testN = first.testImages;
  const exampleP = p1 ? summarizeRuns(p1.runs).testError.mean : null;
  lines.push(
    "",
    "**How conditions are compared.** Differences are in percentage points. A difference " +
      "between two conditions counts as real only when it exceeds the larger of their two " +
      "standard deviations over seeds. With one run per condition there is no spread: such " +
      "differences are reported as measured once and no conclusion is drawn from them; " +
      "`--seeds N` repeats every condition N times.",
  );
  if (exampleP !== null) {
    lines.push(
      "",
      `For scale: an error rate of ${pctText(exampleP)} measured on ${int(testN)} test images ` +
        `has a test-set sampling error of about ±${
          (samplingError(exampleP, testN) * 100).toFixed(2)
        } points (binomial); seed-to-seed variation adds to that.`,
    );
  }
  return { heading: "Set-up", markdown: lines.join("\n"), figures: [] };
}

function part1Sections(m: Part1Metrics): ReportSectionOut[] {
  const s = summarizeRuns(m.runs);
  const n = s.testError.n;
  const pooled = metricsFromConfusion(s.confusion);
  const perClass = perClassMeasured(s);
  const wrong = Math.round(s.testError.mean * m.testImages);
  const rows = perClass.map((pc, c) => [
    String(c),
    int(pooled.support[c] / n),
    measuredText(pc),
    pooled.precision[c].toFixed(4),
    pooled.recall[c].toFixed(4),
    pooled.f1[c].toFixed(4),
    takenFor(s.confusion, c),
  ]);
  const specs = part1ChartSpecs(m.runs, "Part 1");
  const results = [
    `Test error: **${measuredText(s.testError)}**` +
    (n === 1
      ? ` (${int(wrong)} of ${int(m.testImages)} test images wrong).`
      : ` (mean ± sd over ${n} seeds; runs: ${
        m.runs.map((x) => pctText(x.testError)).join(", ")
      }).`),
    "",
    `Per class${
      n > 1
        ? " (error: mean ± sd over seeds; precision, recall and F1 from the " +
          "confusion counts summed over the runs)"
        : ""
    }:`,
    "",
    table(
      ["digit", "test images", "error", "precision", "recall", "F1", "most often taken for"],
      rows,
      ["l", "r", "r", "r", "r", "r", "l"],
    ),
  ];
  const figures: ReportFigure[] = [
    {
      id: "part1-curve",
      caption: "Training loss (mean over the last 50 batches, left axis) and test error (right " +
        "axis, measured 10 times during the epoch).",
      png: "part1/learning_curve.png",
      spec: specs.curve,
      width: 900,
      height: 500,
    },
    {
      id: "part1-per-class",
      caption: "Test error of each digit.",
      png: "part1/per_class_error.png",
      spec: specs.perClass,
      width: 800,
      height: 450,
    },
    {
      id: "part1-confusion",
      caption: "Confusion matrix on the test set: rows are true digits, columns predictions; " +
        "colour is the row fraction.",
      png: "part1/confusion_matrix.png",
      spec: specs.confusion,
      width: 700,
      height: 640,
    },
  ];

  // Answers
  const a: string[] = [];
  a.push(
    `**What is the test error?** ${measuredText(s.testError)} on ${int(m.testImages)} test ` +
      `images after ${m.recipe.epochs} epoch${m.recipe.epochs === 1 ? "" : "s"}` +
      (n === 1 ? ", one run." : `, mean ± sd over ${n} seeds.`),
  );
  const order = perClass.map((pc, c) => ({ c, pc })).sort((x, y) => y.pc.mean - x.pc.mean);
  const hardest = order.slice(0, 3), easiest = order[order.length - 1];
  const hardVsEasy = compare(hardest[0].pc, easiest.pc);
  const top = topConfusions(s.confusion, 5);
  a.push(
    "",
    `**Which classes are hardest, and what are they confused with?** Highest error: ${
      hardest.map((h) =>
        `${h.c} (${measuredText(h.pc)}, mostly taken for ${takenFor(s.confusion, h.c)})`
      )
        .join("; ")
    }. Lowest: ${easiest.c} (${measuredText(easiest.pc)}). Hardest against easiest: ${
      comparisonText(hardVsEasy)
    }.` +
      (top.length
        ? ` The most frequent confusions (true → predicted, counts${
          n > 1 ? ` summed over ${n} runs` : ""
        }): ${top.map((t) => `${t.truth} → ${t.predicted} (${int(t.count)}×)`).join(", ")}.`
        : ""),
  );
  if (!isReal(hardVsEasy)) {
    a.push(
      "",
      n === 1
        ? `This ranking comes from a single run; per-class errors rest on about ${
          int(m.testImages / perClass.length)
        } test images each, so neighbouring ranks can swap between seeds.`
        : "The ranking is not established: the hardest and easiest classes differ by no more " +
          "than the spread over seeds.",
    );
  }
  const err = trend(s.testCurve), loss = trend(s.lossCurve);
  a.push(
    "",
    "**Would more training help (judged from epoch-1 information only)?** " +
      moreTraining(err, loss, m),
  );
  a.push(
    "",
    "**What else would improve accuracy?** (Reasoning, not measured here.) More epochs with a " +
      "decaying learning rate (`--epochs 5 --schedule cosine`)" +
      (err?.direction === "falling"
        ? ", since the test error was still falling at the end of " +
          "the epoch"
        : "") +
      "; data augmentation with small shifts, rotations and " +
      "elastic distortions, which targets exactly the shape confusions listed above; batch " +
      "normalization and a somewhat wider network (more filters in the convolutions); " +
      "regularization (weight decay, dropout) once training runs long enough to overfit; and " +
      "averaging an ensemble of independently seeded networks.",
  );
  return [
    { heading: "Part 1: results", markdown: results.join("\n"), figures },
    { heading: "Part 1: answers", markdown: a.join("\n"), figures: [] },
  ];
}

function moreTraining(err: Trend | null, loss: Trend | null, m: Part1Metrics): string {
  if (!err || !loss || err.direction === null || loss.direction === null) {
    return "There are too few measurements in the second half of the epoch to judge the trend " +
      "(the run was too short); run on the full training set.";
  }
  const span = `from ${int(err.fromX)} to ${int(err.toX)} images`;
  const slope = (t: Trend, unit: (v: number) => string) =>
    `least-squares slope ${unit(t.slopePer10k!)} per 10,000 images, standard error ${
      unit(t.slopeSePer10k!).replace(/^[+−±]/, "")
    }`;
  const lossUnit = (v: number) => (v >= 0 ? "+" : "−") + Math.abs(v).toFixed(4);
  const facts = `Over the second half of the epoch (${span}) the test error went from ` +
    `${pctText(err.first)} to ${pctText(err.last)} (${slope(err, pointsText)}), and the training ` +
    `loss from ${loss.first.toFixed(4)} to ${loss.last.toFixed(4)} (${slope(loss, lossUnit)}). ` +
    `A trend counts as falling or rising when the slope exceeds twice its standard error.`;
  const epoch1 = m.recipe.epochs === 1
    ? " In epoch 1 every batch's loss is measured before the network has trained on that " +
      "batch, so the training loss is itself an estimate of the loss on unseen images: there is " +
      "no overfitting gap yet."
    : "";
  let verdict: string;
  if (err.direction === "falling" && loss.direction === "falling") {
    verdict = " Both are still falling, so more training is likely to help: the network has " +
      "not converged, and nothing suggests overfitting.";
  } else if (loss.direction === "falling") {
    verdict = ` The training loss is still falling but the test error is ${err.direction} ` +
      "over this stretch: more epochs should still lower the loss, but the gain in test error " +
      "is not visible at this resolution; a decaying learning rate is the cheaper next step.";
  } else if (err.direction === "falling") {
    verdict = ` The test error is still falling while the training loss is ${loss.direction}: ` +
      "some gain from more training is likely, mostly from a smaller learning rate late in " +
      "training (the constant rate keeps the loss noisy).";
  } else {
    verdict = ` Neither is clearly falling (test error ${err.direction}, training loss ` +
      `${loss.direction}): with this recipe more epochs at the same learning rate would help ` +
      "little; a decaying learning rate or a larger model would be the next things to try.";
  }
  return facts + epoch1 + verdict;
}

function sweepFigures(
  part: 2 | 3,
  sweep: SweepCondition[],
  x: { file: string; title: string; xLabel: string },
): ReportFigure[] {
  const what = part === 2 ? "noise level" : "label-noise level";
  return [
    {
      id: `part${part}-error`,
      caption: "Test error on the clean test set; error bars ±1 sd over seeds (none with one run).",
      png: `part${part}/${x.file}`,
      spec: sweepErrorChart({ title: x.title, xLabel: x.xLabel, conditions: sweep }),
      width: 800,
      height: 480,
    },
    {
      id: `part${part}-per-class`,
      caption: `Test error of each digit at each ${what}.`,
      png: `part${part}/per_class_error.png`,
      spec: sweepPerClassChart({
        title: `Part ${part}: test error per class at each ${what}`,
        conditions: sweep,
      }),
      width: 900,
      height: 480,
    },
    {
      id: `part${part}-curves`,
      caption: `Training loss (solid, left axis) and test error (dashed, right axis) during ` +
        `training at each ${what}.`,
      png: `part${part}/learning_curves.png`,
      spec: sweepCurvesChart({
        title: `Part ${part}: learning curves at each ${what}`,
        conditions: sweep,
      }),
      width: 900,
      height: 520,
    },
  ];
}

/** Per-class changes from the baseline to `to`, largest first, with the spread verdicts. */
function classShifts(base: ConditionSummary, to: ConditionSummary) {
  const b = perClassMeasured(base), t = perClassMeasured(to);
  return t.map((pc, c) => ({ c, cmp: compare(pc, b[c]), from: b[c], to: pc }))
    .sort((x, y) => y.cmp.diff - x.cmp.diff);
}

function sufferMost(
  base: ConditionSummary,
  worst: ConditionSummary,
  baseName: string,
  worstName: string,
): string {
  const shifts = classShifts(base, worst);
  const top = shifts.slice(0, 3);
  const n = worst.testError.n;
  let text = `From ${baseName} to ${worstName} the largest per-class increases were ${
    top.map((s) =>
      `${s.c} (${measuredText(s.from)} → ${measuredText(s.to)}, ${
        pointsText(s.cmp.diff)
      }; now mostly ` +
      `taken for ${takenFor(worst.confusion, s.c)})`
    ).join("; ")
  }.`;
  if (n === 1 || base.testError.n === 1) {
    text += " Measured once: with one run per condition these per-class differences are not " +
      `established (a class has about ${
        int(
          base.confusion.flat().reduce((a, b) => a + b, 0) / base.testError.n /
            base.confusion.length,
        )
      } test images, and rankings can change between seeds).`;
  } else {
    const real = shifts.filter((s) => s.cmp.verdict === "higher");
    text += real.length
      ? ` Increases beyond the spread: ${real.map((s) => String(s.c)).join(", ")}; the other ` +
        "classes' changes are within the spread."
      : " None of the per-class increases exceeds the spread over seeds, so no class can be " +
        "said to suffer more than the others.";
  }
  return text;
}

function part2Sections(m: Part2Metrics, budget: number): ReportSectionOut[] {
  const conds = [...m.conditions].sort((a, b) => a.sigma - b.sigma);
  const n = conds[0].testError.n;
  const base = conds[0];
  const baseName = `sigma ${base.sigma}`;
  const cleanBase = base.sigma === 0;
  const sweep = conds.map((c) => ({ label: `sigma ${c.sigma}`, value: c.sigma, summary: c }));
  const rows = conds.map((c, i) => {
    const cmp = compare(c.testError, base.testError);
    const worst = perClassMeasured(c).map((pc, k) => ({ k, pc })).sort((x, y) =>
      y.pc.mean - x.pc.mean
    )[0];
    return [
      String(c.sigma),
      measuredText(c.testError),
      i === 0 ? "baseline" : pointsText(cmp.diff),
      i === 0 ? "" : verdictCell(cmp),
      `${pctText(c.noiseStats.clippedLow)} / ${pctText(c.noiseStats.clippedHigh)}`,
      c.noiseStats.backgroundMean.toFixed(1),
      `${worst.k} (${pctText(worst.pc.mean)})`,
    ];
  });
  const results = [
    `Training images get noise N(0, sigma²) on the 0..255 pixel scale, clipped to [0, 255] and ` +
    `**not re-quantized** (the network sees float values); the noise is drawn once per image on ` +
    `the GPU from a counter-based generator keyed by (seed, image index, pixel), so it does not ` +
    `depend on batch order. Testing is on the clean test set. ${seedsNote(n)}.`,
    "",
    table(
      [
        "sigma",
        "test error",
        `vs ${baseName}`,
        "rule",
        "pixels clipped at 0 / at 255",
        "background mean (0..255)",
        "worst class",
      ],
      rows,
      ["r", "r", "r", "l", "r", "r", "l"],
    ),
    "",
    `Pixel statistics are over the first ${
      int(conds[conds.length - 1].noiseStats.images)
    } training images (the kernel's CPU reference, first seed). Most pixels clipped at 0 are ` +
    `background pixels whose noise was negative. "Background mean" is the average ` +
    `value of pixels that are 0 in the clean image: clipping turns zero-mean noise on a black ` +
    `background into a grey haze.`,
  ];
  const figures = sweepFigures(2, sweep, {
    file: "error_vs_sigma.png",
    title: "Part 2: test error vs training-image noise",
    xLabel: "noise standard deviation sigma (pixel units, 0..255 scale)",
  });
  figures.push({
    id: "part2-samples",
    caption: "One training digit of each class at each sigma, gathered by the training kernel " +
      "with the first seed's noise (rounded to bytes for display).",
    png: `part2/${m.samples?.file ?? "samples.png"}`,
    width: 1024,
    height: 420,
  });

  const a: string[] = [];
  a.push(
    `**Error at each sigma** (clean test set): ${
      conds.map((c) => `sigma ${c.sigma}: ${measuredText(c.testError)}`).join("; ")
    }.` +
      (cleanBase ? "" : ` No sigma-0 run was included, so comparisons use sigma ${base.sigma}.`),
  );
  for (const c of conds.slice(1)) {
    a.push(
      `- sigma ${c.sigma} vs ${baseName}: ${comparisonText(compare(c.testError, base.testError))}.`,
    );
  }
  // Tolerance
  const values = conds.map((c) => c.sigma), sums = conds.map((c) => c.testError);
  const byBudget = toleratedUpTo(values, sums, (c) => c.diff <= budget);
  const budgetText = `${(budget * 100).toFixed(2)} points`;
  let tol = `**How much noise could a production classifier tolerate?** This experiment adds the ` +
    `noise to the training images only; it measures how much noise in the training data the ` +
    `network tolerates and still classifies clean images well. `;
  tol += conds.length === 1
    ? `Only sigma ${base.sigma} was run, so there is nothing to compare it with; run several ` +
      "values (`--sigmas 0,8,32,128`)."
    : byBudget.firstBad === null
    ? `With an example error budget of ${budgetText} over ${baseName}, every sigma tested (up to ` +
      `${byBudget.upTo}) stayed within budget.`
    : `With an example error budget of ${budgetText} over ${baseName}, the error stayed within ` +
      `budget up to sigma ${byBudget.upTo}; at sigma ${byBudget.firstBad} it rose by ${
        pointsText(sums[values.indexOf(byBudget.firstBad)].mean - sums[0].mean)
      }.`;
  if (conds.length === 1) {
    // nothing to add
  } else if (n > 1) {
    const byRule = toleratedUpTo(values, sums, (c) => c.verdict !== "higher");
    tol += byRule.firstBad === null
      ? ` By the spread rule, no sigma tested raised the error beyond the spread over seeds.`
      : ` By the spread rule, the first real increase is at sigma ${byRule.firstBad} (${
        pointsText(sums[values.indexOf(byRule.firstBad)].mean - sums[0].mean)
      }, more than the larger sd of the two).`;
  } else {
    tol += " These are single runs, so the budget test is a measured-once reading, not an " +
      "established threshold; rerun with `--seeds` to put error bars on it.";
  }
  const top = conds[conds.length - 1];
  if (top.sigma > 0) {
    tol +=
      ` For scale: at sigma ${top.sigma}, ${
        pctText(top.noiseStats.clippedLow + top.noiseStats.clippedHigh)
      } of the pixels were clipped, the black background averaged ${
        top.noiseStats.backgroundMean.toFixed(1)
      } instead of 0, and pixels moved by ${top.noiseStats.meanAbsChange.toFixed(1)} on average ` +
      "(see the digit grid). A classifier that must work on noisy inputs should also be tested " +
      "on noisy test images, which this study does not do.";
  }
  a.push("", tol);
  a.push(
    "",
    "**Does Gaussian noise model real camera noise, and how to compensate?** (Reasoning.) " +
      "Only partly. The noise here is additive, independent per pixel, of the same strength " +
      "on ink and background, and fixed per image. Real sensor noise is dominated by photon " +
      "shot noise, which is Poisson: its variance grows with the brightness of the pixel, so " +
      "it is signal-dependent; read noise (close to Gaussian) and dark current add to it, fixed-" +
      "pattern noise repeats across images, and demosaicing, denoising and JPEG compression " +
      "make what remains spatially correlated and blocky. A photographed digit also suffers " +
      "blur, uneven lighting, paper texture and perspective, which usually matter more than " +
      "pixel noise. To compensate: preprocess inputs the way MNIST was made (this engine's " +
      "digit preprocessing thresholds, crops, scales into a 20-pixel box and centres by mass), " +
      "which removes most background noise; denoise before classifying (median or non-local " +
      "means filters); train with augmentation that matches the deployment noise (Poisson-" +
      "Gaussian noise at measured levels, blur, JPEG artefacts) and re-draw it every epoch; " +
      "calibrate the camera (dark frames, flat fields); and fine-tune on a set of real images.",
  );
  if (conds.length > 1) {
    a.push(
      "",
      `**Which classes suffer most from noise?** ${
        sufferMost(base, top, baseName, `sigma ${top.sigma}`)
      }`,
    );
  }
  return [
    { heading: "Part 2: image noise — results", markdown: results.join("\n"), figures },
    { heading: "Part 2: answers", markdown: a.join("\n"), figures: [] },
  ];
}

function part3Sections(m: Part3Metrics, budget: number): ReportSectionOut[] {
  const conds = [...m.conditions].sort((a, b) => a.frac - b.frac);
  const n = conds[0].testError.n;
  const base = conds[0];
  const N = m.trainImages;
  const baseName = `${fracText(base.frac)} noisy labels`;
  const sweep = conds.map((c) => ({
    label: `${fracText(c.frac)} noisy`,
    value: c.frac,
    summary: c,
  }));
  const uniform = m.labelMode === "uniform";
  const audit = conds.flatMap((c) => c.runs).find((r) => r.auditImages)?.auditImages;
  const auditText = audit === undefined
    ? "its own training set"
    : audit >= N
    ? "its whole training set"
    : `the first ${int(audit)} training images`;
  const rows = conds.map((c, i) => {
    const cmp = compare(c.testError, base.testError);
    const d = c.trainDisagreement;
    return [
      fracText(c.frac),
      int(c.corrupted),
      `${int(c.changed.mean)} (${pctText(c.changedFraction.mean)})`,
      measuredText(c.testError),
      i === 0 ? "baseline" : pointsText(cmp.diff),
      i === 0 ? "" : verdictCell(cmp),
      d ? measuredText(d) : "n/a",
      d ? pctText(Math.max(0, d.mean - c.testError.mean)) : "n/a",
    ];
  });
  const results = [
    `Exactly round(frac × ${int(N)}) training images, chosen without replacement, get ${
      uniform
        ? "a uniformly random label in 0..9 (which can equal the true one, so about a tenth do " +
          "not change)"
        : "a random label different from the true one"
    }; the test labels are untouched. ${seedsNote(n)}. "Changed" counts labels that actually ` +
    'differ from the original (mean over runs). "Disagrees with training labels" is the ' +
    `trained model evaluated on ${auditText} against the labels it was trained on; ` +
    '"estimated noise" is that disagreement minus the model\'s clean test error.',
    "",
    table(
      [
        "fraction",
        "randomized",
        "changed",
        "test error",
        `vs ${baseName}`,
        "rule",
        "disagrees with training labels",
        "estimated noise",
      ],
      rows,
      ["r", "r", "r", "r", "r", "l", "r", "r"],
    ),
  ];
  const figures = sweepFigures(3, sweep, {
    file: "error_vs_frac.png",
    title: "Part 3: test error vs label noise",
    xLabel: `fraction of training images given a random label (${m.labelMode})`,
  });

  const a: string[] = [];
  a.push(
    `**Error at each fraction** (clean test set): ${
      conds.map((c) =>
        `${fracText(c.frac)} (${int(c.changed.mean)} labels changed): ${measuredText(c.testError)}`
      ).join("; ")
    }.`,
  );
  for (const c of conds.slice(1)) {
    a.push(
      `- ${fracText(c.frac)} vs ${baseName}: ${
        comparisonText(compare(c.testError, base.testError))
      }.`,
    );
  }
  const top = conds[conds.length - 1];
  const topCmp = compare(top.testError, base.testError);
  const values = conds.map((c) => c.frac), sums = conds.map((c) => c.testError);
  const byBudget = toleratedUpTo(values, sums, (c) => c.diff <= budget);
  let importance = "**How important are clean labels?** ";
  if (top.frac > 0) {
    const keep = uniform ? 1 - top.frac * 0.9 : 1 - top.frac;
    const other = uniform ? top.frac / 10 : top.frac / 9;
    importance += (conds.length === 1
      ? `Only fraction ${fracText(top.frac)} was run, so there is no baseline to compare it ` +
        "with; run several (`--fracs 0,0.05,0.15,0.5`). "
      : `With ${pctText(top.changedFraction.mean)} of the training labels actually ` +
        `wrong (fraction ${fracText(top.frac)}), the test error changed by ${
          comparisonText(topCmp)
        } against ${baseName}. ` +
        `With an example budget of ${(budget * 100).toFixed(2)} points, the error stayed ` +
        `within budget ${
          byBudget.firstBad === null
            ? `at every fraction tested (up to ${fracText(byBudget.upTo)})`
            : `up to ${fracText(byBudget.upTo)} and left it at ${fracText(byBudget.firstBad)}`
        }${n === 1 ? " (single runs: a measured-once reading)" : ""}. `) +
      `(Reasoning.) Random labels of this kind leave the most likely label of every digit ` +
      `unchanged: at fraction ${fracText(top.frac)} an image of digit c still carries label c ` +
      `with probability ${pctText(keep)}, and any particular wrong digit only ${
        pctText(other)
      }, so the network can still learn the right decision rule, with less confidence (the ` +
      "training loss curves sit higher). Labels that are wrong in a systematic way (4s often " +
      "labelled 9, one annotator's habit) move the decision boundary itself and are far more " +
      "harmful; so is training long enough to memorize the wrong labels. Clean labels matter " +
      "most in exactly those cases, and for the last fraction of a percent of accuracy.";
    const d = top.trainDisagreement;
    if (d) {
      // If the model ignored the wrong labels it would disagree with the changed ones and, on
      // the rest, make its usual errors; "within 20%" is an explicit (if arbitrary) band.
      const c = top.changedFraction.mean, e = top.testError.mean;
      const ignored = c + (1 - c) * e;
      const relation = d.mean < 0.8 * ignored
        ? "well below the"
        : d.mean > 1.2 * ignored
        ? "well above the"
        : "within 20% of the";
      importance += ` After training with ${fracText(top.frac)} noise the model disagrees with ` +
        `${pctText(d.mean)} of its training labels, ${relation} ${pctText(ignored)} expected if ` +
        "it simply ignored the wrong labels (changed fraction c plus its test error e on the rest: " +
        "c + (1 − c)·e)" +
        (d.mean < 0.8 * ignored
          ? ": it has partly fitted the wrong labels."
          : d.mean > 1.2 * ignored
          ? ": it also gets many correctly labelled training images wrong."
          : ": it has not memorized them.");
    }
  } else {
    importance += "Only the clean condition was run, so there is nothing to compare.";
  }
  a.push("", importance);

  const mid = conds.find((c) => c.frac > 0 && c.trainDisagreement) ?? null;
  let budgetText = "**How to compensate for label noise on a budget?** (Reasoning, with the " +
    "measured flag counts.) Re-label selectively: train once, then send only the training images " +
    "whose label the model disagrees with to a (more expensive) annotator";
  if (mid?.trainDisagreement) {
    budgetText +=
      `: at ${fracText(mid.frac)} label noise that is about ${
        int(mid.trainDisagreement.mean * N)
      } of ${int(N)} images (${pctText(mid.trainDisagreement.mean)}, measured on ${auditText}), ` +
      `for ${int(mid.changed.mean)} labels that were actually wrong`;
  }
  budgetText += ". Cross-validated predictions (a model that did not train on the image) make " +
    "these flags more reliable. Among cheap fixes: a noise-robust loss (label smoothing, " +
    "generalized or symmetric cross-entropy, bootstrapping toward the model's own prediction), " +
    "early stopping before the network memorizes wrong labels, down-weighting high-loss " +
    "examples, two cheap annotators per image with a third only on disagreements, and a small " +
    "trusted, carefully labelled subset to estimate the noise transition matrix and correct the " +
    "loss with it. Collecting more data also helps when the noise is uniform, since it averages " +
    "out.";
  a.push("", budgetText);

  const p = mid ? mid.changedFraction.mean : 0.05;
  let quantify = "**How to quantify label noise in a data set?** Audit a random sample by hand: " +
    `the fraction of wrong labels in the sample estimates the noise rate with a binomial ` +
    `confidence interval; estimating a rate near ${pctText(p)} to within ±1 point at 95% ` +
    `confidence needs about ${int(auditSampleSize(p, 0.01))} audited images, to within ±2 ` +
    `points about ${int(auditSampleSize(p, 0.02))}. Model-based estimates need no audit: the ` +
    "disagreement between a trained model and the labels, minus the model's own error rate " +
    "(measured on a small clean set), estimates the noise rate; confident learning refines " +
    "this per class pair from out-of-sample predicted probabilities, and agreement between " +
    "independent annotators (Cohen's kappa) measures it at collection time.";
  const est = conds.filter((c) => c.frac > 0 && c.trainDisagreement);
  if (est.length) {
    quantify += " Measured here, with the test error as the model's own error: " + est.map((c) =>
      `at ${fracText(c.frac)}, estimated ${
        pctText(Math.max(0, c.trainDisagreement!.mean - c.testError.mean))
      } vs ${pctText(c.changedFraction.mean)} actually changed`
    ).join("; ") + ".";
    const low = est.filter((c) =>
      c.trainDisagreement!.mean - c.testError.mean < c.changedFraction.mean
    );
    quantify += low.length === est.length
      ? " Every estimate is below the actual fraction: the model evaluated its own training " +
        "images, on which it has partly fitted the wrong labels; out-of-sample (cross-validated) " +
        "predictions remove that bias."
      : low.length === 0
      ? " Every estimate is at or above the actual fraction: the model's error on its training " +
        "set exceeds its clean test error."
      : " Some estimates fall below the actual fraction and some above; out-of-sample " +
        "(cross-validated) predictions make the estimate more reliable.";
  }
  a.push("", quantify);
  return [
    { heading: "Part 3: label noise — results", markdown: results.join("\n"), figures },
    { heading: "Part 3: answers", markdown: a.join("\n"), figures: [] },
  ];
}

function bothSection(p2: Part2Metrics | undefined, p3: Part3Metrics | undefined): ReportSectionOut {
  const heading = "Image noise or label noise: which is the bigger concern?";
  if (!p2 || !p3) {
    return {
      heading,
      markdown: `This needs Parts 2 and 3; Part ${!p2 ? 2 : 3} has no results, so the question ` +
        "is not answered.",
      figures: [],
    };
  }
  const c2 = [...p2.conditions].sort((a, b) => a.sigma - b.sigma);
  const c3 = [...p3.conditions].sort((a, b) => a.frac - b.frac);
  if (c2.length < 2 || c3.length < 2) {
    return {
      heading,
      markdown: "This needs at least two levels in each of Parts 2 and 3 (a baseline and a noisy " +
        `one); Part ${c2.length < 2 ? 2 : 3} ran only one, so the question is not answered.`,
      figures: [],
    };
  }
  const img = c2[c2.length - 1], lab = c3[c3.length - 1];
  const imgCmp = compare(img.testError, c2[0].testError);
  const labCmp = compare(lab.testError, c3[0].testError);
  const between = compare(img.testError, lab.testError);
  const lines: string[] = [];
  lines.push(
    `At the strongest levels tested: image noise sigma ${img.sigma} gave ` +
      `${measuredText(img.testError)} against ${measuredText(c2[0].testError)} at sigma ` +
      `${c2[0].sigma}, ${comparisonText(imgCmp)}; label noise at fraction ${fracText(lab.frac)} ` +
      `(${pctText(lab.changedFraction.mean)} of labels wrong) gave ${
        measuredText(lab.testError)
      } ` +
      `against ${measuredText(c3[0].testError)} at ${fracText(c3[0].frac)}, ${
        comparisonText(labCmp)
      }.`,
  );
  let verdict: string;
  if (between.verdict === "single-run") {
    verdict = `Measured once, ${
      between.diff > 0
        ? "the image-noise condition"
        : between.diff < 0
        ? "the label-noise condition"
        : "neither"
    } ended with the higher error (difference ${absPoints(between.diff)}); with one ` +
      "run per condition that is not established.";
  } else if (between.verdict === "within-spread") {
    verdict = `The two end points differ by ${absPoints(between.diff)}, within the ` +
      "spread: in these experiments neither is measurably worse at its strongest level.";
  } else {
    verdict = `The ${between.verdict === "higher" ? "image-noise" : "label-noise"} end point is ` +
      `worse by ${absPoints(between.diff)}, more than the spread.`;
  }
  lines.push(
    "",
    verdict + " The two scales are not commensurable (a sigma is not a fraction of labels), so " +
      "this compares the strongest settings of the study, not equal amounts of damage.",
    "",
    "(Reasoning.) In practice label noise is usually the bigger concern. The uniform, independent label " +
      "noise simulated here is the mildest kind; real label errors are systematic " +
      "(concentrated on confusable pairs and on particular annotators), cannot be removed by " +
      "preprocessing, and are memorized with longer training. Pixel noise in training data, by " +
      "contrast, is partly removed by preprocessing and behaves like augmentation at moderate " +
      "levels. Image noise is the bigger concern when it appears at test time in a form the " +
      "training data did not contain, which this study does not measure.",
  );
  return { heading, markdown: lines.join("\n"), figures: [] };
}

/** Builds the report's sections from whatever parts are present. */
export function buildReport(r: StudyResults, o: ReportOptions = {}): StudyReport {
  const budget = o.toleranceBudget ?? 0.005;
  if (!r.part1 && !r.part2 && !r.part3) {
    throw new Error("no results to report: none of Parts 1, 2 and 3 has a metrics file");
  }
  const sections: ReportSectionOut[] = [setupSection(r)];
  sections.push(...(r.part1 ? part1Sections(r.part1) : [missingSection(1, r.missingReasons?.[1])]));
  sections.push(
    ...(r.part2 ? part2Sections(r.part2, budget) : [missingSection(2, r.missingReasons?.[2])]),
  );
  sections.push(
    ...(r.part3 ? part3Sections(r.part3, budget) : [missingSection(3, r.missingReasons?.[3])]),
  );
  sections.push(bothSection(r.part2, r.part3));
  return { title: REPORT_TITLE, sections };
}

/** Summary helper for tests and callers: the Measured form of a Summary. */
export function measured(s: Summary): Measured {
  return { mean: s.mean, std: s.std, n: s.n };
}

/** `REPORT.md`: the sections with their figures as PNG links (relative to the results folder). */
export function reportMarkdown(
  report: StudyReport,
  createdAt = new Date().toISOString(),
  resultsDir = "results",
): string {
  const out = [
    `# ${report.title}`,
    "",
    `Generated by \`deno task report\` on ${createdAt} from \`${resultsDir}/part{1,2,3}/metrics.json\`. ` +
    "Every number below comes from those files. The same report with interactive charts: " +
    "[report.html](report.html).",
  ];
  for (const s of report.sections) {
    out.push("", `## ${s.heading}`, "", s.markdown);
    for (const f of s.figures) out.push("", `![${f.caption}](${f.png})`, "", `*${f.caption}*`);
  }
  return out.join("\n") + "\n";
}

/**
 * `report.html`: self-contained (chart.js inlined); charts are drawn from the same specs as the
 * PNGs, figures without a spec (the digit grid) are images resolved by `resolveImage` (e.g. to
 * data URLs).
 */
export function reportHtml(
  report: StudyReport,
  o: {
    chartJsSource: string;
    resolveImage: (png: string) => string;
    createdAt?: string;
    resultsDir?: string;
  },
): string {
  const sections: ReportSection[] = report.sections.map((s) => {
    const images = s.figures.filter((f) => !f.spec)
      .map((f) => `![${f.caption}](${f.png})\n\n*${f.caption}*`).join("\n\n");
    return {
      heading: s.heading,
      html: markdownToHtml(s.markdown + (images ? `\n\n${images}` : ""), {
        resolveImage: o.resolveImage,
      }),
      charts: s.figures.filter((f) => f.spec).map((f) => ({
        id: f.id,
        config: f.spec!,
        caption: f.caption,
        width: f.width,
        height: f.height,
      })),
    };
  });
  sections.unshift({
    heading: "About this report",
    html: markdownToHtml(
      `Generated by \`deno task report\` on ${o.createdAt ?? new Date().toISOString()} from ` +
        `\`${o.resultsDir ?? "results"}/part{1,2,3}/metrics.json\`; every number comes from ` +
        "those files. The charts " +
        "are drawn by the inlined chart.js from the same configurations as the PNGs next to " +
        "`REPORT.md`; this page works offline.",
    ),
  });
  return htmlReport({ title: report.title, chartJsSource: o.chartJsSource, sections });
}
