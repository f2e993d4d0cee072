/**
 * What the report generator reads (the parts' result files) and what it produces (sections of
 * Markdown with their figures).
 *
 * @module
 */
import type { ChartSpec } from "../../render/charts.ts";
import type { Part1Metrics, Part2Metrics, Part3Metrics } from "../results.ts";

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
