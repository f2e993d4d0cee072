/**
 * Errors the engine raises for conditions a user can act on.
 *
 * @module
 */
import { EngineError } from "../util/errors.ts";

/** No usable WebGPU adapter (or a required capability is missing). */
export class GpuUnavailableError extends EngineError {
  /** Always `"GpuUnavailableError"`. */
  override name = "GpuUnavailableError";
}

/** The device was lost (driver reset, out of memory, destroyed); the run cannot continue. */
export class GpuDeviceLostError extends EngineError {
  /** Always `"GpuDeviceLostError"`. */
  override name = "GpuDeviceLostError";
}

/** A shader failed to compile or a pipeline failed validation; the message names the shader. */
export class ShaderCompileError extends EngineError {
  /** Always `"ShaderCompileError"`. */
  override name = "ShaderCompileError";
}

/** A tensor or data set exceeds what the adapter can bind. */
export class GpuLimitError extends EngineError {
  /** Always `"GpuLimitError"`. */
  override name = "GpuLimitError";
}
