import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ensureDir,
  OutputDir,
  tempPathFor,
  writeFileAtomic,
  writeJsonAtomic,
} from "../src/util/atomic_write.ts";
import { inTempDir as inFreshDir } from "./data_helpers.ts";

/** Runs `body` in a fresh temporary folder that is removed afterwards. */
const inTempDir = (body: (dir: string) => Promise<void>) => inFreshDir("atomic_write_test_", body);

/** Makes the folder `dir/name` holding the text file `file`; returns the folder's path. */
async function folderWith(dir: string, name: string, file: string, text: string): Promise<string> {
  const folder = join(dir, name);
  await Deno.mkdir(folder);
  await Deno.writeTextFile(join(folder, file), text);
  return folder;
}

/** Every entry under `dir`, as sorted relative paths (folders end in "/"). */
async function listTree(dir: string, prefix = ""): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory) names.push(`${rel}/`, ...await listTree(dir, rel));
    else names.push(rel);
  }
  return names.sort();
}

Deno.test("temporary names are hidden siblings with the pid and a random part", () => {
  const a = tempPathFor("/results/part2/metrics.json");
  const b = tempPathFor("/results/part2/metrics.json");
  assert.match(a, new RegExp(`^/results/part2/\\.metrics\\.json\\.tmp-${Deno.pid}-[0-9a-f]{8}$`));
  assert.notEqual(a, b);
});

Deno.test("writeFileAtomic creates and replaces files and leaves no temporary file", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "out.txt");
    await writeFileAtomic(path, "first\n");
    assert.equal(await Deno.readTextFile(path), "first\n");
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    assert.deepEqual(await Deno.readFile(path), new Uint8Array([1, 2, 3]));
    await writeFileAtomic(path, "");
    assert.equal(await Deno.readTextFile(path), "");
    assert.deepEqual(await listTree(dir), ["out.txt"]);
  });
});

Deno.test("writing into a missing folder fails and creates nothing", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "missing", "out.txt");
    await assert.rejects(writeFileAtomic(path, "x"), Deno.errors.NotFound);
    assert.deepEqual(await listTree(dir), []);
  });
});

Deno.test("a failed rename keeps the target intact and removes the temporary file", async () => {
  await inTempDir(async (dir) => {
    // A non-empty folder cannot be replaced by a file: the rename step fails.
    const target = await folderWith(dir, "results", "keep.txt", "keep");
    await assert.rejects(writeFileAtomic(target, "new content"));
    assert.deepEqual(await listTree(dir), ["results/", "results/keep.txt"]);
    assert.equal(await Deno.readTextFile(join(target, "keep.txt")), "keep");
  });
});

Deno.test("a concurrent reader sees the old or the new file, never a partial one", async () => {
  // With a plain Deno.writeFile in place of writeFileAtomic, nearly every read here is partial.
  await inTempDir(async (dir) => {
    const path = join(dir, "big.bin");
    const small = new Uint8Array(1 << 20).fill(0x61);
    const large = new Uint8Array(8 << 20).fill(0x62);
    const isWhole = (got: Uint8Array) =>
      (got.length === small.length && got.every((b) => b === 0x61)) ||
      (got.length === large.length && got.every((b) => b === 0x62));
    await writeFileAtomic(path, small);
    for (const next of [large, small, large]) {
      let done = false;
      const writing = writeFileAtomic(path, next).finally(() => done = true);
      let reads = 0;
      while (!done || reads === 0) {
        const got = await Deno.readFile(path);
        reads++;
        assert.ok(isWhole(got), `read ${reads} saw a partial file of ${got.length} bytes`);
      }
      await writing;
      assert.equal((await Deno.readFile(path)).length, next.length);
    }
    assert.deepEqual(await listTree(dir), ["big.bin"]);
  });
});

Deno.test("writeJsonAtomic writes indented JSON with a trailing newline", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "m.json");
    await writeJsonAtomic(path, { acc: [0.9, 0.95], label: "σ=8" });
    assert.equal(
      await Deno.readTextFile(path),
      '{\n  "acc": [\n    0.9,\n    0.95\n  ],\n  "label": "σ=8"\n}\n',
    );
    await assert.rejects(writeJsonAtomic(path, undefined), TypeError);
    assert.ok((await Deno.readTextFile(path)).includes("0.95"), "a failed write keeps the file");
  });
});

Deno.test("ensureDir makes nested folders, is idempotent, and refuses files", async () => {
  await inTempDir(async (dir) => {
    const nested = join(dir, "a", "b", "c");
    await ensureDir(nested);
    await ensureDir(nested);
    assert.ok((await Deno.stat(nested)).isDirectory);
    await Deno.writeTextFile(join(dir, "file"), "x");
    await assert.rejects(ensureDir(join(dir, "file")), Deno.errors.NotADirectory);
    await assert.rejects(ensureDir(join(dir, "file", "sub")), Deno.errors.NotADirectory);
  });
});

Deno.test("OutputDir writes nothing until commit, then every staged file", async () => {
  await inTempDir(async (dir) => {
    const out = new OutputDir(join(dir, "results", "part2"));
    const buffer = new Uint8Array([1, 2, 3]);
    out.stageJson("metrics.json", { acc: 0.98 });
    out.stage("plots/loss.svg", "<svg/>");
    out.stage("raw.bin", buffer);
    buffer[0] = 99; // the stage holds a copy
    out.stage("notes.txt", "draft");
    out.stage("notes.txt", "final"); // re-staging replaces
    assert.deepEqual(out.stagedNames, ["metrics.json", "plots/loss.svg", "raw.bin", "notes.txt"]);
    assert.deepEqual(await listTree(dir), [], "staging touches no disk");

    const written = await out.commit();
    assert.deepEqual(written, [
      join(dir, "results/part2/metrics.json"),
      join(dir, "results/part2/plots/loss.svg"),
      join(dir, "results/part2/raw.bin"),
      join(dir, "results/part2/notes.txt"),
    ]);
    assert.deepEqual(await listTree(dir), [
      "results/",
      "results/part2/",
      "results/part2/metrics.json",
      "results/part2/notes.txt",
      "results/part2/plots/",
      "results/part2/plots/loss.svg",
      "results/part2/raw.bin",
    ]);
    assert.equal(
      await Deno.readTextFile(join(dir, "results/part2/metrics.json")),
      '{\n  "acc": 0.98\n}\n',
    );
    assert.deepEqual(
      await Deno.readFile(join(dir, "results/part2/raw.bin")),
      new Uint8Array([1, 2, 3]),
    );
    assert.equal(await Deno.readTextFile(join(dir, "results/part2/notes.txt")), "final");
    assert.deepEqual(out.stagedNames, [], "commit clears the stage");
  });
});

Deno.test("an experiment that fails before commit leaves the results folder untouched", async () => {
  await inTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "metrics.json"), "old");
    const out = new OutputDir(dir);
    const experiment = async () => {
      out.stageJson("metrics.json", { acc: 0.5 });
      out.stage("extra.txt", "x");
      await Promise.resolve();
      throw new Error("device lost half-way");
    };
    await assert.rejects(experiment(), /device lost/);
    assert.deepEqual(await listTree(dir), ["metrics.json"]);
    assert.equal(await Deno.readTextFile(join(dir, "metrics.json")), "old");
  });
});

Deno.test("a commit that cannot write one file writes none of them", async () => {
  await inTempDir(async (dir) => {
    const root = await folderWith(dir, "out", "a.txt", "old a");
    await Deno.mkdir(join(root, "taken"));
    // "taken" is a folder: the commit must fail before replacing a.txt.
    const byFolder = new OutputDir(root);
    byFolder.stage("a.txt", "new a");
    byFolder.stage("new/deep/b.txt", "b");
    byFolder.stage("taken", "c");
    await assert.rejects(byFolder.commit(), Deno.errors.IsADirectory);
    assert.deepEqual(await listTree(dir), ["out/", "out/a.txt", "out/taken/"]);
    assert.equal(await Deno.readTextFile(join(root, "a.txt")), "old a");

    // A file where a folder is needed: folders created for earlier files are removed again.
    await Deno.writeTextFile(join(root, "blocker"), "x");
    const byFile = new OutputDir(root);
    byFile.stage("new/deep/b.txt", "b");
    byFile.stage("blocker/c.txt", "c");
    await assert.rejects(byFile.commit(), Deno.errors.NotADirectory);
    assert.deepEqual(await listTree(dir), ["out/", "out/a.txt", "out/blocker", "out/taken/"]);
    assert.deepEqual(byFile.stagedNames, ["new/deep/b.txt", "blocker/c.txt"], "kept for a retry");
  });
});

Deno.test("OutputDir rejects names that escape the folder", () => {
  const out = new OutputDir("results");
  for (const bad of ["", "/etc/passwd", "../up.txt", "a/../../b", "a//b", "./a", "a/", "a\\b"]) {
    assert.throws(() => out.stage(bad, "x"), RangeError, JSON.stringify(bad));
  }
  out.stage("ok/name.json", "x");
  out.stage(".hidden", "x");
  assert.deepEqual(out.stagedNames, ["ok/name.json", ".hidden"]);
});

Deno.test("without write permission for the folder: one line naming the folder and the flag", async () => {
  await inTempDir(async (dir) => {
    const target = join(dir, "submission.csv");
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--allow-read",
        `--allow-write=${target}`,
        new URL("./fixtures/atomic_write_main.ts", import.meta.url).pathname,
        target,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr).trim();
    assert.equal(out.code, 1, stderr);
    assert.equal(stderr.split("\n").length, 1, `expected one line:\n${stderr}`);
    assert.match(stderr, /^error: cannot write .*submission\.csv: /);
    assert.ok(stderr.includes(`--allow-write=${dir}`), stderr);
    assert.doesNotMatch(stderr, /\.tmp-/, "the temporary name is an implementation detail");
    assert.deepEqual(await listTree(dir), [], "nothing may be left behind");
  });
});
