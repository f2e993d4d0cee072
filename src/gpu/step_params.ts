/**
 * Per-step parameters (`shaders/step_params.wgsl`): one 256-byte uniform slot per step, bound
 * with a dynamic offset, so many steps can be recorded without writing buffers in between.
 *
 * @module
 */
import type { GpuContext } from "./context.ts";
import STEP_SOURCE from "../../shaders/step_params.wgsl" with { type: "text" };

/** WGSL declaration of `StepParams`, prepended to shaders that use it. */
export const STEP_PARAMS_WGSL: string = STEP_SOURCE;

/** Bytes between slots (the largest dynamic-offset alignment WebGPU allows). */
export const STEP_SLOT_BYTES = 256;

/** Values of one slot. */
export interface StepValues {
  step: number;
  batchStart: number;
  lr?: number;
  bias1?: number;
  bias2?: number;
  /** Rows of the batch that are real samples (evaluation's last chunk). */
  valid?: number;
}

/** A uniform buffer of `slots` StepParams. */
export class StepParamsBuffer {
  readonly buffer: GPUBuffer;
  readonly slots: number;
  readonly #ctx: GpuContext;
  constructor(ctx: GpuContext, slots: number, label = "step params") {
    if (ctx.device.limits.minUniformBufferOffsetAlignment > STEP_SLOT_BYTES) {
      throw new Error("minUniformBufferOffsetAlignment above 256 is not supported");
    }
    this.#ctx = ctx;
    this.slots = slots;
    this.buffer = ctx.device.createBuffer({
      label,
      size: slots * STEP_SLOT_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }
  /** The binding for a kernel (32 bytes visible at the dynamic offset). */
  get binding(): GPUBufferBinding {
    return { buffer: this.buffer, offset: 0, size: 32 };
  }
  /** Dynamic offset of a slot. */
  offset(slot: number): number {
    return slot * STEP_SLOT_BYTES;
  }
  /** Writes consecutive slots starting at `first`. */
  write(first: number, values: readonly StepValues[]): void {
    if (first < 0 || first + values.length > this.slots) throw new Error("step slot out of range");
    const data = new ArrayBuffer(values.length * STEP_SLOT_BYTES);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      const u = new Uint32Array(data, i * STEP_SLOT_BYTES, 8);
      const f = new Float32Array(data, i * STEP_SLOT_BYTES, 8);
      u[0] = v.step;
      u[1] = v.batchStart;
      f[2] = v.lr ?? 0;
      f[3] = v.bias1 ?? 1;
      f[4] = v.bias2 ?? 1;
      u[5] = v.valid ?? 0xffffffff;
    }
    this.#ctx.device.queue.writeBuffer(this.buffer, first * STEP_SLOT_BYTES, data);
  }
  destroy(): void {
    this.buffer.destroy();
  }
}
