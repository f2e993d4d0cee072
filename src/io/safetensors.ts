/**
 * Reader and writer for the safetensors format (browser-safe: no Deno APIs).
 *
 * Layout: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON header, then the raw
 * little-endian tensor data. Header entries are `{"dtype", "shape", "data_offsets": [begin, end]}`
 * with offsets relative to the start of the data section; the optional `__metadata__` entry maps
 * strings to strings. Writing follows the reference implementation: the header is padded with
 * spaces to a multiple of 8 bytes (so data starts 8-byte aligned) and tensors are stored
 * contiguously, in the order given, with no gaps.
 *
 * @module
 */
import { EngineError } from "../util/errors.ts";

/** Element types this reader and writer support (safetensors names). */
export type SafetensorsDtype = "F32" | "F64" | "I64" | "I32" | "U8";

/** One tensor of a safetensors file. */
export interface NamedTensor {
  /** Element type; `data` must be the matching array (F32: Float32Array, I64: BigInt64Array...). */
  dtype: SafetensorsDtype;
  /** Size of each dimension; `[]` for a scalar. The product must equal `data.length`. */
  shape: number[];
  /** The elements in row-major order. */
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
}

/** A malformed or unsupported safetensors file, or invalid tensors handed to the writer. */
export class SafetensorsError extends EngineError {
  /** Always `"SafetensorsError"`. */
  override name = "SafetensorsError";
}

type TypedArrayCtor =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigInt64ArrayConstructor
  | Int32ArrayConstructor
  | Uint8ArrayConstructor;

const DTYPES: Record<SafetensorsDtype, TypedArrayCtor> = {
  F32: Float32Array,
  F64: Float64Array,
  I64: BigInt64Array,
  I32: Int32Array,
  U8: Uint8Array,
};

/** The reference implementation refuses headers above 100 MB; so do we, before parsing. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = "__metadata__";

// Typed arrays use the host byte order; the format is little-endian. Every browser and every
// platform Deno runs on is little-endian, so a byte swap would be dead code.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function assertLittleEndianHost(): void {
  if (!HOST_IS_LITTLE_ENDIAN) {
    throw new SafetensorsError("safetensors: big-endian hosts are not supported");
  }
}

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === "string" && Object.hasOwn(DTYPES, value);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function elementCount(shape: number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

function describeShape(shape: number[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * Serialises tensors to safetensors bytes. The output is deterministic: tensors keep the given
 * order (pass an array of pairs when names look like integers, since object keys such as "0" are
 * reordered by JavaScript), and metadata keys are sorted so the bytes do not depend on how the
 * metadata object was built.
 */
export function encodeSafetensors(
  tensors: Record<string, NamedTensor> | [string, NamedTensor][],
  metadata?: Record<string, string>,
): Uint8Array {
  assertLittleEndianHost();
  const entries = Array.isArray(tensors) ? tensors : Object.entries(tensors);

  const headerParts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort();
    const fields = keys.map((key) => {
      const value = metadata[key];
      if (typeof value !== "string") {
        throw new SafetensorsError(
          `safetensors: metadata value for "${key}" must be a string, got ${typeof value}`,
        );
      }
      return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
    });
    headerParts.push(`${JSON.stringify(METADATA_KEY)}:{${fields.join(",")}}`);
  }

  const seen = new Set<string>();
  const payloads: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of entries) {
    if (name === METADATA_KEY) {
      throw new SafetensorsError(`safetensors: "${METADATA_KEY}" is reserved, not a tensor name`);
    }
    if (seen.has(name)) throw new SafetensorsError(`safetensors: duplicate tensor name "${name}"`);
    seen.add(name);
    const { dtype, shape, data } = tensor;
    if (!isDtype(dtype)) {
      throw new SafetensorsError(`safetensors: tensor "${name}" has unsupported dtype ${dtype}`);
    }
    if (!(data instanceof DTYPES[dtype])) {
      throw new SafetensorsError(
        `safetensors: tensor "${name}" is ${dtype} but its data is a ${data?.constructor?.name}`,
      );
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      throw new SafetensorsError(
        `safetensors: tensor "${name}" shape must be non-negative integers, got ${
          JSON.stringify(shape)
        }`,
      );
    }
    if (elementCount(shape) !== data.length) {
      throw new SafetensorsError(
        `safetensors: tensor "${name}" shape ${describeShape(shape)} holds ${
          elementCount(shape)
        } elements but its data has ${data.length}`,
      );
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const end = offset + bytes.byteLength;
    // Key order dtype, shape, data_offsets matches the reference writer.
    headerParts.push(
      `${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${
        shape.join(",")
      }],"data_offsets":[${offset},${end}]}`,
    );
    payloads.push(bytes);
    offset = end;
  }

  const json = new TextEncoder().encode(`{${headerParts.join(",")}}`);
  const headerLength = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerLength); // space padding
  let position = 8 + headerLength;
  for (const bytes of payloads) {
    out.set(bytes, position);
    position += bytes.byteLength;
  }
  return out;
}

interface HeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parses safetensors bytes. `name` (e.g. the file name) prefixes every error message. Tensors
 * come back in data order, each copied into its own aligned typed array.
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  name = "checkpoint",
): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  assertLittleEndianHost();
  const fail = (why: string): never => {
    throw new SafetensorsError(`${name}: ${why}`);
  };

  if (bytes.byteLength < 8) {
    fail(`not a safetensors file: ${bytes.byteLength} bytes, shorter than the 8-byte header size`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  const available = bytes.byteLength - 8;
  if (declared > BigInt(available)) {
    fail(`header length ${declared} runs past the end of the file (${available} bytes follow)`);
  }
  const headerLength = Number(declared);
  if (headerLength > MAX_HEADER_BYTES) {
    fail(`header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }

  let header: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(
      bytes.subarray(8, 8 + headerLength),
    );
    header = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    fail(`header is not valid UTF-8 JSON (${detail.split("\n")[0]})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail("header JSON must be an object");
  }

  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [key, value] of Object.entries(header as Record<string, unknown>)) {
    if (key === METADATA_KEY) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        fail(`${METADATA_KEY} must be an object of strings`);
      }
      for (const [metaKey, metaValue] of Object.entries(value as Record<string, unknown>)) {
        if (typeof metaValue !== "string") {
          fail(
            `metadata value for "${metaKey}" must be a string, got ${JSON.stringify(metaValue)}`,
          );
        }
        metadata[metaKey] = metaValue as string;
      }
      continue;
    }
    entries.push(parseEntry(key, value, fail));
  }

  // Offsets must tile the data section exactly: sorted by begin, each starts where the previous
  // ended and the last ends at the end of the file (no gaps, no overlaps, no trailing bytes).
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  let expectedBegin = 0;
  let previousName = "";
  for (const entry of entries) {
    if (entry.end > dataLength) {
      fail(
        `tensor "${entry.name}" data_offsets [${entry.begin}, ${entry.end}] run past the ${dataLength}-byte data section`,
      );
    }
    if (entry.begin < expectedBegin) {
      fail(`tensor "${entry.name}" data_offsets overlap those of tensor "${previousName}"`);
    }
    if (entry.begin > expectedBegin) {
      fail(
        `gap in the data section: bytes ${expectedBegin}..${entry.begin} before tensor "${entry.name}" belong to no tensor`,
      );
    }
    expectedBegin = entry.end;
    previousName = entry.name;
  }
  if (expectedBegin !== dataLength) {
    fail(`data section has ${dataLength - expectedBegin} trailing bytes that belong to no tensor`);
  }

  const tensors = new Map<string, NamedTensor>();
  for (const entry of entries) {
    const Ctor = DTYPES[entry.dtype];
    // Copying into a fresh buffer gives the alignment typed arrays need.
    const copy = bytes.slice(dataStart + entry.begin, dataStart + entry.end);
    const data = new Ctor(copy.buffer, 0, (entry.end - entry.begin) / Ctor.BYTES_PER_ELEMENT);
    tensors.set(entry.name, { dtype: entry.dtype, shape: entry.shape, data });
  }
  return { tensors, metadata };
}

function parseEntry(name: string, value: unknown, fail: (why: string) => never): HeaderEntry {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(`tensor "${name}" header entry must be an object`);
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (!isDtype(dtype)) {
    fail(
      `tensor "${name}" has unsupported dtype ${JSON.stringify(dtype)} (supported: ${
        Object.keys(DTYPES).join(", ")
      })`,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    fail(`tensor "${name}" shape must be a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    fail(`tensor "${name}" data_offsets must be [begin, end] with non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(`tensor "${name}" data_offsets [${begin}, ${end}] end before they begin`);
  const dims = shape as number[];
  const kind = dtype as SafetensorsDtype;
  const expected = elementCount(dims) * DTYPES[kind].BYTES_PER_ELEMENT;
  if (end - begin !== expected) {
    fail(
      `tensor "${name}" data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${kind} ${
        describeShape(dims)
      } needs ${expected}`,
    );
  }
  return { name, dtype: kind, shape: dims, begin, end };
}
