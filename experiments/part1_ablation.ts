/**
 * Part 1's ablation (run by `deno task part1` and `deno task all` after Part 1): what besides
 * training longer improves accuracy, measured. Rows (see src/study/ablation.ts): Part 1's recipe
 * (the baseline), more epochs, augmentation at the longer schedule, the wider CNN, and the
 * ensemble of Part 1's networks (their softmax probabilities averaged; Part 1 records it). Every
 * trained row uses the first seeds of Part 1, so rows pair with the baseline by seed.
 *
 * Each finished run is stored at once under OUT/ablation/runs/ (the sweep runner): an interrupted
 * ablation continues where it stopped. OUT/ablation/metrics.json and ablation.png are written at
 * the end, atomically.
 *
 * @module
 */
import { join } from "node:path";
import {
  ablationChart,
  type AblationChoice,
  ablationCost,
  ablationLabel,
  ablationProfile,
  type AblationRecipe,
  type AblationRow,
  ablationRows,
  type AblationRun,
  type ModelSpec,
  paramLayout,
  type Part1Ensemble,
  planModel,
  resolveVariants,
  type RunRecord,
} from "../mod.ts";
import {
  formatCount,
  formatDuration,
  type OptionSpec,
  OutputDir,
  renderChartPng,
} from "../mod_deno.ts";
import {
  checkWritable,
  modelSpecOf,
  pct,
  recipeOf,
  runRecord,
  runSeeds,
  type Setup,
  type TrainingOptions,
  trainRun,
} from "./common.ts";
import { commandLine, type ConditionDecl, sweepConditions } from "./sweep_files.ts";

/** `--ablation` of part1 and all. */
export const PART1_ABLATION_OPTIONS: Record<string, OptionSpec> = {
  ablation: {
    type: "enum",
    values: ["standard", "full", "none"],
    default: "standard",
    description: "after Part 1, what else improves accuracy, measured: more epochs, affine " +
      "augmentation, the wider CNN, and the ensemble of Part 1's seeds; standard (2 paired " +
      "seeds, about 5 min on a 2-core CPU), full (5 seeds, elastic augmentation too) or none",
  },
};

/** LeNet-5 image-steps per second the plan line assumes (as Parts 2 and 3). */
const PLANNED_IMAGES_PER_SECOND = 4000;
/** Seconds per test image evaluated (0.6 s per 10,000 on the calibrated adapter). */
const SECONDS_PER_EVAL_IMAGE = 0.6 / 10_000;

/** The ablation folder under Part 1's output folder. */
export const ablationDir = (out: string) => join(out, "ablation");

/** Checks that the ablation's folder can take its files (before any work). */
export async function checkAblationWritable(out: string, choice: AblationChoice): Promise<void> {
  if (choice !== "none") await checkWritable(ablationDir(out), ["metrics.json", "ablation.png"]);
}

const recipeOfOptions = (o: TrainingOptions): AblationRecipe => ({
  model: modelSpecOf(o).name,
  augment: o.augment,
  epochs: o.epochs,
});

/** The plan of the ablation: image-steps, estimated seconds and the plan line. */
export function part1AblationPlan(
  o: TrainingOptions & { ablation: AblationChoice },
  trainImages: number,
  testImages: number,
  part1Seeds: number,
): { imageSteps: number; seconds: number; text: string } {
  const profile = ablationProfile(o.ablation);
  if (!profile) return { imageSteps: 0, seconds: 0, text: "no ablation (--ablation none)" };
  const c = ablationCost(profile, recipeOfOptions(o), trainImages, part1Seeds);
  const seconds = c.weightedSteps / PLANNED_IMAGES_PER_SECOND +
    c.evaluations * testImages * SECONDS_PER_EVAL_IMAGE;
  const text = `${profile.name} ablation, ${profile.seeds} paired seeds: ${c.runs} runs, ` +
    `${formatCount(c.imageSteps)} image-steps (${formatCount(Math.round(c.weightedSteps))} ` +
    `LeNet-5 image-steps weighted by model cost), ${c.evaluations} test evaluations; about ` +
    `${formatDuration(seconds)} at ${formatCount(PLANNED_IMAGES_PER_SECOND)} img/s`;
  return { imageSteps: c.imageSteps, seconds, text };
}

function parameterCount(spec: ModelSpec): number {
  return paramLayout(planModel(spec)).params.reduce((n, p) => n + p.rows * p.cols, 0);
}

/** The ablation table as text lines for stdout. */
export function ablationTableLines(rows: readonly AblationRow[]): string[] {
  const w = Math.max(...rows.map((r) => ablationLabel(r).length));
  const diff = (d: AblationRow["vsBaseline"]) =>
    d
      ? `${d.mean >= 0 ? "+" : ""}${(d.mean * 100).toFixed(2)} [${
        Number.isFinite(d.low) ? (d.low * 100).toFixed(2) : "-inf"
      }, ${Number.isFinite(d.high) ? (d.high * 100).toFixed(2) : "inf"}]${
        d.established ? " established" : ""
      }`
      : "baseline";
  return [
    `${"recipe".padEnd(w)}  runs  test error   vs baseline (points, 95%)          train s`,
    ...rows.map((r) =>
      `${ablationLabel(r).padEnd(w)}  ${String(r.seeds.length).padStart(4)}  ${
        pct(r.testError.mean).padStart(9)
      }   ${diff(r.vsBaseline).padEnd(34)} ${
        Number.isFinite(r.trainSeconds) ? r.trainSeconds.toFixed(1).padStart(7) : "      -"
      }`
    ),
  ];
}

/**
 * Runs the ablation after Part 1 (whose runs and ensemble are given) and writes
 * OUT/ablation/. `command` continues it after an interruption.
 */
export async function runPart1Ablation(
  s: Setup,
  o: TrainingOptions & { out: string; ablation: AblationChoice },
  part1: { runs: readonly RunRecord[]; ensemble?: Part1Ensemble },
  command: { task: string; argv: readonly string[] },
): Promise<AblationRow[] | null> {
  const profile = ablationProfile(o.ablation);
  if (!profile) return null;
  const t0 = performance.now();
  const dir = ablationDir(o.out);
  const baseRecipe = recipeOf(o);
  const base = recipeOfOptions(o);
  const variants = resolveVariants(profile, base);
  const seeds = runSeeds(o.seed, profile.seeds);
  const plan = part1AblationPlan(o, s.train.count, s.test.count, part1.runs.length);
  console.error(`\nPart 1 ablation: ${plan.text}`);
  const train = (r: AblationRecipe) => async (seed: number, label: string) => {
    const spec = modelSpecOf({ ...o, model: r.model as TrainingOptions["model"] });
    const recipe = recipeOf(
      { ...o, model: r.model as TrainingOptions["model"], augment: r.augment as never },
      spec,
    );
    const result = await trainRun(s, {
      recipe: { ...recipe, epochs: r.epochs },
      spec,
      seed,
      label,
      evalPointsPerEpoch: 1,
    });
    const run: AblationRun = {
      ...runRecord(result),
      evalSeconds: result.evalSeconds,
      evaluations: result.testCurve.length,
    };
    return run;
  };
  const decls: ConditionDecl<AblationRun>[] = [
    {
      key: "baseline",
      label: ablationLabel({ key: "baseline", ...base }),
      condition: { row: "baseline", ...base },
      train: train(base),
      reuse: (seed) => {
        const r = part1.runs.find((x) => x.seed === seed);
        return r ? { ...r, reusedFrom: "part1" } : undefined;
      },
    },
    ...variants.map((v): ConditionDecl<AblationRun> => ({
      key: v.key,
      label: ablationLabel(v),
      condition: { row: v.key, model: v.model, augment: v.augment, epochs: v.epochs },
      train: train(v),
    })),
  ];
  const runs = await sweepConditions(s, {
    out: dir,
    recipe: baseRecipe,
    seeds,
    conditions: decls,
    continueWith: commandLine(command.task, command.argv),
  });
  // the baseline row: every Part 1 run, plus the seeds the ablation trained itself
  const baselineRuns: AblationRun[] = [
    ...part1.runs,
    ...runs[0].filter((r) => !part1.runs.some((p) => p.seed === r.seed)),
  ];
  const specOf = (model: string) => modelSpecOf({ ...o, model: model as TrainingOptions["model"] });
  const rows = ablationRows({
    baseline: { recipe: base, parameters: parameterCount(specOf(base.model)), runs: baselineRuns },
    variants: variants.map((variant, i) => ({
      variant,
      parameters: parameterCount(specOf(variant.model)),
      runs: runs[i + 1],
    })),
    ensemble: part1.ensemble,
  });
  const chart = ablationChart(rows);
  const out = new OutputDir(dir);
  out.stage("ablation.png", await renderChartPng(chart, { width: 900, height: 480 }));
  const trained = runs.flat().filter((r) => !r.reusedFrom);
  out.stageJson("metrics.json", {
    schema: "webgpu-mnist/part1-ablation@1",
    createdAt: new Date().toISOString(),
    profile: profile.name,
    seeds,
    adapter: s.ctx.adapterName,
    dataset: s.dataset,
    trainImages: s.train.count,
    testImages: s.test.count,
    trainData: s.train.name,
    testData: s.test.name,
    baselineRecipe: baseRecipe,
    rows,
    timings: {
      trainSeconds: trained.reduce((a, r) => a + r.trainSeconds, 0),
      totalSeconds: (performance.now() - t0) / 1000,
    },
    chart,
  });
  const written = await out.commit();
  console.log(`\nPart 1 ablation (test error on ${s.test.count} test images):`);
  for (const line of ablationTableLines(rows)) console.log(line);
  console.log(`\nwrote ${written.join(", ")} (and one record per run in ${dir}/runs/)`);
  return rows;
}
