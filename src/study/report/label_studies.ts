/**
 * The report's sections on Part 3's label-noise studies (src/study/label_studies.ts):
 * memorization and early stopping, robust losses, systematic noise, the confident-learning
 * estimate, budgeted relabeling, and the image x label noise grid. Every comparison is a paired
 * difference over seeds with its 95% t interval; "established" when the interval excludes 0.
 *
 * @module
 */
import type { ChartSpec } from "../../render/charts.ts";
import { pairedDifference, summarize } from "../../util/stats.ts";
import type { GridRun, LabelStudies, StudyRun } from "../label_studies.ts";
import type { Part3Metrics } from "../results.ts";
import { fracText, intText, pctText, table } from "./text.ts";
import type { ReportFigure, ReportSectionOut } from "./types.ts";

type Studies = LabelStudies & { charts: Record<string, ChartSpec> };

/** mean ± sd of fractions as percentages. */
function ms(values: number[]): string {
  const s = summarize(values);
  return values.length === 1 ? pctText(s.mean) : `${pctText(s.mean)} ± ${(s.std * 100).toFixed(2)}`;
}

/** A paired difference a − b in points with its interval and whether it is established. */
export function diffText(a: number[], b: number[]): string {
  const d = pairedDifference(a, b);
  const p = (x: number) => (x * 100).toFixed(2);
  const sign = d.mean > 0 ? "+" : d.mean < 0 ? "−" : "±";
  if (d.n < 2) return `${sign}${p(Math.abs(d.mean))} points (one run)`;
  return `${sign}${p(Math.abs(d.mean))} [${p(d.low)}, ${p(d.high)}]` +
    (d.established ? " **established**" : " not established");
}

/** Test errors of runs in seed order, limited to the seeds of both. */
function paired(a: StudyRun[], b: StudyRun[]): [number[], number[]] {
  const seeds = a.map((r) => r.seed).filter((s) => b.some((r) => r.seed === s));
  const pick = (x: StudyRun[]) => seeds.map((s) => x.find((r) => r.seed === s)!.testError);
  return [pick(a), pick(b)];
}

/** Distinct seeds of a study's runs. */
function seedCount(runs: readonly { seed: number }[]): number {
  return new Set(runs.map((r) => r.seed)).size;
}

function figure(st: Studies, name: string, caption: string, w = 900, h = 520): ReportFigure[] {
  const file = st.files[name];
  if (!file) return [];
  return [{
    id: `part3-${name}`,
    caption,
    png: `part3/${file}`,
    spec: st.charts[name],
    width: w,
    height: h,
  }];
}

function memorizationSection(st: Studies, testImages: number): ReportSectionOut {
  const m = st.memorization;
  const losses = [...new Set(m.map((r) => r.loss))];
  const fracs = [...new Set(m.map((r) => r.frac))].sort((a, b) => a - b);
  const rows: string[][] = [];
  for (const loss of losses) {
    for (const frac of fracs) {
      const runs = m.filter((r) => r.loss === loss && r.frac === frac);
      if (!runs.length) continue;
      const first = runs.map((r) => r.epochs[0]), last = runs.map((r) => r.epochs.at(-1)!);
      rows.push([
        loss.toUpperCase(),
        fracText(frac),
        frac > 0
          ? `${ms(first.map((e) => e.fitCorrupted))} → ${ms(last.map((e) => e.fitCorrupted))}`
          : "—",
        ms(last.map((e) => e.fitClean)),
        ms(first.map((e) => e.testError)),
        ms(runs.map((r) => r.finalError)),
        `${ms(runs.map((r) => r.earlyStopError))} (epochs ${
          runs.map((r) => r.bestEpoch).join(", ")
        })`,
        diffText(runs.map((r) => r.earlyStopError), runs.map((r) => r.finalError)),
      ]);
    }
  }
  const n = st.subsets.memorization, mp = st.profile.memorization;
  const held = m[0] ? n - m[0].images : mp.heldOut;
  const schedule = mp.schedule === "constant"
    ? "a constant learning rate (a rate decayed to 0 would slow memorization down and hide it)"
    : "the cosine schedule";
  const md = [
    `Training subset: the first ${intText(n)} training images, of which the last ${
      intText(held)
    } are held out with their (noisy) labels; ${mp.epochs} epochs with ${schedule}; ` +
    `${seedCount(m)} seeds. After every epoch the model ` +
    "predicts every training image: the fraction whose prediction equals the given label is " +
    "shown separately for images whose label was changed (memorization of wrong labels) and " +
    `for the untouched ones; the clean test error uses the first ${
      intText(Math.min(testImages, mp.testImages ?? 5000))
    } test images. Early ` +
    "stopping picks the epoch with the lowest error on the held-out split against its noisy " +
    "labels (no clean label needed) and is compared with training to the end (paired over " +
    "seeds, points, 95% interval).",
    "",
    table(
      [
        "loss",
        "fraction",
        "changed labels fitted (epoch 1 → last)",
        "untouched fitted (last)",
        "test error epoch 1",
        "test error last",
        "early-stopped",
        "early − last",
      ],
      rows,
      ["l", "r", "r", "r", "r", "r", "r", "r"],
    ),
  ];
  return {
    heading: "Part 3: memorization over epochs and early stopping",
    markdown: md.join("\n"),
    figures: [
      ...figure(
        st,
        "memorization_fit",
        "Cross-entropy: agreement with the noisy training labels per epoch, changed and untouched images (±1 sd over seeds).",
      ),
      ...figure(st, "memorization_fit_gce", "The same with generalized cross-entropy (q = 0.7)."),
      ...figure(st, "memorization_error", "Clean test error per epoch for each loss and fraction."),
    ],
  };
}

function robustSection(st: Studies, m: Part3Metrics): ReportSectionOut {
  const ce = st.robust.filter((r) => r.loss === "ce");
  const others = [...new Set(st.robust.map((r) => r.loss))].filter((l) => l !== "ce");
  const rows = ce.map((c) => [
    fracText(c.frac),
    ms(c.runs.map((r) => r.testError)),
    ...others.flatMap((l) => {
      const o = st.robust.find((r) => r.loss === l && r.frac === c.frac);
      if (!o) return ["—", "—"];
      const [a, b] = paired(o.runs, c.runs);
      return [ms(o.runs.map((r) => r.testError)), diffText(a, b)];
    }),
  ]);
  const long = st.memorization;
  const longLosses = [...new Set(long.map((r) => r.loss))].filter((l) => l !== "ce");
  const longRows = [...new Set(long.map((r) => r.frac))].sort((a, b) => a - b).map((frac) => {
    const c = long.filter((r) => r.loss === "ce" && r.frac === frac);
    return [
      fracText(frac),
      ms(c.map((r) => r.finalError)),
      ...longLosses.flatMap((l) => {
        const o = long.filter((r) => r.loss === l && r.frac === frac);
        const seeds = o.map((r) => r.seed).filter((s) => c.some((r) => r.seed === s));
        const at = (x: typeof o) => seeds.map((s) => x.find((r) => r.seed === s)!.finalError);
        return o.length ? [ms(o.map((r) => r.finalError)), diffText(at(o), at(c))] : ["—", "—"];
      }),
    ];
  });
  const md = [
    "Generalized cross-entropy L = (1 − p_y^q)/q with q = 0.7 (Zhang & Sabuncu 2018) and " +
    "symmetric cross-entropy L = α·CE + β·RCE with α = 0.1, β = 1, log 0 := −4 (Wang et al. " +
    "2019), as a WGSL kernel (shaders/robust_xent.wgsl) checked against a float64 reference " +
    "and finite differences. Both gradients are a per-image weight times cross-entropy's: GCE " +
    "weights an image by p_y^q, so images whose label the model finds implausible (wrong labels, " +
    "mostly) pull less — the reason it resists memorization.",
    "",
    `**At the part's schedule** (${
      m.recipe && (m.recipe as { epochs?: number }).epochs
    } epoch(s), ` +
    `whole training set; cross-entropy runs are the part's sweep with the same seeds; difference ` +
    "robust − CE in points, 95% interval):",
    "",
    table(
      ["fraction", "CE", ...others.flatMap((l) => [l.toUpperCase(), `${l.toUpperCase()} − CE`])],
      rows,
    ),
    "",
    `**At the longer schedule** (${st.profile.memorization.epochs} epochs on the memorization ` +
    "subset, final epoch):",
    "",
    table(
      [
        "fraction",
        "CE",
        ...longLosses.flatMap((l) => [l.toUpperCase(), `${l.toUpperCase()} − CE`]),
      ],
      longRows,
    ),
  ];
  return {
    heading: "Part 3: noise-robust losses against cross-entropy",
    markdown: md.join("\n"),
    figures: figure(
      st,
      "robust_losses",
      "Clean test error vs label noise for each loss (part's schedule).",
      800,
      480,
    ),
  };
}

function pairsSection(st: Studies): ReportSectionOut | null {
  if (!st.pairs.length) return null;
  const rows = st.pairs.map((p) => {
    // uniform noise, cross-entropy, the studies' seeds (the part's sweep runs where they exist)
    const uni = st.robust.find((r) => r.loss === "ce" && r.frac === p.frac);
    const u = uni?.runs ?? [];
    const [a, b] = paired(p.runs, u);
    return [
      fracText(p.frac),
      uni ? ms(u.map((r) => r.testError)) : "—",
      ms(p.runs.map((r) => r.testError)),
      a.length ? diffText(a, b) : "—",
    ];
  });
  const md = [
    "Systematic noise (`--label-mode pairs`): every corrupted image of class c gets the fixed " +
    "partner label 4↔9, 3↔5, 7↔1, 0↔6, 2↔8, so all of its wrong labels agree; uniform noise " +
    "spreads them over the ten classes. Same images " +
    "corrupted, same seeds; difference pairs − uniform in points, 95% interval.",
    "",
    table(["fraction", "uniform", "pairs", "pairs − uniform"], rows),
    "",
    "(Reasoning.) Under pairs noise at fraction f, a 4 carries label 9 with probability f; " +
    "below f = 0.5 the right label is still the most frequent, but the boundary between the " +
    "pair moves toward the wrong side and the network's confidence on the pair collapses; at " +
    "f = 0.5 the two labels are equally likely and the pair cannot be separated from the labels " +
    "alone. Uniform noise at the same fraction leaves every wrong class at f/10.",
  ];
  return {
    heading: "Part 3: systematic (pairs) against uniform label noise",
    markdown: md.join("\n"),
    figures: [],
  };
}

function clSection(st: Studies, trainImages: number): ReportSectionOut | null {
  const cl = st.confidentLearning;
  if (!cl.length) return null;
  const fracs = [...new Set(cl.map((r) => r.frac))].sort((a, b) => a - b);
  const rows = fracs.map((frac) => {
    const runs = cl.filter((r) => r.frac === frac);
    const err = runs.map((r) => r.estimatedRate - r.trueRate);
    const worst = Math.max(...err.map(Math.abs));
    return [
      fracText(frac),
      ms(runs.map((r) => r.trueRate)),
      ms(runs.map((r) => r.estimatedRate)),
      `${(summarize(err).mean * 100).toFixed(2)} (worst ${(worst * 100).toFixed(2)})`,
      Math.abs(summarize(err).mean) <= 0.01 ? "yes" : "no",
      ms(runs.map((r) => r.precision)),
      ms(runs.map((r) => r.recall)),
      ms(runs.flatMap((r) => r.foldTestErrors)),
    ];
  });
  const c = st.profile.confidentLearning;
  const md = [
    `Confident learning (Northcutt et al. 2021) on ${
      imagesText(st.subsets.confidentLearning, trainImages)
    } with uniform label noise: ${c.folds}-fold out-of-sample probabilities ` +
    `(each fold predicted by a LeNet-5 trained by the engine for ${c.epochs} epoch(s) on the ` +
    "other folds), per-class thresholds, the confident joint, calibration to the label counts, " +
    `Q, and the noise rate 1 − trace(Q); ${seedCount(cl)} seeds. The target is the true ` +
    "fraction of labels that differ from the original (uniform noise keeps about a tenth of " +
    "the randomized labels), within 1 point; the spread is the sample standard deviation over " +
    "seeds. Precision and recall are of the suspects (prune by noise rate) against the labels " +
    "that were really changed. (Reasoning.) The estimate runs high by about the share of " +
    "correctly labelled images that a fold model confidently puts in another class: at 50% " +
    "noise the per-class thresholds (the mean probability of the given label) fall to about " +
    "0.3, so a model's confusions on ambiguous images pass them; the fold models' test error " +
    "(last column) bounds how many. Fold models trained on a 10,000-image subset instead of " +
    "three quarters of the whole training set overestimated the 50% rate by more than a point " +
    "(an earlier round of this study); more training data, not a correction factor, closed the " +
    "gap.",
    "",
    table(
      [
        "fraction",
        "true changed",
        "estimated",
        "estimate − true (points)",
        "mean within 1 point",
        "precision",
        "recall",
        "fold models' test error",
      ],
      rows,
    ),
    "",
    "`deno task audit` runs the same audit on any data set in the engine's formats (IDX folder " +
    "or Kaggle CSV) and writes the ranked suspects (index, given label, suggested label, " +
    "confidence), a PNG of the top suspects and the confident joint; results/audit/ holds its " +
    "run on MNIST's training and test sets when it was run.",
  ];
  return {
    heading: "Part 3: estimating the label-noise rate (confident learning)",
    markdown: md.join("\n"),
    figures: figure(
      st,
      "noise_matrix",
      "Confident joint (counts; rows: given label, columns: estimated true label) of one run.",
      640,
      640,
    ),
  };
}

/** "the whole training set" or "the first N training images". */
function imagesText(n: number, whole: number): string {
  return n >= whole
    ? `the whole training set (${intText(n)} images)`
    : `the first ${intText(n)} training images`;
}

function auditSection(st: Studies, trainImages: number): ReportSectionOut | null {
  const a = st.audit;
  if (!a) return null;
  const c = st.profile.confidentLearning;
  const rows = (split: "train" | "test") =>
    a[split].top.slice(0, 10).map((x, k) => [
      String(k + 1),
      String(x.index),
      String(x.givenLabel),
      String(x.suggestedLabel),
      x.confidence.toFixed(4),
    ]);
  const figures: ReportFigure[] = [];
  for (const split of ["train", "test"] as const) {
    const file = a[split].file;
    if (file) {
      figures.push({
        id: `part3-audit-${split}`,
        caption:
          `MNIST ${split}: the most suspicious labels (given→suggested), most suspicious first.`,
        png: `part3/${file}`,
        width: 900,
        height: 420,
      });
    }
  }
  const md = [
    `Confident learning on MNIST's own labels (no noise added): ${
      imagesText(a.train.images, trainImages)
    } by ${c.folds}-fold models (${c.epochs} epoch(s), seed ${a.seed}; fold ` +
    `models' clean test error ${a.foldTestErrors.map(pctText).join(", ")}), and the ` +
    `${intText(a.test.images)} test images by the same models (trained on the training set, ` +
    `probabilities averaged). Estimated label-noise rate: training ${pctText(a.train.noiseRate)} ` +
    `(${intText(a.train.suspects)} suspects), test ${pctText(a.test.noiseRate)} (${
      intText(a.test.suspects)
    } suspects). The estimate includes the models' own confusions on ambiguous images, so it ` +
    "bounds MNIST's true label-error rate from above; the suspects are where a person should look. " +
    "`deno task audit` writes the full ranked lists for the whole training set.",
    "",
    "Top suspects, training images (index in the training file):",
    "",
    table(["rank", "index", "given", "suggested", "confidence"], rows("train")),
    "",
    "Top suspects, test images (index in the test file):",
    "",
    table(["rank", "index", "given", "suggested", "confidence"], rows("test")),
  ];
  return { heading: "Part 3: auditing MNIST's own labels", markdown: md.join("\n"), figures };
}

function relabelSection(st: Studies): ReportSectionOut | null {
  const rl = st.relabel;
  if (!rl.length) return null;
  const rows: string[][] = [];
  for (const frac of [...new Set(rl.map((r) => r.frac))].sort((a, b) => a - b)) {
    const none = rl.filter((r) => r.frac === frac && r.method === "none");
    rows.push([
      fracText(frac),
      "0",
      ms(none.map((r) => r.testError)),
      "—",
      "—",
      "—",
      intText(summarize(none.map((r) => r.wrongBefore)).mean),
    ]);
    for (
      const K of [
        ...new Set(rl.filter((r) => r.frac === frac && r.budget > 0).map((r) => r.budget)),
      ].sort((a, b) => a - b)
    ) {
      const cl = rl.filter((r) => r.frac === frac && r.method === "cl" && r.budget === K);
      const rnd = rl.filter((r) => r.frac === frac && r.method === "random" && r.budget === K);
      const fixed = (x: typeof cl) =>
        summarize(x.map((r) => ((r.wrongBefore - r.wrongAfter) / K) * 1000)).mean;
      const [a, b] = paired(cl, rnd);
      rows.push([
        fracText(frac),
        intText(K),
        ms(cl.map((r) => r.testError)),
        ms(rnd.map((r) => r.testError)),
        diffText(a, b),
        `${fixed(cl).toFixed(0)} vs ${fixed(rnd).toFixed(0)}`,
        intText(summarize(cl.map((r) => r.wrongAfter)).mean),
      ]);
    }
  }
  const md = [
    `A budget of K relabels on the first ${
      intText(st.subsets.relabel ?? st.subsets.confidentLearning)
    } training images, with the noisy labels and the ranking of each confident-learning run ` +
    `(${seedCount(rl)} seeds): the K most suspicious labels (confident learning's suspects ` +
    "first, then by self-confidence) or K random images get their original label back (a " +
    `perfect annotator), then the model is trained again on those images (${st.profile.relabel.epochs} ` +
    `epochs${
      st.profile.relabel.schedule === "constant"
        ? " at a constant rate: long enough to memorize wrong labels, as the memorization " +
          "study shows, so every wrong label left costs accuracy"
        : ""
    }); "fixed per 1,000" counts wrong labels corrected per 1,000 relabels (most ` +
    "suspicious vs random); differences are paired by seed (same noise, initialization and " +
    "shuffling).",
    "",
    table([
      "fraction",
      "K",
      "test error (suspects first)",
      "test error (random)",
      "suspects − random",
      "fixed per 1,000",
      "wrong labels left (suspects)",
    ], rows),
  ];
  return {
    heading: "Part 3: budgeted relabeling",
    markdown: md.join("\n"),
    figures: figure(
      st,
      "relabeling",
      "Clean test error after relabeling K images: most suspicious first vs random (±1 sd).",
      900,
      480,
    ),
  };
}

/** The grid of image noise x label noise: error per cell and per loss, with paired differences. */
export function gridTable(st: LabelStudies): string {
  const g = st.grid.filter((r) => !r.noisePerEpoch);
  const fresh = st.grid.filter((r) => r.noisePerEpoch);
  const losses = [...new Set(g.map((r) => r.loss))];
  const sigmas = [...new Set(g.map((r) => r.sigma))].sort((a, b) => a - b);
  const fracs = [...new Set(g.map((r) => r.frac))].sort((a, b) => a - b);
  const base = g.filter((r) => r.sigma === 0 && r.frac === 0 && r.loss === "ce");
  const rows: string[][] = [];
  for (const sigma of sigmas) {
    for (const frac of fracs) {
      const cell = (l: string) =>
        g.filter((r) => r.sigma === sigma && r.frac === frac && r.loss === l);
      const ce = cell("ce");
      const [a, b] = paired(ce, base);
      rows.push([
        String(sigma),
        fracText(frac),
        ms(ce.map((r) => r.testError)),
        sigma === 0 && frac === 0 ? "baseline" : diffText(a, b),
        ...losses.filter((l) => l !== "ce").flatMap((l) => {
          const o = cell(l);
          const [x, y] = paired(o, ce);
          return [ms(o.map((r) => r.testError)), diffText(x, y)];
        }),
        ...(fresh.length ? freshCells(fresh, sigma, frac, ce) : []),
      ]);
    }
  }
  return table(
    [
      "sigma",
      "label fraction",
      "CE",
      "CE − clean CE",
      ...losses.filter((l) => l !== "ce").flatMap((
        l,
      ) => [l.toUpperCase(), `${l.toUpperCase()} − CE`]),
      ...(fresh.length ? ["CE, fresh noise", "fresh − CE"] : []),
    ],
    rows,
  );
}

/** The fresh-noise (noise augmentation) treatment of a grid cell against cross-entropy. */
function freshCells(
  fresh: GridRun[],
  sigma: number,
  frac: number,
  ce: StudyRun[],
): string[] {
  const o = fresh.filter((r) => r.sigma === sigma && r.frac === frac);
  if (!o.length) return ["—", "—"];
  const [x, y] = paired(o, ce);
  return [ms(o.map((r) => r.testError)), diffText(x, y)];
}

/** Every label-noise study section of Part 3 (none without studies). */
export function labelStudySections(m: Part3Metrics): ReportSectionOut[] {
  const st = m.studies;
  if (!st) return [];
  const note = `Label-noise studies: ${st.profile.name} profile, ${st.seeds.length} seeds ` +
    `(memorization ${seedCount(st.memorization)}, confident learning and relabeling ${
      seedCount(st.confidentLearning)
    }` +
    (st.profile.name === "standard"
      ? "; fewer than Part 3's default where a study is long; subsets of the training set as " +
        "stated in each section; `deno task all --full` runs every study at 5 seeds on the " +
        "whole training set)."
      : ").");
  const sections = [
    memorizationSection(st, m.testImages),
    robustSection(st, m),
    pairsSection(st),
    clSection(st, m.trainImages),
    auditSection(st, m.trainImages),
    relabelSection(st),
  ].filter((s): s is ReportSectionOut => s !== null);
  sections[0] = { ...sections[0], markdown: note + "\n\n" + sections[0].markdown };
  return sections;
}

/** A difference's verdict in words, for the answers. */
function verdictWords(a: number[], b: number[]): string {
  const d = pairedDifference(a, b);
  const v = `${d.mean > 0 ? "+" : d.mean < 0 ? "−" : "±"}${
    Math.abs(d.mean * 100).toFixed(2)
  } points`;
  if (d.n < 2) return `${v} (one run, not established)`;
  return `${v}, 95% interval [${(d.low * 100).toFixed(2)}, ${(d.high * 100).toFixed(2)}], ${
    d.established ? "established" : "not established"
  }`;
}

/** Measured answers to Part 3's questions from the studies (appended to the answers section). */
export function labelStudyAnswers(m: Part3Metrics): string[] {
  const st = m.studies;
  if (!st) return [];
  const out: string[] = [];
  const top = Math.max(...st.memorization.map((r) => r.frac));
  const memoTop = st.memorization.filter((r) => r.loss === "ce" && r.frac === top);
  const pairTop = st.pairs.at(-1);
  let imp = "**Measured (label-noise studies): how important are clean labels?**";
  if (memoTop.length && top > 0) {
    const last = memoTop.map((r) => r.epochs.at(-1)!);
    const fit0 = summarize(memoTop.map((r) => r.epochs[0].fitCorrupted)).mean;
    const fitN = summarize(last.map((e) => e.fitCorrupted)).mean;
    // memorizing: the changed images' wrong labels are fitted clearly more often than at epoch 1
    const memorizes = fitN > fit0 + 0.05;
    imp += ` Trained ${st.profile.memorization.epochs} epochs with ${fracText(top)} noise, ` +
      `the network predicts the wrong given label for ${
        ms(last.map((e) => e.fitCorrupted))
      } of the changed images at the end (epoch 1: ${
        ms(memoTop.map((r) => r.epochs[0].fitCorrupted))
      }): ${
        memorizes
          ? "it increasingly memorizes the wrong labels"
          : "at this schedule it does not memorize them (the label it predicts is mostly the true one)"
      }. Its clean test error is ${ms(memoTop.map((r) => r.earlyStopError))} at the epoch ` +
      `early stopping picks and ${ms(memoTop.map((r) => r.finalError))} at the end.`;
  }
  if (pairTop) {
    const uni = st.robust.find((r) => r.loss === "ce" && r.frac === pairTop.frac);
    if (uni) {
      const [a, b] = paired(pairTop.runs, uni.runs);
      imp += ` Systematic (pairs) noise at ${fracText(pairTop.frac)} against uniform noise at ` +
        `the same fraction: ${verdictWords(a, b)}.`;
    }
  }
  out.push(imp);
  const comp: string[] = [];
  for (const frac of [...new Set(st.memorization.map((r) => r.frac))].filter((f) => f > 0)) {
    const runs = st.memorization.filter((r) => r.loss === "ce" && r.frac === frac);
    if (runs.length) {
      comp.push(
        `early stopping on a noisy held-out split at ${fracText(frac)}: ${
          verdictWords(runs.map((r) => r.earlyStopError), runs.map((r) => r.finalError))
        } against training to the end`,
      );
    }
  }
  for (const r of st.robust.filter((x) => x.loss !== "ce" && x.frac > 0)) {
    const ce = st.robust.find((x) => x.loss === "ce" && x.frac === r.frac);
    if (!ce) continue;
    const [a, b] = paired(r.runs, ce.runs);
    comp.push(
      `${r.loss.toUpperCase()} instead of CE at ${fracText(r.frac)} (part's schedule): ${
        verdictWords(a, b)
      }`,
    );
  }
  const longer = new Set(
    st.memorization.filter((x) => x.loss !== "ce" && x.frac > 0).map((x) => `${x.loss}/${x.frac}`),
  );
  for (const key of longer) {
    // the longer schedule: robust-loss runs against cross-entropy's with the same seeds
    const [loss, frac] = [key.split("/")[0], Number(key.split("/")[1])];
    const o = st.memorization.filter((x) => x.loss === loss && x.frac === frac);
    const ce = st.memorization.filter((x) => x.loss === "ce" && x.frac === frac);
    const seeds = o.map((x) => x.seed).filter((s) => ce.some((x) => x.seed === s));
    if (!seeds.length) continue;
    const at = (x: typeof o) => seeds.map((s) => x.find((y) => y.seed === s)!.finalError);
    comp.push(
      `${loss.toUpperCase()} instead of CE at ${
        fracText(frac)
      } (${st.profile.memorization.epochs} ` +
        `epochs on the memorization subset): ${verdictWords(at(o), at(ce))}`,
    );
  }
  for (const frac of [...new Set(st.relabel.map((r) => r.frac))]) {
    const ks = [
      ...new Set(st.relabel.filter((r) => r.frac === frac && r.budget > 0).map((r) => r.budget)),
    ];
    for (const K of ks.sort((a, b) => a - b)) {
      const cl = st.relabel.filter((r) => r.frac === frac && r.method === "cl" && r.budget === K);
      const rnd = st.relabel.filter((r) =>
        r.frac === frac && r.method === "random" && r.budget === K
      );
      const [a, b] = paired(cl, rnd);
      const per = (x: typeof cl) =>
        summarize(x.map((r) => ((r.wrongBefore - r.wrongAfter) / K) * 1000)).mean.toFixed(0);
      comp.push(
        `relabeling the ${intText(K)} most suspicious labels at ${fracText(frac)} instead of ` +
          `${intText(K)} random ones: ${verdictWords(a, b)}; ${per(cl)} vs ${per(rnd)} wrong ` +
          "labels fixed per 1,000 relabels",
      );
    }
  }
  if (comp.length) {
    out.push(
      "**Measured: compensating on a budget.** " + comp.join("; ") +
        ". (Reasoning.) Early stopping and the robust loss cost only compute; relabeling costs " +
        "annotator time, so its value is the wrong labels fixed per relabel, measured above " +
        "against random choice.",
    );
  }
  const cl = st.confidentLearning;
  if (cl.length) {
    const fr = [...new Set(cl.map((r) => r.frac))].sort((a, b) => a - b);
    out.push(
      "**Measured: quantifying label noise.** Confident learning with k-fold models, no clean " +
        "labels: " + fr.map((f) => {
          const runs = cl.filter((r) => r.frac === f);
          const worst = Math.max(...runs.map((r) => Math.abs(r.estimatedRate - r.trueRate)));
          const meanErr = Math.abs(
            summarize(runs.map((r) => r.estimatedRate - r.trueRate)).mean,
          );
          return `at ${fracText(f)} estimated ${ms(runs.map((r) => r.estimatedRate))} vs ${
            ms(runs.map((r) => r.trueRate))
          } truly changed (mean ${meanErr <= 0.01 ? "within" : "not within"} 1 point; worst ` +
            `run ${(worst * 100).toFixed(2)} points)`;
        }).join("; ") + ". (Reasoning.) The estimate counts the fold models' own confusions " +
        "as label errors, so it runs high when the models are weak (fewer images, fewer epochs, " +
        "heavy noise); out-of-sample probabilities matter once a model fits its own wrong " +
        "labels, which in-sample disagreement would then miss.",
    );
  }
  return out;
}
