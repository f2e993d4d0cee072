/**
 * `deno task audit` end to end on a small subset: the ranked list and the PNGs for the training
 * and test sets, and one-line errors (exit 2 for usage, 1 otherwise, nothing written) on bad input.
 */
import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

async function audit(args: string[], outDir: string) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-read",
      `--allow-write=${outDir}`,
      `--allow-ffi=${join(ROOT, "node_modules")}`,
      "--allow-env=NAPI_RS_NATIVE_LIBRARY_PATH,NAPI_RS_FORCE_WASI,DISABLE_SYSTEM_FONTS_LOAD," +
      "WEBGPU_MNIST_NO_ADAPTER",
      "--allow-sys=homedir",
      join(ROOT, "experiments", "audit.ts"),
      ...args,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp" },
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

Deno.test("audit: ranked suspects and PNGs for train and test on a small subset", async () => {
  const dir = await Deno.makeTempDir({ prefix: "audit_" });
  try {
    const out = join(dir, "audit");
    const r = await audit(
      [
        "--train-count",
        "640",
        "--epochs",
        "1",
        "--folds",
        "2",
        "--top",
        "10",
        "--list",
        "50",
        "--out",
        out,
      ],
      dir,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /train: 640 images, estimated label-noise rate \d+\.\d\d%/);
    assert.match(r.stdout, /test: 10,000 images, estimated label-noise rate/);
    for (const split of ["train", "test"]) {
      const csv = (await Deno.readTextFile(join(out, `${split}_suspects.csv`))).trim().split("\n");
      assert.equal(csv[0], "rank,index,given_label,suggested_label,confidence,suspect");
      const rows = csv.slice(1).map((l) => l.split(",").map(Number));
      const flagged = rows.filter((row) => row[5] === 1).length;
      assert.equal(rows.length, Math.max(50, flagged), "every suspect, then up to --list rows");
      rows.forEach((row, k) => {
        assert.equal(row[0], k + 1);
        assert.notEqual(row[2], row[3], "the suggested label differs from the given one");
        assert.equal(row[5], k < flagged ? 1 : 0, "the flagged suspects come first");
        if (k > 0 && k !== flagged) assert.ok(row[4] >= rows[k - 1][4], "ranked, ascending");
      });
      for (const f of [`${split}_suspects.png`, `${split}_noise_matrix.png`]) {
        const png = await Deno.readFile(join(out, f));
        assert.deepEqual([...png.subarray(1, 4)], [80, 78, 71], `${f} is a PNG`);
      }
    }
    const json = JSON.parse(await Deno.readTextFile(join(out, "audit.json")));
    assert.equal(json.folds, 2);
    assert.equal(json.train.noiseMatrix.length, 10);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("audit: bad input stops with one line and writes nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "audit_bad_" });
  try {
    const out = join(dir, "audit");
    const cases: [string[], number, RegExp][] = [
      [["--folds", "1"], 2, /^error: --folds must be an integer in \[2, 20\], got "1"$/],
      [["--train-count", "100"], 2, /^error: --folds 4 with --batch 64 needs at least 256/],
      [["--data", join(dir, "missing")], 1, /^error: data folder not found: /],
      [["--split", "sideways"], 2, /^error: --split must be one of/],
    ];
    for (const [args, code, message] of cases) {
      const r = await audit([...args, "--out", out], dir);
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr.split("\n")[0], message);
      assert.ok(
        r.stderr.trim().split("\n").length <= 2,
        `one line (plus --help hint): ${r.stderr}`,
      );
    }
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
