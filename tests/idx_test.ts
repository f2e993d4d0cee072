/** IDX parsing, Dataset validation and folder loading (needs --allow-read --allow-write). */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DataFormatError, type IdxExpectation, parseIdx } from "../src/data/idx.ts";
import { type Dataset, makeDataset, subset } from "../src/data/dataset.ts";
import {
  candidateNames,
  DataFileError,
  DEFAULT_MNIST_DIR,
  loadMnistSplit,
} from "../src/data/files.ts";
import { expectError, gzip, makeIdx } from "./data_helpers.ts";

const NAMES = { images: "imgs.idx", labels: "lbls.idx" };

/** Writes `files` (name -> bytes) into a fresh temp folder and runs `body` with its path. */
async function withTempDir(
  files: Record<string, Uint8Array>,
  body: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "idx_test_" });
  try {
    for (const [name, bytes] of Object.entries(files)) {
      const path = join(dir, name);
      await Deno.mkdir(join(path, ".."), { recursive: true });
      await Deno.writeFile(path, bytes);
    }
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function histogram(labels: Uint8Array): number[] {
  const counts = new Array(10).fill(0);
  for (const label of labels) counts[label]++;
  return counts;
}

// ---- parseIdx: good files ----

Deno.test("parseIdx reads raw images and labels files", async () => {
  const images = await parseIdx(makeIdx([2, 3, 4]), "imgs", { kind: "images" });
  assert.deepEqual(images.dims, [2, 3, 4]);
  assert.equal(images.data.length, 24);
  assert.deepEqual(Array.from(images.data.subarray(0, 5)), [0, 1, 2, 3, 4]);
  assert.equal(images.data[23], 23);

  const labels = await parseIdx(makeIdx([5], [3, 1, 4, 1, 5]), "lbls", { kind: "labels" });
  assert.deepEqual(labels.dims, [5]);
  assert.deepEqual(Array.from(labels.data), [3, 1, 4, 1, 5]);

  // A view at a nonzero offset of a bigger buffer (e.g. a pooled Node Buffer) parses the same.
  const file = makeIdx([5], [9, 8, 7, 6, 5]);
  const padded = new Uint8Array(file.length + 7);
  padded.set(file, 3);
  const fromView = await parseIdx(padded.subarray(3, 3 + file.length), "view");
  assert.deepEqual(fromView.dims, [5]);
  assert.deepEqual(Array.from(fromView.data), [9, 8, 7, 6, 5]);
});

Deno.test("parseIdx inflates gzip files to the same content", async () => {
  const raw = makeIdx([3, 28, 28]);
  const zipped = await gzip(raw);
  assert.equal(zipped[0], 0x1f);
  const parsed = await parseIdx(zipped, "imgs.gz", { kind: "images" });
  assert.deepEqual(parsed.dims, [3, 28, 28]);
  assert.deepEqual(parsed.data, raw.subarray(16));
});

// ---- parseIdx: each damaged or wrong file has its own message ----

Deno.test("parseIdx: empty file and a file shorter than the magic number", async () => {
  await expectError(() => parseIdx(new Uint8Array(0), "e.idx"), DataFormatError, "e.idx", "empty");
  await expectError(
    () => parseIdx(new Uint8Array([0, 0]), "s.idx"),
    DataFormatError,
    "s.idx",
    "only 2 byte(s)",
    "re-download",
  );
});

Deno.test("parseIdx: wrong magic says what was found and guesses the file type", async () => {
  const msg = await expectError(
    () => parseIdx(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), "x.bin"),
    DataFormatError,
    "x.bin",
    "not an IDX file",
    "01 02 03 04",
    "00 00 08 03",
  );
  assert.match(msg, /pass an MNIST IDX file/);
  await expectError(
    () => parseIdx(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0]), "a.zip"),
    DataFormatError,
    "zip archive",
  );
  await expectError(
    () => parseIdx(new TextEncoder().encode("<!DOCTYPE html><html>"), "page"),
    DataFormatError,
    "HTML",
  );
  await expectError(
    () => parseIdx(new TextEncoder().encode("label,pixel0,pixel1\n"), "train.csv"),
    DataFormatError,
    "CSV",
  );
  // Little-endian magic 0x00000803 is 03 08 00 00 on disk.
  await expectError(
    () => parseIdx(new Uint8Array([3, 8, 0, 0, 0, 0, 0, 1]), "le.idx"),
    DataFormatError,
    "byte-reversed",
  );
});

Deno.test("parseIdx: unsupported element type and dimension count", async () => {
  const floats = makeIdx([2]);
  floats[2] = 0x0d;
  await expectError(() => parseIdx(floats, "f.idx"), DataFormatError, "float32", "0x0d");
  await expectError(
    () => parseIdx(makeIdx([2, 3]), "two.idx"),
    DataFormatError,
    "2 dimension(s)",
    "expected 1 (labels) or 3 (images)",
  );
});

Deno.test("parseIdx: a file of the other kind than expected", async () => {
  await expectError(
    () => parseIdx(makeIdx([4]), "lbls.idx", { kind: "images" }),
    DataFormatError,
    "lbls.idx",
    "this is a labels file but an images file was expected",
  );
  await expectError(
    () => parseIdx(makeIdx([1, 2, 2]), "imgs.idx", { kind: "labels" }),
    DataFormatError,
    "this is an images file but a labels file was expected",
  );
});

Deno.test("parseIdx: truncated header and truncated payload", async () => {
  await expectError(
    () => parseIdx(makeIdx([2, 3, 4]).subarray(0, 10), "h.idx"),
    DataFormatError,
    "h.idx",
    "header truncated",
    "has 10 bytes",
    "needs 16",
  );
  const file = makeIdx([2, 3, 4]);
  await expectError(
    () => parseIdx(file.subarray(0, file.length - 5), "t.idx"),
    DataFormatError,
    "t.idx",
    "truncated: header says 2x3x4 = 24 data bytes but only 19 follow",
    "re-download",
  );
});

Deno.test("parseIdx: header count larger than the data", async () => {
  // Header claims 10 labels; only 4 follow.
  const file = makeIdx([4], [1, 2, 3, 4]);
  new DataView(file.buffer).setUint32(4, 10, false);
  await expectError(
    () => parseIdx(file, "l.idx", { kind: "labels" }),
    DataFormatError,
    "header says 10 = 10 data bytes but only 4 follow (40.0%)",
  );
});

Deno.test("parseIdx: trailing bytes after the data", async () => {
  const file = makeIdx([2, 2, 2]);
  const longer = new Uint8Array(file.length + 3);
  longer.set(file);
  await expectError(
    () => parseIdx(longer, "long.idx"),
    DataFormatError,
    "long.idx",
    "3 trailing bytes after the 2x2x2 = 8 data bytes",
  );
});

Deno.test("parseIdx: corrupt or truncated gzip says so and to re-download", async () => {
  const zipped = await gzip(makeIdx([4, 28, 28]));
  const cut = zipped.subarray(0, zipped.length - 12);
  await expectError(
    () => parseIdx(cut, "cut.gz"),
    DataFormatError,
    "cut.gz",
    "corrupt gzip",
    "re-download",
  );
  const flipped = zipped.slice();
  for (let i = 12; i < 40; i++) flipped[i] ^= 0x5a;
  await expectError(() => parseIdx(flipped, "bad.gz"), DataFormatError, "corrupt gzip");
  await expectError(
    () => parseIdx(new Uint8Array([0x1f, 0x8b]), "magic-only.gz"),
    DataFormatError,
    "corrupt gzip",
  );
});

// ---- makeDataset and subset ----

Deno.test("makeDataset pairs images with labels and checks them", async () => {
  const images = await parseIdx(makeIdx([3, 2, 2]), "i");
  const labels = await parseIdx(makeIdx([3], [9, 0, 5]), "l");
  const ds = makeDataset("tiny", images, labels, NAMES);
  assert.equal(ds.name, "tiny");
  assert.equal(ds.count, 3);
  assert.equal(ds.rows, 2);
  assert.equal(ds.cols, 2);
  assert.deepEqual(Array.from(ds.labels), [9, 0, 5]);
  assert.deepEqual(Array.from(ds.images.subarray(4, 8)), [4, 5, 6, 7]);

  // Non-28x28 sizes are allowed and recorded.
  const wide = makeDataset("wide", await parseIdx(makeIdx([3, 5, 7]), "i"), labels, NAMES);
  assert.deepEqual([wide.rows, wide.cols], [5, 7]);
});

/** Asserts that makeDataset refuses images of `dims` with `labels`, naming `fragments`. */
async function expectDatasetError(dims: number[], labels: number[], ...fragments: string[]) {
  const images = await parseIdx(makeIdx(dims), "i");
  const labelFile = await parseIdx(makeIdx([labels.length], labels), "l");
  await expectError(
    () => makeDataset("x", images, labelFile, NAMES),
    DataFormatError,
    ...fragments,
  );
}

Deno.test("makeDataset: a count mismatch or a bad label names the files, counts and values", async (t) => {
  const cases: [what: string, dims: number[], labels: number[], fragments: string[]][] = [
    ["image/label count mismatch names both files and counts", [3, 2, 2], [1, 2, 3, 4], [
      "count mismatch",
      "imgs.idx has 3 images",
      "lbls.idx has 4 labels",
      "same split",
    ]],
    ["labels outside 0..9 name the first bad index and value", [4, 2, 2], [1, 9, 10, 200], [
      "lbls.idx",
      "label at index 2 is 10, expected 0..9",
    ]],
  ];
  for (const [what, dims, labels, fragments] of cases) {
    await t.step(what, () => expectDatasetError(dims, labels, ...fragments));
  }
});

Deno.test("makeDataset: swapped or empty files", async () => {
  const images = await parseIdx(makeIdx([2, 2, 2]), "i");
  const labels = await parseIdx(makeIdx([2], [1, 2]), "l");
  await expectError(
    () => makeDataset("x", labels, images, NAMES),
    DataFormatError,
    "imgs.idx: expected an images file",
  );
  await expectDatasetError([0, 28, 28], [], "holds no image data (0x28x28)");
});

Deno.test("subset takes a range sharing memory and rejects bad ranges", async () => {
  const ds: Dataset = makeDataset(
    "ds",
    await parseIdx(makeIdx([5, 2, 2]), "i"),
    await parseIdx(makeIdx([5], [0, 1, 2, 3, 4]), "l"),
    NAMES,
  );
  const part = subset(ds, 2, 1);
  assert.equal(part.count, 2);
  assert.equal(part.name, "ds[1:3]");
  assert.deepEqual(Array.from(part.labels), [1, 2]);
  assert.deepEqual(Array.from(part.images), [4, 5, 6, 7, 8, 9, 10, 11]);
  assert.equal(part.images.buffer, ds.images.buffer);
  assert.equal(subset(ds, 5), ds);
  await expectError(() => subset(ds, 6), RangeError, "has only 5 images", "at most 5");
  await expectError(() => subset(ds, 2, 4), RangeError, "at most 1");
  await expectError(() => subset(ds, 1, 5), RangeError, "offset below 5");
  await expectError(() => subset(ds, 0), RangeError, "integer >= 1");
  await expectError(() => subset(ds, 1.5), RangeError, "integer >= 1");
});

// ---- Folders ----

Deno.test("the real MNIST files load from the default folder", async () => {
  const train = await loadMnistSplit("train");
  assert.equal(train.name, "mnist-train");
  assert.equal(train.count, 60000);
  assert.deepEqual([train.rows, train.cols], [28, 28]);
  assert.equal(train.images.length, 60000 * 784);
  assert.deepEqual(Array.from(train.labels.subarray(0, 10)), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
  // Published class counts of the MNIST training set.
  assert.deepEqual(
    histogram(train.labels),
    [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
  );
  // Image 0 (a 5): background corners, ink in the middle; 166 nonzero pixels.
  const first = train.images.subarray(0, 784);
  assert.equal(first[0], 0);
  assert.equal(first.filter((v) => v > 0).length, 166);
  assert.equal(Math.max(...first), 255);

  const test = await loadMnistSplit("test", DEFAULT_MNIST_DIR);
  assert.equal(test.count, 10000);
  assert.deepEqual(Array.from(test.labels.subarray(0, 10)), [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  assert.deepEqual(
    histogram(test.labels),
    [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
  );
});

Deno.test("candidateNames covers published, dotted and gzipped names", () => {
  assert.deepEqual(candidateNames("t10k-labels-idx1-ubyte"), [
    "t10k-labels-idx1-ubyte",
    "t10k-labels.idx1-ubyte",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-labels.idx1-ubyte.gz",
  ]);
});

Deno.test("a folder with gzipped, dotted and nested (Kaggle layout) files loads", async () => {
  const images = makeIdx([3, 4, 4]);
  const labels = makeIdx([3], [2, 7, 1]);
  await withTempDir(
    {
      "t10k-images.idx3-ubyte.gz": await gzip(images),
      "t10k-labels-idx1-ubyte/t10k-labels-idx1-ubyte": labels,
    },
    async (dir) => {
      const ds = await loadMnistSplit("test", dir);
      assert.match(ds.name, /^idx_test_.*-test$/);
      assert.equal(ds.count, 3);
      assert.deepEqual([ds.rows, ds.cols], [4, 4]);
      assert.deepEqual(Array.from(ds.labels), [2, 7, 1]);
      assert.deepEqual(ds.images, images.subarray(16));
    },
  );
});

Deno.test("folder errors: missing folder, not a folder, missing file", async () => {
  await expectError(
    () => loadMnistSplit("train", "/no/such/mnist/dir"),
    DataFileError,
    "data folder not found: /no/such/mnist/dir",
    "--data DIR",
  );
  await withTempDir({ "train-labels-idx1-ubyte": makeIdx([1], [3]) }, async (dir) => {
    await expectError(
      () => loadMnistSplit("train", join(dir, "train-labels-idx1-ubyte")),
      DataFileError,
      "is a file, not a folder",
    );
    await expectError(
      () => loadMnistSplit("train", dir),
      DataFileError,
      `missing train images file in ${dir}`,
      "looked for train-images-idx3-ubyte or train-images.idx3-ubyte (raw or .gz)",
      "the folder holds train-labels-idx1-ubyte",
    );
  });
  await expectError(
    () => loadMnistSplit("test", new URL("https://example.com/mnist/")),
    DataFileError,
    "only local files and folders are supported",
  );
});

Deno.test("a damaged file in a folder is reported with its full path", async () => {
  const labels = makeIdx([3], [1, 2, 3]);
  await withTempDir(
    {
      "train-images-idx3-ubyte": makeIdx([3, 2, 2]).subarray(0, 20),
      "train-labels-idx1-ubyte": labels,
    },
    async (dir) => {
      await expectError(
        () => loadMnistSplit("train", dir),
        DataFormatError,
        `${join(dir, "train-images-idx3-ubyte")}: truncated`,
      );
    },
  );
  // Swapped splits: test labels next to train images.
  await withTempDir(
    {
      "train-images-idx3-ubyte": makeIdx([3, 2, 2]),
      "train-labels-idx1-ubyte": makeIdx([2], [1, 2]),
    },
    async (dir) => {
      await expectError(
        () => loadMnistSplit("train", dir),
        DataFormatError,
        "has 3 images",
        "has 2 labels",
      );
    },
  );
});

// ---- gzip bombs and fake gzip files ----

/**
 * A gzip "bomb": an images header claiming 4,194,304 images of 28x28 (3.3 GB) followed by
 * `zeroMiB` MiB of zeros, compressed (about a thousandth of that on disk).
 */
async function gzipBomb(zeroMiB: number): Promise<Uint8Array> {
  const header = makeIdx([4_194_304, 28, 28], []);
  const zeros = new Uint8Array(1 << 20);
  const source = new ReadableStream<Uint8Array<ArrayBuffer>>({
    start(controller) {
      controller.enqueue(header as Uint8Array<ArrayBuffer>);
      for (let i = 0; i < zeroMiB; i++) controller.enqueue(zeros);
      controller.close();
    },
  });
  const zipped = source.pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(zipped).arrayBuffer());
}

/** `bytes` as a stream of 16 KiB chunks that counts how many bytes the reader pulled. */
function countingStream(
  bytes: Uint8Array,
): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let at = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      const chunk = bytes.slice(at, at + 16384);
      at += chunk.length;
      controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
  return { stream, pulled: () => at };
}

/** Asserts that streamed `bytes` are refused (naming `fragments`) within the first 4 chunks. */
async function expectEarlyRefusal(
  bytes: Uint8Array,
  name: string,
  expect: IdxExpectation,
  ...fragments: string[]
): Promise<void> {
  const source = countingStream(bytes);
  await expectError(() => parseIdx(source.stream, name, expect), DataFormatError, ...fragments);
  assert.ok(
    source.pulled() <= 4 * 16384,
    `read ${source.pulled()} of ${bytes.length} compressed bytes before refusing`,
  );
}

Deno.test("parseIdx: a gzip bomb stops at the header when the labels give the count", async () => {
  const bomb = await gzipBomb(256); // 256 MiB of zeros, about 256 KB compressed
  // the whole file in memory: refused with both counts, before inflating the data
  await expectError(
    () => parseIdx(bomb, "bomb.gz", { kind: "images", count: 60000 }),
    DataFormatError,
    "bomb.gz",
    "4194304 images",
    "60000 labels",
  );
  // streamed: the inflater stops reading after the first chunks
  await expectEarlyRefusal(bomb, "bomb.gz", { kind: "images", count: 60000 }, "4194304 images");
});

Deno.test("parseIdx: inflating stops once the output exceeds what the header announces", async () => {
  // header says 2 images of 28x28, then 64 MiB of zeros follow
  const header = makeIdx([2, 28, 28]);
  const zeros = new Uint8Array(1 << 20);
  const zipped = await new Response(
    new ReadableStream<Uint8Array<ArrayBuffer>>({
      start(c) {
        c.enqueue(header as Uint8Array<ArrayBuffer>);
        for (let i = 0; i < 64; i++) c.enqueue(zeros);
        c.close();
      },
    }).pipeThrough(new CompressionStream("gzip")),
  ).arrayBuffer();
  await expectEarlyRefusal(
    new Uint8Array(zipped),
    "long.gz",
    {},
    "long.gz",
    "2x28x28 = 1568 data bytes",
  );
});

Deno.test("parseIdx: a stream gives the same result as the bytes, raw and gzipped", async () => {
  const file = makeIdx([5, 3, 4]);
  for (const bytes of [file, await gzip(file)]) {
    const parsed = await parseIdx(countingStream(bytes).stream, "s", { kind: "images", count: 5 });
    assert.deepEqual(parsed.dims, [5, 3, 4]);
    assert.deepEqual(parsed.data, file.subarray(16));
  }
  await expectError(
    () => parseIdx(countingStream(makeIdx([4])).stream, "l", { kind: "labels", count: 3 }),
    DataFormatError,
    "4 labels",
    "3 images",
  );
});

Deno.test("loadMnistSplit refuses an images gzip bomb by the labels count", async () => {
  await withTempDir({
    "train-images-idx3-ubyte.gz": await gzipBomb(64),
    "train-labels-idx1-ubyte": makeIdx([3], [1, 2, 3]),
  }, async (dir) => {
    await expectError(
      () => loadMnistSplit("train", dir),
      DataFormatError,
      "train-images-idx3-ubyte.gz",
      "4194304 images",
      "3 labels",
    );
  });
});

Deno.test("parseIdx: random bytes named .gz are reported as not valid gzip", async () => {
  const random = Uint8Array.from([0xb6, 0x24, 0x91, 0x07, 0x33, 0x5e, 0xc2, 0x10]);
  await expectError(
    () => parseIdx(random, "train-images-idx3-ubyte.gz"),
    DataFormatError,
    "train-images-idx3-ubyte.gz",
    "not a valid gzip file",
    "b6 24",
  );
  // a .gz name whose content a browser already inflated still loads
  const parsed = await parseIdx(makeIdx([2]), "labels.gz", { kind: "labels" });
  assert.deepEqual(parsed.dims, [2]);
});
