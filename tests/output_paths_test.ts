/**
 * Output paths are checked before any work (a file where a folder goes, a folder where a file
 * goes, a path under a file, a folder outside the task's permission): one line, exit 2, nothing
 * written. And a run into a folder of an earlier run: an unfinished run's checkpoint is refused
 * (continue it or --force), a finished run's files are replaced, none of them left beside the new
 * results.
 */
import assert from "node:assert/strict";
import { decodeSafetensors, encodeSafetensors } from "../src/io/safetensors.ts";
import { exists, reportLines, ROOT, runTask } from "./subprocess.ts";

const SCRATCH = `${ROOT}results/.test-output-paths`;
const SMALL = ["--train-count", "256", "--test-count", "200", "--batch", "64"];
/** Part 1 alone: its ablation is tested elsewhere (tests/ablation_test.ts, parts_smoke). */
const NO_ABLATION = ["--ablation", "none"];

interface Outcome {
  code: number;
  stderr: string;
  /** stderr without progress bars, the adapter line and blank lines */
  lines: string[];
}

async function task(name: string, args: string[]): Promise<Outcome> {
  const { code, stderr } = await runTask([name, ...args]);
  return { code, stderr, lines: reportLines(stderr).filter((l) => !/^(seed|lenet5) /.test(l)) };
}

function expectRefused(what: string, o: Outcome, pattern: RegExp): void {
  const report = `${what}: exit ${o.code}, stderr:\n${o.stderr}`;
  assert.equal(o.code, 2, `expected exit 2. ${report}`);
  assert.match(o.lines[0] ?? "", pattern, report);
  assert.ok(o.lines.length <= 2, `expected the error and at most a --help hint. ${report}`);
  assert.doesNotMatch(o.stderr, /^\s+at /m, `stack trace printed. ${report}`);
}

async function listing(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("output paths that cannot be used stop every task before any work, one line, nothing written", async () => {
  try {
    await Deno.mkdir(`${SCRATCH}/taken/metrics.json`, { recursive: true });
    await Deno.writeTextFile(`${SCRATCH}/a-file`, "not a folder\n");
    const cases: [string, string, string[], RegExp][] = [
      [
        "part1 --out a file",
        "part1",
        ["--out", `${SCRATCH}/a-file`],
        /that is a file, not a folder/,
      ],
      [
        "part1 --out under a file",
        "part1",
        ["--out", `${SCRATCH}/a-file/sub`],
        /a-file is a file, so no folder can be made under it/,
      ],
      [
        "part1 --out where metrics.json is a folder",
        "part1",
        ["--out", `${SCRATCH}/taken`],
        /metrics\.json is a folder, but the results write a file there/,
      ],
      ["part1 --out outside results/", "part1", ["--out", "/tmp/elsewhere-part1"], /may not write/],
      ["part2 --out a file", "part2", ["--out", `${SCRATCH}/a-file`], /that is a file/],
      ["part3 --out a file", "part3", ["--out", `${SCRATCH}/a-file`], /that is a file/],
      ["report --results a file", "report", ["--results", `${SCRATCH}/a-file`], /that is a file/],
      ["all --results a file", "all", ["--results", `${SCRATCH}/a-file`], /that is a file/],
      [
        "predict --out a folder",
        "predict",
        ["--model", `${SCRATCH}/none.safetensors`, "--csv", `${SCRATCH}/a-file`, "--out", SCRATCH],
        /that is a folder; name a file/,
      ],
    ];
    for (const [what, name, args, pattern] of cases) {
      const training = name.startsWith("part") || name === "all";
      expectRefused(what, await task(name, [...args, ...(training ? SMALL : [])]), pattern);
    }
    // nothing was written anywhere: no checkpoint, no probe file, no partial folder
    assert.deepEqual(await listing(SCRATCH), ["a-file", "taken"]);
    assert.deepEqual(await listing(`${SCRATCH}/taken`), ["metrics.json"]);
    assert.equal(await exists("/tmp/elsewhere-part1"), false);
  } finally {
    await Deno.remove(SCRATCH, { recursive: true }).catch(() => {});
  }
});

Deno.test("a new run replaces an earlier finished run's files; an unfinished run's checkpoint is refused without --force", async () => {
  const out = `${SCRATCH}/rerun`;
  try {
    // run 1 keeps best.safetensors (validation split); run 2, another seed, does not
    const first = await task("part1", [
      ...SMALL,
      ...NO_ABLATION,
      "--val",
      "64",
      "--keep",
      "best",
      "--out",
      out,
    ]);
    assert.equal(first.code, 0, first.stderr);
    assert.ok(await exists(`${out}/best.safetensors`));
    const second = await task("part1", [...SMALL, ...NO_ABLATION, "--seed", "7", "--out", out]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(await exists(`${out}/best.safetensors`), false, "run 1's best.safetensors left");
    const metrics = JSON.parse(await Deno.readTextFile(`${out}/metrics.json`));
    assert.equal(metrics.seed, 7);
    const ck = decodeSafetensors(await Deno.readFile(`${out}/checkpoint.safetensors`));
    assert.equal(JSON.parse(ck.metadata.recipe).seed, 7, "checkpoint.safetensors is run 1's");

    // an unfinished run (checkpoint of epoch 1 of 3): refused, then replaced with --force
    const unfinished = `${SCRATCH}/unfinished`;
    await Deno.mkdir(unfinished, { recursive: true });
    const epochs3 = {
      ...ck.metadata,
      recipe: JSON.stringify({ ...JSON.parse(ck.metadata.recipe), epochs: 3 }),
    };
    await Deno.writeFile(
      `${unfinished}/checkpoint.safetensors`,
      encodeSafetensors([...ck.tensors], epochs3),
    );
    expectRefused(
      "part1 into an unfinished run",
      await task("part1", [...SMALL, "--out", unfinished]),
      /holds an unfinished run \(seed 7, 1 of 3 epochs done\): continue it with 'deno task part1 --resume .*', or start over with --force/,
    );
    assert.deepEqual(await listing(unfinished), ["checkpoint.safetensors"]);
    const forced = await task("part1", [...SMALL, ...NO_ABLATION, "--force", "--out", unfinished]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.ok(await exists(`${unfinished}/metrics.json`));
  } finally {
    await Deno.remove(SCRATCH, { recursive: true }).catch(() => {});
  }
});
