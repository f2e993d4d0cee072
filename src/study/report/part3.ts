/**
 * Part 3 of the report: training with a fraction of random labels. Results table and figures,
 * how important clean labels are, compensating on a budget, quantifying label noise.
 *
 * @module
 */
import { auditSampleSize } from "../../util/stats.ts";
import { toleratedUpTo } from "../compare.ts";
import { runsDifference } from "../noise_analysis.ts";
import { effectText, intervalText, verdictText } from "./part2_testtime.ts";
import { classNounOf } from "../../data/catalog.ts";
import type { Part3Metrics } from "../results.ts";
import { labelStudyAnswers, labelStudySections } from "./label_studies.ts";
import { sweepFigures } from "./sweep.ts";
import { fracText, intText, measuredText, pctText, seedsNote, table } from "./text.ts";
import type { ReportSectionOut } from "./types.ts";

export function part3Sections(m: Part3Metrics, budget: number): ReportSectionOut[] {
  const noun = classNounOf(m.classNames); // "digit", or "class" for other data sets
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
    : `the first ${intText(audit)} training images`;
  const rows = conds.map((c, i) => {
    // conditions with the same seed index share initialization and shuffling: paired by seed
    const e = runsDifference(c, base);
    const d = c.trainDisagreement;
    return [
      fracText(c.frac),
      intText(c.corrupted),
      `${intText(c.changed.mean)} (${pctText(c.changedFraction.mean)})`,
      measuredText(c.testError),
      i === 0 ? "baseline" : intervalText(e),
      i === 0 ? "" : verdictText(e, e.seeds),
      d ? measuredText(d) : "n/a",
      d ? pctText(Math.max(0, d.mean - c.testError.mean)) : "n/a",
    ];
  });
  const results = [
    `Exactly round(frac × ${intText(N)}) training images, chosen without replacement, get ${
      uniform
        ? "a uniformly random label in 0..9 (which can equal the true one, so about a tenth do " +
          "not change)"
        : m.labelMode === "pairs"
        ? "the label of a fixed partner class (4↔9, 3↔5, 7↔1, 0↔6, 2↔8: systematic noise)"
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
        `vs ${baseName} (paired by seed)`,
        "verdict",
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
  }, m.classNames);

  const a: string[] = [];
  a.push(
    `**Error at each fraction** (clean test set): ${
      conds.map((c) =>
        `${fracText(c.frac)} (${intText(c.changed.mean)} labels changed): ${
          measuredText(c.testError)
        }`
      ).join("; ")
    }.`,
  );
  for (const c of conds.slice(1)) {
    a.push(
      `- ${fracText(c.frac)} vs ${baseName}: ${effectText(runsDifference(c, base))}.`,
    );
  }
  const top = conds[conds.length - 1];
  const topEffect = runsDifference(top, base);
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
          effectText(topEffect)
        } against ${baseName} (paired by seed). ` +
        `With an example budget of ${(budget * 100).toFixed(2)} points, the error stayed ` +
        `within budget ${
          byBudget.firstBad === null
            ? `at every fraction tested (up to ${fracText(byBudget.upTo)})`
            : `up to ${fracText(byBudget.upTo)} and left it at ${fracText(byBudget.firstBad)}`
        }${n === 1 ? " (single runs: a measured-once reading)" : ""}. `) +
      `(Reasoning.) Random labels of this kind leave the most likely label of every ${noun} ` +
      `unchanged: at fraction ${fracText(top.frac)} an image of ${noun} c still carries label c ` +
      `with probability ${pctText(keep)}, and any particular wrong ${noun} only ${
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
        intText(mid.trainDisagreement.mean * N)
      } of ${intText(N)} images (${
        pctText(mid.trainDisagreement.mean)
      }, measured on ${auditText}), ` +
      `for ${intText(mid.changed.mean)} labels that were actually wrong`;
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
    `confidence needs about ${intText(auditSampleSize(p, 0.01))} audited images, to within ±2 ` +
    `points about ${intText(auditSampleSize(p, 0.02))}. Model-based estimates need no audit: the ` +
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
  for (const line of labelStudyAnswers(m)) a.push("", line);
  return [
    { heading: "Part 3: label noise — results", markdown: results.join("\n"), figures },
    ...labelStudySections(m),
    { heading: "Part 3: answers", markdown: a.join("\n"), figures: [] },
  ];
}
