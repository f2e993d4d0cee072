/**
 * The report's closing section: image noise or label noise, which is the bigger concern
 * (Parts 2 and 3 together).
 *
 * @module
 */
import { runsDifference } from "../noise_analysis.ts";
import type { LabelStudies } from "../label_studies.ts";
import type { Part2Metrics, Part3Metrics } from "../results.ts";
import { diffText, gridTable } from "./label_studies.ts";
import { effectText } from "./part2_testtime.ts";
import { absPoints, fracText, measuredText, pctText } from "./text.ts";
import type { ReportSectionOut } from "./types.ts";

export function bothSection(
  p2: Part2Metrics | undefined,
  p3: Part3Metrics | undefined,
): ReportSectionOut {
  const heading = "Image noise or label noise: which is the bigger concern?";
  if (!p2 || !p3) {
    // the grid of Part 3's studies measures both noises on its own
    const grid = p3?.studies?.grid.length ? ["", ...gridLines(p3.studies)] : [];
    return {
      heading,
      markdown: `This needs Parts 2 and 3; Part ${!p2 ? 2 : 3} has no results, so the question ` +
        "is not answered" +
        (grid.length ? " from them; Part 3's grid measures both noises:" : ".") +
        ["", ...grid].join("\n"),
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
  // conditions with the same seed share initialization and shuffling: paired by seed
  const imgCmp = runsDifference(img, c2[0]);
  const labCmp = runsDifference(lab, c3[0]);
  const between = runsDifference(img, lab);
  const lines: string[] = [];
  lines.push(
    `At the strongest levels tested: image noise sigma ${img.sigma} gave ` +
      `${measuredText(img.testError)} against ${measuredText(c2[0].testError)} at sigma ` +
      `${c2[0].sigma}, ${effectText(imgCmp)}; label noise at fraction ${fracText(lab.frac)} ` +
      `(${pctText(lab.changedFraction.mean)} of labels wrong) gave ${
        measuredText(lab.testError)
      } ` +
      `against ${measuredText(c3[0].testError)} at ${fracText(c3[0].frac)}, ${effectText(labCmp)}.`,
  );
  let verdict: string;
  if (between.seeds < 2) {
    verdict = `Measured once, ${
      between.mean > 0
        ? "the image-noise condition"
        : between.mean < 0
        ? "the label-noise condition"
        : "neither"
    } ended with the higher error (difference ${absPoints(between.mean)}); with one ` +
      "run per condition that is not established.";
  } else if (!between.established) {
    verdict = `The two end points differ by ${effectText(between)} (image minus label noise, ` +
      "paired by seed): in these experiments neither is measurably worse at its strongest level.";
  } else {
    verdict = `The ${between.mean > 0 ? "image-noise" : "label-noise"} end point is worse: ` +
      `${effectText(between)} (image minus label noise, paired by seed).`;
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
  const grid = p3.studies?.grid ?? [];
  if (grid.length) lines.push("", ...gridLines(p3.studies!));
  return { heading, markdown: lines.join("\n"), figures: [] };
}

/** Both noises at once: the grid, and which is worse and which easier to compensate. */
function gridLines(st: LabelStudies): string[] {
  const g = st.grid;
  const sMax = Math.max(...g.map((r) => r.sigma)), fMax = Math.max(...g.map((r) => r.frac));
  const cell = (sigma: number, frac: number, loss: string, fresh = false) =>
    g.filter((r) =>
      r.sigma === sigma && r.frac === frac && r.loss === loss && !r.noisePerEpoch === !fresh
    );
  const err = (runs: { seed: number; testError: number }[], seeds: number[]) =>
    seeds.map((s) => runs.find((r) => r.seed === s)!.testError);
  const seeds = st.seeds.filter((s) =>
    [cell(0, 0, "ce"), cell(sMax, 0, "ce"), cell(0, fMax, "ce")].every((c) =>
      c.some((r) => r.seed === s)
    )
  );
  const base = err(cell(0, 0, "ce"), seeds);
  const img = err(cell(sMax, 0, "ce"), seeds), lab = err(cell(0, fMax, "ce"), seeds);
  const out = [
    `**Both noises at once** (measured; first ${st.subsets.grid} training images, ` +
    `${st.profile.grid.epochs} epochs, ${st.seeds.length} seeds; differences paired over seeds, ` +
    "95% interval in points):",
    "",
    gridTable(st),
    "",
    `Damage at the strongest settings, against the clean cell: image noise sigma ${sMax} ` +
    `${diffText(img, base)}; label noise ${fracText(fMax)} ${diffText(lab, base)}; label noise ` +
    `minus image noise ${diffText(lab, img)}.`,
  ];
  const fresh = cell(sMax, 0, "ce", true);
  const seedsF = seeds.filter((s) => fresh.some((r) => r.seed === s));
  const freshText = fresh.length
    ? `Compensation of image noise by drawing it afresh every epoch (noise augmentation, ` +
      `cross-entropy) in the sigma ${sMax} cell: ${
        diffText(err(fresh, seedsF), err(cell(sMax, 0, "ce"), seedsF))
      } (fresh − fixed noise); with ${fracText(fMax)} label noise as well: ${
        diffText(
          err(cell(sMax, fMax, "ce", true), seedsF),
          err(cell(sMax, fMax, "ce"), seedsF),
        )
      }. (Reasoning.) In ${st.profile.grid.epochs} epoch(s) each image is seen only ` +
      `${st.profile.grid.epochs} time(s), so fresh and fixed noise can differ little; it is a ` +
      "compensation for longer training, where a network would otherwise fit the fixed noise."
    : "";
  const robust = [...new Set(g.map((r) => r.loss))].find((l) => l !== "ce");
  if (robust) {
    const seedsR = seeds.filter((s) =>
      [cell(sMax, 0, robust), cell(0, fMax, robust)].every((c) => c.some((r) => r.seed === s))
    );
    const imgR = err(cell(sMax, 0, robust), seedsR), labR = err(cell(0, fMax, robust), seedsR);
    out.push(
      "",
      `Compensation by ${robust.toUpperCase()} (the robust loss) in the same cells: image ` +
        `noise ${diffText(imgR, err(cell(sMax, 0, "ce"), seedsR))}, label noise ${
          diffText(labR, err(cell(0, fMax, "ce"), seedsR))
        } (robust − CE). ` +
        (fresh.length
          ? freshText
          : "The image-noise compensation (fresh noise every epoch, from the image-noise work) " +
            "was not run in this grid (the profile's `noisePerEpoch` is off)."),
    );
  } else if (fresh.length) out.push("", freshText);
  return out;
}
