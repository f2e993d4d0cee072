/**
 * SIGTERM during `experiments/part2.ts` (two conditions, small data): the first run's record is
 * kept, the process exits 130 and prints the command that continues; that command trains only
 * the second run and writes the results.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { exists, finish, scriptCommand } from "./subprocess.ts";

const argsFor = (epochs: number, out: string) => [
  "--train-count",
  "3200",
  "--test-count",
  "300",
  "--epochs",
  String(epochs),
  "--sigmas",
  "0,64",
  "--out",
  out,
];

function part2(args: string[], dir: string): Deno.ChildProcess {
  return scriptCommand("part2", args, dir).spawn();
}

Deno.test("SIGTERM during a sweep keeps the finished run; the same command trains only the rest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sweep_interrupt_" });
  const out = join(dir, "part2");
  const args = argsFor(3, out);
  try {
    const run = part2(args, dir);
    const first = join(out, "runs", "sigma0-seed1.json");
    const deadline = Date.now() + 180_000;
    while (!(await exists(first))) {
      if (Date.now() > deadline) throw new Error("the first run was never stored");
      await new Promise((r) => setTimeout(r, 25));
    }
    run.kill("SIGTERM");
    const cut = await finish(run);
    assert.equal(cut.code, 130, `exit code after SIGTERM:\n${cut.stderr}`);
    assert.match(cut.stderr, /interrupt \(SIGTERM\): finishing the current steps/);
    assert.match(
      cut.stderr,
      /interrupted; 1 of 2 run\(s\) finished and kept in .*runs; continue with: deno task part2 --train-count 3200/,
    );
    assert.doesNotMatch(cut.stderr, /^\s+at /m, "no stack trace");
    assert.equal(await exists(join(out, "runs", "sigma64-seed1.json")), false);
    assert.equal(await exists(join(out, "metrics.json")), false, "no results of a partial sweep");
    const kept = JSON.parse(await Deno.readTextFile(first));
    assert.equal(kept.config.condition.sigma, 0);
    assert.equal(kept.config.recipe.epochs, 3);
    assert.equal(kept.config.data.trainImages, 3200);

    const again = await finish(part2(args, dir));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /plan: 2 run\(s\): 1 already done, 1 to train; ETA \d+:\d\d/);
    assert.match(again.stderr, /run 1\/1: sigma 64/);
    assert.doesNotMatch(again.stderr, /run \d\/\d: sigma 0\b/, "sigma 0 is not trained again");
    const m = JSON.parse(await Deno.readTextFile(join(out, "metrics.json")));
    assert.deepEqual(m.conditions.map((c: { sigma: number }) => c.sigma), [0, 64]);
    assert.equal(m.conditions[0].runs[0].testError, kept.record.testError);

    // another recipe: the stored runs are not mixed in, and the output says so
    const redo = await finish(part2(argsFor(1, out), dir));
    assert.equal(redo.code, 0, redo.stderr);
    assert.match(redo.stderr, /recorded for another configuration \(differs in recipe\.epochs\)/);
    assert.match(redo.stderr, /plan: 2 run\(s\): 0 already done, 2 to train/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
