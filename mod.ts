/**
 * WebGPU compute-shader training engine for small convolutional networks (LeNet-5 on MNIST), and
 * the robustness study built on it. Every heavy pass is a WGSL compute shader; this module is the
 * browser-safe public API, listed name by name. Deno-only helpers (files, PNG charts, atomic
 * writes, the command-line toolkit) are in `mod_deno.ts`.
 *
 * @example Train LeNet-5 on data already in memory
 * ```ts
 * import { acquireGpu, lenet5, trainSession, ADAM_DEFAULTS } from "./mod.ts";
 * const ctx = await acquireGpu();
 * const result = await trainSession({
 *   ctx,
 *   spec: lenet5(),
 *   data: { train, test }, // Dataset objects: bytes, labels, count, pixels
 *   recipe: { optimizer: ADAM_DEFAULTS, schedule: "cosine", batchSize: 64, epochs: 1, seed: 1 },
 * });
 * console.log(result.metrics?.error);
 * ```
 *
 * @module
 */

// ---------------------------------------------------------------------------------------------
// Errors: every user-facing error extends EngineError (one-line message, exit code)
export { EngineError, isUserFacing } from "./src/util/errors.ts";
export {
  GpuDeviceLostError,
  GpuLimitError,
  GpuUnavailableError,
  ShaderCompileError,
} from "./src/gpu/errors.ts";

// ---------------------------------------------------------------------------------------------
// GPU runtime: device, tensors in textures, dispatch programs, profiling, kernel-variant tuning
export {
  acquireGpu,
  type AcquireOptions,
  type BindingKind,
  GpuContext,
  type Kernel,
  type KernelSpec,
  noAdapterAdvice,
  TEX_WIDTH,
  type TextureReads,
} from "./src/gpu/context.ts";
export type { ConstValue } from "./src/gpu/wgsl.ts";
export type { BindingDecl, BindingPlan } from "./src/gpu/bindings.ts";
export {
  download,
  downloadPadded,
  pad4,
  Tensor,
  TexelStore,
  upload,
  uploadPadded,
} from "./src/gpu/tensor.ts";
export {
  type BufferResource,
  type Dispatch,
  type KernelCall,
  makeDispatch,
  recordDispatches,
  runDispatches,
  type Shader,
  type TextureResource,
} from "./src/gpu/program.ts";
export { type DispatchTiming, profileDispatches } from "./src/gpu/profiler.ts";
export { StepParamsBuffer, type StepValues } from "./src/gpu/step_params.ts";
export {
  MemoryTuningStore,
  Tuner,
  type TuningDecision,
  type TuningMode,
  type TuningRecord,
  type TuningStore,
} from "./src/gpu/tuner.ts";

// ---------------------------------------------------------------------------------------------
// Kernels (launchers) and their float64 references
export {
  denseBackward,
  denseBackwardInput,
  denseBackwardWeight,
  denseForward,
  type DenseUnpool,
} from "./src/ops/dense.ts";
export { denseBackwardRef, denseForwardRef } from "./src/ops/dense.ts";
export { DENSE_TILES, type DenseTile, denseTileCandidates } from "./src/ops/dense.ts";
export { conv2dForward } from "./src/ops/conv2d.ts";
export {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  type ConvInputGradArgs,
  type ConvWeightGradArgs,
} from "./src/ops/conv2d_backward.ts";
export { conv2dBackwardRef, conv2dRef } from "./src/ops/conv2d.ts";
export { type Conv2dShape, type ConvGeometry, convGeometry } from "./src/ops/conv2d.ts";
export { packNHWC, unpackNHWC } from "./src/ops/conv2d.ts";
export { type Conv2dTile, convTileCandidates, defaultConvTile } from "./src/ops/conv2d.ts";
export {
  maxPool2BackwardRef,
  maxPool2Ref,
  maxPoolBackward,
  maxPoolForward,
  type PoolShape,
} from "./src/ops/maxpool.ts";
export { reluBackward, reluBackwardRef, reluForward, reluRef } from "./src/ops/relu.ts";
// Dropout: inverted, mask keyed by (seed, step, element); GPU affine and elastic augmentation
export {
  checkDropProbability,
  type DropoutArgs,
  dropoutBackward,
  dropoutBackwardRef,
  dropoutForward,
  dropoutKeeps,
  dropoutRef,
  layerDropoutSeed,
  MAX_DROP,
} from "./src/ops/dropout.ts";
export {
  AFFINE_DEFAULTS,
  type AffineAugment,
  affineImageRef,
  type AffineParams,
  affineParams,
  type AffineRanges,
  checkAffineRanges,
} from "./src/ops/augment.ts";
export {
  checkElasticRanges,
  ELASTIC_DEFAULTS,
  type ElasticAugment,
  elasticDistort,
  elasticFieldRef,
  elasticImageRef,
  type ElasticRanges,
} from "./src/ops/elastic.ts";
export {
  type CrossEntropyArgs,
  denseSoftmaxCrossEntropy,
  softmaxCrossEntropy,
  softmaxCrossEntropyRef,
  softmaxForward,
} from "./src/ops/softmax_xent.ts";
export {
  GCE_DEFAULTS,
  LOSS_KINDS,
  type LossKind,
  robustCrossEntropy,
  robustCrossEntropyRef,
  type RobustLoss,
  robustLoss,
  SCE_DEFAULTS,
} from "./src/ops/robust_xent.ts";
export {
  ADAM_DEFAULTS,
  type AdamConfig,
  type LrSchedule,
  type OptimizerConfig,
  optimizerRef,
  optimizerUpdate,
  scheduledLr,
  SGD_DEFAULTS,
  type SgdConfig,
} from "./src/ops/optimizer.ts";
export {
  gatherBatch,
  gatherBatchRef,
  type GpuDataset,
  noisyPixelRef,
  type PixelNoise,
  pixelNormal,
  uploadDataset,
  uploadUints,
  writeUints,
} from "./src/ops/gather.ts";
export { accumulateConfusion, confusionRef, predictClasses } from "./src/ops/evaluate.ts";
export {
  corruptBatch,
  corruptBatchRef,
  type Corruption,
  type CorruptionInfo,
  type CorruptionIo,
  type CorruptionLevel,
  type CorruptionName,
  CORRUPTIONS,
  resolveCorruption,
  type ResolvedCorruption,
} from "./src/ops/corrupt.ts";

// ---------------------------------------------------------------------------------------------
// Classical baselines: k-nearest neighbours on the GPU (distance GEMM + top-k), Gaussian naive Bayes
export {
  knnDistance,
  knnExpand,
  knnRef,
  knnSelect,
  type KnnTile,
  type Neighbours,
} from "./src/ops/knn.ts";
export {
  classifyKnn,
  type KnnClassification,
  knnNeighbours,
  type KnnOptions,
  type KnnTiming,
  majorityVote,
} from "./src/baselines/knn.ts";
export {
  fitGaussianNb,
  type GaussianNb,
  gaussianNbLogLikelihoods,
  NB_VAR_SMOOTHING,
  predictGaussianNb,
} from "./src/baselines/naive_bayes.ts";

// ---------------------------------------------------------------------------------------------
// Models: layer specs, the planner that fuses layers into GPU blocks, parameters, the model
export {
  cnn,
  conv2d,
  type Conv2dLayer,
  dense,
  type DenseLayer,
  dropout,
  type DropoutLayer,
  flatten,
  type FlattenLayer,
  type LayerSpec,
  lenet5,
  logreg,
  maxPool2d,
  type MaxPool2dLayer,
  mlp,
  type ModelSpec,
  relu,
  type ReluLayer,
  sequential,
  torchModuleSource,
} from "./src/nn/spec.ts";
export {
  type ActShape,
  type Block,
  type ConvBlock,
  type DenseBlock,
  type DropoutBlock,
  type MapShape,
  ModelSpecError,
  type Plan,
  planModel,
  type PoolBlock,
  type ReluBlock,
  type VecShape,
} from "./src/nn/plan.ts";
export { type ForwardProgram, Model } from "./src/nn/model.ts";
export { initTorchValues, ParamArena, type ParamInfo, paramLayout } from "./src/nn/params.ts";
export { referenceLossAndGrads } from "./src/nn/reference.ts";

// ---------------------------------------------------------------------------------------------
// Training and evaluation: the training session (what the tasks and the page use), the trainer
// under it, evaluation, metrics, prediction, checkpoints
export {
  type CheckpointReason,
  type DecodedCheckpoint,
  modelFromCheckpoint,
  type SessionConfig,
  type SessionData,
  type SessionDataset,
  type SessionHooks,
  type SessionRecipe,
  type SessionResult,
  type StopSignal,
  trainSession,
} from "./src/train/session.ts";
export {
  DivergenceError,
  divergenceLimit,
  epochNoiseSeed,
  type EvalPoint,
  type LossPoint,
  Trainer,
  type TrainHooks,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
  type TrainState,
} from "./src/train/trainer.ts";
export { Evaluator } from "./src/train/evaluator.ts";
export { type ClassMetrics, metricsFromConfusion, topConfusions } from "./src/train/metrics.ts";
export { type Prediction, Predictor } from "./src/train/predictor.ts";
export {
  CHECKPOINT_FORMAT,
  CheckpointError,
  type CheckpointInfo,
  type CheckpointRecipe,
  decodeCheckpoint,
  encodeCheckpoint,
  restoreCheckpoint,
} from "./src/train/checkpoint.ts";

// ---------------------------------------------------------------------------------------------
// Data and files (browser-safe parsers)
export {
  DataFormatError,
  gunzip,
  type IdxArray,
  type IdxExpectation,
  type IdxKind,
  isGzip,
  parseIdx,
} from "./src/data/idx.ts";
export {
  checkImageGeometry,
  type Dataset,
  type DatasetFileNames,
  firstBadLabel,
  makeDataset,
  NUM_CLASSES,
  splitHoldout,
  subset,
} from "./src/data/dataset.ts";
export { type KaggleCsv, parseKaggleCsv, writeKaggleSubmission } from "./src/data/csv.ts";
// Data sets known by name (--dataset), with their class names
export {
  classNounOf,
  type DatasetInfo,
  type DatasetName,
  DATASETS,
  FASHION_MNIST_CLASS_NAMES,
  isDatasetName,
  MNIST_CLASS_NAMES,
} from "./src/data/catalog.ts";
export {
  DIGIT_BOX,
  DigitImageError,
  isDarkOnLight,
  MNIST_CENTRE,
  MNIST_SIDE,
  type MnistInputOptions,
  rgbaToGray,
  toMnistInput,
} from "./src/data/preprocess.ts";
export {
  decodeSafetensors,
  encodeSafetensors,
  type NamedTensor,
  type SafetensorsDtype,
  SafetensorsError,
} from "./src/io/safetensors.ts";
export { counterUniform, deriveSeed, hash32, Rng } from "./src/util/rng.ts";

// ---------------------------------------------------------------------------------------------
// Kernel checks: every kernel family against its float64 reference (tests, page, benchmarks)
export {
  assertPassed,
  type CheckResult,
  compare as compareWithReference,
  compareBits,
} from "./src/check/compare.ts";
export {
  checkConv2d,
  type ConvCase,
  convCase,
  type ConvKernels,
  convShape,
} from "./src/check/conv2d.ts";
export {
  checkDense,
  type DenseCase,
  type DenseInputs,
  denseInputs,
  type DenseKernels,
} from "./src/check/dense.ts";
export type { CaseRun, FamilyCase, KernelFamily } from "./src/check/family.ts";
export { checkMaxPool, type PoolCase, type PoolKernels } from "./src/check/maxpool.ts";
export {
  checkOptimizer,
  type OptimizerCase,
  type OptimizerKernels,
} from "./src/check/optimizer.ts";
export { checkRelu, type ReluCase, type ReluKernels } from "./src/check/relu.ts";
export { checkSoftmax, type SoftmaxCase, type SoftmaxKernels } from "./src/check/softmax_xent.ts";
export { checkRobustXent, type RobustXentCase } from "./src/check/robust_xent.ts";
export {
  FAMILIES,
  KERNEL_FAMILIES,
  type KernelFamilyName,
  runKernelChecks,
  type SuiteOptions,
  type SuiteSummary,
} from "./src/check/suite.ts";

// ---------------------------------------------------------------------------------------------
// Statistics (paired differences over seeds, t intervals, fits)
export {
  auditSampleSize,
  formatPercent,
  type LinearFit,
  linearFit,
  mean,
  type PairedDifference,
  pairedDifference,
  samplingError,
  std,
  summarize,
  type Summary,
  tCdf,
  tQuantile,
} from "./src/util/stats.ts";

// ---------------------------------------------------------------------------------------------
// The study: sweeps, noise, label noise, confident learning, results files, charts, the report
export { canonicalJson, configDifferences, RUN_SCHEMA, runSweep } from "./src/study/sweep.ts";
export type { PlannedRun, RunStore, StoredRun } from "./src/study/sweep.ts";
export type { SweepOptions, SweepOutcome, SweepSignal } from "./src/study/sweep.ts";
export {
  firstOfEachClass,
  gatherImages,
  noiseStatistics,
  runNoise,
  toBytes,
} from "./src/study/image_noise.ts";
export {
  confusionOf,
  decodeWrong,
  TestTimeEvaluator,
  type TestTransform,
  wrongBits,
} from "./src/study/noise_eval.ts";
export { fromSeeds, gridBands, type MeanBand, meanBand } from "./src/study/noise_analysis.ts";
export { hasTestTime, type Tolerance, tolerance } from "./src/study/noise_analysis.ts";
export { type PairedEffect, pairedWrong, runsDifference } from "./src/study/noise_analysis.ts";
export { confusionRateChange, medianEffect, perClassChange } from "./src/study/noise_analysis.ts";
export { suiteVsClean, suiteVsModel } from "./src/study/noise_analysis.ts";
export { type Part2Figure, part2TestFigures } from "./src/study/noise_figures.ts";
export {
  corruptedCount,
  type CorruptedLabels,
  corruptLabels,
  LABEL_MODES,
  type LabelMode,
  PAIR_LABELS,
  pairLabel,
} from "./src/study/label_noise.ts";
export {
  confidentLearning,
  type ConfidentLearningOptions,
  type ConfidentLearningResult,
  kFoldSplits,
  type LabelSuspect,
  type ProbabilityMatrix,
  type SuspectMethod,
  type SuspectRanking,
} from "./src/study/confident_learning.ts";
export {
  argmaxRows,
  type OutOfSample,
  type OutOfSampleConfig,
  outOfSampleProbabilities,
  pickImages,
  predictProbabilities,
  type RankedLabel,
  rankedLabels,
  suspectsCsv,
} from "./src/study/label_audit.ts";
export {
  type AuditSplit,
  type ConfidentLearningRun,
  FORWARD_COST,
  FULL_LABEL_STUDIES,
  type GridRun,
  type LabelStudies,
  labelStudyCost,
  type LabelStudyProfile,
  type MemorizationEpoch,
  type MemorizationRun,
  type MnistAudit,
  type RelabelRun,
  STANDARD_LABEL_STUDIES,
  studyImages,
  type StudyRun,
  studySeeds,
} from "./src/study/label_studies.ts";
export {
  memorizationErrorChart,
  memorizationFitChart,
  noiseMatrixChart,
  relabelChart,
  robustLossChart,
} from "./src/study/label_charts.ts";
export {
  compare,
  type Comparison,
  type Measured,
  toleratedUpTo,
  type Trend,
  trend,
  type Verdict,
} from "./src/study/compare.ts";
export {
  type AblationRow,
  type AblationRun,
  asAblation,
  asBaselines,
  asPart1,
  asPart2,
  asPart3,
  type BaselineRow,
  type BaselinesMetrics,
  type ConditionSummary,
  type EvalPointRecord,
  type LearningCurveRecord,
  type LossPointRecord,
  type MeanCurve,
  MetricsFormatError,
  type NoiseStats,
  type Part1Ablation,
  type Part1Ensemble,
  type Part1Metrics,
  type Part2Compensation,
  type Part2CompensationCondition,
  type Part2Condition,
  type Part2Metrics,
  type Part2Run,
  type Part2SuiteEntry,
  type Part2SuiteResult,
  type Part2TestResult,
  type Part2TestTime,
  type Part2TestTimeSetup,
  type Part3Condition,
  type Part3Metrics,
  type Part3Run,
  type RunRecord,
  type SetupRecord,
  summarizeRuns,
} from "./src/study/results.ts";
export {
  ablationChart,
  type AblationChoice,
  type AblationCost,
  ablationCost,
  type AblationInput,
  ablationLabel,
  type AblationProfile,
  ablationProfile,
  type AblationRecipe,
  ablationRows,
  type AblationVariant,
  AUGMENT_STEP_COST,
  EnsembleAccumulator,
  errorOfRows,
  FULL_ABLATION,
  meanInterval,
  MODEL_STEP_COST,
  pairedBySeed,
  type ResolvedVariant,
  resolveVariants,
  STANDARD_ABLATION,
  stepCost,
} from "./src/study/ablation.ts";
export {
  bandBarChart,
  bandLineChart,
  type BandSeries,
  CLASS_NAMES,
  heatmapChart,
  part1ChartSpecs,
  type SweepCondition,
  sweepCurvesChart,
  sweepErrorChart,
  sweepPerClassChart,
} from "./src/study/charts.ts";
export { buildReport, reportHtml, reportMarkdown } from "./src/study/report/index.ts";
export type {
  ReportFigure,
  ReportOptions,
  ReportSectionOut,
  StudyReport,
  StudyResults,
} from "./src/study/report/types.ts";
export {
  barChart,
  type BarChartOptions,
  type ChartSpec,
  confusionMatrixChart,
  type ConfusionMatrixOptions,
  learningCurveChart,
  type LearningCurveOptions,
  type LearningCurveRun,
  lineChart,
  type LineChartOptions,
  type LineSeries,
  type PluginName,
} from "./src/render/charts.ts";
export {
  escapeHtml,
  htmlReport,
  type HtmlReportOptions,
  type MarkdownOptions,
  markdownToHtml,
  pngDataUrl,
  type ReportChart,
  type ReportSection,
} from "./src/render/html.ts";
