/**
 * Ctrl-C during `deno task part1`: the run finishes the recorded steps, writes a checkpoint,
 * prints how to resume and exits 130 without result files; `--resume` then ends with the
 * same metrics and weights as a run that was never interrupted. Also --val and --keep best.
 * SIGTERM does the same, and two SIGINTs within a second count as one interrupt.
 */
import { exists, finish, ROOT, scriptCommand, taskCommand } from "./subprocess.ts";

const DIR = `${ROOT}results/.test-interrupt`;
/** The data and length of every run here: the first epoch's checkpoint comes early. */
// --ablation none: the interrupted and resumed run is Part 1 alone
const SIZE = [
  ...["--train-count", "3200", "--test-count", "300", "--epochs", "3", "--ablation", "none"],
];
const ARGS = [...SIZE, "--val", "320", "--keep", "best"];

function part1(args: string[]): Deno.ChildProcess {
  return taskCommand(["part1", ...args]).spawn();
}

/** The metrics that must not depend on an interruption (timings and paths do). */
function comparable(m: Record<string, unknown>) {
  const { testError, perClassError, confusion, learningCurve, validationCurve, recipe, seed } = m;
  return JSON.stringify({
    testError,
    perClassError,
    confusion,
    learningCurve,
    validationCurve,
    recipe,
    seed,
  });
}

Deno.test("Ctrl-C writes a checkpoint and --resume ends bit-identical to an uninterrupted run", async () => {
  await Deno.remove(DIR, { recursive: true }).catch(() => {});
  try {
    const full = await finish(part1([...ARGS, "--out", `${DIR}/full`]));
    if (full.code !== 0) throw new Error(`uninterrupted run failed:\n${full.stderr}`);
    const fullMetrics = JSON.parse(await Deno.readTextFile(`${DIR}/full/metrics.json`));
    if (fullMetrics.validationCurve.length !== 3) {
      throw new Error("expected a validation error after each of 3 epochs");
    }
    if (!(await exists(`${DIR}/full/best.safetensors`))) {
      throw new Error("--keep best wrote no best.safetensors");
    }

    // interrupt once the first epoch's checkpoint exists, i.e. during epoch 2
    const run = part1([...ARGS, "--out", `${DIR}/cut`]);
    const deadline = Date.now() + 120_000;
    while (!(await exists(`${DIR}/cut/checkpoint.safetensors`))) {
      if (Date.now() > deadline) throw new Error("no checkpoint after the first epoch");
      await new Promise((r) => setTimeout(r, 50));
    }
    run.kill("SIGINT");
    const cut = await finish(run);
    if (cut.code !== 130) throw new Error(`the interrupted run exited ${cut.code}:\n${cut.stderr}`);
    if (
      !/interrupted at epoch \d+, step \d+ of \d+; checkpoint written to .*resume with: deno task part1 --resume/
        .test(cut.stderr)
    ) {
      throw new Error(`no resume instructions:\n${cut.stderr}`);
    }
    if (/^\s+at /m.test(cut.stderr)) throw new Error(`stack trace printed:\n${cut.stderr}`);
    if (await exists(`${DIR}/cut/metrics.json`)) {
      throw new Error("an interrupted run wrote metrics.json");
    }

    const resumed = await finish(
      part1(["--resume", `${DIR}/cut/checkpoint.safetensors`, "--out", `${DIR}/cut`]),
    );
    if (resumed.code !== 0) throw new Error(`resume failed:\n${resumed.stderr}`);
    const cutMetrics = JSON.parse(await Deno.readTextFile(`${DIR}/cut/metrics.json`));
    if (comparable(cutMetrics) !== comparable(fullMetrics)) {
      throw new Error("resumed metrics differ from the uninterrupted run");
    }
    const tensorBytes = (b: Uint8Array) =>
      b.subarray(8 + Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true)));
    const a = tensorBytes(await Deno.readFile(`${DIR}/full/model.safetensors`));
    const b = tensorBytes(await Deno.readFile(`${DIR}/cut/model.safetensors`));
    if (a.length !== b.length || !a.every((v, i) => v === b[i])) {
      throw new Error("resumed weights differ");
    }

    // a resume that contradicts its checkpoint is refused
    const clash = await finish(
      part1([
        "--resume",
        `${DIR}/cut/checkpoint.safetensors`,
        "--lr",
        "0.1",
        "--out",
        `${DIR}/clash`,
      ]),
    );
    if (clash.code !== 2 || !/--lr conflicts with --resume/.test(clash.stderr)) {
      throw new Error(`a conflicting --lr was not refused (exit ${clash.code}):\n${clash.stderr}`);
    }
  } finally {
    await Deno.remove(DIR, { recursive: true }).catch(() => {});
  }
});

/** Runs experiments/part1.ts directly (no `deno task` in between), so signals reach it alone. */
function part1Direct(args: string[]): Deno.ChildProcess {
  return scriptCommand("part1", args, `${ROOT}results`).spawn();
}

/** Starts part1, waits for the first epoch's checkpoint, then sends `signals` `gapMs` apart. */
async function interruptAfterEpoch1(out: string, signals: Deno.Signal[], gapMs: number) {
  const run = part1Direct([...SIZE, "--out", out]);
  const deadline = Date.now() + 120_000;
  while (!(await exists(`${out}/checkpoint.safetensors`))) {
    if (Date.now() > deadline) throw new Error("no checkpoint after the first epoch");
    await new Promise((r) => setTimeout(r, 25));
  }
  for (const [i, sig] of signals.entries()) {
    if (i > 0) await new Promise((r) => setTimeout(r, gapMs));
    run.kill(sig);
  }
  return await finish(run);
}

Deno.test("SIGTERM behaves like Ctrl-C: checkpoint, resume command, exit 130", async () => {
  const out = `${DIR}-term`;
  await Deno.remove(out, { recursive: true }).catch(() => {});
  try {
    const cut = await interruptAfterEpoch1(out, ["SIGTERM"], 0);
    if (cut.code !== 130) throw new Error(`exit ${cut.code} after SIGTERM:\n${cut.stderr}`);
    if (!/interrupt \(SIGTERM\): finishing the current steps/.test(cut.stderr)) {
      throw new Error(`SIGTERM was not announced:\n${cut.stderr}`);
    }
    if (!/checkpoint written to .*resume with: deno task part1 --resume /.test(cut.stderr)) {
      throw new Error(`no resume instructions after SIGTERM:\n${cut.stderr}`);
    }
    const resumed = await finish(
      part1Direct(["--resume", `${out}/checkpoint.safetensors`, "--out", out]),
    );
    if (resumed.code !== 0) throw new Error(`resume after SIGTERM failed:\n${resumed.stderr}`);
    if (!(await exists(`${out}/metrics.json`))) throw new Error("the resumed run wrote no metrics");
  } finally {
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
});

Deno.test("two SIGINTs within a second (a process group's Ctrl-C) are one interrupt", async () => {
  const out = `${DIR}-twice`;
  await Deno.remove(out, { recursive: true }).catch(() => {});
  try {
    const cut = await interruptAfterEpoch1(out, ["SIGINT", "SIGINT"], 30);
    if (cut.code !== 130) throw new Error(`exit ${cut.code}:\n${cut.stderr}`);
    if (/quitting at once/.test(cut.stderr)) {
      throw new Error(`the second SIGINT quit at once:\n${cut.stderr}`);
    }
    if (!/checkpoint written to .*resume with: deno task part1 --resume /.test(cut.stderr)) {
      throw new Error(`no checkpoint and resume instructions:\n${cut.stderr}`);
    }
  } finally {
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
});
