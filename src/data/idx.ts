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
import { EngineError } from "../util/errors.ts";

/** A data file is damaged, of the wrong kind, or not in the expected format. */
export class DataFormatError extends EngineError {
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

/** Compressed bytes fed to the inflater at a time: at most ~16 MB of output per chunk (deflate's
 * best ratio is about 1:1032), so a size limit is noticed before much memory is spent. */
const INFLATE_INPUT_CHUNK = 16384;

/** `bytes` as a pull-based stream of small chunks (the consumer decides how much is read). */
function chunkedStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      // a copy: DecompressionStream rejects views on a SharedArrayBuffer
      controller.enqueue(bytes.slice(at, at + INFLATE_INPUT_CHUNK));
      at += INFLATE_INPUT_CHUNK;
    },
  }, { highWaterMark: 0 });
}

/** `stream` through the web-standard gzip inflater (the chunks are never SharedArrayBuffer views). */
function inflate(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  return stream.pipeThrough(
    new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
  );
}

function corruptGzip(name: string, e: unknown): DataFormatError {
  const why = e instanceof Error ? e.message : String(e);
  return new DataFormatError(
    `${name}: corrupt gzip file (${why}); it is damaged or incompletely downloaded, ` +
      `re-download it`,
  );
}

/** Reads a stream to the end, or until `check` (called with the total so far) throws. */
async function collect(
  stream: ReadableStream<Uint8Array>,
  name: string,
  gzipped: boolean,
  check: (chunks: Uint8Array[], total: number) => void = () => {},
): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (e) {
        if (gzipped) throw corruptGzip(name, e);
        throw e;
      }
      if (next.done) break;
      chunks.push(next.value);
      total += next.value.length;
      check(chunks, total);
    }
  } catch (e) {
    // stop the inflater and the source: nothing more is read
    await reader.cancel().catch(() => {});
    throw e;
  }
  return concat(chunks, total);
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Inflates a gzip file with the web-standard DecompressionStream. A truncated or damaged stream
 * (bad deflate data, checksum mismatch, garbage after the end) becomes a DataFormatError.
 * `maxBytes`: stop inflating and fail once the output grows past this many bytes.
 */
export async function gunzip(
  bytes: Uint8Array,
  name: string,
  maxBytes = Infinity,
): Promise<Uint8Array> {
  const inflated = inflate(chunkedStream(bytes));
  return await collect(inflated, name, true, (_, total) => {
    if (total > maxBytes) {
      throw new DataFormatError(
        `${name}: inflates to more than ${maxBytes} bytes; the file is damaged or not the ` +
          `expected data`,
      );
    }
  });
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

/** What the caller knows about the file it asked for. */
export interface IdxExpectation {
  /** A file of the other kind (images vs labels) is an error. */
  kind?: IdxKind;
  /**
   * The count the matching file gives (the labels file's count for an images file): a header
   * that disagrees is refused as soon as it is read, before the data is inflated.
   */
  count?: number;
  /** The file `count` comes from, for the message. */
  countFrom?: string;
}

interface IdxHeader {
  dims: number[];
  kind: IdxKind;
  headerBytes: number;
  /** prod(dims): the data bytes the header announces. */
  dataBytes: number;
}

/** The first `n` bytes of the chunks (fewer if there are fewer). */
function prefix(chunks: readonly Uint8Array[], n: number): Uint8Array {
  const out: number[] = [];
  for (const c of chunks) {
    for (let i = 0; i < c.length && out.length < n; i++) out.push(c[i]);
    if (out.length >= n) break;
  }
  return Uint8Array.from(out);
}

/**
 * Checks the magic number and sizes at the start of `head` (the decoded file or its first bytes);
 * null when more bytes are needed to tell. Throws the one-line DataFormatError for a wrong file.
 */
function readHeader(
  head: Uint8Array,
  name: string,
  expect: IdxExpectation,
  gzipped: boolean,
): IdxHeader | null {
  if (head.length < 4) return null;
  // Magic: 00 00 <type> <ndims>
  if (head[0] !== 0 || head[1] !== 0) {
    if (!gzipped && /\.gz$/i.test(name)) {
      throw new DataFormatError(
        `${name}: not a valid gzip file: starts with bytes ${hexPrefix(head)}, expected 1f 8b ` +
          `(gzip) or ${MAGIC_HINT} (an uncompressed IDX file); it is damaged or not the right ` +
          `download, re-download it`,
      );
    }
    throw new DataFormatError(
      `${name}: not an IDX file: starts with bytes ${hexPrefix(head)}, expected ` +
        `${MAGIC_HINT}; ${describeForeignFile(head)}`,
    );
  }
  const type = head[2], ndims = head[3];
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
      `${name}: IDX file has ${ndims} dimension(s) (magic ${hexPrefix(head)}), expected 1 ` +
        `(labels) or 3 (images); pass an MNIST images or labels file`,
    );
  }
  if (expect.kind && expect.kind !== kind) {
    throw new DataFormatError(
      `${name}: this is ${article(kind)} ${kind} file but ${article(expect.kind)} ` +
        `${expect.kind} file was expected; pass the ${expect.kind} file`,
    );
  }
  // Sizes: ndims big-endian u32s after the magic.
  const headerBytes = 4 + 4 * ndims;
  if (head.length < headerBytes) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(view.getUint32(4 + 4 * d, false));
  if (expect.count !== undefined && dims[0] !== expect.count) {
    const other = kind === "images" ? "labels" : "images";
    throw new DataFormatError(
      `image/label count mismatch: ${name} has ${dims[0]} ${kind} (says its header) but ` +
        `${expect.countFrom ?? `the ${other} file`} has ${expect.count} ${other}; pass the ` +
        `images and labels of the same split (or the file is damaged)`,
    );
  }
  // Doubles are exact here (< 2^53 for any real file).
  return { dims, kind, headerBytes, dataBytes: dims.reduce((a, b) => a * b, 1) };
}

/** A stream that yields `source` unchanged, and its first `n` bytes (fewer if it is shorter). */
async function peek(
  source: ReadableStream<Uint8Array>,
  n: number,
): Promise<{ head: Uint8Array; stream: ReadableStream<Uint8Array> }> {
  const reader = source.getReader();
  const seen: Uint8Array[] = [];
  let total = 0;
  while (total < n) {
    const next = await reader.read();
    if (next.done) break;
    seen.push(next.value);
    total += next.value.length;
  }
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (seen.length > 0) return controller.enqueue(seen.shift()!);
      const next = await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
  return { head: prefix(seen, n), stream };
}

/**
 * Parses an IDX file (gzip-compressed or raw) of unsigned bytes.
 *
 * A compressed file is inflated as a stream that stops as soon as its header is wrong, disagrees
 * with `expect.count`, or more data follows than the header announces: memory stays bounded by
 * the real data size, whatever the header or the compression ratio claim.
 *
 * @param source the whole file, or a stream of it (read only as far as needed)
 * @param name the file's name or path, used in every error message
 * @param expect what the caller knows: the kind of file and the count of the matching file
 * @throws DataFormatError with a one-line message naming the file, what was found versus
 *   expected, and what to do
 */
export async function parseIdx(
  source: Uint8Array | ReadableStream<Uint8Array>,
  name: string,
  expect: IdxExpectation = {},
): Promise<IdxArray> {
  let stream: ReadableStream<Uint8Array>, gzipped: boolean;
  if (source instanceof Uint8Array) {
    if (!isGzip(source)) return parseWhole(source, name, expect, false);
    stream = chunkedStream(source);
    gzipped = true;
  } else {
    const peeked = await peek(source, 2);
    stream = peeked.stream;
    gzipped = isGzip(peeked.head);
  }
  if (gzipped) stream = inflate(stream);
  let header: IdxHeader | null = null;
  const bytes = await collect(stream, name, gzipped, (chunks, total) => {
    header ??= readHeader(prefix(chunks, 16), name, expect, gzipped);
    if (header && total > header.headerBytes + header.dataBytes) {
      throw new DataFormatError(
        `${name}: more data follows than the ${shapeText(header.dims)} = ${header.dataBytes} ` +
          `data bytes the header announces; the file is damaged or not ${header.kind} data, ` +
          `re-download the file`,
      );
    }
  });
  return parseWhole(bytes, name, expect, gzipped);
}

/** Parses a complete (already inflated) IDX file. */
function parseWhole(
  bytes: Uint8Array,
  name: string,
  expect: IdxExpectation,
  gzipped: boolean,
): IdxArray {
  if (bytes.length === 0) {
    throw new DataFormatError(
      gzipped
        ? `${name}: gzip file inflates to 0 bytes; re-download the file`
        : `${name}: file is empty (0 bytes); re-download the file`,
    );
  }
  if (bytes.length < 4) {
    throw new DataFormatError(
      `${name}: only ${bytes.length} byte(s), shorter than the 4-byte IDX magic number; ` +
        `re-download the file`,
    );
  }
  const header = readHeader(bytes, name, expect, gzipped);
  if (header === null) {
    const ndims = bytes[3];
    throw new DataFormatError(
      `${name}: header truncated: file has ${bytes.length} bytes but a ${ndims}-dimension IDX ` +
        `header needs ${4 + 4 * ndims}; re-download the file`,
    );
  }
  const { dims, kind, headerBytes, dataBytes: expected } = header;
  // Data: exactly prod(dims) bytes.
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
