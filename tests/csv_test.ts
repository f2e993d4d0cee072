/** Kaggle digit-recognizer CSV parsing and the submission writer (needs --allow-read --allow-write). */
import assert from "node:assert/strict";
import { parseKaggleCsv, writeKaggleSubmission } from "../src/data/csv.ts";
import { DataFileError, loadKaggleCsv } from "../src/data/files.ts";
import { DataFormatError } from "../src/data/idx.ts";
import { expectError, gzip } from "./data_helpers.ts";

const PIXELS = 784;
const PIXEL_HEADER = Array.from({ length: PIXELS }, (_, i) => `pixel${i}`).join(",");
const TRAIN_HEADER = `label,${PIXEL_HEADER}`;

/** Pixels of a deterministic test image `k`: [784], values 0..255. */
function image(k: number): number[] {
  return Array.from({ length: PIXELS }, (_, i) => (i * 7 + k * 31) % 256);
}

function trainCsv(rows: { label: number; pixels: (number | string)[] }[], eol = "\n"): string {
  return [TRAIN_HEADER, ...rows.map((r) => [r.label, ...r.pixels].join(","))].join(eol) + eol;
}

Deno.test("parses a training file: labels, pixels, 28x28", () => {
  const rows = [{ label: 7, pixels: image(0) }, { label: 0, pixels: image(1) }, {
    label: 9,
    pixels: image(2),
  }];
  const { dataset, hasLabels } = parseKaggleCsv(trainCsv(rows), "train.csv");
  assert.equal(hasLabels, true);
  assert.equal(dataset.name, "train.csv");
  assert.equal(dataset.count, 3);
  assert.deepEqual([dataset.rows, dataset.cols], [28, 28]);
  assert.deepEqual(Array.from(dataset.labels), [7, 0, 9]);
  assert.equal(dataset.images.length, 3 * PIXELS);
  for (let k = 0; k < 3; k++) {
    assert.deepEqual(Array.from(dataset.images.subarray(k * PIXELS, (k + 1) * PIXELS)), image(k));
  }
});

Deno.test("parses CRLF line endings, a byte-order mark, blank lines and padded cells", () => {
  const pixels: (number | string)[] = image(3);
  pixels[0] = " 12 ";
  pixels[1] = "255.0";
  pixels[2] = "0255";
  const text = "\ufeff" + trainCsv([{ label: 4, pixels }, { label: 5, pixels: image(4) }], "\r\n") +
    "\r\n\r\n";
  const { dataset } = parseKaggleCsv(text, "win.csv");
  assert.equal(dataset.count, 2);
  assert.deepEqual(Array.from(dataset.labels), [4, 5]);
  assert.deepEqual(Array.from(dataset.images.subarray(0, 4)), [12, 255, 255, image(3)[3]]);
  assert.equal(dataset.images[PIXELS + 783], image(4)[783]);
});

Deno.test("parses a test file (no label column): hasLabels false, labels 0", () => {
  const text = [PIXEL_HEADER, image(5).join(","), image(6).join(",")].join("\n");
  const { dataset, hasLabels } = parseKaggleCsv(text, "test.csv");
  assert.equal(hasLabels, false);
  assert.equal(dataset.count, 2);
  assert.deepEqual(Array.from(dataset.labels), [0, 0]);
  assert.deepEqual(Array.from(dataset.images.subarray(PIXELS)), image(6));
});

Deno.test("a short or long row says how many values were found vs expected", async () => {
  const short = trainCsv([{ label: 1, pixels: image(0) }, { label: 2, pixels: image(1).slice(1) }]);
  await expectError(
    () => parseKaggleCsv(short, "train.csv"),
    DataFormatError,
    "train.csv: line 3: found 784 values, expected 785 (label + 784 pixels)",
  );
  const long = trainCsv([{ label: 1, pixels: [...image(0), 5] }]);
  await expectError(
    () => parseKaggleCsv(long, "train.csv"),
    DataFormatError,
    "line 2: found 786 values, expected 785",
  );
  const testShort = [PIXEL_HEADER, image(0).slice(2).join(",")].join("\n");
  await expectError(
    () => parseKaggleCsv(testShort, "test.csv"),
    DataFormatError,
    "line 2: found 782 values, expected 784 (784 pixels, no label)",
  );
  // A short row with a bad value is reported as short: the count explains the damage.
  const shortAndBad = trainCsv([{ label: 1, pixels: ["x", ...image(0).slice(2)] }]);
  await expectError(
    () => parseKaggleCsv(shortAndBad, "train.csv"),
    DataFormatError,
    "found 784 values",
  );
});

/** A training CSV of one image (`label`) whose pixel `index` is `value` and all else image(0). */
function onePixel(index: number, value: number | string, label: number): string {
  const pixels: (number | string)[] = image(0);
  pixels[index] = value;
  return trainCsv([{ label, pixels }]);
}

Deno.test("a non-number names the line, column and value", async () => {
  const pixels: (number | string)[] = image(0);
  pixels[10] = "abc";
  const text = trainCsv([{ label: 3, pixels: image(1) }, { label: 3, pixels }]);
  await expectError(
    () => parseKaggleCsv(text, "train.csv"),
    DataFormatError,
    "train.csv: line 3, column 12 (pixel10): 'abc' is not a number",
  );
  await expectError(
    () => parseKaggleCsv(onePixel(0, "", 3), "train.csv"),
    DataFormatError,
    "column 2 (pixel0): empty value",
  );
});

Deno.test("pixels outside 0..255 or non-integer are rejected", async () => {
  const cases: [number, number | string, string][] = [
    [783, 256, "line 2, column 785 (pixel783): pixel 256 is outside 0..255"],
    [5, -1, "pixel -1 is outside 0..255"],
    [5, "12.5", "(pixel5): 12.5 is not an integer"],
  ];
  for (const [index, value, fragment] of cases) {
    await expectError(
      () => parseKaggleCsv(onePixel(index, value, 1), "train.csv"),
      DataFormatError,
      fragment,
    );
  }
});

Deno.test("a label outside 0..9 is rejected", async () => {
  const text = trainCsv([{ label: 9, pixels: image(0) }, { label: 10, pixels: image(1) }]);
  await expectError(
    () => parseKaggleCsv(text, "train.csv"),
    DataFormatError,
    "train.csv: line 3, column 1 (label): label 10 is outside 0..9",
  );
});

Deno.test("header problems: empty file, no header, unknown header, bad columns", async () => {
  const cases: [text: string, name: string, ...fragments: string[]][] = [
    ["", "e.csv", "e.csv: file is empty"],
    [
      [1, ...image(0)].join(",") + "\n",
      "mnist_train.csv",
      "line 1: no header line",
      "headerless label-first",
      "add the header line",
    ],
    ["ImageId,Label\n1,7\n", "sub.csv", "this is a submission file"],
    ["id,x,y\n1,2,3\n", "odd.csv", "line 1: unknown header 'id,x,y'"],
    ["label,pixel0,pixel2,pixel3\n", "gap.csv", "header column 3 is 'pixel2', expected 'pixel1'"],
    [
      "label,pixel0,pixel1,pixel2\n1,2,3,4\n",
      "three.csv",
      "3 pixel columns, which is not a square image",
    ],
  ];
  for (const [text, name, ...fragments] of cases) {
    await expectError(() => parseKaggleCsv(text, name), DataFormatError, ...fragments);
  }
});

Deno.test("a header without data rows is an error", async () => {
  await expectError(
    () => parseKaggleCsv(TRAIN_HEADER + "\n\n", "train.csv"),
    DataFormatError,
    "train.csv: no data rows",
  );
});

Deno.test("line numbers count blank lines", async () => {
  const text = [TRAIN_HEADER, [1, ...image(0)].join(","), "", [11, ...image(1)].join(",")].join(
    "\n",
  );
  await expectError(() => parseKaggleCsv(text, "t.csv"), DataFormatError, "line 4");
});

Deno.test("writeKaggleSubmission writes 1-based ImageIds", async () => {
  assert.equal(
    writeKaggleSubmission(new Uint8Array([7, 2, 1, 0])),
    "ImageId,Label\n1,7\n2,2\n3,1\n4,0\n",
  );
  assert.equal(writeKaggleSubmission([]), "ImageId,Label\n");
  await expectError(
    () => writeKaggleSubmission([1, 10]),
    RangeError,
    "prediction at index 1 is 10",
  );
  await expectError(() => writeKaggleSubmission([0.5]), RangeError, "index 0 is 0.5");
});

Deno.test("loadKaggleCsv reads raw and gzipped files and rejects zip archives", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csv_test_" });
  try {
    const text = trainCsv([{ label: 6, pixels: image(7) }]);
    const bytes = new TextEncoder().encode(text);
    await Deno.writeFile(`${dir}/train.csv`, bytes);
    await Deno.writeFile(`${dir}/train.csv.gz`, await gzip(bytes));
    await Deno.writeFile(`${dir}/digit-recognizer.zip`, new Uint8Array([0x50, 0x4b, 3, 4, 0]));
    for (const name of ["train.csv", "train.csv.gz"]) {
      const { dataset, hasLabels } = await loadKaggleCsv(`${dir}/${name}`);
      assert.equal(hasLabels, true);
      assert.deepEqual(Array.from(dataset.labels), [6]);
      assert.deepEqual(Array.from(dataset.images), image(7));
    }
    await expectError(
      () => loadKaggleCsv(`${dir}/digit-recognizer.zip`),
      DataFormatError,
      "this is a zip archive, not a CSV file; unzip it",
    );
    await expectError(
      () => loadKaggleCsv(`${dir}/nope.csv`),
      DataFileError,
      `file not found: ${dir}/nope.csv; check the path`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
