/**
 * Models, augmentation and data sets from the command line: `--model`, `--hidden`, `--augment`
 * and `--dataset` of the part tasks build the right network, record model, augmentation, data
 * set and class names in metrics.json and in the checkpoint's recipe, and a missing Fashion-MNIST
 * names the package to install.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { modelSpecOf } from "../experiments/common.ts";
import { DataFileError, FASHION_MNIST_DIR, loadNamedDataset } from "../src/data/files.ts";
import { FASHION_MNIST_CLASS_NAMES } from "../src/data/catalog.ts";
import { planModel } from "../src/nn/plan.ts";
import { torchModuleSource } from "../src/nn/spec.ts";
import { decodeCheckpoint } from "../src/train/checkpoint.ts";
import { runScript } from "./subprocess.ts";

// --ablation none: Part 1 alone (its ablation is tested in parts_smoke and ablation_test)
const SMALL = [
  ...["--train-count", "256", "--test-count", "200", "--batch", "32", "--ablation", "none"],
];

/** Runs experiments/part1.ts as its task does, writing into `outDir` and reading Fashion-MNIST. */
function part1(args: string[], outDir: string) {
  return runScript("part1", args, outDir, [FASHION_MNIST_DIR]);
}

async function fashionInstalled(): Promise<boolean> {
  try {
    await Deno.stat(FASHION_MNIST_DIR);
    return true;
  } catch {
    return false;
  }
}

Deno.test("--model and --hidden build the named networks", () => {
  const logreg = planModel(modelSpecOf({ model: "logreg", hidden: [] }));
  assert.deepEqual(logreg.blocks.map((b) => b.kind), ["dense"]);
  const mlp = modelSpecOf({ model: "mlp", hidden: [300, 100] });
  assert.equal(mlp.name, "mlp-784-300-100-10");
  assert.deepEqual(
    planModel(mlp).blocks.map((b) => (b.kind === "dense" ? b.units : b.kind)),
    [300, 100, 10],
  );
  const cnn = modelSpecOf({ model: "cnn", hidden: [] });
  assert.deepEqual(planModel(cnn).blocks.map((b) => b.name), [
    "conv1",
    "conv2",
    "fc1",
    "dropout1",
    "fc2",
  ]);
  assert.match(
    torchModuleSource(cnn),
    /nn\.Linear\(3136, 256\),\n {2}nn\.ReLU\(\),\n {2}nn\.Dropout\(0\.5\)/,
  );
  assert.equal(modelSpecOf({ model: "lenet5", hidden: [] }).name, "lenet5");
});

Deno.test("part1 --model cnn --augment affine records model and augmentation", async () => {
  const dir = await Deno.makeTempDir({ prefix: "models_cli_" });
  try {
    const out = join(dir, "cnn");
    const r = await part1([...SMALL, "--model", "cnn", "--augment", "affine", "--out", out], dir);
    assert.equal(r.code, 0, r.stderr);
    const m = JSON.parse(await Deno.readTextFile(join(out, "metrics.json")));
    assert.equal(m.model, "cnn");
    assert.equal(m.recipe.model, "cnn");
    assert.equal(m.recipe.augment, "affine");
    assert.equal(m.runs[0].model, "cnn");
    assert.equal(m.runs[0].augment, "affine");
    assert.equal(m.dataset, "mnist");
    assert.deepEqual(m.classNames, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    assert.ok(m.testError < 0.9, `cnn learned something (test error ${m.testError})`);
    const ck = decodeCheckpoint(await Deno.readFile(join(out, "model.safetensors")));
    assert.equal(ck.info.model.name, "cnn");
    assert.equal(ck.info.recipe.model, "cnn");
    assert.equal(ck.info.recipe.augment?.maxRotation, 10);
    // dropout has no parameters: the names are those of the conv and dense layers only
    assert.deepEqual([...ck.tensors.keys()].filter((k) => !k.includes("optimizer")).sort(), [
      "conv1.bias",
      "conv1.weight",
      "conv2.bias",
      "conv2.weight",
      "fc1.bias",
      "fc1.weight",
      "fc2.bias",
      "fc2.weight",
    ]);
    const mlp = await part1([
      ...SMALL,
      "--model",
      "mlp",
      "--hidden",
      "64,32",
      "--out",
      join(dir, "mlp"),
    ], dir);
    assert.equal(mlp.code, 0, mlp.stderr);
    const mm = JSON.parse(await Deno.readTextFile(join(dir, "mlp", "metrics.json")));
    assert.equal(mm.recipe.model, "mlp-784-64-32-10");
    assert.equal(mm.recipe.augment, "none");
    const el = await part1([...SMALL, "--augment", "elastic", "--out", join(dir, "el")], dir);
    assert.equal(el.code, 0, el.stderr);
    const me = JSON.parse(await Deno.readTextFile(join(dir, "el", "metrics.json")));
    assert.equal(me.recipe.augment, "elastic");
    const ce = decodeCheckpoint(await Deno.readFile(join(dir, "el", "model.safetensors")));
    assert.equal(ce.info.recipe.elastic?.alpha, 34);
    assert.equal(ce.info.recipe.augment?.maxShift, 2);
    const bad = await part1([...SMALL, "--model", "resnet", "--out", join(dir, "bad")], dir);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--model/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "part1 --dataset fashion-mnist labels tables and metrics with the clothing classes",
  ignore: !(await fashionInstalled()),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "models_fashion_" });
    try {
      const out = join(dir, "f");
      const r = await part1([...SMALL, "--dataset", "fashion-mnist", "--out", out], dir);
      assert.equal(r.code, 0, r.stderr);
      const m = JSON.parse(await Deno.readTextFile(join(out, "metrics.json")));
      assert.equal(m.dataset, "fashion-mnist");
      assert.match(m.trainData, /^fashion-mnist-train/);
      assert.deepEqual(m.classNames, FASHION_MNIST_CLASS_NAMES);
      assert.match(r.stdout, /^class\s+error/m);
      assert.match(r.stdout, /^Ankle boot\s/m);
      assert.deepEqual(m.charts.perClass.data.labels, FASHION_MNIST_CLASS_NAMES);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a missing Fashion-MNIST names the Debian package on one line", async () => {
  await assert.rejects(
    () => loadNamedDataset("fashion-mnist", undefined, "/nonexistent/fashion-mnist/"),
    (e: unknown) => {
      assert.ok(e instanceof DataFileError);
      assert.match(e.message, /sudo apt-get install dataset-fashion-mnist/);
      assert.ok(!e.message.includes("\n"));
      return true;
    },
  );
});
