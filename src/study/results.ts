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
import { type PairedDifference, summarize, type Summary } from "../util/stats.ts";
import type { LabelStudies } from "./label_studies.ts";
import type { ChartSpec } from "../render/charts.ts";

/** One point of a training-loss curve (as the trainer records it). */
export interface LossPointRecord {
  /** Epoch (0-based) the loss window belongs to. */
  epoch: number;
  /** Optimizer steps since the start of training, at the end of the window. */
  step: number;
  /** Training images processed at the end of the window. */
  imagesSeen: number;
  /** Mean batch cross-entropy loss over the window (nats). */
  loss: number;
}

/** One test-error measurement during training. */
export interface EvalPointRecord {
  /** Epoch (0-based) in which it was measured. */
  epoch: number;
  /** Epochs completed, fractional (0.1 after a tenth of the first epoch). */
  epochs: number;
  /** Training images processed when it was measured. */
  imagesSeen: number;
  /** Test error: fraction of test images misclassified (0..1). */
  error: number;
}

/** A run's learning curves: training loss and test error against images seen. */
export interface LearningCurveRecord {
  /** Training-loss points, in training order. */
  trainLoss: LossPointRecord[];
  /** Test-error measurements, in training order. */
  testError: EvalPointRecord[];
}

/** One training run of a condition. */
export interface RunRecord {
  /** Seed of the run (its initialization, batch order and noise derive from it). */
  seed: number;
  /** Final test error: fraction of test images misclassified (0..1). */
  testError: number;
  /** Per class (index = true digit): fraction of its test images misclassified. */
  perClassError: number[];
  /** Test confusion counts, indexed [true class][predicted class]. */
  confusion: number[][];
  /** The run's training-loss and test-error curves. */
  learningCurve: LearningCurveRecord;
  /** Wall-clock seconds spent training (evaluation excluded). */
  trainSeconds: number;
  /** Training throughput in images per second. */
  imagesPerSecond: number;
  /** The network's name (e.g. "lenet5", "cnn"); absent in older files. */
  model?: string;
  /** Training-image augmentation ("none", "affine"); absent in older files. */
  augment?: string;
  /**
   * Set when this run was not trained again but taken from Part 1 (same seed, recipe and data:
   * `deno task all` reuses Part 1's runs as the sigma-0 and fraction-0 baselines).
   */
  reusedFrom?: "part1";
}

/** Pointwise mean and standard deviation of a curve over runs. */
export interface MeanCurve {
  /** Training images processed at each point (taken from the first run). */
  imagesSeen: number[];
  /** Mean over the runs at each point. */
  mean: number[];
  /** Sample standard deviation over the runs at each point (0 for one run). */
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
  /** Training loss at each measurement point, mean and sd over the runs. */
  lossCurve: MeanCurve;
  /** The condition's runs, one per seed. */
  runs: R[];
}

/** Facts about the set-up, recorded by every part. */
export interface SetupRecord {
  /** File format and version, e.g. "webgpu-mnist/part1@1". */
  schema: string;
  /** When the file was written (ISO 8601, UTC). */
  createdAt: string;
  /** Name of the WebGPU adapter that ran the training. */
  adapter: string;
  /** Whether that adapter is a CPU (software) implementation, e.g. lavapipe. */
  cpuAdapter: boolean;
  /** Deno version that ran the part. */
  deno: string;
  /** Name of the model spec, e.g. "lenet5". */
  model: string;
  /** The model as PyTorch module source, for comparison and reproduction. */
  modelTorch: string;
  /** Number of training images used. */
  trainImages: number;
  /** Number of test images evaluated. */
  testImages: number;
  /** Name of the training set, as shown in logs. */
  trainData: string;
  /** Name of the test set (or of the held-out split), as shown in logs. */
  testData: string;
  /** The data set by name ("mnist", "fashion-mnist"); absent in older files (MNIST). */
  dataset?: string;
  /** Class names by label, for tables and charts; absent in older files (the digits). */
  classNames?: string[];
  /** The training recipe every run shared: model, optimizer, LR schedule, batch, epochs. */
  recipe: {
    model: string;
    /** Training-image augmentation ("none", "affine"); absent in older files (none). */
    augment?: string;
    optimizer: { kind: string; lr: number; [key: string]: unknown };
    schedule: { kind: string; [key: string]: unknown };
    batchSize: number;
    epochs: number;
  };
  /** Master seed. */
  seed: number;
  /** Wall-clock seconds: set-up (data, GPU) and the whole part, plus part-specific entries. */
  timings: { setupSeconds: number; totalSeconds: number; [key: string]: unknown };
}

/** `results/part1/metrics.json` (the fields the report reads). */
export interface Part1Metrics
  extends
    SetupRecord,
    Pick<ClassMetrics, "perClassError" | "precision" | "recall" | "f1" | "support" | "confusion"> {
  /** Test error of the (first) trained model: fraction misclassified (0..1). */
  testError: number;
  /** Test error over the seeds' runs: mean, sample sd, min, max, n. */
  testErrorSummary: Summary;
  /** Learning curves of the (first) trained model. */
  learningCurve: LearningCurveRecord;
  /** Every run, one per seed. */
  runs: RunRecord[];
  /** The seeds' networks as one ensemble (absent with one seed, and in older files). */
  ensemble?: Part1Ensemble;
}

/** One Part 2 run: a run on noisy training images. */
export interface Part2Run extends RunRecord {
  /** Seed of the run's pixel noise (derived from the run seed). */
  noiseSeed: number;
  /** True when the training noise was drawn afresh every epoch (`--noise-per-epoch`). */
  noisePerEpoch?: boolean;
  /** The trained model evaluated on noisy and corrupted test images. */
  testTime?: Part2TestTime;
}

/** Pixel statistics of the noisy training images at one sigma (CPU reference on a sample). */
export interface NoiseStats {
  /** Images the statistics were computed on (the first N of the training set). */
  images: number;
  /** Fraction of pixels whose noisy value fell below 0 / above 255 and was clipped. */
  clippedLow: number;
  /** Fraction of pixels whose noisy value exceeded 255 and was clipped. */
  clippedHigh: number;
  /** Mean |noisy - clean| on the 0..255 scale. */
  meanAbsChange: number;
  /** Mean value (0..255) of pixels that are 0 in the clean image. */
  backgroundMean: number;
  /** Standard deviation of noisy - clean (after clipping) on the 0..255 scale. */
  changeStd: number;
}

/** One Part 2 condition: the runs at one noise level. */
export interface Part2Condition extends ConditionSummary<Part2Run> {
  /** Noise standard deviation on the 0..255 pixel scale (0: clean images). */
  sigma: number;
  /** Pixel statistics of the noisy training images at this sigma. */
  noiseStats: NoiseStats;
}

/** `results/part2/metrics.json`. */
export interface Part2Metrics extends SetupRecord {
  /** Run seeds: every condition trains one run per seed. */
  seeds: number[];
  /** How the noise was drawn and applied, in words (distribution, clipping, generator). */
  noise: Record<string, unknown>;
  /** One entry per sigma. */
  conditions: Part2Condition[];
  /** The digit grid: which training images it shows (same images at every sigma). */
  samples: { file: string; indices: number[]; labels: number[] };
  /** What the test-time evaluation measured (absent in files written before it existed). */
  testTime?: Part2TestTimeSetup;
  /** Per-epoch noise against fixed noise (absent when not run). */
  compensation?: Part2Compensation;
}

/** One Part 3 run: a run on partly randomized training labels. */
export interface Part3Run extends RunRecord {
  /** Seed of the run's label corruption (derived from the run seed). */
  labelSeed: number;
  /** Training images given a random label: round(frac x N). */
  corrupted: number;
  /** How many of those labels actually differ from the true label. */
  changed: number;
  /**
   * The trained model evaluated on the first `auditImages` training images against the labels
   * it was trained on: the fraction it disagrees with (a label-noise detector; see the report).
   * Absent for a run reused from Part 1.
   */
  trainDisagreement?: number;
  /** Training images the disagreement was measured on (min(10,000, N)). */
  auditImages?: number;
}

/** One Part 3 condition: the runs at one label-noise fraction. */
export interface Part3Condition extends ConditionSummary<Part3Run> {
  /** Fraction of training labels randomized (0..1). */
  frac: number;
  /** round(frac x N): the same in every run. */
  corrupted: number;
  /** Labels that actually changed, over the runs. */
  changed: Summary;
  /** changed / N, over the runs. */
  changedFraction: Summary;
  /** Train disagreement over the runs; absent if any run lacks it (reused from Part 1). */
  trainDisagreement?: Summary;
}

/** `results/part3/metrics.json`. */
export interface Part3Metrics extends SetupRecord {
  /** Run seeds: every condition trains one run per seed. */
  seeds: number[];
  /** How a new label is drawn: "uniform" over all 10, "different" (the 9 others), or "pairs" (a fixed partner). */
  labelMode: "uniform" | "different" | "pairs";
  /** One entry per fraction. */
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
  /** Error name shown before the message. */
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

/** One test-time condition of a run's model: error and which images it got wrong. */
export interface Part2TestResult {
  /** Fraction of the evaluated images misclassified. */
  error: number;
  /** One bit per evaluated image, set where wrong (base64, see `decodeWrong`). */
  wrong: string;
}

/** A corruption (or "clean") of the suite, with and without the 3x3 median filter first. */
export interface Part2SuiteResult extends Part2TestResult {
  /** "clean" or a corruption name. */
  name: string;
  /** Severity (1 = mildest; 0 for clean). */
  severity: number;
  /** The median filter applied after the corruption, before the model. */
  median?: Part2TestResult;
}

/** A trained model evaluated on noisy and corrupted test images. */
export interface Part2TestTime {
  /** Error on test images with Gaussian noise of each test sigma (the grid). */
  grid: Part2TestResult[];
  /** The corruption suite (the first entry is the clean test subset). */
  suite: Part2SuiteResult[];
}

/** One corruption level of the suite as the report names it. */
export interface Part2SuiteEntry {
  /** "clean" or a corruption name. */
  name: string;
  /** Severity (1 = mildest; 0 for clean). */
  severity: number;
  /** e.g. "shot c=12". */
  label: string;
}

/** How the test-time evaluation was set up (shared by every run). */
export interface Part2TestTimeSetup {
  /** Test sigmas of the grid (0..255 scale), ascending; 0 is the clean test set. */
  testSigmas: number[];
  /** Test images of the grid (the first N). */
  gridImages: number;
  /** Seed of the test-time noise and corruptions (the same for every model). */
  testSeed: number;
  /** Test images of the corruption suite (the first N). */
  suiteImages: number;
  /** The suite's entries in order (the first is clean). */
  suite: Part2SuiteEntry[];
  /** Error budget over the clean error for "tolerated test noise" (a fraction, e.g. 0.01). */
  budget: number;
}

/** A condition of the compensation experiment. */
export interface Part2CompensationCondition extends ConditionSummary<Part2Run> {
  /** "fixed" or "per-epoch". */
  key: string;
  /** For tables and legends. */
  label: string;
  /** True for noise redrawn every epoch. */
  noisePerEpoch: boolean;
}

/** Noise redrawn every epoch against fixed per-image noise, same sigma, seeds and recipe. */
export interface Part2Compensation {
  /** Training noise sigma of both conditions (0..255 scale). */
  sigma: number;
  /** Epochs of every run. */
  epochs: number;
  /** Training images (the first N of the training set). */
  trainImages: number;
  /** Fixed, then per-epoch. */
  conditions: Part2CompensationCondition[];
}

/** Part 1's networks as an ensemble: their test-set softmax probabilities averaged. */
export interface Part1Ensemble {
  /** Seeds of the member networks (Part 1's runs), in the order they were added. */
  members: number[];
  /** Each member's own test error, in the same order. */
  memberErrors: number[];
  /** Test error of the ensemble of every member. */
  testError: number;
  /** Test error of the ensemble of the first k members, k = 1, 2, ... */
  bySize: { size: number; testError: number }[];
  /** The ensemble's confusion counts, [true][predicted]. */
  confusion: number[][];
  /** The ensemble's error per class. */
  perClassError: number[];
  /** Seconds spent computing the members' test-set probabilities (one pass each). */
  evalSeconds: number;
}

/** One run of the ablation: a run record with the time of its test evaluations. */
export interface AblationRun extends RunRecord {
  /** Seconds spent on the test evaluations during training. */
  evalSeconds?: number;
  /** How many test evaluations those were. */
  evaluations?: number;
}

/** One row of the ablation table. */
export interface AblationRow {
  /** "baseline", "epochs", "affine", "elastic", "cnn" or "ensemble". */
  key: string;
  /** Network name ("lenet5", "cnn"). */
  model: string;
  /** Training-image augmentation ("none", "affine", "elastic"). */
  augment: string;
  /** Training epochs (of each member, for the ensemble). */
  epochs: number;
  /** Learned parameters (the ensemble: all members together). */
  parameters: number;
  /** Seeds of the runs (the ensemble: its members). */
  seeds: number[];
  /** Test error over the runs (the ensemble: one measurement). */
  testError: Summary;
  /** 95% t interval of the mean test error over seeds; unbounded for one run. */
  interval: { low: number; high: number };
  /** Mean seconds to train one run (the ensemble: all members together). */
  trainSeconds: number;
  /** Seconds to classify the test set once (the ensemble: every member); null if not timed. */
  predictSeconds: number | null;
  /**
   * This row minus the baseline, paired by seed; the ensemble's against each member's own
   * error (its interval is over the members). Null for the baseline.
   */
  vsBaseline: PairedDifference | null;
  /** The row also compared with, to isolate this row's change (e.g. "epochs" for "affine"). */
  against?: string;
  /** This row minus that row, paired by seed. */
  vsAgainst?: PairedDifference | null;
  /** Members of the ensemble row. */
  ensembleSize?: number;
  /** The row's runs (empty for the ensemble). */
  runs: AblationRun[];
}

/** `results/part1/ablation/metrics.json`. */
export interface Part1Ablation {
  /** Always "webgpu-mnist/part1-ablation@1". */
  schema: string;
  /** When the file was written (ISO 8601, UTC). */
  createdAt: string;
  /** "standard" or "full". */
  profile: string;
  /** Paired seeds of the trained rows. */
  seeds: number[];
  /** Name of the WebGPU adapter. */
  adapter: string;
  /** Training images of every run. */
  trainImages: number;
  /** Test images evaluated. */
  testImages: number;
  /** Name of the training set. */
  trainData: string;
  /** Name of the test set. */
  testData: string;
  /** Part 1's recipe, the baseline every row changes (the report checks it matches Part 1). */
  baselineRecipe: SetupRecord["recipe"];
  /** The table, baseline first. */
  rows: AblationRow[];
  /** Wall-clock seconds of the ablation (runs trained now and the whole step). */
  timings: { trainSeconds: number; totalSeconds: number };
  /** The chart: test error per row with its interval. */
  chart: ChartSpec;
}

/** Checks a parsed Part 1 ablation file. */
export function asAblation(value: unknown, file: string): Part1Ablation {
  if (!isObject(value)) throw new MetricsFormatError(`${file}: not a JSON object`);
  const o = value as Json;
  if (o.schema !== "webgpu-mnist/part1-ablation@1") {
    throw new MetricsFormatError(
      `${file}: expected schema "webgpu-mnist/part1-ablation@1", found ${
        JSON.stringify(o.schema)
      }; produce it again with deno task part1`,
    );
  }
  if (!Array.isArray(o.rows) || o.rows.length === 0) {
    throw new MetricsFormatError(`${file}: no rows; produce it again with deno task part1`);
  }
  for (const r of o.rows as Json[]) {
    field(r, "key", file, "a string", isString);
    field(r, "testError", file, "a summary (mean, std, n)", isSummary);
    field(r, "interval", file, "an object", isObject);
  }
  field(o, "baselineRecipe", file, "an object", isObject);
  return o as unknown as Part1Ablation;
}

/** One row of the baselines table (`deno task baselines`). */
export interface BaselineRow {
  /** Model name as shown, e.g. "k-NN (k = 3)". */
  model: string;
  /** Learned parameters (k-NN: the stored training pixels). */
  parameters: number;
  /** Seconds to fit or train (k-NN: none, it stores the training set). */
  trainSeconds: number;
  /** Seconds to classify the whole test set. */
  predictSeconds: number;
  /** Fraction of test images classified wrongly. */
  testError: number;
  /** How it was measured, in a few words. */
  note: string;
}

/** `results/baselines/metrics.json` (the fields the report reads). */
export interface BaselinesMetrics {
  /** Always "webgpu-mnist/baselines@1". */
  schema: string;
  /** When the file was written (ISO 8601, UTC). */
  createdAt: string;
  /** Name of the WebGPU adapter. */
  adapter: string;
  /** Training images. */
  trainImages: number;
  /** Test images. */
  testImages: number;
  /** Name of the training set. */
  trainData: string;
  /** The table's rows, in order. */
  rows: BaselineRow[];
}

/** Checks a parsed baselines file. */
export function asBaselines(value: unknown, file: string): BaselinesMetrics {
  if (!isObject(value)) throw new MetricsFormatError(`${file}: not a JSON object`);
  const o = value as Json;
  if (o.schema !== "webgpu-mnist/baselines@1") {
    throw new MetricsFormatError(
      `${file}: expected schema "webgpu-mnist/baselines@1", found ${
        JSON.stringify(o.schema)
      }; produce it again with deno task baselines`,
    );
  }
  if (!Array.isArray(o.rows)) {
    throw new MetricsFormatError(`${file}: no rows; produce it again with deno task baselines`);
  }
  for (const r of o.rows as Json[]) {
    field(r, "model", file, "a string", isString);
    for (const k of ["parameters", "trainSeconds", "predictSeconds", "testError"]) {
      field(r, k, file, "a number", isNumber);
    }
  }
  return o as unknown as BaselinesMetrics;
}
