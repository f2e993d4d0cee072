/**
 * Part 3: label noise. Exactly round(frac x N) training images, chosen without replacement
 * (seeded), get a uniformly random label in 0..9 (which can equal the true one; the number that
 * actually changed is recorded), with `--label-mode different` a random different label, or with
 * `--label-mode pairs` a fixed partner class (systematic noise: 4<->9, 3<->5, 7<->1, 0<->6, 2<->8). The
 * network is trained on the corrupted labels and tested on the clean test set.
 *
 *   deno task part3 [--frac 0.15 | --fracs 0,0.05,0.15,0.5] [--label-mode uniform|different|pairs]
 *                   [--loss ce|gce|sce]
 *                   [--seeds 1] [--seed 1] [--out results/part3]
 *
 * After training, each model is also evaluated on the first 10,000 training images against the
 * labels it was trained on: the fraction it disagrees with is a label-noise detector the report
 * discusses.
 *
 * Writes metrics.json, error_vs_frac.png, per_class_error.png and learning_curves.png at the end,
 * atomically.
 *
 * Each finished run is written at once to OUT/runs/<condition>-seed<seed>.json with its full
 * configuration; an interrupted sweep (Ctrl-C or SIGTERM: exit 130) keeps them, and the same
 * command again trains only the runs not yet there (a record of another configuration is
 * replaced, and the output says so).
 *
 * @module
 */
import {
  type ChartSpec,
  corruptLabels,
  deriveSeed,
  Evaluator,
  FULL_LABEL_STUDIES,
  LABEL_MODES,
  type LabelMode,
  labelStudyCost,
  type LabelStudyProfile,
  memorizationErrorChart,
  memorizationFitChart,
  noiseMatrixChart,
  type Part3Condition,
  type Part3Run,
  relabelChart,
  robustLossChart,
  type RunRecord,
  STANDARD_LABEL_STUDIES,
  studyImages,
  summarize,
  summarizeRuns,
} from "../mod.ts";
import {
  formatCount,
  formatDuration,
  type OptionSpec,
  type OutputDir,
  renderChartPng,
} from "../mod_deno.ts";
import { runLabelStudies } from "./part3_studies.ts";
import { suspectsGrid } from "./audit.ts";
import {
  modelSpecOf,
  pct,
  recipeOf,
  reusable,
  runExperiment,
  runRecord,
  type Setup,
  TRAINING_OPTIONS,
  type TrainingOptions,
  trainRun,
} from "./common.ts";
import {
  errorCell,
  parseStudyArgs,
  runStudyPart,
  studyMain,
  type StudyPart,
  sweptOptions,
} from "./sweep_files.ts";

export const DEFAULT_FRACS = [0, 0.05, 0.15, 0.5] as const;

export const PART3_FRAC_OPTIONS: Record<string, OptionSpec> = {
  ...sweptOptions("frac", "fracs", 1, {
    one: "run one label-noise level: the fraction of training images given a random label",
    many: `run these fractions (default: ${DEFAULT_FRACS.join(",")})`,
  }),
  labelMode: {
    type: "enum",
    values: LABEL_MODES,
    default: "uniform",
    description: "uniform: a random label in 0..9 (may equal the true one); different: a random " +
      "label other than the true one; pairs: a fixed partner class (4<->9, 3<->5, 7<->1, 0<->6, " +
      "2<->8)",
  },
};

/** The label-noise studies after the sweep: a profile, or none. */
export type StudiesChoice = "standard" | "full" | "none";

export const PART3_STUDY_OPTIONS: Record<string, OptionSpec> = {
  studies: {
    type: "enum",
    values: ["standard", "full", "none"],
    default: "standard",
    description: "label-noise studies after the sweep (memorization, robust losses, pairs " +
      "noise, confident learning, relabeling, image x label noise): standard (2 seeds, " +
      "training subsets), full (5 seeds, whole training set) or none",
  },
};

export const PART3_SPEC: Record<string, OptionSpec> = {
  ...PART3_STUDY_OPTIONS,
  ...TRAINING_OPTIONS,
  ...PART3_FRAC_OPTIONS,
  out: { type: "path", default: "results/part3", description: "output folder" },
};

export interface Part3Options extends TrainingOptions {
  fracs: number[];
  labelMode: LabelMode;
  out: string;
  studies: StudiesChoice;
}

/** The studies' profile of a choice, fitted to a small training set (tests, quick looks). */
export function studyProfile(choice: StudiesChoice, trainImages: number): LabelStudyProfile | null {
  if (choice === "none") return null;
  const p = choice === "full" ? FULL_LABEL_STUDIES : STANDARD_LABEL_STUDIES;
  const memo = studyImages(p.memorization.images, trainImages);
  return {
    ...p,
    memorization: {
      ...p.memorization,
      heldOut: Math.min(p.memorization.heldOut, Math.floor(memo / 5)),
    },
    relabel: {
      ...p.relabel,
      budgets: p.relabel.budgets.filter((k) =>
        k < studyImages(p.relabel.images, studyImages(p.confidentLearning.images, trainImages))
      ),
    },
  };
}

/** Images per second assumed by the plan line (one LeNet-5 epoch of 60,000 in about 15 s). */
export const PLANNED_IMAGES_PER_SECOND = 4000;

/**
 * Part 3's planned training image-steps (sweep and studies) and the plan line with its ETA;
 * `baselineReused`: fraction 0 comes from Part 1 (`deno task all`).
 */
export function part3Plan(
  options: Pick<Part3Options, "fracs" | "epochs" | "studies" | "loss" | "labelMode">,
  trainImages: number,
  seeds: number,
  baselineReused: boolean,
  testImages = 10000,
): { imageSteps: number; text: string } {
  const profile = studyProfile(options.studies, trainImages);
  const trained = options.fracs.filter((f) => f > 0 || !baselineReused).length;
  const sweep = seeds * trained * options.epochs * trainImages;
  const cost = profile
    ? labelStudyCost(
      profile,
      trainImages,
      options.fracs,
      options.epochs,
      seeds >= profile.seeds && options.loss === "ce" && options.labelMode === "uniform",
      testImages,
    )
    : {};
  const studies = Object.values(cost).reduce((a, b) => a + b, 0);
  const eta = (sweep + studies) / PLANNED_IMAGES_PER_SECOND;
  const text = `plan (part 3): sweep ${formatCount(sweep)} image-steps` +
    (profile
      ? `; ${profile.name} label-noise studies ${formatCount(studies)} image-steps (${
        Object.entries(cost).map(([k, v]) => `${k} ${formatCount(v)}`).join(", ")
      })`
      : "; no label-noise studies") +
    `; ETA about ${formatDuration(eta)} at ${formatCount(PLANNED_IMAGES_PER_SECOND)} img/s`;
  return { imageSteps: sweep + studies, text };
}

const PROGRAM = {
  name: "deno task part3",
  summary: "Part 3: train with a fraction of the training labels replaced by random labels, " +
    "test on the clean test set.",
};

/** Parses and validates the command line (UsageError on a mistake); null after --help. */
export function parsePart3(argv: readonly string[]): Part3Options | null {
  const o = parseStudyArgs<Part3Options>(argv, PART3_SPEC, PROGRAM, {
    single: "frac",
    list: "fracs",
    defaults: DEFAULT_FRACS,
  });
  return o && { ...o, fracs: o.values };
}

const fracLabel = (frac: number) => `${+(frac * 100).toFixed(4)}% noisy`;

/** Training images the label audit evaluates (the first N): enough for a ±0.5-point estimate. */
const AUDIT_IMAGES = 10_000;

/** Part 3's conditions over the sweep runner. */
function part3(
  options: Part3Options,
  baseline?: readonly RunRecord[],
): StudyPart<Part3Run, Part3Condition> {
  return {
    part: "Part 3",
    schema: "webgpu-mnist/part3@1",
    task: "part3",
    describe: (s, seeds) =>
      `part 3: label noise ${options.fracs.join(", ")} (${options.labelMode} labels); ` +
      `${seeds.length} seed(s) each; ${s.train.count} training and ${s.test.count} clean test ` +
      `images\n${
        part3Plan(options, s.train.count, seeds.length, baseline !== undefined, s.test.count).text
      }`,
    conditions: (s) =>
      options.fracs.map((frac) => ({
        key: `frac${frac}`,
        label: fracLabel(frac),
        condition: { frac, labelMode: options.labelMode },
        reuse: (seed: number) => {
          const r = frac === 0 ? reusable(baseline, seed) : undefined;
          return r && {
            ...r,
            labelSeed: deriveSeed(seed, "labels"),
            corrupted: 0,
            changed: 0,
            reusedFrom: "part1" as const,
          };
        },
        train: async (seed: number, label: string) => {
          const corrupted = corruptLabels(s.train.labels, frac, seed, options.labelMode);
          const auditImages = Math.min(AUDIT_IMAGES, s.train.count);
          let trainDisagreement: number | undefined;
          const r = await trainRun(s, {
            recipe: recipeOf(options),
            spec: modelSpecOf(options),
            seed,
            label,
            labels: frac > 0 ? corrupted.labels : undefined,
            // the trained model against the labels it was trained on (first training images)
            afterTraining: async (model, trained) => {
              const evaluator = await Evaluator.create(s.ctx, model, trained, {
                count: auditImages,
              });
              trainDisagreement = (await evaluator.run()).error;
              evaluator.destroy();
            },
          });
          console.error(
            `  ${formatCount(corrupted.corrupted.length)} labels randomized, ` +
              `${formatCount(corrupted.changed)} changed; the trained model disagrees with ` +
              `${pct(trainDisagreement ?? NaN)} of the labels of the first ${
                formatCount(auditImages)
              } training images`,
          );
          return {
            ...runRecord(r),
            labelSeed: deriveSeed(seed, "labels"),
            corrupted: corrupted.corrupted.length,
            changed: corrupted.changed,
            trainDisagreement,
            auditImages,
          };
        },
      })),
    summarize: (s, d, runs) => {
      const N = s.train.count;
      return {
        frac: d.condition.frac as number,
        corrupted: runs[0].corrupted,
        changed: summarize(runs.map((r) => r.changed)),
        changedFraction: summarize(runs.map((r) => r.changed / N)),
        ...(runs.every((r) => r.trainDisagreement !== undefined)
          ? { trainDisagreement: summarize(runs.map((r) => r.trainDisagreement!)) }
          : {}),
        ...summarizeRuns(runs),
      };
    },
    value: (c) => c.frac,
    label: (c) => fracLabel(c.frac),
    charts: {
      what: "label-noise level",
      errorKey: "errorVsFrac",
      errorFile: "error_vs_frac.png",
      errorTitle: "Part 3: test error vs label noise",
      xLabel: `fraction of training images given a random label (${options.labelMode})`,
    },
    extra: async (s, out, conditions) => ({
      labelMode: options.labelMode,
      ...await studiesExtra(s, out, options, conditions),
      labelAudit:
        "each trained model evaluated on the first min(10,000, N) training images against " +
        "the labels it was trained on (trainDisagreement)",
      labelNoise: {
        selection: "exactly round(frac x N) training images, without replacement",
        newLabel: options.labelMode === "uniform"
          ? "uniform in 0..9 (can equal the true label)"
          : options.labelMode === "pairs"
          ? "the fixed partner class PAIR_LABELS[true label] (4<->9, 3<->5, 7<->1, 0<->6, 2<->8)"
          : "uniform over the 9 other labels",
        labelSeed: 'deriveSeed(run seed, "labels")',
        testSet: "clean (true labels)",
      },
    }),
    table: (conditions, seeds) => [
      "fraction   randomized   changed   test error" + (seeds.length > 1 ? " (mean +- sd)" : ""),
      ...conditions.map((c) =>
        `${String(c.frac).padStart(8)}   ${formatCount(c.corrupted).padStart(10)}   ` +
        `${formatCount(c.changed.mean).padStart(7)}   ${errorCell(c.testError, seeds, 9)}`
      ),
    ],
  };
}

/** Runs the label-noise studies and stages their charts; the `studies` field of metrics.json. */
async function studiesExtra(
  s: Setup,
  out: OutputDir,
  options: Part3Options,
  conditions: Part3Condition[],
): Promise<object> {
  const profile = studyProfile(options.studies, s.train.count);
  if (!profile) return {};
  const st = await runLabelStudies(s, options, profile, conditions);
  const files: Record<string, string> = {};
  const charts: Record<string, ChartSpec> = {};
  const add = async (name: string, spec: ChartSpec | undefined, width = 900, height = 520) => {
    if (!spec) return;
    out.stage(`${name}.png`, await renderChartPng(spec, { width, height }));
    files[name] = `${name}.png`;
    charts[name] = spec;
  };
  const full = { ...st, files };
  await add("memorization_fit", memorizationFitChart(full, "ce"));
  if (profile.memorization.losses.includes("gce")) {
    await add("memorization_fit_gce", memorizationFitChart(full, "gce"));
  }
  await add("memorization_error", memorizationErrorChart(full));
  await add("robust_losses", robustLossChart(full), 800, 480);
  if (st.relabel.length) await add("relabeling", relabelChart(full), 900, 480);
  const mid = st.confidentLearning.find((c) => c.frac === 0.15) ?? st.confidentLearning[0];
  if (mid) await add("noise_matrix", noiseMatrixChart(full, mid.frac), 640, 640);
  if (st.audit) {
    // the audit of MNIST's own labels: the top suspects of the training subset and the test set
    for (const split of ["train", "test"] as const) {
      const a = st.audit[split], ds = split === "train" ? s.train : s.test;
      const name = `audit_${split}_suspects.png`;
      out.stage(
        name,
        await suspectsGrid(
          ds,
          a.top,
          30,
          `MNIST ${split} (${formatCount(a.images)} images): top suspected label errors ` +
            "(given→suggested)",
        ),
      );
      a.file = name;
    }
  }
  return { studies: { ...full, charts } };
}

/**
 * Runs Part 3 and writes its results. `shared` reuses a set-up and `baseline` Part 1's runs as
 * the fraction-0 runs when their seeds match (both from `deno task all`). Finished runs are kept
 * in OUT/runs/; the same command again continues an interrupted sweep.
 */
export async function runPart3(
  options: Part3Options,
  shared?: Setup,
  baseline?: readonly RunRecord[],
  command: { task: string; argv: readonly string[] } = { task: "part3", argv: Deno.args },
): Promise<void> {
  await runStudyPart(part3(options, baseline), options, command, shared);
}

if (import.meta.main) runExperiment(studyMain(parsePart3, (o) => runPart3(o)), PROGRAM.name);
