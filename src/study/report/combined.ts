/**
 * The report's closing section: image noise or label noise, which is the bigger concern
 * (Parts 2 and 3 together).
 *
 * @module
 */
import { compare } from "../compare.ts";
import type { Part2Metrics, Part3Metrics } from "../results.ts";
import { absPoints, comparisonText, fracText, measuredText, pctText } from "./text.ts";
import type { ReportSectionOut } from "./types.ts";

export function bothSection(
  p2: Part2Metrics | undefined,
  p3: Part3Metrics | undefined,
): ReportSectionOut {
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
