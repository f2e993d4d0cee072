/**
 * IDX file parsing (the MNIST / Fashion-MNIST format), raw or gzip-compressed.
 *
 * Layout (big-endian): bytes 0-1 are zero, byte 2 is the element type (0x08 = unsigned byte),
 * byte 3 the number of dimensions D, then D u32 sizes, then prod(sizes) elements in row-major
 * order. Labels are D=1 (`[count]`), images D=3 (`[count, rows, cols]`).
 *
 * Browser-safe: only web-standard APIs (DecompressionStream, DataView).
 *
 * @module
 */

/** A data file is damaged, of the wrong kind, or not in the expected format. */
export class DataFormatError extends Error {
  /** Always `"DataFormatError"`. */
  override name = "DataFormatError";
}

/** A parsed IDX file: `data` holds prod(dims) unsigned bytes in row-major order. */
export interface IdxArray {
  /** Size of each dimension: `[count]` for labels, `[count, rows, cols]` for images. */
  dims: number[];
  /** The elements, prod(dims) bytes in row-major order. */
  data: Uint8Array;
}

/** Which MNIST file a caller wants; a file of the other kind is rejected with a clear message. */
export type IdxKind = "images" | "labels";

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;
const UBYTE_TYPE = 0x08;
const MAGIC_HINT = "00 00 08 01 for labels, 00 00 08 03 for images";

/** IDX type codes, named so that an unsupported file says what it holds. */
const IDX_TYPE_NAMES: Record<number, string> = {
  0x08: "unsigned byte",
  0x09: "signed byte",
  0x0b: "int16",
  0x0c: "int32",
  0x0d: "float32",
  0x0e: "float64",
};

/** True when `bytes` starts with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1;
}

/**
 * Inflates a gzip file with the web-standard DecompressionStream. A truncated or damaged stream
 * (bad deflate data, checksum mismatch, garbage after the end) becomes a DataFormatError.
 */
export async function gunzip(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  // A one-chunk stream rather than Blob/ReadableStream.from: works on every browser with
  // DecompressionStream and accepts views on any buffer.
  // DecompressionStream rejects views on a SharedArrayBuffer: copy those.
  const chunk: Uint8Array<ArrayBuffer> = bytes.buffer instanceof ArrayBuffer
    ? (bytes as Uint8Array<ArrayBuffer>)
    : bytes.slice();
  const source = new ReadableStream<BufferSource>({
    start(controller) {
      controller.enqueue(chunk);
      controller.close();
    },
  });
  try {
    const inflated = source.pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(inflated).arrayBuffer());
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new DataFormatError(
      `${name}: corrupt gzip file (${why}); it is damaged or incompletely downloaded, ` +
        `re-download it`,
    );
  }
}

/** Formats the first bytes of a file as hex, for "found" in error messages. */
function hexPrefix(bytes: Uint8Array, n = 4): string {
  return Array.from(bytes.subarray(0, n), (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** A guess at what a non-IDX file is, so the user knows which file they passed by mistake. */
function describeForeignFile(bytes: Uint8Array): string {
  const head = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart().toLowerCase();
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return "it is a zip archive: unzip it first";
  if (head.startsWith("<")) return "it looks like an HTML/XML page (a failed download?)";
  if (head.startsWith("label") || head.startsWith("pixel")) {
    return "it looks like a Kaggle CSV file: load it with the CSV loader";
  }
  if (bytes[2] === 0 && bytes[3] === 0 && bytes[0] !== 0 && bytes[1] === UBYTE_TYPE) {
    return "its magic number is byte-reversed (little-endian); IDX files are big-endian";
  }
  return "pass an MNIST IDX file";
}

function article(kind: IdxKind): string {
  return kind === "images" ? "an" : "a";
}

/** `[60000, 28, 28]` -> `"60000x28x28"`. */
function shapeText(dims: readonly number[]): string {
  return dims.join("x");
}

/**
 * Parses an IDX file (gzip-compressed or raw) of unsigned bytes.
 *
 * @param bytes the whole file
 * @param name the file's name or path, used in every error message
 * @param expect when given, a file of the other kind (images vs labels) is an error
 * @throws DataFormatError with a one-line message naming the file, what was found versus
 *   expected, and what to do
 */
export async function parseIdx(
  bytes: Uint8Array,
  name: string,
  expect?: { kind: IdxKind },
): Promise<IdxArray> {
  if (bytes.length === 0) {
    throw new DataFormatError(`${name}: file is empty (0 bytes); re-download the file`);
  }
  if (isGzip(bytes)) bytes = await gunzip(bytes, name);
  if (bytes.length === 0) {
    throw new DataFormatError(`${name}: gzip file inflates to 0 bytes; re-download the file`);
  }
  if (bytes.length < 4) {
    throw new DataFormatError(
      `${name}: only ${bytes.length} byte(s), shorter than the 4-byte IDX magic number; ` +
        `re-download the file`,
    );
  }

  // Magic: 00 00 <type> <ndims>
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataFormatError(
      `${name}: not an IDX file: starts with bytes ${hexPrefix(bytes)}, expected ` +
        `${MAGIC_HINT}; ${describeForeignFile(bytes)}`,
    );
  }
  const type = bytes[2], ndims = bytes[3];
  if (type !== UBYTE_TYPE) {
    const what = IDX_TYPE_NAMES[type] ?? "an unknown element type";
    throw new DataFormatError(
      `${name}: IDX file holds ${what} values (type 0x${type.toString(16).padStart(2, "0")}), ` +
        `only unsigned bytes (0x08) are supported; pass an MNIST-format file`,
    );
  }
  const kind: IdxKind | undefined = ndims === 1 ? "labels" : ndims === 3 ? "images" : undefined;
  if (kind === undefined) {
    throw new DataFormatError(
      `${name}: IDX file has ${ndims} dimension(s) (magic ${hexPrefix(bytes)}), expected 1 ` +
        `(labels) or 3 (images); pass an MNIST images or labels file`,
    );
  }
  if (expect && expect.kind !== kind) {
    throw new DataFormatError(
      `${name}: this is ${article(kind)} ${kind} file but ${article(expect.kind)} ` +
        `${expect.kind} file was expected; pass the ${expect.kind} file`,
    );
  }

  // Sizes: ndims big-endian u32s after the magic.
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new DataFormatError(
      `${name}: header truncated: file has ${bytes.length} bytes but a ${ndims}-dimension IDX ` +
        `header needs ${headerBytes}; re-download the file`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(view.getUint32(4 + 4 * d, false));

  // Data: exactly prod(dims) bytes. Doubles are exact here (< 2^53 for any real file).
  const expected = dims.reduce((a, b) => a * b, 1);
  const found = bytes.length - headerBytes;
  if (found < expected) {
    const percent = ((100 * found) / expected).toFixed(1);
    throw new DataFormatError(
      `${name}: truncated: header says ${shapeText(dims)} = ${expected} data bytes but only ` +
        `${found} follow (${percent}%); re-download the file`,
    );
  }
  if (found > expected) {
    throw new DataFormatError(
      `${name}: ${found - expected} trailing bytes after the ${shapeText(dims)} = ${expected} ` +
        `data bytes the header announces; the file is damaged or not ${kind} data, ` +
        `re-download the file`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}
