/**
 * The shapes of the study's result files (`results/part{1,2,3}/metrics.json`), the summary of
 * repeated runs of one condition (mean and sample standard deviation over seeds), and readers
 * that check a parsed file before the report generator trusts it.
 *
 * Browser-safe.
 *
 * @module
 */
import { EngineError } from "../util/errors.ts";
import type { ClassMetrics } from "../train/metrics.ts";
import { summarize, type Summary } from "../util/stats.ts";
import type { LabelStudies } from "./label_studies.ts";
import type { ChartSpec } from "../render/charts.ts";

/** One point of a training-loss curve (as the trainer records it). */
export interface LossPointRecord {
  epoch: number;
  step: number;
  imagesSeen: number;
  loss: number;
}

/** One test-error measurement during training. */
export interface EvalPointRecord {
  epoch: number;
  epochs: number;
  imagesSeen: number;
  error: number;
}

export interface LearningCurveRecord {
  trainLoss: LossPointRecord[];
  testError: EvalPointRecord[];
}

/** One training run of a condition. */
export interface RunRecord {
  seed: number;
  testError: number;
  perClassError: number[];
  confusion: number[][];
  learningCurve: LearningCurveRecord;
  trainSeconds: number;
  imagesPerSecond: number;
  /**
   * Set when this run was not trained again but taken from Part 1 (same seed, recipe and data:
   * `deno task all` reuses Part 1's runs as the sigma-0 and fraction-0 baselines).
   */
  reusedFrom?: "part1";
}

/** Pointwise mean and standard deviation of a curve over runs. */
export interface MeanCurve {
  imagesSeen: number[];
  mean: number[];
  std: number[];
}

/** What every condition (one sigma, one fraction) records about its runs. */
export interface ConditionSummary<R extends RunRecord = RunRecord> {
  /** Test error over the runs (sample standard deviation; 0 for a single run). */
  testError: Summary;
  /** Per class: mean and standard deviation over the runs of the class's test error. */
  perClassError: { mean: number[]; std: number[] };
  /** Confusion counts ([true][predicted]) summed over the runs. */
  confusion: number[][];
  /** Test error and training loss at each measurement point, mean and sd over the runs. */
  testCurve: MeanCurve;
  lossCurve: MeanCurve;
  runs: R[];
}

/** Facts about the set-up, recorded by every part. */
export interface SetupRecord {
  schema: string;
  createdAt: string;
  adapter: string;
  cpuAdapter: boolean;
  deno: string;
  model: string;
  modelTorch: string;
  trainImages: number;
  testImages: number;
  trainData: string;
  testData: string;
  recipe: {
    model: string;
    optimizer: { kind: string; lr: number; [key: string]: unknown };
    schedule: { kind: string; [key: string]: unknown };
    batchSize: number;
    epochs: number;
  };
  /** Master seed. */
  seed: number;
  timings: { setupSeconds: number; totalSeconds: number; [key: string]: unknown };
}

/** `results/part1/metrics.json` (the fields the report reads). */
export interface Part1Metrics
  extends
    SetupRecord,
    Pick<ClassMetrics, "perClassError" | "precision" | "recall" | "f1" | "support" | "confusion"> {
  testError: number;
  testErrorSummary: Summary;
  learningCurve: LearningCurveRecord;
  runs: RunRecord[];
}

export interface Part2Run extends RunRecord {
  noiseSeed: number;
}

/** Pixel statistics of the noisy training images at one sigma (CPU reference on a sample). */
export interface NoiseStats {
  /** Images the statistics were computed on (the first N of the training set). */
  images: number;
  /** Fraction of pixels whose noisy value fell below 0 / above 255 and was clipped. */
  clippedLow: number;
  clippedHigh: number;
  /** Mean |noisy - clean| on the 0..255 scale. */
  meanAbsChange: number;
  /** Mean value (0..255) of pixels that are 0 in the clean image. */
  backgroundMean: number;
  /** Standard deviation of noisy - clean (after clipping) on the 0..255 scale. */
  changeStd: number;
}

export interface Part2Condition extends ConditionSummary<Part2Run> {
  sigma: number;
  noiseStats: NoiseStats;
}

/** `results/part2/metrics.json`. */
export interface Part2Metrics extends SetupRecord {
  seeds: number[];
  noise: Record<string, unknown>;
  conditions: Part2Condition[];
  /** The digit grid: which training images it shows (same images at every sigma). */
  samples: { file: string; indices: number[]; labels: number[] };
}

export interface Part3Run extends RunRecord {
  labelSeed: number;
  corrupted: number;
  changed: number;
  /**
   * The trained model evaluated on the first `auditImages` training images against the labels
   * it was trained on: the fraction it disagrees with (a label-noise detector; see the report).
   * Absent for a run reused from Part 1.
   */
  trainDisagreement?: number;
  auditImages?: number;
}

export interface Part3Condition extends ConditionSummary<Part3Run> {
  frac: number;
  /** round(frac x N): the same in every run. */
  corrupted: number;
  /** Labels that actually changed, over the runs. */
  changed: Summary;
  /** changed / N, over the runs. */
  changedFraction: Summary;
  trainDisagreement?: Summary;
}

/** `results/part3/metrics.json`. */
export interface Part3Metrics extends SetupRecord {
  seeds: number[];
  labelMode: "uniform" | "different" | "pairs";
  conditions: Part3Condition[];
  /** The label-noise studies (absent with `--studies none`), with their chart specs. */
  studies?: LabelStudies & { charts: Record<string, ChartSpec> };
}

function meanCurve(curves: { imagesSeen: number; value: number }[][]): MeanCurve {
  const length = Math.min(...curves.map((c) => c.length));
  const out: MeanCurve = { imagesSeen: [], mean: [], std: [] };
  for (let i = 0; i < length; i++) {
    const s = summarize(curves.map((c) => c[i].value));
    out.imagesSeen.push(curves[0][i].imagesSeen);
    out.mean.push(s.mean);
    out.std.push(s.std);
  }
  return out;
}

/** Mean and standard deviation over the runs of one condition. */
export function summarizeRuns<R extends RunRecord>(runs: R[]): ConditionSummary<R> {
  if (runs.length === 0) throw new RangeError("summarizeRuns: no runs");
  const classes = runs[0].perClassError.length;
  const perClass = Array.from(
    { length: classes },
    (_, c) => summarize(runs.map((r) => r.perClassError[c])),
  );
  const confusion = runs[0].confusion.map((row) => row.map(() => 0));
  for (const r of runs) {
    r.confusion.forEach((row, t) => row.forEach((v, p) => (confusion[t][p] += v)));
  }
  return {
    testError: summarize(runs.map((r) => r.testError)),
    perClassError: { mean: perClass.map((s) => s.mean), std: perClass.map((s) => s.std) },
    confusion,
    testCurve: meanCurve(
      runs.map((r) =>
        r.learningCurve.testError.map((p) => ({ imagesSeen: p.imagesSeen, value: p.error }))
      ),
    ),
    lossCurve: meanCurve(
      runs.map((r) =>
        r.learningCurve.trainLoss.map((p) => ({ imagesSeen: p.imagesSeen, value: p.loss }))
      ),
    ),
    runs,
  };
}

/** A result file that is not what the report generator expects. */
export class MetricsFormatError extends EngineError {
  override name = "MetricsFormatError";
}

type Json = Record<string, unknown>;

function field(o: Json, key: string, file: string, kind: string, ok: (v: unknown) => boolean) {
  if (!ok(o[key])) {
    throw new MetricsFormatError(
      `${file}: field "${key}" is missing or not ${kind}; the file is damaged or from another ` +
        `version, produce it again`,
    );
  }
}

const isNumber = (v: unknown) => typeof v === "number" && Number.isFinite(v);
const isString = (v: unknown) => typeof v === "string";
const isObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
const isNumbers = (v: unknown) => Array.isArray(v) && v.every(isNumber);
const isMatrix = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every(isNumbers);
const isSummary = (v: unknown) =>
  isObject(v) && ["mean", "std", "n"].every((k) => isNumber((v as Json)[k]));

/** Checks the set-up fields every part records; returns the object for the part's own checks. */
function checkSetup(value: unknown, file: string, schema: string): Json {
  if (!isObject(value)) throw new MetricsFormatError(`${file}: not a JSON object`);
  const o = value as Json;
  if (o.schema !== schema) {
    throw new MetricsFormatError(
      `${file}: expected schema "${schema}", found ${JSON.stringify(o.schema)}; produce the file ` +
        `again with this version`,
    );
  }
  for (const k of ["adapter", "model", "createdAt", "trainData", "testData"]) {
    field(o, k, file, "a string", isString);
  }
  for (const k of ["trainImages", "testImages", "seed"]) field(o, k, file, "a number", isNumber);
  field(o, "recipe", file, "an object", isObject);
  field(o, "timings", file, "an object", isObject);
  return o;
}

function checkRuns(o: Json, file: string, where: string): void {
  if (!Array.isArray(o.runs) || o.runs.length === 0) {
    throw new MetricsFormatError(`${file}: ${where} has no runs; produce the file again`);
  }
  for (const r of o.runs as Json[]) {
    field(r, "testError", file, "a number", isNumber);
    field(r, "perClassError", file, "a list of numbers", isNumbers);
    field(r, "confusion", file, "a matrix", isMatrix);
    field(r, "learningCurve", file, "an object", isObject);
  }
}

/** Checks the conditions of a sweep (each keyed by `key`) and returns them. */
function checkConditions(o: Json, file: string, key: string): Json[] {
  if (!Array.isArray(o.conditions) || o.conditions.length === 0) {
    throw new MetricsFormatError(`${file}: no conditions; produce the file again`);
  }
  for (const c of o.conditions as Json[]) {
    field(c, key, file, "a number", isNumber);
    field(c, "testError", file, "a summary (mean, std, n)", isSummary);
    field(c, "perClassError", file, "an object", isObject);
    field(c, "confusion", file, "a matrix", isMatrix);
    field(c, "testCurve", file, "an object", isObject);
    field(c, "lossCurve", file, "an object", isObject);
    checkRuns(c, file, `${key} ${c[key]}`);
  }
  return o.conditions as Json[];
}

/** Checks a parsed part-1 file; throws {@link MetricsFormatError} naming `file`. */
export function asPart1(value: unknown, file: string): Part1Metrics {
  const o = checkSetup(value, file, "webgpu-mnist/part1@1");
  field(o, "testErrorSummary", file, "a summary (mean, std, n)", isSummary);
  field(o, "perClassError", file, "a list of numbers", isNumbers);
  field(o, "confusion", file, "a matrix", isMatrix);
  checkRuns(o, file, "the file");
  return o as unknown as Part1Metrics;
}

/** Checks a parsed part-2 file. */
export function asPart2(value: unknown, file: string): Part2Metrics {
  const o = checkSetup(value, file, "webgpu-mnist/part2@1");
  for (const c of checkConditions(o, file, "sigma")) {
    field(c, "noiseStats", file, "an object", isObject);
  }
  return o as unknown as Part2Metrics;
}

/** Checks a parsed part-3 file. */
export function asPart3(value: unknown, file: string): Part3Metrics {
  const o = checkSetup(value, file, "webgpu-mnist/part3@1");
  for (const c of checkConditions(o, file, "frac")) {
    field(c, "corrupted", file, "a number", isNumber);
    field(c, "changed", file, "a summary (mean, std, n)", isSummary);
  }
  return o as unknown as Part3Metrics;
}
