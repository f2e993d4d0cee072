/**
 * The library used from another project: a temporary folder outside the repository, with no
 * deno.json and no import map, imports mod.ts and mod_deno.ts by path, loads a data set from IDX
 * files with the Deno helpers, trains an MLP with the training session, and draws a chart to PNG
 * (which needs the npm packages to resolve from that project, not through this repository's map).
 */
import assert from "node:assert/strict";
import { makeIdx } from "./data_helpers.ts";
import { Rng } from "../src/util/rng.ts";

const MOD = new URL("../mod.ts", import.meta.url).href;
const MOD_DENO = new URL("../mod_deno.ts", import.meta.url).href;

const PROGRAM = `
import { acquireGpu, ADAM_DEFAULTS, lineChart, mlp, trainSession } from "${MOD}";
import { loadMnist, renderChartPng } from "${MOD_DENO}";

const { train, test } = await loadMnist(Deno.args[0]);
const ctx = await acquireGpu();
const result = await trainSession({
  ctx,
  spec: mlp(train.rows * train.cols, [32], 10),
  data: { train, test },
  recipe: {
    optimizer: { ...ADAM_DEFAULTS, lr: 0.01 },
    schedule: { kind: "constant" },
    batchSize: 32,
    epochs: 3,
    seed: 3,
  },
  lossEvery: 8,
});
const losses = result.lossCurve.map((p) => p.loss);
const png = await renderChartPng(lineChart({
  title: "loss",
  xLabel: "step",
  yLabel: "loss",
  series: [{ label: "train", x: losses.map((_, i) => i), y: losses }],
}), { width: 200, height: 120 });
console.log(JSON.stringify({ error: result.metrics?.error, losses, png: png.length }));
`;

/** Ten classes of 28x28 "images": a bright 7x7 block whose place depends on the class, plus noise. */
function blobs(count: number, rng: Rng): { images: Uint8Array; labels: number[] } {
  const images = new Uint8Array(count * 784), labels: number[] = [];
  for (let i = 0; i < count; i++) {
    const c = i % 10;
    labels.push(c);
    const top = 2 + 7 * Math.floor(c / 4), left = 2 + 6 * (c % 4);
    for (let p = 0; p < 784; p++) {
      const y = Math.floor(p / 28), x = p % 28;
      const inside = y >= top && y < top + 7 && x >= left && x < left + 7;
      images[i * 784 + p] = Math.max(
        0,
        Math.min(255, Math.round((inside ? 200 : 20) + 25 * rng.normal())),
      );
    }
  }
  return { images, labels };
}

Deno.test("another project imports mod.ts and mod_deno.ts by path, loads IDX files, trains and draws a chart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "webgpu-mnist-user-" });
  try {
    const rng = new Rng(11);
    for (const [prefix, count] of [["train", 600], ["t10k", 200]] as const) {
      const { images, labels } = blobs(count, rng);
      await Deno.writeFile(`${dir}/${prefix}-images-idx3-ubyte`, makeIdx([count, 28, 28], images));
      await Deno.writeFile(`${dir}/${prefix}-labels-idx1-ubyte`, makeIdx([count], labels));
    }
    await Deno.writeTextFile(`${dir}/main.ts`, PROGRAM);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--quiet", "-A", `${dir}/main.ts`, dir],
      cwd: dir,
      env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout),
      stderr = new TextDecoder().decode(out.stderr);
    if (out.code !== 0) throw new Error(`the user project failed (exit ${out.code}):\n${stderr}`);
    const r: { error: number; losses: number[]; png: number } = JSON.parse(
      stdout.trim().split("\n").at(-1)!,
    );
    assert.ok(r.losses.length >= 6, `expected a loss curve, got ${stdout}`);
    assert.ok(r.losses.at(-1)! < r.losses[0] * 0.5, `loss did not fall: ${r.losses.join(" ")}`);
    assert.ok(r.error < 0.1, `test error ${r.error} on separable blobs`);
    assert.ok(r.png > 1000, `chart PNG of ${r.png} bytes`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
