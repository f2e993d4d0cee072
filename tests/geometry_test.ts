/** Image geometry is checked across the training and test files and against the model's input. */
import assert from "node:assert/strict";
import { checkImageGeometry, type Dataset } from "../src/data/dataset.ts";
import { DataFormatError } from "../src/data/idx.ts";
import { lenet5 } from "../src/nn/spec.ts";
import { expectError } from "./data_helpers.ts";

function images(name: string, rows: number, cols: number, count = 2): Dataset {
  return {
    name,
    count,
    rows,
    cols,
    images: new Uint8Array(count * rows * cols),
    labels: new Uint8Array(count),
  };
}

Deno.test("checkImageGeometry accepts matching 28x28 sets for LeNet-5", () => {
  assert.doesNotThrow(() =>
    checkImageGeometry(images("a-train", 28, 28), images("a-test", 28, 28), lenet5())
  );
});

/** Asserts that checkImageGeometry refuses `train` with `test` for LeNet-5, naming `fragments`. */
function expectRefused(train: Dataset, test: Dataset, ...fragments: string[]): Promise<string> {
  return expectError(
    () => checkImageGeometry(train, test, lenet5()),
    DataFormatError,
    ...fragments,
  );
}

Deno.test("checkImageGeometry: test images of another size than the training images", async () => {
  const train = images("a-train", 28, 28), test = images("b-test", 14, 56);
  await expectRefused(train, test, "a-train", "28x28", "b-test", "14x56");
});

Deno.test("checkImageGeometry: images of another size than the model's input", async () => {
  const train = images("c-train", 32, 32), test = images("c-test", 32, 32);
  await expectRefused(train, test, "32x32", "28x28", "lenet5");
});
