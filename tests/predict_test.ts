/**
 * The Kaggle digit-recognizer path end to end: train from a labelled CSV (evaluated on a held-out
 * split), classify an unlabelled CSV into ImageId,Label, and classify PNG images the test renders.
 */
import { createCanvas } from "@napi-rs/canvas";
import { loadMnistSplit } from "../src/data/files.ts";
import { ROOT, runTask } from "./subprocess.ts";

const DIR = `${ROOT}results/.test-predict`;

function csv(images: Uint8Array, labels: Uint8Array | null, from: number, count: number): string {
  const pixels = Array.from({ length: 784 }, (_, i) => `pixel${i}`).join(",");
  const lines = [labels ? `label,${pixels}` : pixels];
  for (let i = from; i < from + count; i++) {
    const px = Array.from(images.subarray(i * 784, (i + 1) * 784)).join(",");
    lines.push(labels ? `${labels[i]},${px}` : px);
  }
  return lines.join("\n") + "\n";
}

Deno.test("train from a Kaggle CSV, write a submission for a test CSV, classify rendered PNGs", async () => {
  await Deno.remove(DIR, { recursive: true }).catch(() => {});
  await Deno.mkdir(DIR, { recursive: true });
  try {
    const train = await loadMnistSplit("train");
    await Deno.writeTextFile(`${DIR}/train.csv`, csv(train.images, train.labels, 0, 3200));
    await Deno.writeTextFile(`${DIR}/test.csv`, csv(train.images, null, 10000, 50));

    const fit = await runTask([
      "part1",
      "--data",
      `${DIR}/train.csv`,
      "--epochs",
      "2",
      "--ablation",
      "none",
      "--out",
      `${DIR}/run`,
    ]);
    if (fit.code !== 0) throw new Error(`part1 on the CSV failed:\n${fit.stderr}`);
    const metrics = JSON.parse(await Deno.readTextFile(`${DIR}/run/metrics.json`));
    if (!/320 images held out from .*train\.csv/.test(metrics.evaluatedOn)) {
      throw new Error(`evaluatedOn should name the held-out split, got ${metrics.evaluatedOn}`);
    }
    if (!(metrics.testError < 0.3)) {
      throw new Error(`held-out error ${metrics.testError} is implausible`);
    }

    const sub = await runTask([
      "predict",
      "--model",
      `${DIR}/run/model.safetensors`,
      "--csv",
      `${DIR}/test.csv`,
      "--out",
      `${DIR}/submission.csv`,
    ]);
    if (sub.code !== 0) throw new Error(`predict --csv failed:\n${sub.stderr}`);
    const lines = (await Deno.readTextFile(`${DIR}/submission.csv`)).trim().split("\n");
    if (lines[0] !== "ImageId,Label" || lines.length !== 51) {
      throw new Error(`bad submission: ${lines.slice(0, 3)}`);
    }
    lines.slice(1).forEach((l, i) => {
      if (!new RegExp(`^${i + 1},[0-9]$`).test(l)) {
        throw new Error(`bad submission line ${i + 2}: ${l}`);
      }
    });
    const truth = Array.from(train.labels.subarray(10000, 10050));
    const right = lines.slice(1).filter((l, i) => Number(l.split(",")[1]) === truth[i]).length;
    if (right < 35) throw new Error(`only ${right} of 50 submission labels are right`);

    // a "1" drawn as a dark stroke on white, non-square
    const c = createCanvas(90, 160), g = c.getContext("2d");
    g.fillStyle = "#fff";
    g.fillRect(0, 0, 90, 160);
    g.strokeStyle = "#222";
    g.lineWidth = 14;
    g.lineCap = "round";
    g.beginPath();
    g.moveTo(50, 20);
    g.lineTo(45, 140);
    g.stroke();
    await Deno.writeFile(`${DIR}/one.png`, await c.encode("png"));
    const p = await runTask([
      "predict",
      "--model",
      `${DIR}/run/model.safetensors`,
      `${DIR}/one.png`,
    ]);
    if (p.code !== 0) throw new Error(`predict on a PNG failed:\n${p.stderr}`);
    if (!/one\.png: 1 .*inverted/.test(p.stdout)) {
      throw new Error(`expected the drawn 1 to be read as 1 (inverted):\n${p.stdout}`);
    }
  } finally {
    await Deno.remove(DIR, { recursive: true }).catch(() => {});
  }
});
