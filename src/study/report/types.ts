/**
 * What the report generator reads (the parts' result files) and what it produces (sections of
 * Markdown with their figures).
 *
 * @module
 */
import type { ChartSpec } from "../../render/charts.ts";
import type {
  BaselinesMetrics,
  Part1Ablation,
  Part1Metrics,
  Part2Metrics,
  Part3Metrics,
} from "../results.ts";

/** What the generator reads. A part that is absent gets a "not run" section. */
export interface StudyResults {
  /** Part 1 results (clean LeNet-5 baseline), from `part1/metrics.json`. */
  part1?: Part1Metrics;
  /** Part 2 results (Gaussian image noise sweep), from `part2/metrics.json`. */
  part2?: Part2Metrics;
  /** Part 3 results (random-label sweep), from `part3/metrics.json`. */
  part3?: Part3Metrics;
  /** Part 1's ablation, from `part1/ablation/metrics.json` (absent: not run). */
  ablation?: Part1Ablation;
  /** The classical baselines, from `baselines/metrics.json` (absent: not run). */
  baselines?: BaselinesMetrics;
  /** Why each absent part is absent (e.g. "results/part2/metrics.json not found"). */
  missingReasons?: Partial<Record<1 | 2 | 3, string>>;
  /** Wall time of `deno task all` up to the report, when the report is part of it. */
  allSeconds?: number;
}

/** Options of `buildReport`. */
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
  /** Element id of the chart's canvas in the HTML report. */
  id: string;
  /** One line shown under the figure (Markdown and HTML). */
  caption: string;
  /** Path of the PNG relative to the results folder, e.g. "part2/error_vs_sigma.png". */
  png: string;
  /** The chart configuration, drawn live in the HTML report; absent for images (digit grid). */
  spec?: ChartSpec;
  /** Width in pixels: the HTML chart's maximum display width. */
  width: number;
  /** Height in pixels: the HTML chart's maximum display height. */
  height: number;
}

/** One section of the built report: its Markdown, then its figures. */
export interface ReportSectionOut {
  /** Section heading (plain text). */
  heading: string;
  /** Section body in Markdown; numbers come from the results files. */
  markdown: string;
  /** Figures shown after the body, in order. */
  figures: ReportFigure[];
}

/** The built report, rendered by `reportMarkdown` and `reportHtml`. */
export interface StudyReport {
  /** Report title (the page's top heading). */
  title: string;
  /** Sections in order: setup, Parts 1-3 (or "not run"), then both noises compared. */
  sections: ReportSectionOut[];
}

export const REPORT_TITLE = "WebGPU MNIST study: LeNet-5, image noise and label noise";
