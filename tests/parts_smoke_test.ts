/**
 * End to end through the command line, on small subsets (640 training and 500 test images, one
 * epoch): part2 and part3 write the files they promise, the report reads them, `all` runs
 * everything and prints its total time; and bad input stops with a one-line error naming the
 * option and its range, exit code 2, and nothing written.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertBadInputs, exists, runScript } from "./subprocess.ts";

const SMALL = ["--train-count", "640", "--test-count", "500", "--batch", "64"];

async function assertPng(path: string): Promise<void> {
  const bytes = await Deno.readFile(path);
  assert.deepEqual(
    [...bytes.subarray(0, 8)],
    [137, 80, 78, 71, 13, 10, 26, 10],
    `${path} is a PNG`,
  );
  assert.ok(bytes.length > 2000, `${path} has content (${bytes.length} bytes)`);
}

async function readJson(path: string) {
  return JSON.parse(await Deno.readTextFile(path));
}

Deno.test("part2, part3 and the report on a small subset write their files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parts_smoke_" });
  try {
    const p2 = await runScript(
      "part2",
      [...SMALL, "--sigmas", "0,64", "--out", join(dir, "part2")],
      dir,
    );
    assert.equal(p2.code, 0, p2.stderr);
    for (
      const f of ["error_vs_sigma.png", "per_class_error.png", "learning_curves.png", "samples.png"]
    ) {
      await assertPng(join(dir, "part2", f));
    }
    const m2 = await readJson(join(dir, "part2", "metrics.json"));
    assert.equal(m2.schema, "webgpu-mnist/part2@1");
    assert.equal(m2.trainImages, 640);
    assert.deepEqual(m2.conditions.map((c: { sigma: number }) => c.sigma), [0, 64]);
    for (const c of m2.conditions) {
      assert.equal(c.runs.length, 1);
      assert.equal(c.testError.n, 1);
      assert.equal(c.perClassError.mean.length, 10);
      assert.equal(c.confusion.flat().reduce((a: number, b: number) => a + b, 0), 500);
      assert.equal(c.runs[0].learningCurve.testError.length, 10);
    }
    assert.equal(m2.conditions[0].noiseStats.clippedLow, 0);
    assert.ok(
      m2.conditions[1].noiseStats.clippedLow > 0.3,
      "sigma 64 clips many background pixels",
    );
    assert.equal(m2.noise.requantized, false);
    assert.equal(m2.samples.indices.length, 10);
    assert.match(p2.stdout, /Part 2: test error on the clean test set/);
    assert.match(p2.stderr, /sigma 64 \[#+\] 100%/, "progress bars on stderr");

    const p3 = await runScript(
      "part3",
      [...SMALL, "--fracs", "0,0.5", "--seeds", "2", "--out", join(dir, "part3")],
      dir,
    );
    assert.equal(p3.code, 0, p3.stderr);
    for (const f of ["error_vs_frac.png", "per_class_error.png", "learning_curves.png"]) {
      await assertPng(join(dir, "part3", f));
    }
    const m3 = await readJson(join(dir, "part3", "metrics.json"));
    assert.equal(m3.schema, "webgpu-mnist/part3@1");
    assert.equal(m3.labelMode, "uniform");
    assert.equal(m3.seeds.length, 2);
    const [clean, half] = m3.conditions;
    assert.equal(clean.corrupted, 0);
    assert.equal(clean.changed.mean, 0);
    assert.equal(half.corrupted, 320);
    assert.equal(half.runs.length, 2);
    assert.equal(half.testError.n, 2);
    for (const r of half.runs) {
      assert.equal(r.corrupted, 320);
      assert.ok(r.changed > 250 && r.changed <= 320, `changed ${r.changed}`);
      assert.ok(r.trainDisagreement > 0 && r.trainDisagreement < 1);
    }
    assert.notEqual(
      half.runs[0].changed + half.runs[0].seed,
      half.runs[1].changed + half.runs[1].seed,
    );
    const sd = Math.sqrt(
      (half.runs[0].testError - half.testError.mean) ** 2 +
        (half.runs[1].testError - half.testError.mean) ** 2,
    );
    assert.ok(Math.abs(half.testError.std - sd) < 1e-12, "sd over the two seeds");
    assert.match(p3.stdout, /320/);

    // the report from these two parts: Part 1 is reported missing
    const rep = await runScript("report", ["--results", dir], dir);
    assert.equal(rep.code, 0, rep.stderr);
    const md = await Deno.readTextFile(join(dir, "REPORT.md"));
    assert.match(md, /## Part 1: not run/);
    assert.match(md, /## Part 2: answers/);
    assert.match(md, /## Part 3: answers/);
    assert.match(md, /2 runs per condition/);
    const html = await Deno.readTextFile(join(dir, "report.html"));
    assert.match(html, /data:image\/png;base64,/, "the digit grid is embedded");
    assert.doesNotMatch(html, /<script[^>]+src=/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("all: every part and the report, then the total time", async () => {
  const dir = await Deno.makeTempDir({ prefix: "all_smoke_" });
  try {
    const out = await runScript(
      "all",
      [
        ...SMALL,
        ...["--sigmas", "0,128", "--fracs", "0,0.5", "--seeds", "2", "--results", dir],
        ...["--compensation-sigma", "0", "--test-sigmas", "0,64", "--corruptions", "blur:1"],
      ],
      dir,
    );
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /deno task all: total time \d+:\d\d \(\d+\.\d s;/);
    assert.match(out.stderr, /=== Part 1: clean training set/);
    assert.match(out.stderr, /=== Report/);
    for (
      const f of [
        "part1/metrics.json",
        "part2/metrics.json",
        "part3/metrics.json",
        "part1/ablation/metrics.json",
        "part1/ablation/ablation.png",
        "baselines/metrics.json",
        "baselines/baselines.md",
        "REPORT.md",
        "report.html",
      ]
    ) {
      assert.ok(await exists(join(dir, f)), `${f} written`);
    }
    const md = await Deno.readTextFile(join(dir, "REPORT.md"));
    assert.doesNotMatch(md, /not run/);
    assert.match(md, /`deno task all` took/);
    // fraction 0 is Part 1's runs, reused and marked as such; sigma 0 is trained again (its
    // model is needed for the test-time grid), with Part 1's numbers (same seeds and recipe)
    assert.match(out.stderr, /plan: 2 paired seeds per condition \(standard profile\)/);
    assert.match(out.stderr, /estimated total: about \d+ min/);
    const m1 = await readJson(join(dir, "part1", "metrics.json"));
    const m2 = await readJson(join(dir, "part2", "metrics.json"));
    const m3 = await readJson(join(dir, "part3", "metrics.json"));
    assert.equal(m2.conditions[0].runs[0].reusedFrom, undefined);
    assert.deepEqual(
      m2.conditions[0].runs.map((r: { testError: number }) => r.testError),
      m1.runs.map((r: { testError: number }) => r.testError),
    );
    assert.equal(m3.conditions[0].runs[0].reusedFrom, "part1");
    assert.equal(m2.conditions[1].runs[0].reusedFrom, undefined);
    assert.equal(m3.conditions[1].runs[0].auditImages, 640);
    assert.match(md, /reuse Part 1's runs instead of training them again/);
    // Part 1's ablation: the baseline reused from Part 1 (its 2 seeds), 3 variants trained on
    // the same seeds, and the ensemble of Part 1's 2 networks; the report answers from it
    assert.match(out.stderr, /Part 1 ablation: standard ablation, 2 paired seeds: 6 runs/);
    const ab = await readJson(join(dir, "part1", "ablation", "metrics.json"));
    assert.deepEqual(
      ab.rows.map((r: { key: string }) => r.key),
      ["baseline", "epochs", "affine", "cnn", "ensemble"],
    );
    assert.deepEqual(ab.rows[0].seeds, m1.runs.map((r: { seed: number }) => r.seed));
    assert.deepEqual(ab.rows[1].seeds, ab.rows[0].seeds);
    assert.equal(ab.rows[1].epochs, 5);
    assert.equal(ab.rows[4].testError.mean, m1.ensemble.testError);
    assert.equal(m1.ensemble.members.length, 2);
    assert.match(md, /What else would improve accuracy\? \(Measured: the ablation\.\)/);
    // the baselines: the cheap ones, next to Part 1's networks
    const bl = await readJson(join(dir, "baselines", "metrics.json"));
    assert.deepEqual(bl.rows.map((r: { model: string }) => r.model), [
      "Gaussian naive Bayes",
      "k-NN (k = 1)",
      "k-NN (k = 3)",
      "k-NN (k = 5)",
      "logistic regression (784-10)",
      "MLP 784-300-100-10",
    ]);
    assert.match(md, /## Models and baselines/);
    assert.match(md, /\| k-NN \(k = 1\) \| 501,760 \|/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad input: one line naming the option and the range, exit code 2, nothing written", async () => {
  await assertBadInputs("bad_input_", [
    ["part3", ["--frac", "1.5"], /^error: --frac must be a number in \[0, 1\], got "1\.5"$/],
    ["part3", ["--frac", "-0.1"], /^error: --frac must be a number in \[0, 1\], got "-0\.1"$/],
    [
      "part3",
      ["--fracs", "0,2"],
      /^error: --fracs must be a comma-separated list of numbers each in \[0, 1\]/,
    ],
    ["part3", ["--fracs", ""], /^error: --fracs must be a comma-separated list of numbers/],
    ["part3", ["--frac", "abc"], /^error: --frac must be a number in \[0, 1\], got "abc"$/],
    [
      "part3",
      ["--label-mode", "random"],
      /^error: --label-mode must be one of uniform, different/,
    ],
    ["part2", ["--sigma", "-1"], /^error: --sigma must be a number in \[0, 1000\], got "-1"$/],
    ["part2", ["--sigma", "ten"], /^error: --sigma must be a number in \[0, 1000\], got "ten"$/],
    [
      "part2",
      ["--sigmas", ""],
      /^error: --sigmas must be a comma-separated list of numbers each in \[0, 1000\]/,
    ],
    ["part2", ["--sigmas", "8,x"], /^error: --sigmas .*item 2 "x" is not a number/],
    ["part2", ["--sigmas", "8,8"], /^error: --sigmas lists 8 twice/],
    [
      "part2",
      ["--sigma", "8", "--sigmas", "8,16"],
      /^error: --sigma and --sigmas were both given/,
    ],
    ["part2", ["--seeds", "0"], /^error: --seeds must be an integer in \[1, 100\], got "0"$/],
    ["part3", ["--seeds", "0"], /^error: --seeds must be an integer in \[1, 100\], got "0"$/],
    ["all", ["--frac", "2"], /^error: --frac must be a number in \[0, 1\], got "2"$/],
    ["all", ["--seeds", "0"], /^error: --seeds must be an integer in \[1, 100\]/],
  ]);
});

Deno.test("--help of every study script", async () => {
  const dir = await Deno.makeTempDir({ prefix: "help_" });
  try {
    for (
      const [name, option] of [["part2", "--sigmas"], ["part3", "--label-mode"], [
        "report",
        "--results",
      ], ["all", "--rerun-baselines"]]
    ) {
      const r = await runScript(name, ["--help"], dir);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`Usage: deno task ${name}`));
      assert.ok(r.stdout.includes(option), `${name} --help lists ${option}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
