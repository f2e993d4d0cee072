/**
 * Models and baselines side by side on one data set: Gaussian naive Bayes (CPU), k-nearest
 * neighbours on raw pixels (k = 1, 3, 5; the 10,000 x 60,000 distance matrix as a GEMM on the
 * GPU with a top-k selection kernel), and networks trained by the engine (logistic regression,
 * an MLP, LeNet-5, the wider CNN) with the default recipe. For each: parameters, training time,
 * prediction time for the test set, test error.
 *
 *   deno task baselines [--models nb,knn,logreg,mlp,lenet5,cnn] [--epochs 1]
 *                       [--out results/baselines]
 *
 * Writes metrics.json and baselines.md (the table) at the end, atomically. `deno task all` runs
 * the cheap ones ({@link ALL_BASELINES}: about half a minute on the 2-core CPU adapter) and takes
 * LeNet-5 and the CNN from Part 1 and its ablation; the report shows them side by side.
 *
 * @module
 */
import {
  type BaselineRow,
  canonicalJson,
  classifyKnn,
  cnn,
  fitGaussianNb,
  lenet5,
  mlp,
  type ModelSpec,
  paramLayout,
  planModel,
  predictGaussianNb,
} from "../mod.ts";
import {
  formatDuration,
  formatHelp,
  type OptionSpec,
  OutputDir,
  parseOptions,
  UsageError,
} from "../mod_deno.ts";
import { join } from "node:path";
import {
  checkWritable,
  dataRecord,
  environmentRecord,
  installInterruptHandler,
  pct,
  recipeOf,
  runExperiment,
  type Setup,
  setup,
  TRAINING_OPTIONS,
  type TrainingOptions,
  trainRun,
} from "./common.ts";

const PROGRAM = {
  name: "deno task baselines",
  summary: "Classical baselines (naive Bayes, k-NN) and the engine's networks on one data set: " +
    "parameters, training and prediction time, test error.",
};

/** Every model the task knows, in table order. */
export const BASELINE_MODELS = ["nb", "knn", "logreg", "mlp", "lenet5", "cnn"] as const;
/** A model of {@link BASELINE_MODELS}. */
export type BaselineModel = (typeof BASELINE_MODELS)[number];
/** What `deno task all` runs (LeNet-5 and the CNN come from Part 1 and its ablation). */
export const ALL_BASELINES: readonly BaselineModel[] = ["nb", "knn", "logreg", "mlp"];

const SPEC: Record<string, OptionSpec> = {
  ...TRAINING_OPTIONS,
  models: {
    type: "string",
    default: BASELINE_MODELS.join(","),
    description: `comma-separated models to run, of ${BASELINE_MODELS.join(", ")}`,
  },
  out: { type: "path", default: "results/baselines", description: "output folder" },
};

interface BaselineOptions extends TrainingOptions {
  models: string;
  out: string;
}

export type { BaselineRow };

function parseModels(text: string): BaselineModel[] {
  const names = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const n of names) {
    if (!(BASELINE_MODELS as readonly string[]).includes(n)) {
      throw new UsageError(
        `--models: unknown model '${n}' (accepted: ${BASELINE_MODELS.join(", ")})`,
      );
    }
  }
  if (names.length === 0) throw new UsageError("--models: name at least one model");
  return names as BaselineModel[];
}

function errorOf(pred: ArrayLike<number>, labels: ArrayLike<number>): number {
  let wrong = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] !== labels[i]) wrong++;
  return wrong / labels.length;
}

function parameterCount(spec: ModelSpec): number {
  return paramLayout(planModel(spec)).params.reduce((n, p) => n + p.rows * p.cols, 0);
}

const NETWORKS: Record<
  "logreg" | "mlp" | "lenet5" | "cnn",
  { spec: () => ModelSpec; name: string }
> = {
  logreg: { spec: () => mlp(784, [], 10), name: "logistic regression (784-10)" },
  mlp: { spec: () => mlp(784, [300, 100], 10), name: "MLP 784-300-100-10" },
  lenet5: { spec: lenet5, name: "LeNet-5" },
  cnn: { spec: cnn, name: "wider CNN (32-64 conv, 256 dense, dropout)" },
};

/**
 * Seconds of k-NN on 60,000 x 10,000 images at the plan's calibration (about 20 s measured where
 * LeNet-5 trains 10,000 images/s; the plan assumes a machine about 2x slower, 4,000 images/s).
 */
const KNN_SECONDS_FULL = 40;
/** LeNet-5 image-steps per second of the plan line, and the networks' cost relative to it. */
const PLANNED_IMAGES_PER_SECOND = 4000;
const NETWORK_COST: Record<string, number> = { logreg: 0.1, mlp: 0.3, lenet5: 1, cnn: 7 };

/** The plan line of {@link ALL_BASELINES} in `deno task all`, with its estimated seconds. */
export function baselinesPlan(
  trainImages: number,
  testImages: number,
  epochs: number,
): { seconds: number; text: string } {
  const knn = KNN_SECONDS_FULL * (trainImages / 60_000) * (testImages / 10_000);
  const nets = ALL_BASELINES.filter((m) => m in NETWORK_COST)
    .reduce((a, m) => a + NETWORK_COST[m] * epochs * trainImages / PLANNED_IMAGES_PER_SECOND, 0);
  const seconds = knn + nets + 3;
  return {
    seconds,
    text: `${ALL_BASELINES.join(", ")} (k-NN: a ${trainImages.toLocaleString("en-US")} x ` +
      `${testImages.toLocaleString("en-US")} distance GEMM); about ${formatDuration(seconds)}`,
  };
}

/** The table as Markdown. */
export function baselinesTable(rows: readonly BaselineRow[]): string {
  const lines = [
    "| model | parameters | training time | prediction time (test set) | test error | note |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.model} | ${r.parameters.toLocaleString("en-US")} | ${r.trainSeconds.toFixed(1)} s | ` +
        `${r.predictSeconds.toFixed(2)} s | ${pct(r.testError)} | ${r.note} |`,
    );
  }
  return lines.join("\n") + "\n";
}

/** What decides the baselines' results (`all` keeps a finished table by it). */
function baselinesConfiguration(o: TrainingOptions, s: Setup, models: readonly BaselineModel[]) {
  return { models, recipe: recipeOf(o), seed: o.seed, data: dataRecord(s) };
}

/**
 * Runs the baselines `models` on the set-up `s` and writes `o.out` (metrics.json, baselines.md);
 * returns the rows. With `keepFinished` (deno task all) a table of the same configuration already
 * there is kept and not computed again.
 */
export async function runBaselinesStep(
  o: TrainingOptions & { out: string },
  s: Setup,
  models: readonly BaselineModel[],
  keepFinished = true,
): Promise<BaselineRow[]> {
  const configuration = baselinesConfiguration(o, s, models);
  if (keepFinished) {
    try {
      const m = JSON.parse(await Deno.readTextFile(join(o.out, "metrics.json")));
      if (canonicalJson(m.configuration) === canonicalJson(configuration)) {
        console.error(`${o.out}/metrics.json has these baselines on this data; not run again`);
        return m.rows;
      }
    } catch {
      // missing or unreadable: run them
    }
  }
  installInterruptHandler();
  const pixels = s.train.rows * s.train.cols;
  const rows: BaselineRow[] = [];
  for (const m of models) {
    if (m === "nb") {
      let t = performance.now();
      const nb = fitGaussianNb(s.train.images, s.train.labels, pixels);
      const trainSeconds = (performance.now() - t) / 1000;
      t = performance.now();
      const pred = predictGaussianNb(nb, s.test.images);
      rows.push({
        model: "Gaussian naive Bayes",
        parameters: 2 * 10 * pixels + 10,
        trainSeconds,
        predictSeconds: (performance.now() - t) / 1000,
        testError: errorOf(pred, s.test.labels),
        note: "CPU, float64",
      });
    } else if (m === "knn") {
      const knn = await classifyKnn(s.ctx, s.gpuTrain, s.gpuTest, [1, 3, 5]);
      for (const { k, predictions } of knn.predictions) {
        rows.push({
          model: `k-NN (k = ${k})`,
          parameters: s.train.count * pixels,
          trainSeconds: 0,
          predictSeconds: knn.timing.totalSeconds,
          testError: errorOf(predictions, s.test.labels),
          note: `GPU distance GEMM ${
            knn.timing.gemmGflops.toFixed(1)
          } GFLOP/s; one search for all k`,
        });
      }
    } else {
      const net = NETWORKS[m];
      const spec = net.spec();
      const r = await trainRun(s, {
        recipe: recipeOf(o, spec),
        seed: o.seed,
        label: m,
        spec,
      });
      rows.push({
        model: net.name,
        parameters: parameterCount(spec),
        trainSeconds: r.trainSeconds,
        predictSeconds: r.evalSeconds / Math.max(1, r.testCurve.length),
        testError: r.testError,
        note: `${o.epochs} epoch(s), ${o.optimizer} lr ${o.lr} ${o.schedule}, batch ${o.batch}`,
      });
    }
    const last = rows.at(-1)!;
    console.error(`${last.model}: test error ${pct(last.testError)}`);
  }
  const table = baselinesTable(rows);
  const out = new OutputDir(o.out);
  out.stage("baselines.md", table);
  out.stageJson("metrics.json", {
    schema: "webgpu-mnist/baselines@1",
    createdAt: new Date().toISOString(),
    ...environmentRecord(s),
    seed: o.seed,
    configuration,
    rows,
  });
  const written = await out.commit();
  console.log(`\n${table}\nwrote ${written.join(", ")}`);
  return rows;
}

async function main(): Promise<number> {
  const { options: o, help } = parseOptions<BaselineOptions>(Deno.args, SPEC, PROGRAM);
  if (help) {
    console.log(formatHelp(SPEC, PROGRAM));
    return 0;
  }
  const models = parseModels(o.models);
  await checkWritable(o.out, ["metrics.json", "baselines.md"]);
  installInterruptHandler();
  const s = await setup(o);
  console.error(
    `adapter: ${s.ctx.adapterName}; ${s.train.count} training and ${s.test.count} test images`,
  );
  await runBaselinesStep(o, s, models, false);
  return 0;
}

if (import.meta.main) runExperiment(main, PROGRAM.name);
