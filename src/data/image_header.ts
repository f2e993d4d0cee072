/**
 * Structural checks of PNG and JPEG files before they reach a native decoder (browser-safe).
 *
 * @napi-rs/canvas 0.1.82 kills the whole process (SIGSEGV or abort, not an exception) on many
 * broken files: a PNG without image data or with a damaged header chunk, a JPEG cut off before
 * its scan or with a damaged table, a zero or huge size. Checking the container and the header
 * segments here turns those into errors; damage inside the compressed pixel data itself is
 * handled by the decoder.
 */
import { DigitImageError } from "./preprocess.ts";

/** Decoding bigger pictures would need gigabytes; a digit photo never needs that many pixels. */
export const MAX_IMAGE_PIXELS = 50_000_000;
/** JPEG's own limit; libpng aborts (crashing the process) on sides over a million pixels. */
export const MAX_IMAGE_SIDE = 65_535;

export interface ImageHeader {
  format: "png" | "jpeg";
  width: number;
  height: number;
}

type Fail = (why: string) => never;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

/** Names of common formats we do not take, for a helpful message. */
function otherFormat(bytes: Uint8Array): string | null {
  const ascii = new TextDecoder("latin1").decode(bytes.subarray(0, 16));
  if (ascii.startsWith("GIF8")) return "GIF";
  if (ascii.startsWith("RIFF") && ascii.slice(8, 12) === "WEBP") return "WebP";
  if (ascii.startsWith("BM")) return "BMP";
  if (ascii.startsWith("II*\0") || ascii.startsWith("MM\0*")) return "TIFF";
  if (ascii.slice(4, 12) === "ftypavif" || ascii.slice(4, 12) === "ftypheic") return "AVIF/HEIC";
  if (/^\s*(<\?xml|<svg)/.test(ascii)) return "SVG";
  return null;
}

/**
 * Validates a PNG or JPEG file's structure and reads its size without decoding pixels. `name`
 * (e.g. the path) prefixes error messages.
 */
export function inspectImageHeader(bytes: Uint8Array, name = "image"): ImageHeader {
  const fail: Fail = (why) => {
    throw new DigitImageError(`${name}: ${why}`);
  };
  if (bytes.byteLength === 0) fail("the file is empty");
  let header: ImageHeader;
  if (startsWith(bytes, PNG_SIGNATURE)) header = inspectPng(bytes, fail);
  else if (startsWith(bytes, [0xff, 0xd8, 0xff])) header = inspectJpeg(bytes, fail);
  else {
    const other = otherFormat(bytes);
    return fail(
      other
        ? `${other} images are not supported; use PNG or JPEG`
        : "not a PNG or JPEG image (unrecognised file contents)",
    );
  }
  const { width, height, format } = header;
  if (width === 0 || height === 0) fail(`the ${format.toUpperCase()} image has zero size`);
  if (width * height > MAX_IMAGE_PIXELS || width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
    fail(
      `the image is ${width}x${height}, over ${
        MAX_IMAGE_PIXELS / 1e6
      } megapixels or ${MAX_IMAGE_SIDE} pixels a side; ` +
        "scale it down first",
    );
  }
  return header;
}

let crcTable: Uint32Array | null = null;

function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const b of bytes) crc = crcTable[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Allowed bit depths per PNG colour type. */
const PNG_BIT_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

function inspectPng(bytes: Uint8Array, fail: Fail): ImageHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0, height = 0, colourType = -1;
  let sawPalette = false, sawImageData = false;
  for (let at = 8; at < bytes.byteLength;) {
    if (at + 12 > bytes.byteLength) fail("truncated PNG (chunk header cut off)");
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) fail("corrupt PNG (chunk name is not four letters)");
    if (at + 12 + length > bytes.byteLength) fail(`truncated PNG (${type} chunk cut off)`);
    if (crc32(bytes.subarray(at + 4, at + 8 + length)) !== view.getUint32(at + 8 + length)) {
      fail(`corrupt PNG (checksum of the ${type} chunk does not match)`);
    }
    const data = at + 8;
    if (at === 8) {
      if (type !== "IHDR" || length !== 13) fail("corrupt PNG (the IHDR chunk is not first)");
      width = view.getUint32(data);
      height = view.getUint32(data + 4);
      const bitDepth = bytes[data + 8];
      colourType = bytes[data + 9];
      if (!PNG_BIT_DEPTHS[colourType]?.includes(bitDepth)) {
        fail(`corrupt PNG (colour type ${colourType} with bit depth ${bitDepth})`);
      }
      if (bytes[data + 10] !== 0 || bytes[data + 11] !== 0 || bytes[data + 12] > 1) {
        fail("corrupt PNG (unknown compression, filter or interlace method)");
      }
      if (width === 0 || height === 0) return { format: "png", width, height };
    } else if (type === "IHDR") fail("corrupt PNG (second IHDR chunk)");
    // An upper-case first letter marks a chunk the decoder must understand.
    const isCritical = type[0] <= "Z";
    if (isCritical && !["IHDR", "PLTE", "IDAT", "IEND"].includes(type)) {
      fail(`unsupported PNG (unknown critical chunk ${type})`);
    }
    if (type === "PLTE") sawPalette = true;
    if (type === "IDAT") {
      if (colourType === 3 && !sawPalette) fail("corrupt PNG (palette image without a palette)");
      sawImageData = true;
    }
    if (type === "IEND") {
      if (!sawImageData) fail("corrupt PNG (no image data)");
      return { format: "png", width, height };
    }
    at += 12 + length;
  }
  return fail("truncated PNG (no IEND chunk)");
}

/**
 * Walks the JPEG marker segments up to the first scan, checking the quantisation and Huffman
 * tables, the frame header (size, components) and the scan header against each other.
 */
function inspectJpeg(bytes: Uint8Array, fail: Fail): ImageHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const quantTables = new Set<number>();
  const huffmanTables = new Set<string>(); // "dc0", "ac1", ...
  let frame:
    | { progressive: boolean; width: number; height: number; components: number[][] }
    | null = null;
  let at = 2;
  for (;;) {
    if (at + 2 > bytes.byteLength) fail("truncated JPEG (headers cut off)");
    if (bytes[at] !== 0xff) fail("corrupt JPEG (bad marker)");
    const marker = bytes[at + 1];
    if (marker === 0xff) { // fill byte before a marker
      at += 1;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { // markers without a length
      at += 2;
      continue;
    }
    if (marker === 0xd8 || marker === 0xd9) fail("corrupt JPEG (ends before any image data)");
    if (at + 4 > bytes.byteLength) fail("truncated JPEG (headers cut off)");
    const length = view.getUint16(at + 2);
    if (length < 2 || at + 2 + length > bytes.byteLength) fail("truncated JPEG (segment cut off)");
    const start = at + 4, end = at + 2 + length;

    if (marker === 0xdb) { // DQT: quantisation tables
      for (let p = start; p < end;) {
        const precision = bytes[p] >> 4, id = bytes[p] & 15;
        if (precision > 1 || id > 3) fail("corrupt JPEG (bad quantisation table)");
        p += 1 + 64 * (precision + 1);
        if (p > end) fail("corrupt JPEG (quantisation table cut off)");
        quantTables.add(id);
      }
    } else if (marker === 0xc4) { // DHT: Huffman tables
      for (let p = start; p < end;) {
        const tableClass = bytes[p] >> 4, id = bytes[p] & 15;
        if (tableClass > 1 || id > 3 || p + 17 > end) fail("corrupt JPEG (bad Huffman table)");
        // Canonical codes must fit their lengths (the all-ones code is reserved).
        let total = 0, code = 0;
        for (let bits = 1; bits <= 16; bits++) {
          const count = bytes[p + bits];
          total += count;
          code += count;
          if (code >= 2 ** bits) fail("corrupt JPEG (Huffman table has too many codes)");
          code *= 2;
        }
        if (p + 17 + total > end) fail("corrupt JPEG (Huffman table cut off)");
        if (tableClass === 0) {
          for (let v = p + 17; v < p + 17 + total; v++) {
            if (bytes[v] > 15) fail("corrupt JPEG (bad DC Huffman symbol)");
          }
        }
        huffmanTables.add(`${tableClass === 0 ? "dc" : "ac"}${id}`);
        p += 17 + total;
      }
    } else if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) { // SOFn
      if (marker > 0xc2) fail("unsupported JPEG variant (lossless, hierarchical or arithmetic)");
      if (frame) fail("corrupt JPEG (two frame headers)");
      const precision = bytes[start], count = bytes[start + 5];
      const height = view.getUint16(start + 1), width = view.getUint16(start + 3);
      if (precision !== 8) fail(`unsupported JPEG (${precision}-bit samples)`);
      // Height 0 means "defined later by a DNL marker"; treated as a zero size.
      if (width === 0 || height === 0) return { format: "jpeg", width, height };
      if (count < 1 || count > 4 || length !== 8 + 3 * count) {
        fail("corrupt JPEG (bad frame header)");
      }
      const components: number[][] = [];
      for (let c = 0; c < count; c++) {
        const p = start + 6 + 3 * c;
        const [id, h, v, table] = [bytes[p], bytes[p + 1] >> 4, bytes[p + 1] & 15, bytes[p + 2]];
        if (h < 1 || h > 4 || v < 1 || v > 4 || table > 3 || components.some((k) => k[0] === id)) {
          fail("corrupt JPEG (bad frame component)");
        }
        components.push([id, h, v, table]);
      }
      frame = { progressive: marker === 0xc2, width, height, components };
    } else if (marker === 0xdd) { // DRI: restart interval
      if (length !== 4) fail("corrupt JPEG (bad restart interval)");
    } else if (marker === 0xda) { // SOS: entropy-coded data follows
      if (!frame) fail("corrupt JPEG (no frame header before the image data)");
      const { progressive, width, height, components } = frame!;
      const count = bytes[start];
      if (count < 1 || count > 4 || length !== 6 + 2 * count) {
        fail("corrupt JPEG (bad scan header)");
      }
      const p = start + 1 + 2 * count;
      const [first, last, high, low] = [
        bytes[p],
        bytes[p + 1],
        bytes[p + 2] >> 4,
        bytes[p + 2] & 15,
      ];
      const spectralOk = progressive
        ? first <= last && last <= 63 && (first === 0 ? last === 0 : count === 1) &&
          high <= 13 && low <= 13
        : first === 0 && last === 63 && high === 0 && low === 0;
      if (!spectralOk) fail("corrupt JPEG (bad scan parameters)");
      let previousIndex = -1, blocksPerUnit = 0;
      for (let c = 0; c < count; c++) {
        const id = bytes[start + 1 + 2 * c], dc = bytes[start + 2 + 2 * c] >> 4;
        const ac = bytes[start + 2 + 2 * c] & 15;
        // Scan components must be distinct frame components, listed in frame order.
        const index = components.findIndex((k) => k[0] === id);
        if (index <= previousIndex) {
          fail("corrupt JPEG (scan names an unknown or repeated component)");
        }
        previousIndex = index;
        const component = components[index];
        blocksPerUnit += component[1] * component[2];
        if (!quantTables.has(component[3])) fail("corrupt JPEG (missing quantisation table)");
        const needsDc = first === 0 && high === 0, needsAc = last > 0;
        if (
          (needsDc && !huffmanTables.has(`dc${dc}`)) || (needsAc && !huffmanTables.has(`ac${ac}`))
        ) {
          fail("corrupt JPEG (missing Huffman table)");
        }
      }
      if (count > 1 && blocksPerUnit > 10) fail("corrupt JPEG (too many blocks per unit)");
      return { format: "jpeg", width, height };
    } else if (!((marker >= 0xe0 && marker <= 0xef) || marker === 0xfe)) {
      // Only application segments and comments may sit between the tables; the decoder crashes
      // on unknown markers.
      fail(`corrupt JPEG (unexpected marker 0x${marker.toString(16)})`);
    }
    at = end;
  }
}

/** Channels per PNG colour type (grey, RGB, palette, grey+alpha, RGBA). */
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7 passes: x start, y start, x step, y step. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [
  0,
  1,
  1,
  2,
]];

/** Bytes of filtered scanlines a complete PNG's image data inflates to. */
function pngDataBytes(
  width: number,
  height: number,
  depth: number,
  colour: number,
  adam7: boolean,
) {
  const bitsPerPixel = PNG_CHANNELS[colour] * depth;
  const lines = (w: number, h: number) =>
    w > 0 && h > 0 ? h * (1 + Math.ceil((w * bitsPerPixel) / 8)) : 0;
  if (!adam7) return lines(width, height);
  return ADAM7.reduce(
    (sum, [x0, y0, dx, dy]) =>
      sum + lines(Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy)),
    0,
  );
}

/** Inflated size of a zlib stream, reading no further than `enough` bytes of output. */
async function inflatedSize(zlib: Uint8Array, enough: number): Promise<number> {
  const source = new Blob([zlib as Uint8Array<ArrayBuffer>]).stream();
  const reader = source.pipeThrough(new DecompressionStream("deflate")).getReader();
  let total = 0;
  for (;;) {
    const next = await reader.read();
    if (next.done) return total;
    total += next.value.length;
    if (total >= enough) {
      await reader.cancel().catch(() => {});
      return total;
    }
  }
}

/**
 * Checks that the compressed pixel data is complete, so a cut-off download is refused instead of
 * being decoded to a partial picture (the native decoder fills the missing part silently). Call
 * after {@link inspectImageHeader} accepted the file.
 *
 * JPEG: the end-of-image marker must follow the scan data. PNG: the image data must inflate to
 * every scanline the header announces.
 */
export async function checkImageData(
  bytes: Uint8Array,
  header: ImageHeader,
  name = "image",
): Promise<void> {
  if (header.format === "jpeg") {
    if (!hasEndAfterScan(bytes)) {
      throw new DigitImageError(
        `${name}: truncated JPEG (the image data is cut off: no end-of-image marker); ` +
          `the file is incomplete, download or copy it again`,
      );
    }
    return;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: Uint8Array[] = [];
  let depth = 8, colour = 6, adam7 = false;
  for (let at = 8; at + 12 <= bytes.byteLength;) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (type === "IHDR") {
      [depth, colour, adam7] = [bytes[at + 16], bytes[at + 17], bytes[at + 20] === 1];
    }
    if (type === "IDAT") parts.push(bytes.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const zlib = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (zlib.set(p, at), at + p.length), 0);
  const expected = pngDataBytes(header.width, header.height, depth, colour, adam7);
  let found: number;
  try {
    found = await inflatedSize(zlib, expected);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new DigitImageError(
      `${name}: truncated PNG (the image data is cut off or damaged: ${why}); ` +
        `download or copy the file again`,
    );
  }
  if (found < expected) {
    throw new DigitImageError(
      `${name}: truncated PNG (the image data holds ${found} of the ${expected} bytes its ` +
        `${header.width}x${header.height} size needs); download or copy the file again`,
    );
  }
}

/** True when an end-of-image marker (FF D9) follows the first scan header. */
function hasEndAfterScan(bytes: Uint8Array): boolean {
  // Walk the header segments to the first scan (SOS, FF DA): an EXIF thumbnail before it has an
  // end marker of its own. Inside scan data an FF byte is followed only by 00 or a restart marker.
  let at = 2;
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    at += 2 + ((bytes[at + 2] << 8) | bytes[at + 3]);
    if (marker === 0xda) break;
  }
  for (let i = at; i + 1 < bytes.length; i++) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  }
  return false;
}
