/**
 * Per-step parameters (`shaders/step_params.wgsl`, part of every kernel's prelude): one 256-byte
 * uniform slot per step, bound with a dynamic offset, so many steps can be recorded without
 * writing buffers in between.
 *
 * @module
 */
import type { GpuContext } from "./context.ts";

/** Bytes between slots (the largest dynamic-offset alignment WebGPU allows). */
export const STEP_SLOT_BYTES = 256;

/** Values of one slot. */
export interface StepValues {
  /** Step index; the cross-entropy kernel writes the batch-mean loss to this loss-log slot. */
  step: number;
  /** First position of this step's batch in the epoch permutation (batch gathering). */
  batchStart: number;
  /** Learning rate of this step (default 0). */
  lr?: number;
  /** Adam's first-moment bias correction 1 - beta1^t (default 1: none). */
  bias1?: number;
  /** Adam's second-moment bias correction 1 - beta2^t (default 1: none). */
  bias2?: number;
  /** Rows of the batch that are real samples (evaluation's last chunk). */
  valid?: number;
}

/** A uniform buffer of `slots` StepParams. */
export class StepParamsBuffer {
  /** The uniform buffer: `slots` slots of {@link STEP_SLOT_BYTES} bytes. */
  readonly buffer: GPUBuffer;
  /** Number of slots (steps that can be recorded before the buffer is rewritten). */
  readonly slots: number;
  readonly #ctx: GpuContext;
  /**
   * Allocates `slots` zeroed slots.
   *
   * @throws Error when the device's minUniformBufferOffsetAlignment exceeds 256 bytes
   */
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
  /**
   * Writes consecutive slots starting at `first` (queued; visible to work submitted afterwards).
   *
   * @throws Error when the slots run past the end of the buffer
   */
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
  /** Frees the buffer. */
  destroy(): void {
    this.buffer.destroy();
  }
}
