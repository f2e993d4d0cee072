/**
 * Part 2 of the report: training on images with Gaussian pixel noise. Results table and figures,
 * how much noise is tolerable, camera noise, which classes suffer most.
 *
 * @module
 */
import { compare, toleratedUpTo } from "../compare.ts";
import type { ConditionSummary, Part2Metrics } from "../results.ts";
import { sweepFigures } from "./sweep.ts";
import {
  comparisonText,
  intText,
  measuredText,
  pctText,
  perClassMeasured,
  pointsText,
  seedsNote,
  table,
  takenFor,
  verdictCell,
} from "./text.ts";
import type { ReportSectionOut } from "./types.ts";

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
        intText(
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

export function part2Sections(m: Part2Metrics, budget: number): ReportSectionOut[] {
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
      intText(conds[conds.length - 1].noiseStats.images)
    } training images (the kernel's CPU reference, first seed). Most pixels clipped at 0 are ` +
    `background pixels whose noise was negative. "Background mean" is the average ` +
    `value of pixels that are 0 in the clean image: clipping turns zero-mean noise on a black ` +
    `background into a grey haze.`,
  ];
  const figures = sweepFigures(2, sweep, {
    file: "error_vs_sigma.png",
    title: "Part 2: test error vs training-image noise",
    xLabel: "noise standard deviation sigma (pixel units, 0..255 scale)",
  }, m.classNames);
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
