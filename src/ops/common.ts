/** Helpers shared by the op modules. */
import type { Tensor } from "../gpu/tensor.ts";

/** Throws a clear error when a tensor's shape is not what an op needs. */
export function expectShape(op: string, name: string, t: Tensor, rows: number, cols: number): void {
  if (t.rows !== rows || t.cols !== cols) {
    throw new Error(`${op}: ${name} '${t.label}' is ${t.rows}x${t.cols}, expected ${rows}x${cols}`);
  }
}
