/**
 * Part 2 of the report, test-time measurements: the train x test noise grid and the tolerated
 * test noise, the camera-like corruption suite, per-epoch against fixed training noise, the 3x3
 * median filter as test-time denoising, and per-class changes, each comparison with its 95%
 * interval and an established / not established verdict (src/study/noise_analysis.ts).
 *
 * @module
 */
import {
  confusionRateChange,
  gridBands,
  hasTestTime,
  matchSeeds,
  medianEffect,
  type PairedEffect,
  pairedWrong,
  perClassChange,
  runsDifference,
  suiteVsClean,
  suiteVsModel,
  tolerance,
  wrongOf,
} from "../noise_analysis.ts";
import { type Part2Figure, part2TestFigures } from "../noise_figures.ts";
import type { Part2Condition, Part2Metrics } from "../results.ts";
import { intText, pctText, table } from "./text.ts";
import type { ReportFigure } from "./types.ts";

/** "+1.23 points [+0.80, +1.66]" (interval ends in points). */
export function intervalText(e: { mean: number; low: number; high: number }): string {
  const p = (v: number) =>
    Number.isFinite(v) ? `${v >= 0 ? "+" : "−"}${Math.abs(v * 100).toFixed(2)}` : "±∞";
  return `${p(e.mean)} points [95%: ${p(e.low)}, ${p(e.high)}]`;
}

/** The verdict word of an effect. */
export function verdictText(e: { established: boolean }, seeds: number): string {
  if (seeds < 2) return "not established (quick look: 1 seed)";
  return e.established ? "established" : "not established";
}

/** Interval and verdict in one phrase. */
export function effectText(
  e: PairedEffect | { mean: number; low: number; high: number; established: boolean; n: number },
): string {
  const seeds = "seeds" in e ? e.seeds : e.n;
  return `${intervalText(e)}, ${verdictText(e, seeds)}`;
}

/** The report's figure of a test-time chart. */
function figure(f: Part2Figure): ReportFigure {
  return {
    id: `part2-${f.key}`,
    caption: f.caption,
    png: `part2/${f.file}`,
    spec: f.spec,
    width: f.width,
    height: f.height,
  };
}

/** Figures of the test-time measurements and the per-class changes. */
export function part2TestTimeFigures(m: Part2Metrics): ReportFigure[] {
  return part2TestFigures(m.conditions, m.testTime, m.compensation, m.classNames).map(figure);
}

/** The clean-test comparison of each sigma with sigma 0, paired by seed. */
export function trainingNoiseRows(conds: Part2Condition[]): string[][] {
  const base = conds[0];
  return conds.slice(1).map((c) => {
    const e = runsDifference(c, base);
    return [`sigma ${c.sigma} vs ${base.sigma}`, intervalText(e), verdictText(e, e.seeds)];
  });
}

/** The answer sections built from the test-time measurements (empty without them). */
export function part2TestTimeMarkdown(m: Part2Metrics): string[] {
  const t = m.testTime;
  const conds = [...m.conditions].sort((a, b) => a.sigma - b.sigma);
  if (!t || !hasTestTime(conds)) {
    return [
      "These results have no test-time measurements (noisy test grid, corruption suite); " +
      "run `deno task part2` again to add them.",
    ];
  }
  const n = conds[0].runs.length;
  const out: string[] = [];
  const budget = t.budget;
  // ---- the grid
  const bands = conds.map((c) => gridBands(c, t));
  out.push(
    `**Train x test noise grid.** Every model was also tested on the first ${
      intText(t.gridImages)
    } test images with Gaussian noise of sigma ${t.testSigmas.join(", ")} (clipped, drawn on ` +
      `the GPU from one test seed, the same noise for every model, so comparisons are paired ` +
      `per image and seed). An effect below is **established** only when both its 95% t ` +
      `interval over seeds and its 95% interval over images (the per-image differences ` +
      `averaged over seeds) exclude 0; the interval shown is the wider envelope of the two. ` +
      `Mean test error over ${n} seed(s):`,
    "",
    table(
      ["training sigma", ...t.testSigmas.map((s) => `test ${s}`)],
      conds.map((c, i) => [String(c.sigma), ...bands[i].map((b) => pctText(b.mean))]),
      ["r", ...t.testSigmas.map(() => "r" as const)],
    ),
    "",
  );
  const tols = conds.map((c) => tolerance(c, t, budget));
  out.push(
    `**How much noise could a production classifier tolerate?** With an error budget of ${
      (budget * 100).toFixed(0)
    } percentage point over each model's own clean error (same images), the largest test sigma ` +
      `at which the mean error stays within budget, and its uncertainty (the 95% intervals of ` +
      `the increase, paired per image and seed):`,
    "",
    table(
      [
        "training sigma",
        "clean error",
        "tolerated test sigma",
        "surely within budget up to",
        "surely over budget from",
        "increase at the next level",
      ],
      tols.map((tol) => {
        const j = t.testSigmas.indexOf(tol.tolerated) + 1;
        return [
          String(tol.trainSigma),
          pctText(tol.clean),
          String(tol.tolerated),
          tol.surelyWithin === null ? "none tested" : String(tol.surelyWithin),
          tol.surelyOver === null ? "none tested" : String(tol.surelyOver),
          j < t.testSigmas.length
            ? `sigma ${t.testSigmas[j]}: ${intervalText(tol.increase[j])}`
            : "(highest tested)",
        ];
      }),
      ["r", "r", "r", "r", "r", "l"],
    ),
    "",
    "The tolerated sigma lies between the two interval-based columns: below the first it is " +
      "within budget with 95% confidence, from the second on it is over budget with 95% " +
      "confidence." + (n < 2 ? " Quick look (1 seed): intervals cover images only." : ""),
  );
  // training noise at each test sigma: which training sigma helps
  const base = conds[0];
  if (base.sigma === 0 && conds.length > 1) {
    const rows: string[][] = [];
    for (const [j, ts] of t.testSigmas.entries()) {
      for (const c of conds.slice(1)) {
        const [ra, rb] = matchSeeds(c.runs, base.runs);
        const e = pairedWrong(
          wrongOf(ra, (x) => x.grid[j], t.gridImages),
          wrongOf(rb, (x) => x.grid[j], t.gridImages),
        );
        if (j === 0 || ts === c.sigma || ts === t.testSigmas.at(-1)) {
          rows.push([
            String(ts),
            `train ${c.sigma} vs train 0`,
            intervalText(e),
            verdictText(e, n),
          ]);
        }
      }
    }
    out.push(
      "",
      "Training noise against clean training, on clean test images, on test noise equal to the " +
        "training noise, and on the strongest test noise (paired per image and seed):",
      "",
      table(["test sigma", "comparison", "error change", "verdict"], rows, ["r", "l", "l", "l"]),
    );
  }
  // ---- the corruption suite
  const S = t.suiteImages;
  const top = conds[conds.length - 1];
  const suiteRows = t.suite.map((e, j) => {
    const cells = [
      e.label,
      ...conds.map((c) => pctText(mean(c.runs.map((r) => r.testTime!.suite[j].error)))),
    ];
    if (j > 0) {
      const hurt = suiteVsClean(base, j, S);
      cells.push(`${intervalText(hurt)} (${hurt.established ? "est." : "not est."})`);
    } else cells.push("—");
    if (conds.length > 1) {
      const d = suiteVsModel(top, base, j, S);
      cells.push(`${intervalText(d)} (${d.established ? "est." : "not est."})`);
    }
    return cells;
  });
  out.push(
    "",
    `**Camera-realistic corruptions at test time** (first ${intText(S)} test images, mean ` +
      `error over ${n} seed(s); the last columns are paired per image and seed):`,
    "",
    table(
      [
        "corruption",
        ...conds.map((c) => `train ${c.sigma}`),
        `train ${base.sigma}: vs clean`,
        ...(conds.length > 1 ? [`train ${top.sigma} vs ${base.sigma}`] : []),
      ],
      suiteRows,
      ["l", ...conds.map(() => "r" as const), "l", ...(conds.length > 1 ? ["l" as const] : [])],
    ),
  );
  if (conds.length > 1) out.push("", gaussianVsCamera(m, conds));
  // ---- compensation
  out.push("", ...compensationMarkdown(m, conds));
  // ---- per class
  out.push("", ...perClassMarkdown(conds));
  return out;
}

function mean(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

/** Where Gaussian training noise helps and hurts on the suite (established effects only). */
function gaussianVsCamera(m: Part2Metrics, conds: Part2Condition[]): string {
  const t = m.testTime!, base = conds[0];
  const help: string[] = [], hurt: string[] = [], none: string[] = [];
  for (const [j, e] of t.suite.entries()) {
    if (j === 0) continue; // clean: not a corruption
    // the noise-trained model that does best on this corruption
    let best: { c: Part2Condition; d: PairedEffect } | null = null;
    for (const c of conds.slice(1)) {
      const d = suiteVsModel(c, base, j, t.suiteImages);
      if (!best || d.mean < best.d.mean) best = { c, d };
    }
    const d = best!.d;
    const text = `${e.label} (train ${best!.c.sigma}: ${intervalText(d)})`;
    if (d.established && d.mean < 0) help.push(text);
    else if (d.established && d.mean > 0) hurt.push(text);
    else none.push(e.label);
  }
  return "**Is Gaussian noise an appropriate model of camera noise?** Measured by whether " +
    "training with Gaussian noise lowers the error on each camera-like corruption against " +
    "the clean-trained model (best training sigma per corruption, paired per image and " +
    `seed). Established improvements: ${help.length ? help.join("; ") : "none"}. ` +
    `Established deteriorations (even for the best sigma): ${
      hurt.length ? hurt.join("; ") : "none"
    }. Not established: ${none.length ? none.join(", ") : "none"}. ` +
    "Where training noise helps on shot and Poisson-Gaussian noise, the Gaussian model " +
    "transfers to signal-dependent sensor noise; impulse noise, blur and contrast loss are " +
    "different kinds of damage, and the table shows whether Gaussian training covers them.";
}

function compensationMarkdown(m: Part2Metrics, conds: Part2Condition[]): string[] {
  const t = m.testTime!, out: string[] = [];
  const comp = m.compensation;
  if (comp && comp.conditions.length === 2 && hasTestTime(comp.conditions)) {
    const [fixed, perEpoch] = comp.conditions;
    const seeds = Math.min(fixed.runs.length, perEpoch.runs.length);
    const clean = runsDifference(perEpoch, fixed);
    const rows = t.suite.map((e, j) => {
      const d = suiteVsModel(perEpoch, fixed, j, t.suiteImages);
      return [e.label, intervalText(d), verdictText(d, seeds)];
    });
    out.push(
      `**Compensation: noise redrawn every epoch** (a fresh draw per image and epoch) against ` +
        `Part 2's fixed per-image noise, sigma ${comp.sigma}, ${comp.epochs} epochs on the ` +
        `first ${intText(comp.trainImages)} training images, ${seeds} paired seed(s) ` +
        `(a reduced profile: per-epoch noise only differs from fixed noise from the second ` +
        `epoch on). Whole clean test set, per-epoch minus fixed: ${intervalText(clean)}, ${
          verdictText(clean, seeds)
        }. On the suite (per-epoch minus fixed, paired per image and seed):`,
      "",
      table(["corruption", "error change", "verdict"], rows, ["l", "l", "l"]),
    );
  } else {
    out.push("**Compensation by per-epoch noise:** skipped (`--compensation-sigma 0`).");
  }
  // median filter
  const helps: string[] = [], hurts: string[] = [];
  for (const c of conds) {
    for (const [j, e] of t.suite.entries()) {
      const d = medianEffect(c, j, t.suiteImages);
      if (!d || !d.established) continue;
      (d.mean < 0 ? helps : hurts).push(`${e.label} for train ${c.sigma} (${intervalText(d)})`);
    }
  }
  const cleanRows = conds.map((c) => {
    const d = medianEffect(c, 0, t.suiteImages)!;
    return [`train ${c.sigma}`, intervalText(d), verdictText(d, c.runs.length)];
  });
  out.push(
    "",
    "**Compensation: the 3x3 median filter before the model** (test-time denoising, paired " +
      "per image and seed against the same model without it). On clean test images:",
    "",
    table(["model", "error change with the filter", "verdict"], cleanRows, ["l", "l", "l"]),
    "",
    `Established help: ${helps.length ? helps.join("; ") : "none"}. Established harm: ${
      hurts.length ? hurts.join("; ") : "none"
    }. Everything else is not established (see the median-filter figure).`,
  );
  return out;
}

function perClassMarkdown(conds: Part2Condition[]): string[] {
  const base = conds[0];
  if (base.sigma !== 0 || conds.length < 2) return [];
  const lines: string[] = [];
  for (const c of conds.slice(1)) {
    const changes = perClassChange(base, c);
    const est = changes.map((d, k) => ({ d, k })).filter((x) => x.d.established);
    lines.push(
      `- sigma ${c.sigma}: ${
        est.length
          ? est.map((x) => `class ${x.k} ${intervalText(x.d)}`).join("; ")
          : "no class's change is established"
      }.`,
    );
  }
  const top = conds[conds.length - 1];
  const change = confusionRateChange(base.confusion, top.confusion);
  const grown = change.flatMap((row, tr) =>
    row.map((v, p) => ({ tr, p, v })).filter((x) => x.tr !== x.p && x.v > 0)
  ).sort((a, b) => b.v - a.v).slice(0, 3);
  return [
    "**Which classes suffer most from noise?** Per-class error change from sigma 0, paired by " +
    "seed with 95% t intervals; only classes whose change is established are named:",
    ...lines,
    "",
    `Confusions that grew most from sigma 0 to sigma ${top.sigma} (share of the true class's ` +
    `images, all seeds pooled; see the confusion-change figure): ${
      grown.length
        ? grown.map((g) => `${g.tr} taken for ${g.p} (+${(g.v * 100).toFixed(2)} points)`).join(
          ", ",
        )
        : "none"
    }.`,
  ];
}
