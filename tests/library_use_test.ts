/**
 * The library used from another project: a temporary folder outside the repository imports
 * mod.ts by path, builds a small MLP, trains it on synthetic data and checks that the loss falls.
 */
const MOD = new URL("../mod.ts", import.meta.url).href;

const PROGRAM = `
import { acquireGpu, ADAM_DEFAULTS, mlp, Model, Rng, Trainer, uploadDataset } from "${MOD}";

// two Gaussian blobs per class in 16 dimensions, 3 classes
const rng = new Rng(7);
const n = 768, d = 16, classes = 3;
const centers = Array.from({ length: classes }, () => Array.from({ length: d }, () => rng.uniform(40, 215)));
const images = new Uint8Array(n * d), labels = new Uint8Array(n);
for (let i = 0; i < n; i++) {
  labels[i] = i % classes;
  for (let j = 0; j < d; j++) images[i * d + j] = Math.max(0, Math.min(255, Math.round(centers[labels[i]][j] + 30 * rng.normal())));
}
const ctx = await acquireGpu();
const data = uploadDataset(ctx, images, labels, n, d, "synthetic");
const model = Model.create(ctx, mlp(d, [32], classes), { seed: 3 });
const trainer = await Trainer.create(ctx, model, data, {
  batchSize: 32, epochs: 3, optimizer: { ...ADAM_DEFAULTS, lr: 0.01 }, seed: 3, lossEvery: 8,
});
const result = await trainer.run();
const curve = result.state.lossCurve.map((p) => p.loss);
console.log(JSON.stringify(curve));
`;

Deno.test("another project imports mod.ts by path, trains a small MLP, and the loss falls", async () => {
  const dir = await Deno.makeTempDir({ prefix: "webgpu-mnist-user-" });
  try {
    await Deno.writeTextFile(`${dir}/main.ts`, PROGRAM);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--quiet", `${dir}/main.ts`],
      cwd: dir,
      env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout),
      stderr = new TextDecoder().decode(out.stderr);
    if (out.code !== 0) throw new Error(`the user project failed (exit ${out.code}):\n${stderr}`);
    const curve: number[] = JSON.parse(stdout.trim().split("\n").at(-1)!);
    if (curve.length < 6) throw new Error(`expected a loss curve, got ${stdout}`);
    const first = curve[0], last = curve.at(-1)!;
    if (!(last < first * 0.5)) {
      throw new Error(`loss did not fall: ${curve.map((v) => v.toFixed(3)).join(" ")}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
