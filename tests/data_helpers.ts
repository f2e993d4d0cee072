/**
 * Helpers for the data tests: error assertions, in-memory IDX files, temporary folders, MNIST
 * subsets.
 */
import assert from "node:assert/strict";
import { type Dataset, subset } from "../src/data/dataset.ts";
import { loadMnistSplit } from "../src/data/files.ts";

type ErrorClass = new (...args: never[]) => Error;

/**
 * Asserts that `run` throws (or rejects with) an instance of `cls` whose message is one line and
 * contains every fragment; returns the message.
 */
export async function expectError(
  run: () => unknown,
  cls: ErrorClass,
  ...fragments: string[]
): Promise<string> {
  let caught: unknown;
  try {
    await run();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected a ${cls.name} but nothing was thrown`);
  assert.ok(
    caught instanceof cls,
    `expected a ${cls.name}, got ${caught instanceof Error ? caught.name : typeof caught}: ${
      caught instanceof Error ? caught.message : String(caught)
    }`,
  );
  const message = (caught as Error).message;
  assert.equal((caught as Error).name, cls.name);
  assert.ok(!message.includes("\n"), `message should be one line: ${message}`);
  for (const fragment of fragments) {
    assert.ok(message.includes(fragment), `message lacks "${fragment}": ${message}`);
  }
  return message;
}

/**
 * An IDX file of unsigned bytes: magic 00 00 08 <dims.length>, big-endian dims, then `data`
 * (default: i % 256 for the full size).
 */
export function makeIdx(dims: number[], data?: ArrayLike<number>): Uint8Array {
  const size = dims.reduce((a, b) => a * b, 1);
  const payload = data ?? Array.from({ length: size }, (_, i) => i % 256);
  const bytes = new Uint8Array(4 + 4 * dims.length + payload.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x00000800 | dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  bytes.set(payload, 4 + 4 * dims.length);
  return bytes;
}

/** gzip-compresses `bytes` with the web-standard CompressionStream. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Runs `body` in a fresh temporary folder (named `prefix`...) that is removed afterwards. */
export async function inTempDir<T>(prefix: string, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * A loader of the first `trainCount` training and `testCount` test images of MNIST: the files
 * are read on the first call, and every call returns the same subsets.
 */
export function mnistSubsets(
  trainCount: number,
  testCount: number,
): () => Promise<{ train: Dataset; test: Dataset }> {
  let data: Promise<{ train: Dataset; test: Dataset }> | null = null;
  return () =>
    data ??= Promise.all([loadMnistSplit("train"), loadMnistSplit("test")]).then(([a, b]) => ({
      train: subset(a, trainCount),
      test: subset(b, testCount),
    }));
}
