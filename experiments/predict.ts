/**
 * Classify your own digit images, or a Kaggle test CSV, with a trained checkpoint.
 *
 *   deno task predict --model results/part1/model.safetensors digit.png [more images]
 *   deno task predict --model FILE --csv test.csv --out submission.csv
 *
 * Images (PNG or JPEG, any size, dark-on-light or light-on-dark) are prepared as MNIST was:
 * grayscale, inverted if needed, cropped to the ink, scaled into a 20x20 box and centred by mass
 * in 28x28.
 *
 * @module
 */
import {
  acquireGpu,
  decodeCheckpoint,
  Model,
  Predictor,
  restoreCheckpoint,
  writeKaggleSubmission,
} from "../mod.ts";
import {
  formatHelp,
  loadImageAsMnist,
  loadKaggleCsv,
  type OptionSpec,
  parseOptions,
  UsageError,
  writeFileAtomic,
} from "../mod_deno.ts";
import { NO_ADAPTER_ENV, runExperiment } from "./common.ts";
import { dirname, resolve } from "node:path";

const SPEC: Record<string, OptionSpec> = {
  model: {
    type: "path",
    required: true,
    description: "checkpoint (.safetensors) written by part1/2/3",
  },
  csv: {
    type: "path",
    description: "Kaggle digit-recognizer test CSV (pixel0..pixel783 per row) to classify",
  },
  out: {
    type: "path",
    description: "with --csv: where to write ImageId,Label (default submission.csv)",
  },
  top: {
    type: "int",
    default: 3,
    min: 1,
    max: 10,
    description: "probabilities to print per image",
  },
};
const PROGRAM = {
  name: "deno task predict",
  summary: "Classify digit images (PNG/JPEG) or a Kaggle test CSV with a trained checkpoint.",
  positional: { name: "image", description: "PNG or JPEG files to classify" },
};

/**
 * Fails before any work when `--out`'s folder is missing or not writable. The whole folder must
 * be writable: the submission goes to a temporary file beside it first, then is renamed.
 */
async function checkOutputFolder(out: string): Promise<void> {
  let target: Deno.FileInfo | undefined;
  try {
    target = await Deno.stat(out);
  } catch { /* missing: written new */ }
  if (target?.isDirectory) throw new UsageError(`--out ${out}: that is a folder; name a file`);
  const dir = dirname(resolve(out));
  const status = await Deno.permissions.query({ name: "write", path: dir });
  if (status.state !== "granted") {
    throw new UsageError(
      `--out ${out}: no permission to write in ${dir}; the predict task may write inside the ` +
        `project folder only: give a path there, or run 'deno run --allow-write=${dir} ...' on ` +
        `experiments/predict.ts with the task's other flags`,
    );
  }
  let isFolder = false;
  try {
    isFolder = (await Deno.stat(dir)).isDirectory;
  } catch { /* missing */ }
  if (!isFolder) throw new UsageError(`--out ${out}: the folder ${dir} does not exist`);
}

async function main(): Promise<number> {
  const { options: o, positionals, help } = parseOptions<
    { model: string; csv?: string; out?: string; top: number }
  >(
    Deno.args,
    SPEC,
    PROGRAM,
  );
  if (help) {
    console.log(formatHelp(SPEC, PROGRAM));
    return 0;
  }
  if (!o.csv && positionals.length === 0) {
    throw new UsageError("give at least one image file, or --csv FILE");
  }
  if (o.csv && positionals.length > 0) throw new UsageError("give images or --csv, not both");
  if (o.out && !o.csv) throw new UsageError("--out is only used with --csv");
  const out = o.out ?? "submission.csv";
  if (o.csv) await checkOutputFolder(out);

  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(o.model);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UsageError(`--model ${o.model}: no such file`);
    throw e;
  }
  const ckpt = decodeCheckpoint(bytes, o.model);
  let noAdapter = false;
  try {
    noAdapter = Deno.env.get(NO_ADAPTER_ENV) === "1";
  } catch { /* no env permission */ }
  const ctx = await acquireGpu({ simulateNoAdapter: noAdapter });
  const model = Model.create(ctx, ckpt.info.model, { seed: 0 });
  restoreCheckpoint(model, ckpt, false, o.model);
  const predictor = new Predictor(ctx, model);

  if (o.csv) {
    const { dataset, hasLabels } = await loadKaggleCsv(o.csv);
    const preds = await predictor.predict(dataset.images, dataset.count);
    if (hasLabels) {
      const wrong = preds.filter((p, i) => p.label !== dataset.labels[i]).length;
      console.error(
        `${o.csv} has labels: ${wrong} of ${dataset.count} wrong (${
          ((100 * wrong) / dataset.count).toFixed(2)
        }%)`,
      );
    }
    await writeFileAtomic(out, writeKaggleSubmission(preds.map((p) => p.label)));
    console.log(`wrote ${out}: ${preds.length} predictions`);
    return 0;
  }

  const inputs: Uint8Array[] = [];
  const notes: string[] = [];
  for (const path of positionals) {
    const img = await loadImageAsMnist(path);
    inputs.push(img.input);
    notes.push(`${img.width}x${img.height}${img.inverted ? ", dark on light (inverted)" : ""}`);
  }
  const all = new Uint8Array(inputs.length * 784);
  inputs.forEach((x, i) => all.set(x, i * 784));
  const preds = await predictor.predict(all, inputs.length);
  preds.forEach((p, i) => {
    const ranked = p.probabilities.map((v, c) => [c, v] as const).sort((a, b) => b[1] - a[1]).slice(
      0,
      o.top,
    );
    console.log(
      `${positionals[i]}: ${p.label}   (${
        ranked.map(([c, v]) => `${c}: ${(100 * v).toFixed(1)}%`).join(", ")
      })  [${notes[i]}]`,
    );
  });
  return 0;
}

if (import.meta.main) runExperiment(main, PROGRAM.name);
