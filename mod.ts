/**
 * WebGPU compute-shader training engine for small convolutional networks (LeNet-5 on MNIST).
 * Every heavy pass is a WGSL compute shader; this module only re-exports the browser-safe API.
 * Deno-only helpers (files, PNG rendering, atomic writes) are in `mod_deno.ts`.
 *
 * @example Train LeNet-5 on data already in memory
 * ```ts
 * import { acquireGpu, Evaluator, lenet5, Model, Trainer, uploadDataset, ADAM_DEFAULTS } from "./mod.ts";
 * const ctx = await acquireGpu();
 * const train = uploadDataset(ctx, images, labels, count, 784);
 * const model = Model.create(ctx, lenet5(), { seed: 1 });
 * const trainer = await Trainer.create(ctx, model, train, {
 *   batchSize: 64, epochs: 1, optimizer: ADAM_DEFAULTS, seed: 1,
 * });
 * await trainer.run();
 * ```
 *
 * @module
 */

// GPU runtime
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
export {
  GpuDeviceLostError,
  GpuLimitError,
  GpuUnavailableError,
  ShaderCompileError,
} from "./src/gpu/errors.ts";
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
export type { BindingDecl, BindingPlan } from "./src/gpu/bindings.ts";
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

// kernels and their float64 references
export * from "./src/ops/dense.ts";
export * from "./src/ops/conv2d.ts";
export * from "./src/ops/maxpool.ts";
export * from "./src/ops/relu.ts";
export * from "./src/ops/softmax_xent.ts";
export * from "./src/ops/optimizer.ts";
export * from "./src/ops/gather.ts";
export * from "./src/ops/evaluate.ts";

// models
export * from "./src/nn/spec.ts";
export {
  type ActShape,
  type Block,
  type ConvBlock,
  type DenseBlock,
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

// training and evaluation
export * from "./src/train/trainer.ts";
export { Evaluator } from "./src/train/evaluator.ts";
export { type ClassMetrics, metricsFromConfusion, topConfusions } from "./src/train/metrics.ts";
export { type Prediction, Predictor } from "./src/train/predictor.ts";

// data and files (browser-safe parsers)
export * from "./src/data/idx.ts";
export * from "./src/data/dataset.ts";
export * from "./src/data/csv.ts";
export * from "./src/data/preprocess.ts";
export * from "./src/io/safetensors.ts";
export { counterUniform, deriveSeed, hash32, Rng } from "./src/util/rng.ts";
