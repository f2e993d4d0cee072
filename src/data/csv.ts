/**
 * Kaggle "digit-recognizer" CSV files and submissions.
 *
 * train.csv: header `label,pixel0,...,pixel783`, then rows `label,p0,...,p783`.
 * test.csv:  header `pixel0,...,pixel783`, then rows `p0,...,p783` (no labels).
 * Pixels are integers 0..255, row-major 28x28; labels 0..9.
 *
 * Browser-safe.
 *
 * @module
 */
import { type Dataset, NUM_CLASSES } from "./dataset.ts";
import { DataFormatError } from "./idx.ts";

/** A parsed Kaggle CSV; for a test file (no label column) all labels are 0. */
export interface KaggleCsv {
  /** Square images (0..255, row-major; 28x28 in Kaggle files) and labels, one per data row. */
  dataset: Dataset;
  /** True for a training file (first column `label`); false for a test file. */
  hasLabels: boolean;
}

const EXPECTED_HEADERS =
  "expected 'label,pixel0,...,pixel783' (training file) or 'pixel0,...,pixel783' (test file)";
const COMMA = 44, ZERO = 48, NINE = 57;
const NUMBER_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A header cell without spaces, quotes or case. */
function headerCell(cell: string): string {
  return cell.trim().replace(/^"(.*)"$/, "$1").trim().toLowerCase();
}

/** "abc,def,..." (at most `n` cells) for quoting a header in an error message. */
function quoteStart(cells: readonly string[], n = 3): string {
  return `'${cells.slice(0, n).join(",")}${cells.length > n ? ",..." : ""}'`;
}

/** Reads the header and returns whether there is a label column and how many pixel columns. */
function parseHeader(line: string, name: string): { hasLabels: boolean; pixels: number } {
  const cells = line.split(",").map(headerCell);
  const first = cells[0];
  if (first === "") {
    throw new DataFormatError(`${name}: line 1: empty header line; ${EXPECTED_HEADERS}`);
  }
  if (NUMBER_PATTERN.test(first)) {
    const labelFirst = cells.length === 785 ? " (it looks like a headerless label-first CSV)" : "";
    throw new DataFormatError(
      `${name}: line 1: no header line, the file starts with numbers${labelFirst}; ` +
        `${EXPECTED_HEADERS}: add the header line`,
    );
  }
  if (first === "imageid") {
    throw new DataFormatError(
      `${name}: line 1: this is a submission file (${quoteStart(cells)}), not a data file; ` +
        `pass Kaggle's train.csv or test.csv`,
    );
  }
  if (first !== "label" && first !== "pixel0") {
    throw new DataFormatError(
      `${name}: line 1: unknown header ${quoteStart(cells)}; ${EXPECTED_HEADERS}`,
    );
  }
  const hasLabels = first === "label";
  const pixelStart = hasLabels ? 1 : 0;
  const pixels = cells.length - pixelStart;
  for (let i = 0; i < pixels; i++) {
    const cell = cells[pixelStart + i];
    if (cell !== `pixel${i}`) {
      throw new DataFormatError(
        `${name}: line 1: header column ${pixelStart + i + 1} is '${cell}', expected ` +
          `'pixel${i}'; ${EXPECTED_HEADERS}`,
      );
    }
  }
  const side = Math.round(Math.sqrt(pixels));
  if (pixels === 0 || side * side !== pixels) {
    throw new DataFormatError(
      `${name}: line 1: header has ${pixels} pixel columns, which is not a square image ` +
        `(784 = 28x28 for digit-recognizer); ${EXPECTED_HEADERS}`,
    );
  }
  return { hasLabels, pixels };
}

/** Number of comma-separated values in text[start, end). */
function countValues(text: string, start: number, end: number): number {
  let n = 1;
  for (let i = start; i < end; i++) if (text.charCodeAt(i) === COMMA) n++;
  return n;
}

/**
 * Parses a Kaggle digit-recognizer CSV (train or test layout, detected from the header).
 *
 * @param text the whole file
 * @param name file name or path, used in every error message
 * @returns the images as a Dataset (named `name`) and whether the file had a label column
 * @throws DataFormatError naming the file, the 1-based line, and the problem
 */
export function parseKaggleCsv(text: string, name: string): KaggleCsv {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // byte-order mark from Excel
  if (text.trim() === "") {
    throw new DataFormatError(`${name}: file is empty; ${EXPECTED_HEADERS}`);
  }

  const headerEnd = lineEnd(text, 0);
  const { hasLabels, pixels } = parseHeader(text.slice(0, contentEnd(text, 0, headerEnd)), name);
  const valuesPerRow = pixels + (hasLabels ? 1 : 0);
  const rowText = hasLabels ? `label + ${pixels} pixels` : `${pixels} pixels, no label`;

  // Upper bound on rows (one per remaining newline + 1); trimmed to the real count at the end.
  let maxRows = 1;
  for (let i = text.indexOf("\n", headerEnd); i >= 0; i = text.indexOf("\n", i + 1)) maxRows++;
  const images = new Uint8Array(maxRows * pixels); // [count, pixels]
  const labels = new Uint8Array(maxRows); // [count]
  let count = 0;

  let lineNumber = 1;
  for (let start = headerEnd + 1; start < text.length;) {
    lineNumber++;
    const end = lineEnd(text, start);
    const stop = contentEnd(text, start, end);
    const next = end + 1;
    if (text.slice(start, stop).trim() === "") {
      start = next; // blank lines (e.g. a trailing one) carry no data
      continue;
    }
    const where = `${name}: line ${lineNumber}`;

    /** Count errors take precedence: a short row usually explains a bad value too. */
    const rowError = (problem: string): DataFormatError => {
      const found = countValues(text, start, stop);
      if (found !== valuesPerRow) {
        return new DataFormatError(
          `${where}: found ${found} values, expected ${valuesPerRow} (${rowText}); ` +
            `the row is damaged, fix or remove it`,
        );
      }
      return new DataFormatError(`${where}, ${problem}`);
    };

    const pixelBase = count * pixels;
    let column = 0, pos = start;
    for (;;) {
      if (column >= valuesPerRow) throw rowError("too many values");
      const isLabel = hasLabels && column === 0;
      const max = isLabel ? NUM_CLASSES - 1 : 255;
      // Fast path: 1-3 plain digits followed by a comma or the line end.
      let value = 0, digits = 0, p = pos;
      for (
        let c = text.charCodeAt(p);
        p < stop && c >= ZERO && c <= NINE;
        c = text.charCodeAt(++p)
      ) {
        value = value * 10 + (c - ZERO);
        digits++;
      }
      if (
        !(digits > 0 && digits <= 3 && value <= max && (p === stop || text.charCodeAt(p) === COMMA))
      ) {
        // Slow path: spaces, quotes, decimals, or an error to describe.
        const comma = text.indexOf(",", pos);
        p = comma < 0 || comma > stop ? stop : comma;
        value = parseCell(text.slice(pos, p), isLabel, max, column, hasLabels, rowError);
      }
      if (isLabel) labels[count] = value;
      else images[pixelBase + column - (hasLabels ? 1 : 0)] = value;
      column++;
      if (p >= stop) break;
      pos = p + 1;
    }
    if (column !== valuesPerRow) throw rowError("too few values");
    count++;
    start = next;
  }

  if (count === 0) {
    throw new DataFormatError(
      `${name}: no data rows after the header; the file is truncated, re-download it`,
    );
  }
  const side = Math.round(Math.sqrt(pixels));
  const dataset: Dataset = {
    name,
    count,
    rows: side,
    cols: side,
    images: images.subarray(0, count * pixels),
    labels: labels.subarray(0, count),
  };
  return { dataset, hasLabels };
}

/** Index of the "\n" ending the line at `start`, or text.length. */
function lineEnd(text: string, start: number): number {
  const i = text.indexOf("\n", start);
  return i < 0 ? text.length : i;
}

/** `end` without a preceding "\r" (Windows line endings). */
function contentEnd(text: string, start: number, end: number): number {
  return end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
}

/** Parses one cell the fast path refused; returns its value or throws a described error. */
function parseCell(
  raw: string,
  isLabel: boolean,
  max: number,
  column: number,
  hasLabels: boolean,
  rowError: (problem: string) => DataFormatError,
): number {
  const cell = raw.trim().replace(/^"(.*)"$/, "$1").trim();
  const columnName = isLabel ? "label" : `pixel${column - (hasLabels ? 1 : 0)}`;
  const at = `column ${column + 1} (${columnName})`;
  const rule = isLabel ? "labels must be integers 0..9" : "pixels must be integers 0..255";
  if (cell === "") throw rowError(`${at}: empty value; ${rule}`);
  if (!NUMBER_PATTERN.test(cell)) {
    const shown = cell.length > 20 ? `${cell.slice(0, 20)}...` : cell;
    throw rowError(`${at}: '${shown}' is not a number; ${rule}`);
  }
  const value = Number(cell);
  if (!Number.isInteger(value)) throw rowError(`${at}: ${cell} is not an integer; ${rule}`);
  if (value < 0 || value > max) {
    throw rowError(`${at}: ${isLabel ? "label" : "pixel"} ${cell} is outside 0..${max}; ${rule}`);
  }
  return value;
}

/**
 * A Kaggle submission: `ImageId,Label` then one `id,label` line per prediction, ImageId 1-based.
 *
 * @throws RangeError when a prediction is not an integer 0..9
 */
export function writeKaggleSubmission(predictions: ArrayLike<number>): string {
  const lines = ["ImageId,Label"];
  for (let i = 0; i < predictions.length; i++) {
    const label = predictions[i];
    if (!Number.isInteger(label) || label < 0 || label >= NUM_CLASSES) {
      throw new RangeError(`prediction at index ${i} is ${label}, expected an integer 0..9`);
    }
    lines.push(`${i + 1},${label}`);
  }
  return lines.join("\n") + "\n";
}
