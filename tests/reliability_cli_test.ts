/**
 * Broken promises found by a red-team pass, checked through the tasks as a user runs them: data
 * from any folder, image geometry across files, the Kaggle submission command, damaged
 * checkpoints. Each case checks the exit code and a one-line message without a stack trace.
 */
import assert from "node:assert/strict";
import { makeIdx } from "./data_helpers.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const SCRATCH = `${ROOT}results/.test-reliability`;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  /** stderr without progress bars, the adapter line and blank lines */
  lines: string[];
}

async function task(name: string, args: string[]): Promise<Outcome> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", name, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const stderr = dec.decode(out.stderr);
  const lines = stderr.split(/[\n\r]/).map((l) => l.trim()).filter((l) =>
    l !== "" && !l.startsWith("adapter:") && !/^train \[/.test(l) && !l.startsWith("Task ")
  );
  return { code: out.code, stdout: dec.decode(out.stdout), stderr, lines };
}

function expectOneLine(what: string, o: Outcome, code: number, pattern: RegExp): void {
  const report = `${what}: exit ${o.code}, stderr:\n${o.stderr}`;
  assert.equal(o.code, code, `expected exit ${code}. ${report}`);
  assert.equal(o.lines.length, 1, `expected one line. ${report}`);
  assert.match(o.lines[0], pattern, report);
  assert.doesNotMatch(o.stderr, /^\s+at /m, `stack trace printed. ${report}`);
}

/** An MNIST-layout folder of small IDX files: `train` and `test` images of the given sizes. */
async function idxFolder(
  dir: string,
  train: [number, number, number],
  test: [number, number, number],
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const labels = (n: number) => makeIdx([n], Array.from({ length: n }, (_, i) => i % 10));
  await Deno.writeFile(`${dir}/train-images-idx3-ubyte`, makeIdx(train));
  await Deno.writeFile(`${dir}/train-labels-idx1-ubyte`, labels(train[0]));
  await Deno.writeFile(`${dir}/t10k-images-idx3-ubyte`, makeIdx(test));
  await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte`, labels(test[0]));
}

Deno.test("part1: test images of another size, or images the model cannot take, stop with one line", async () => {
  try {
    await idxFolder(`${SCRATCH}/wide`, [128, 28, 28], [20, 14, 56]);
    expectOneLine(
      "14x56 test images",
      await task("part1", ["--data", `${SCRATCH}/wide`, "--out", `${SCRATCH}/out-wide`]),
      1,
      /training images .* are 28x28 but the test images .* are 14x56/,
    );
    await idxFolder(`${SCRATCH}/big`, [128, 32, 32], [20, 32, 32]);
    expectOneLine(
      "32x32 images",
      await task("part1", ["--data", `${SCRATCH}/big`, "--out", `${SCRATCH}/out-big`]),
      1,
      /are 32x32 but the model lenet5 takes 28x28 inputs/,
    );
  } finally {
    await Deno.remove(SCRATCH, { recursive: true }).catch(() => {});
  }
});
