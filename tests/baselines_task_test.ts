/**
 * `deno task baselines` on a small subset: every model gets a row with its parameters, times and
 * test error, the table and metrics are written, and a bad --models value stops before any work.
 */
import assert from "node:assert/strict";
import { exists, reportLines, ROOT, runTask } from "./subprocess.ts";

const OUT = `${ROOT}results/.test-baselines`;

Deno.test("deno task baselines writes a table of every model; bad --models stops with one line", async () => {
  try {
    const bad = await runTask(["baselines", "--models", "nb,svm", "--out", OUT]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(reportLines(bad.stderr)[0], /--models: unknown model 'svm' \(accepted: nb, knn/);
    assert.equal(await exists(OUT), false);

    const ok = await runTask([
      "baselines",
      ...["--train-count", "1500", "--test-count", "300", "--out", OUT],
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const metrics = JSON.parse(await Deno.readTextFile(`${OUT}/metrics.json`));
    const names = metrics.rows.map((r: { model: string }) => r.model);
    assert.deepEqual(names, [
      "Gaussian naive Bayes",
      "k-NN (k = 1)",
      "k-NN (k = 3)",
      "k-NN (k = 5)",
      "logistic regression (784-10)",
      "MLP 784-300-100-10",
      "LeNet-5",
      "wider CNN (32-64 conv, 256 dense, dropout)",
    ]);
    for (const r of metrics.rows) {
      assert.ok(r.parameters > 0 && r.predictSeconds > 0, JSON.stringify(r));
      assert.ok(r.testError >= 0 && r.testError < 0.6, `${r.model}: error ${r.testError}`);
    }
    // k-NN beats naive Bayes by far on digits, even on 1,500 training images
    assert.ok(metrics.rows[1].testError < metrics.rows[0].testError / 2);
    const table = await Deno.readTextFile(`${OUT}/baselines.md`);
    assert.equal(table.trim().split("\n").length, 2 + names.length);
  } finally {
    await Deno.remove(OUT, { recursive: true }).catch(() => {});
  }
});
