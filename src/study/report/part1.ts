/**
 * Part 1 of the report: the clean baseline's results (test error, per-class table, figures) and
 * answers (hardest classes, whether more training would help, what else would).
 *
 * @module
 */
import { metricsFromConfusion, topConfusions } from "../../train/metrics.ts";
import { part1ChartSpecs } from "../charts.ts";
import { classNounOf } from "../../data/catalog.ts";
import { compare, isReal, type Trend, trend } from "../compare.ts";
import { ablationLabel } from "../ablation.ts";
import {
  type AblationRow,
  type Part1Ablation,
  type Part1Metrics,
  summarizeRuns,
} from "../results.ts";
import { intervalText } from "./part2_testtime.ts";
import {
  comparisonText,
  intText,
  measuredText,
  pctText,
  perClassMeasured,
  pointsText,
  table,
  takenFor,
} from "./text.ts";
import type { ReportFigure, ReportSectionOut } from "./types.ts";

/**
 * Part 1's sections: results, then answers; `ablation` (results/part1/ablation/metrics.json)
 * answers "what else would improve accuracy" by measurement.
 */
export function part1Sections(m: Part1Metrics, ablation?: Part1Ablation): ReportSectionOut[] {
  const s = summarizeRuns(m.runs);
  const n = s.testError.n;
  const pooled = metricsFromConfusion(s.confusion);
  const perClass = perClassMeasured(s);
  const wrong = Math.round(s.testError.mean * m.testImages);
  // the data set's class names (older results files have none: the digits)
  const names = m.classNames ?? perClass.map((_, c) => String(c));
  const noun = classNounOf(m.classNames), nouns = noun === "class" ? "classes" : `${noun}s`;
  const rows = perClass.map((pc, c) => [
    names[c],
    intText(pooled.support[c] / n),
    measuredText(pc),
    pooled.precision[c].toFixed(4),
    pooled.recall[c].toFixed(4),
    pooled.f1[c].toFixed(4),
    takenFor(s.confusion, c, 2, names),
  ]);
  const specs = part1ChartSpecs(m.runs, "Part 1", m.classNames);
  const results = [
    `Test error: **${measuredText(s.testError)}**` +
    (n === 1
      ? ` (${intText(wrong)} of ${intText(m.testImages)} test images wrong).`
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
      [noun, "test images", "error", "precision", "recall", "F1", "most often taken for"],
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
      caption: `Test error of each ${noun}.`,
      png: "part1/per_class_error.png",
      spec: specs.perClass,
      width: 800,
      height: 450,
    },
    {
      id: "part1-confusion",
      caption: `Confusion matrix on the test set: rows are true ${nouns}, columns predictions; ` +
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
    `**What is the test error?** ${measuredText(s.testError)} on ${intText(m.testImages)} test ` +
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
        `${names[h.c]} (${measuredText(h.pc)}, mostly taken for ${
          takenFor(s.confusion, h.c, 2, names)
        })`
      )
        .join("; ")
    }. Lowest: ${names[easiest.c]} (${measuredText(easiest.pc)}). Hardest against easiest: ${
      comparisonText(hardVsEasy)
    }.` +
      (top.length
        ? ` The most frequent confusions (true → predicted, counts${
          n > 1 ? ` summed over ${n} runs` : ""
        }): ${
          top.map((t) => `${names[t.truth]} → ${names[t.predicted]} (${intText(t.count)}×)`)
            .join(", ")
        }.`
        : ""),
  );
  if (!isReal(hardVsEasy)) {
    a.push(
      "",
      n === 1
        ? `This ranking comes from a single run; per-class errors rest on about ${
          intText(m.testImages / perClass.length)
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
  const measured = ablation ? ablationAnswer(m, ablation) : null;
  a.push("", measured?.text ?? ablationMissing(ablation, err?.direction === "falling"));
  return [
    { heading: "Part 1: results", markdown: results.join("\n"), figures },
    { heading: "Part 1: answers", markdown: a.join("\n"), figures: measured?.figures ?? [] },
  ];
}

/** The reasoning-only answer, when no (matching) ablation was measured. */
function ablationMissing(ablation: Part1Ablation | undefined, falling: boolean): string {
  return "**What else would improve accuracy?** " +
    (ablation
      ? "The ablation in part1/ablation/ was measured with another recipe or data than this " +
        "Part 1, so it is not used; run `deno task part1` (or `deno task all`) again to measure " +
        "it. "
      : "Not measured: run `deno task part1` (its ablation runs by default; `--ablation none` " +
        "skips it) or `deno task all`. ") +
    "(Reasoning.) More epochs with a decaying learning rate" +
    (falling ? ", since the test error was still falling at the end of the epoch" : "") +
    "; data augmentation with small shifts, rotations and elastic distortions, which targets " +
    "the shape confusions listed above; a wider network; regularization (weight decay, " +
    "dropout) once training runs long enough to overfit; and averaging an ensemble of " +
    "independently seeded networks.";
}

/** The measured answer: the ablation table, what was established, and the chart. */
function ablationAnswer(
  m: Part1Metrics,
  ab: Part1Ablation,
): { text: string; figures: ReportFigure[] } | null {
  const matches = JSON.stringify(ab.baselineRecipe) === JSON.stringify(m.recipe) &&
    ab.trainData === m.trainData && ab.testData === m.testData &&
    ab.trainImages === m.trainImages && ab.testImages === m.testImages;
  if (!matches) return null;
  const seconds = (v: number | null) =>
    v === null || !Number.isFinite(v) ? "–" : v < 10 ? `${v.toFixed(2)} s` : `${v.toFixed(0)} s`;
  const errorCell = (r: AblationRow) =>
    r.key === "ensemble" || r.testError.n < 2
      ? pctText(r.testError.mean)
      : `${pctText(r.testError.mean)} [95%: ${pctText(Math.max(0, r.interval.low))}, ${
        pctText(Math.min(1, r.interval.high))
      }]`;
  const diffCell = (r: AblationRow) => {
    if (!r.vsBaseline) return "baseline";
    const d = r.vsBaseline;
    const est = d.n < 2
      ? "1 pair: not established"
      : d.established
      ? "**established**"
      : "not established";
    return `${intervalText(d)} (${est})`;
  };
  const rows = ab.rows.map((r) => [
    ablationLabel(r),
    r.key === "ensemble" ? `${r.seeds.length} members` : String(r.seeds.length),
    intText(r.parameters),
    errorCell(r),
    diffCell(r),
    seconds(r.trainSeconds),
    seconds(r.predictSeconds),
  ]);
  const byKey = new Map(ab.rows.map((r) => [r.key, r]));
  const lines: string[] = [];
  for (const r of ab.rows) {
    if (r.key === "baseline" || !r.vsBaseline) continue;
    const name = ablationLabel(r);
    const d = r.vsBaseline;
    const verdict = d.n < 2
      ? "measured on one seed pair: not established"
      : d.established
      ? d.mean < 0 ? "established: it improves on the baseline" : "established: it is worse"
      : "not established: the interval includes 0";
    let line = `- **${name}** against the baseline: ${intervalText(d)}, ${verdict}.`;
    if (r.key === "ensemble") {
      line += ` (The ensemble is one measurement; the interval is over its ${r.seeds.length} ` +
        "members' own errors, so it says whether averaging beats a single network of this " +
        "recipe.)";
    }
    if (r.against && r.vsAgainst) {
      const ref = byKey.get(r.against);
      if (ref) {
        line += ` Against ${ablationLabel(ref)} (the same schedule, isolating the change): ${
          intervalText(r.vsAgainst)
        }, ${
          r.vsAgainst.n < 2
            ? "one pair: not established"
            : r.vsAgainst.established
            ? "established"
            : "not established"
        }.`;
      }
    }
    lines.push(line);
  }
  const better = ab.rows.filter((r) => r.vsBaseline?.established && r.vsBaseline.mean < 0);
  const best = [...ab.rows].sort((x, y) => x.testError.mean - y.testError.mean)[0];
  const text = [
    "**What else would improve accuracy? (Measured: the ablation.)** Each row changes Part 1's " +
    `recipe in one respect and is trained on the first ${ab.seeds.length} of Part 1's seeds ` +
    `(${ab.profile} profile, \`--ablation full\` for more), so it pairs with the baseline seed ` +
    "by seed: the difference is the mean of the paired differences with a 95% t interval, " +
    "**established** only when the interval excludes 0. The test error shows its 95% interval " +
    "over seeds; training time is per run (the ensemble: all members), prediction time is one " +
    "pass over the test set.",
    "",
    table(
      [
        "recipe",
        "runs",
        "parameters",
        "test error",
        "difference vs baseline",
        "training",
        "prediction",
      ],
      rows,
      ["l", "r", "r", "r", "l", "r", "r"],
    ),
    "",
    ...lines,
    "",
    better.length
      ? `Established improvements: ${
        better.map((r) => ablationLabel(r)).join("; ")
      }. Lowest mean test error: ${ablationLabel(best)} (${pctText(best.testError.mean)}).`
      : `No change is established at ${ab.seeds.length} seeds; the lowest mean test error was ` +
        `${ablationLabel(best)} (${pctText(best.testError.mean)}).`,
    "",
    "(Reasoning, explaining the measurements.) Longer training with the cosine schedule lets " +
    "the network converge; affine augmentation shows the network shifted, rotated and scaled " +
    "versions of each training image, which targets shape confusions but needs the longer " +
    "schedule to pay off; the wider network has more filters and dropout; an ensemble averages " +
    "out the errors on which independently seeded networks disagree.",
  ].join("\n");
  const figures: ReportFigure[] = ab.chart
    ? [{
      id: "part1-ablation",
      caption: "Test error of each recipe of the ablation; bars: 95% interval over seeds (the " +
        "ensemble is one measurement).",
      png: "part1/ablation/ablation.png",
      spec: ab.chart,
      width: 900,
      height: 480,
    }]
    : [];
  return { text, figures };
}

function moreTraining(err: Trend | null, loss: Trend | null, m: Part1Metrics): string {
  if (!err || !loss || err.direction === null || loss.direction === null) {
    return "There are too few measurements in the second half of the epoch to judge the trend " +
      "(the run was too short); run on the full training set.";
  }
  const span = `from ${intText(err.fromX)} to ${intText(err.toX)} images`;
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
