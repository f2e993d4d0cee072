/**
 * Every task starts under its own (least-privilege) permissions: `--help` loads the whole module
 * graph, so an import that needs a permission the task lacks (say, the canvas addon's FFI in a
 * benchmark) fails here, not in front of a user.
 */
import assert from "node:assert/strict";
import { runTask } from "./subprocess.ts";

const TASKS = [
  "part1",
  "part2",
  "part3",
  "all",
  "report",
  "baselines",
  "best",
  "audit",
  "predict",
  "bench:train",
  "profile",
];

Deno.test("every task loads under its own permissions and answers --help", async () => {
  for (const task of TASKS) {
    const r = await runTask([task, "--help"]);
    assert.equal(r.code, 0, `${task} --help: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: deno task ${task} `), `${task}: ${r.stdout}`);
  }
});
