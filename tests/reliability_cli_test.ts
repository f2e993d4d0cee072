/**
 * Broken promises found by a red-team pass, checked through the tasks as a user runs them: data
 * from any folder, image geometry across files, the Kaggle submission command, damaged
 * checkpoints. Each case checks the exit code and a one-line message without a stack trace.
 */
import assert from "node:assert/strict";
import { makeIdx } from "./data_helpers.ts";
import { lenetCheckpoint } from "./helpers.ts";
import { ADAM_DEFAULTS } from "../src/ops/optimizer.ts";
import { decodeSafetensors, encodeSafetensors } from "../src/io/safetensors.ts";
import { reportLines, ROOT, runTask } from "./subprocess.ts";

const SCRATCH = `${ROOT}results/.test-reliability`;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  /** stderr without progress bars, the adapter line and blank lines */
  lines: string[];
}

async function task(name: string, args: string[]): Promise<Outcome> {
  const { code, stdout, stderr } = await runTask([name, ...args]);
  return { code, stdout, stderr, lines: reportLines(stderr) };
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

/** A freshly initialised LeNet-5 as a checkpoint file (enough to run predict). */
async function writeCheckpoint(path: string, batchSize = 32): Promise<void> {
  const recipe = {
    optimizer: ADAM_DEFAULTS,
    schedule: { kind: "constant" as const },
    batchSize,
    epochs: 1,
    seed: 1,
  };
  await Deno.writeFile(path, await lenetCheckpoint(3, recipe));
}

/** A Kaggle test CSV (no labels) of `count` blank-ish images. */
function kaggleTestCsv(count: number): string {
  const header = Array.from({ length: 784 }, (_, i) => `pixel${i}`).join(",");
  const row = Array.from({ length: 784 }, (_, i) => (i % 29 === 0 ? 200 : 0)).join(",");
  return [header, ...Array(count).fill(row)].join("\n") + "\n";
}

/** Removes a file the test itself may not write (the project root is outside its permission). */
async function removeFromRoot(name: string): Promise<void> {
  await new Deno.Command("rm", { args: ["-f", `${ROOT}${name}`] }).output();
}

Deno.test("predict --csv writes the submission in the project folder; elsewhere it says what to do", async () => {
  // the README's command writes submission.csv beside deno.json; a unique name in the same
  // folder keeps a user's own submission.csv untouched
  const name = `.test-submission-${Date.now()}.csv`;
  try {
    await Deno.mkdir(SCRATCH, { recursive: true });
    await writeCheckpoint(`${SCRATCH}/model.safetensors`);
    await Deno.writeTextFile(`${SCRATCH}/test.csv`, kaggleTestCsv(5));
    const args = ["--model", `${SCRATCH}/model.safetensors`, "--csv", `${SCRATCH}/test.csv`];
    const ok = await task("predict", [...args, "--out", name]);
    assert.equal(ok.code, 0, ok.stderr);
    const lines = (await Deno.readTextFile(`${ROOT}${name}`)).trim().split("\n");
    assert.equal(lines[0], "ImageId,Label");
    assert.equal(lines.length, 6);
    const leftovers = [...Deno.readDirSync(ROOT)].filter((e) => e.name.includes(".tmp-"));
    assert.deepEqual(leftovers, [], "a temporary file was left behind");

    const outside = await Deno.makeTempDir({ prefix: "predict_out_" });
    try {
      const refused = await task("predict", [...args, "--out", `${outside}/submission.csv`]);
      expectOneLine(
        "--out outside the project",
        { ...refused, lines: refused.lines.filter((l) => !l.startsWith("Run ")) },
        2,
        new RegExp(`no permission to write in ${outside}.*project folder`),
      );
      assert.deepEqual([...Deno.readDirSync(outside)], []);
    } finally {
      await Deno.remove(outside, { recursive: true });
    }
  } finally {
    await removeFromRoot(name);
    await Deno.remove(SCRATCH, { recursive: true }).catch(() => {});
  }
});

Deno.test("a checkpoint with NaN weights or an absurd batch size stops predict and --resume in one line", async () => {
  try {
    await Deno.mkdir(SCRATCH, { recursive: true });
    await writeCheckpoint(`${SCRATCH}/good.safetensors`);
    const { tensors, metadata } = decodeSafetensors(
      await Deno.readFile(`${SCRATCH}/good.safetensors`),
    );
    (tensors.get("fc2.weight")!.data as Float32Array)[5] = NaN;
    await Deno.writeFile(`${SCRATCH}/nan.safetensors`, encodeSafetensors([...tensors], metadata));
    await Deno.writeTextFile(`${SCRATCH}/test.csv`, kaggleTestCsv(3));
    expectOneLine(
      "predict with NaN weights",
      await task("predict", [
        "--model",
        `${SCRATCH}/nan.safetensors`,
        "--csv",
        `${SCRATCH}/test.csv`,
        "--out",
        `${SCRATCH}/submission.csv`,
      ]),
      1,
      /nan\.safetensors: tensor 'fc2\.weight' holds NaN/,
    );
    await writeCheckpoint(`${SCRATCH}/huge-batch.safetensors`, 1e9);
    expectOneLine(
      "--resume with batch 1e9",
      await task("part1", [
        "--resume",
        `${SCRATCH}/huge-batch.safetensors`,
        "--out",
        `${SCRATCH}/r`,
      ]),
      1,
      /huge-batch\.safetensors: .*batch size is 1000000000/,
    );
  } finally {
    await Deno.remove(SCRATCH, { recursive: true }).catch(() => {});
  }
});

Deno.test("part1 trains on data in a folder outside the project", async () => {
  const outside = await Deno.makeTempDir({ prefix: "mnist_elsewhere_" });
  try {
    await idxFolder(outside, [256, 28, 28], [64, 28, 28]);
    const run = await task("part1", ["--data", outside, "--out", `${SCRATCH}/elsewhere`]);
    assert.equal(run.code, 0, run.stderr);
    const metrics = JSON.parse(await Deno.readTextFile(`${SCRATCH}/elsewhere/metrics.json`));
    assert.equal(metrics.trainImages, 256);
    assert.equal(metrics.trainData, `${outside.split("/").pop()}-train`);
  } finally {
    await Deno.remove(outside, { recursive: true });
    await Deno.remove(SCRATCH, { recursive: true }).catch(() => {});
  }
});
