/**
 * Part 2's test-time outputs end to end through the command line on small subsets (640 training
 * and 300 test images, 2 seeds): the noise grid, the corruption suite with and without the
 * median filter, per-epoch against fixed noise, their PNGs, the metrics fields and the report's
 * verdicts; a rerun trains nothing; and bad values stop with one line, exit 2, nothing written.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertBadInputs, runScript } from "./subprocess.ts";

const SMALL = ["--train-count", "640", "--test-count", "300", "--batch", "64"];

Deno.test("part2 test time: grid, suite, median, per-epoch noise, figures and verdicts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "part2_testtime_" });
  try {
    const out = join(dir, "part2");
    const args = [
      ...SMALL,
      ...["--sigmas", "0,64", "--seeds", "2", "--test-sigmas", "32,0,128"],
      ...["--corruptions", "shot:5,impulse:4,blur", "--suite-count", "200"],
      ...["--compensation-train", "320", "--compensation-epochs", "2", "--out", out],
    ];
    const p2 = await runScript("part2", args, dir);
    assert.equal(p2.code, 0, p2.stderr);
    for (
      const f of [
        "noise_grid.png",
        "error_vs_test_sigma.png",
        "corruptions.png",
        "median_filter.png",
        "compensation.png",
        "per_class_change.png",
        "confusion_change.png",
      ]
    ) {
      const bytes = await Deno.readFile(join(out, f));
      assert.deepEqual([...bytes.subarray(0, 4)], [137, 80, 78, 71], `${f} is a PNG`);
      assert.ok(bytes.length > 2000, `${f} has content`);
    }
    const m = JSON.parse(await Deno.readTextFile(join(out, "metrics.json")));
    assert.deepEqual(m.testTime.testSigmas, [0, 32, 128], "sorted, 0 included");
    assert.equal(m.testTime.gridImages, 300, "capped at the test set");
    assert.equal(m.testTime.suiteImages, 200);
    assert.deepEqual(
      m.testTime.suite.map((e: { label: string }) => e.label),
      ["clean", "shot c=3", "impulse p=0.17", "blur sigma=0.5", "blur sigma=1", "blur sigma=1.5"],
    );
    for (const c of m.conditions) {
      assert.equal(c.runs.length, 2);
      for (const r of c.runs) {
        assert.equal(r.testTime.grid.length, 3);
        assert.equal(r.testTime.suite.length, 6);
        // the clean grid column is the model's test error on the same 300 images
        assert.equal(r.testTime.grid[0].error, r.testError);
        for (const e of r.testTime.suite) assert.ok(e.median.error >= 0 && e.median.error <= 1);
      }
    }
    // the same test noise for every model: equal sigma-0 runs would give equal bits; here the
    // grid's strongest noise must change what the clean-trained models get wrong
    const r0 = m.conditions[0].runs[0].testTime;
    assert.notEqual(r0.grid[2].wrong, r0.grid[0].wrong);
    const comp = m.compensation;
    assert.equal(comp.sigma, 64);
    assert.equal(comp.trainImages, 320);
    assert.deepEqual(comp.conditions.map((c: { key: string }) => c.key), ["fixed", "per-epoch"]);
    assert.equal(comp.conditions[1].runs[0].noisePerEpoch, true);
    assert.equal(comp.conditions[0].runs[0].testTime.grid.length, 0);
    assert.match(p2.stdout, /tolerated test sigma/);

    const rep = await runScript("report", ["--results", dir], dir);
    assert.equal(rep.code, 0, rep.stderr);
    const md = await Deno.readTextFile(join(dir, "REPORT.md"));
    for (
      const want of [
        /\*\*Train x test noise grid\.\*\*/,
        /How much noise could a production classifier tolerate\?/,
        /Camera-realistic corruptions at test time/,
        /Compensation: noise redrawn every epoch/,
        /Compensation: the 3x3 median filter/,
        /Which classes suffer most from noise\?/,
        /\[95%: [−+]\d+\.\d\d, [−+]\d+\.\d\d\], (not )?established/,
        /part2\/noise_grid\.png/,
        /part2\/confusion_change\.png/,
      ]
    ) {
      assert.match(md, want);
    }
    const html = await Deno.readTextFile(join(dir, "report.html"));
    assert.match(html, /part2-noiseGrid/);

    // the same command again trains nothing
    const again = await runScript("part2", args, dir);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /\[#+\] 100%/, "no run trained again");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("part2 and all: bad test-time values stop with one line, exit 2, nothing written", async () => {
  await assertBadInputs("part2_bad_", [
    ["part2", ["--sigmas", "-1"], /^error: --sigmas must be a comma-separated list of numbers/],
    ["part2", ["--test-sigmas", "8,-1"], /^error: --test-sigmas must be a comma-separated/],
    ["part2", ["--corruptions", "fog"], /^error: --corruptions: unknown corruption 'fog'/],
    [
      "part2",
      ["--corruptions", "blur:4"],
      /^error: --corruptions: 'blur' has severities 1\.\.3, got '4'$/,
    ],
    ["part2", ["--corruptions", "impulse:x"], /^error: --corruptions: 'impulse' has severities/],
    [
      "part2",
      ["--compensation-epochs", "1"],
      /^error: --compensation-epochs must be an integer in \[2, 1000\]/,
    ],
    ["all", ["--corruptions", "shot:9"], /^error: --corruptions: 'shot' has severities 1\.\.5/],
    ["all", ["--sigmas", "-1"], /^error: --sigmas must be a comma-separated list of numbers/],
  ]);
});
