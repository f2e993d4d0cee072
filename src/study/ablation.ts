/**
 * Part 1's ablation: what besides training longer improves accuracy, measured. Each row changes
 * one thing of Part 1's recipe (more epochs; augmentation; a wider network) and is trained over
 * paired seeds; the ensemble row averages the softmax probabilities of Part 1's own networks.
 * This module holds the profiles, their cost, the ensemble accumulator and the rows' statistics
 * (95% t intervals, paired differences); training is the caller's.
 *
 * Browser-safe.
 *
 * @module
 */
import { barChart, type ChartSpec } from "../render/charts.ts";
import { type PairedDifference, pairedDifference, summarize, tQuantile } from "../util/stats.ts";
import type { AblationRow, AblationRun, Part1Ensemble, RunRecord } from "./results.ts";

/** `--ablation`: a profile, or none. */
export type AblationChoice = "none" | "standard" | "full";

/** One row of the ablation: Part 1's recipe with one or two things changed. */
export interface AblationVariant {
  /** File-name safe key, e.g. "epochs". */
  key: string;
  /** The network instead of the baseline's (absent: the same). */
  model?: "lenet5" | "cnn";
  /** The augmentation instead of the baseline's (absent: the same). */
  augment?: "affine" | "elastic";
  /** Epochs as a multiple of the baseline's. */
  epochsFactor: number;
  /** The row it is also compared with, to isolate its change (absent: the baseline only). */
  against?: string;
}

/** Which rows, over how many seeds. */
export interface AblationProfile {
  /** "standard" or "full". */
  name: "standard" | "full";
  /** Paired seeds per row (the first of Part 1's seeds). */
  seeds: number;
  /** The rows, in table order (the baseline and the ensemble are added around them). */
  variants: AblationVariant[];
}

/** About 5 minutes on the 2-core CPU adapter: 2 seeds; the wider network at the base schedule. */
export const STANDARD_ABLATION: AblationProfile = {
  name: "standard",
  seeds: 2,
  variants: [
    { key: "epochs", epochsFactor: 5 },
    { key: "affine", augment: "affine", epochsFactor: 5, against: "epochs" },
    { key: "cnn", model: "cnn", epochsFactor: 1 },
  ],
};

/**
 * Every row at 5 seeds, with elastic augmentation too (the wider network stays at the base
 * schedule: at 5 epochs it alone would cost about 1.5 million CNN image-steps, over half an hour
 * on the 2-core CPU adapter).
 */
export const FULL_ABLATION: AblationProfile = {
  name: "full",
  seeds: 5,
  variants: [
    { key: "epochs", epochsFactor: 5 },
    { key: "affine", augment: "affine", epochsFactor: 5, against: "epochs" },
    { key: "elastic", augment: "elastic", epochsFactor: 5, against: "epochs" },
    { key: "cnn", model: "cnn", epochsFactor: 1 },
  ],
};

/** The profile of a choice; null for "none". */
export function ablationProfile(choice: AblationChoice): AblationProfile | null {
  return choice === "full" ? FULL_ABLATION : choice === "standard" ? STANDARD_ABLATION : null;
}

/** What a row trains. */
export interface AblationRecipe {
  /** Network name ("lenet5", "cnn", ...). */
  model: string;
  /** "none", "affine" or "elastic". */
  augment: string;
  /** Training epochs. */
  epochs: number;
}

/** A variant resolved against the baseline recipe. */
export interface ResolvedVariant extends AblationRecipe {
  /** The variant's key. */
  key: string;
  /** The row compared with besides the baseline (resolved; absent: baseline only). */
  against?: string;
}

const same = (a: AblationRecipe, b: AblationRecipe) =>
  a.model === b.model && a.augment === b.augment && a.epochs === b.epochs;

/**
 * The variants of `profile` applied to `base`: a variant that trains what the baseline or an
 * earlier variant already trains is dropped (e.g. the wider network when the baseline is it), and
 * a comparison with a dropped row falls back to the baseline.
 */
export function resolveVariants(
  profile: AblationProfile,
  base: AblationRecipe,
): ResolvedVariant[] {
  const out: ResolvedVariant[] = [];
  for (const v of profile.variants) {
    const r: ResolvedVariant = {
      key: v.key,
      model: v.model ?? base.model,
      augment: v.augment ?? base.augment,
      epochs: base.epochs * v.epochsFactor,
    };
    if (same(r, base) || out.some((o) => same(o, r))) continue;
    if (v.against && out.some((o) => o.key === v.against)) r.against = v.against;
    out.push(r);
  }
  return out;
}

/**
 * Relative cost of one training image-step against LeNet-5's, measured on the 2-core CPU
 * adapter (LeNet-5 about 10,000 images/s, the wider CNN about 1,400; elastic distortion about
 * 30% more, affine a few percent).
 */
export const MODEL_STEP_COST: Record<string, number> = { lenet5: 1, cnn: 7, mlp: 0.3, logreg: 0.1 };
/** Factor of an augmentation on the step cost. */
export const AUGMENT_STEP_COST: Record<string, number> = { none: 1, affine: 1.05, elastic: 1.3 };

/** Cost of one image-step of a recipe in LeNet-5 image-steps. */
export function stepCost(r: Pick<AblationRecipe, "model" | "augment">): number {
  const model = MODEL_STEP_COST[r.model] ?? (r.model.startsWith("mlp") ? MODEL_STEP_COST.mlp : 1);
  return model * (AUGMENT_STEP_COST[r.augment] ?? 1);
}

/** The training an ablation plans: runs, image-steps, and image-steps weighted by cost. */
export interface AblationCost {
  /** Runs to train (baseline seeds Part 1 lacks, and every variant's). */
  runs: number;
  /** Training image-steps of those runs. */
  imageSteps: number;
  /** The same in LeNet-5 image-steps (weighted by {@link stepCost}), for the time estimate. */
  weightedSteps: number;
  /** Test-set evaluations (one per epoch of every run, plus one per ensemble member). */
  evaluations: number;
}

/** The cost of an ablation over `trainImages` images, when Part 1 trained `part1Seeds` seeds. */
export function ablationCost(
  profile: AblationProfile,
  base: AblationRecipe,
  trainImages: number,
  part1Seeds: number,
): AblationCost {
  const missing = Math.max(0, profile.seeds - part1Seeds);
  const rows: { r: AblationRecipe; runs: number }[] = [
    { r: base, runs: missing },
    ...resolveVariants(profile, base).map((r) => ({ r, runs: profile.seeds })),
  ];
  let runs = 0, imageSteps = 0, weightedSteps = 0, evaluations = 0;
  for (const { r, runs: k } of rows) {
    runs += k;
    imageSteps += k * r.epochs * trainImages;
    weightedSteps += k * r.epochs * trainImages * stepCost(r);
    evaluations += k * r.epochs;
  }
  return { runs, imageSteps, weightedSteps, evaluations: evaluations + part1Seeds };
}

/**
 * Averages the softmax probabilities of an ensemble's members as they come, tracking the error of
 * the ensemble of the first k members for every k.
 */
export class EnsembleAccumulator {
  readonly #labels: ArrayLike<number>;
  readonly #classes: number;
  readonly #sum: Float64Array;
  readonly #members: number[] = [];
  readonly #memberErrors: number[] = [];
  readonly #bySize: { size: number; testError: number }[] = [];

  /** An empty ensemble for images with these true `labels`. */
  constructor(labels: ArrayLike<number>, classes = 10) {
    this.#labels = labels;
    this.#classes = classes;
    this.#sum = new Float64Array(labels.length * classes);
  }

  /** Adds a member: its probabilities (N, C) row-major on the images, in order. */
  add(seed: number, probs: ArrayLike<number>): void {
    const n = this.#labels.length, C = this.#classes;
    if (probs.length !== n * C) {
      throw new RangeError(`ensemble: expected ${n} x ${C} probabilities, got ${probs.length}`);
    }
    for (let i = 0; i < probs.length; i++) this.#sum[i] += probs[i];
    this.#members.push(seed);
    this.#memberErrors.push(errorOfRows(probs, this.#labels, C));
    this.#bySize.push({
      size: this.#members.length,
      testError: errorOfRows(this.#sum, this.#labels, C),
    });
  }

  /** Number of members so far. */
  get size(): number {
    return this.#members.length;
  }

  /** The record of the ensemble of every member added (`evalSeconds`: their evaluations). */
  result(evalSeconds: number): Part1Ensemble {
    if (this.#members.length === 0) throw new RangeError("ensemble: no members");
    const C = this.#classes, n = this.#labels.length;
    const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
    for (let i = 0; i < n; i++) confusion[this.#labels[i]][argmaxRow(this.#sum, i, C)]++;
    const perClassError = confusion.map((row, c) => {
      const total = row.reduce((a, b) => a + b, 0);
      return total ? 1 - row[c] / total : 0;
    });
    return {
      members: [...this.#members],
      memberErrors: [...this.#memberErrors],
      testError: this.#bySize.at(-1)!.testError,
      bySize: this.#bySize.map((b) => ({ ...b })),
      confusion,
      perClassError,
      evalSeconds,
    };
  }
}

function argmaxRow(p: ArrayLike<number>, row: number, C: number): number {
  let best = 0;
  for (let k = 1; k < C; k++) if (p[row * C + k] > p[row * C + best]) best = k;
  return best;
}

/** Fraction of rows whose most probable class (the lowest on a tie) is not the label. */
export function errorOfRows(p: ArrayLike<number>, labels: ArrayLike<number>, C: number): number {
  let wrong = 0;
  for (let i = 0; i < labels.length; i++) if (argmaxRow(p, i, C) !== labels[i]) wrong++;
  return wrong / labels.length;
}

/** Mean with a 95% t interval over `values` (unbounded for one value). */
export function meanInterval(values: readonly number[]): { low: number; high: number } {
  const s = summarize(values);
  if (s.n < 2) return { low: -Infinity, high: Infinity };
  const half = tQuantile(0.975, s.n - 1) * s.std / Math.sqrt(s.n);
  return { low: s.mean - half, high: s.mean + half };
}

/** a − b paired by seed over the seeds both have; null with no common seed. */
export function pairedBySeed(
  a: readonly Pick<RunRecord, "seed" | "testError">[],
  b: readonly Pick<RunRecord, "seed" | "testError">[],
): PairedDifference | null {
  const pairs = a.flatMap((x) => {
    const y = b.find((r) => r.seed === x.seed);
    return y ? [[x.testError, y.testError]] : [];
  });
  if (pairs.length === 0) return null;
  return pairedDifference(pairs.map((p) => p[0]), pairs.map((p) => p[1]));
}

/** What {@link ablationRows} builds the table from. */
export interface AblationInput {
  /** The baseline's runs (Part 1's, plus any seed the ablation trained). */
  baseline: { recipe: AblationRecipe; parameters: number; runs: AblationRun[] };
  /** Each variant's recipe, parameter count and runs. */
  variants: { variant: ResolvedVariant; parameters: number; runs: AblationRun[] }[];
  /** Part 1's ensemble, if it recorded one (two seeds or more). */
  ensemble?: Part1Ensemble;
}

/** Seconds to classify the test set once, from a run's evaluations during training. */
function predictSeconds(runs: readonly AblationRun[]): number | null {
  const timed = runs.filter((r) => r.evaluations && r.evalSeconds !== undefined);
  if (!timed.length) return null;
  return timed.reduce((a, r) => a + r.evalSeconds! / r.evaluations!, 0) / timed.length;
}

function row(
  key: string,
  recipe: AblationRecipe,
  parameters: number,
  runs: AblationRun[],
  base: AblationRun[],
  against: { key: string; runs: AblationRun[] } | undefined,
  predict: number | null,
): AblationRow {
  const errors = runs.map((r) => r.testError);
  return {
    key,
    ...recipe,
    parameters,
    seeds: runs.map((r) => r.seed),
    testError: summarize(errors),
    interval: meanInterval(errors),
    trainSeconds: summarize(runs.map((r) => r.trainSeconds)).mean,
    predictSeconds: predict,
    vsBaseline: key === "baseline" ? null : pairedBySeed(runs, base),
    ...(against ? { against: against.key, vsAgainst: pairedBySeed(runs, against.runs) } : {}),
    runs,
  };
}

/**
 * The ablation table: the baseline, every variant, then the ensemble of Part 1's networks. Test
 * errors get a 95% t interval over seeds; differences are paired by seed (established when the
 * interval excludes 0). The ensemble is one measurement: its difference is taken against each
 * member's own error, so its interval is over the members.
 */
export function ablationRows(input: AblationInput): AblationRow[] {
  const byModel = new Map<string, AblationRun[]>();
  for (const v of [...input.variants.map((x) => x.variant), input.baseline.recipe]) {
    const runs = v === input.baseline.recipe
      ? input.baseline.runs
      : input.variants.find((x) => x.variant === v)!.runs;
    byModel.set(v.model, [...(byModel.get(v.model) ?? []), ...runs]);
  }
  const predictOf = (model: string) => predictSeconds(byModel.get(model) ?? []);
  const base = input.baseline.runs;
  const rows = [
    row(
      "baseline",
      input.baseline.recipe,
      input.baseline.parameters,
      base,
      base,
      undefined,
      predictOf(input.baseline.recipe.model),
    ),
  ];
  for (const v of input.variants) {
    const against = v.variant.against
      ? input.variants.find((x) => x.variant.key === v.variant.against)
      : undefined;
    rows.push(
      row(
        v.variant.key,
        v.variant,
        v.parameters,
        v.runs,
        base,
        against ? { key: against.variant.key, runs: against.runs } : undefined,
        predictOf(v.variant.model),
      ),
    );
  }
  const e = input.ensemble;
  if (e && e.members.length >= 2) {
    const members = e.members.map((seed) => base.find((r) => r.seed === seed));
    const train = members.reduce((a, r) => a + (r?.trainSeconds ?? NaN), 0);
    const oneSeed = e.evalSeconds / e.members.length;
    rows.push({
      key: "ensemble",
      ...input.baseline.recipe,
      parameters: input.baseline.parameters * e.members.length,
      seeds: [...e.members],
      testError: { mean: e.testError, std: 0, min: e.testError, max: e.testError, n: 1 },
      interval: { low: -Infinity, high: Infinity },
      trainSeconds: Number.isFinite(train) ? train : NaN,
      predictSeconds: (predictOf(input.baseline.recipe.model) ?? oneSeed) * e.members.length,
      vsBaseline: pairedDifference(e.memberErrors.map(() => e.testError), e.memberErrors),
      ensembleSize: e.members.length,
      runs: [],
    });
  }
  return rows;
}

/** A row's name for tables and the chart, e.g. "LeNet-5, 5 epochs, affine". */
export function ablationLabel(
  r: Pick<AblationRow, "key" | "model" | "augment" | "epochs"> & {
    ensembleSize?: number;
  },
): string {
  const model = r.model === "lenet5" ? "LeNet-5" : r.model === "cnn" ? "wider CNN" : r.model;
  const epochs = `${r.epochs} epoch${r.epochs === 1 ? "" : "s"}`;
  if (r.key === "ensemble") return `ensemble of ${r.ensembleSize} × ${model} (${epochs})`;
  return `${model}, ${epochs}${r.augment === "none" ? "" : `, ${r.augment}`}`;
}

/** Test error per row with its 95% interval as error bars (the ensemble: one measurement). */
export function ablationChart(rows: readonly AblationRow[], title = "Part 1 ablation"): ChartSpec {
  const half = (r: AblationRow) =>
    Number.isFinite(r.interval.high) ? (r.interval.high - r.testError.mean) * 100 : 0;
  return barChart({
    title: `${title}: test error per recipe (bars: 95% interval over seeds)`,
    xLabel: "recipe",
    yLabel: "test error (%)",
    categories: rows.map((r) => ablationLabel(r)),
    series: [{
      label: "test error, mean over seeds",
      values: rows.map((r) => r.testError.mean * 100),
      errors: rows.map(half),
    }],
  });
}
