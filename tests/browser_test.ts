/**
 * The library in a real browser: builds the page (`deno bundle --platform browser`), serves it
 * on 127.0.0.1, and drives Debian's headless Chromium (WebGPU on the SwiftShader adapter)
 * through playwright-core. Nothing is downloaded: Chromium comes from `apt-get install chromium`
 * (.ci/run does it), and without it this test fails and says so.
 *
 * 1. The kernel self-test (web/selftest.ts) runs in the page; every check must pass.
 * 2. The training page trains LeNet-5 on 3,000 MNIST images for one epoch (batch 16, Adam
 *    lr 3e-3, cosine schedule, seed 1); the reported error on 1,000 test images must be < 15%.
 * 3. A "1" is drawn on the canvas with mouse events; a prediction must appear (and be 1).
 * 4. "Save model" downloads a checkpoint; "Load model" in a fresh page takes it and the drawn "1"
 *    is predicted as 1 with it; a checkpoint of experiments/part1.ts (a small run) loads too.
 * 5. With navigator.gpu removed, the page must say plainly that WebGPU is missing.
 *
 * Any page error, console error or WebGPU validation message fails the test. Screenshots and a
 * summary go to results/browser/.
 */
import { Buffer } from "node:buffer";
import { chromium } from "playwright-core";
import type { BrowserContext, ConsoleMessage, Page } from "playwright-core";
import { finish, scriptCommand } from "./subprocess.ts";
import { buildWeb } from "../web/build.ts";
import { serveWeb, type WebServer } from "../web/serve.ts";
import type { SelftestSummary } from "../web/selftest.ts";
import { decodeCheckpoint } from "../src/train/checkpoint.ts";
import { KERNEL_FAMILIES } from "../src/check/family.ts";

const CHROMIUM = Deno.env.get("WEBGPU_MNIST_CHROMIUM") ?? "/usr/bin/chromium";
const RESULTS = "results/browser";
const RECIPE = "train=3000&test=1000&epochs=1&batch=16&lr=0.003&seed=1&evalPoints=4";
const MAX_TEST_ERROR = 0.15;

/** Flags for headless WebGPU on SwiftShader with the network closed. */
export const CHROMIUM_ARGS = [
  "--enable-unsafe-webgpu",
  "--no-sandbox",
  "--disable-gpu-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--no-default-browser-check",
  "--disable-default-apps",
];

/** Console output that means WebGPU rejected something (Dawn reports these as warnings). */
const WEBGPU_PROBLEM =
  /webgpu|wgsl|\[Invalid |validation|While (calling|encoding|finishing|validating)|device lost|uncaptured/i;

/** A page expression: the page's `data-state` is one of `states`. */
function pageStateIn(states: string[]): string {
  return `${JSON.stringify(states)}.includes(document.body.dataset.state ?? "")`;
}

async function requireChromium(): Promise<void> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(
      `Chromium is not installed (${CHROMIUM} is missing). The browser test needs Debian's ` +
        `Chromium: 'sudo apt-get install -y chromium' (.ci/run installs it), or point ` +
        `WEBGPU_MNIST_CHROMIUM at a Chromium binary. It never downloads a browser.`,
    );
  }
}

interface Problems {
  list: string[];
}

function watch(page: Page, name: string, problems: Problems, log: string[]): void {
  page.on("pageerror", (e) => problems.list.push(`${name}: page error: ${e.message}`));
  page.on("crash", () => problems.list.push(`${name}: the page crashed`));
  page.on("console", (m: ConsoleMessage) => {
    const text = m.text();
    log.push(`[${name} ${m.type()}] ${text}`);
    if (m.type() === "error" || (m.type() === "warning" && WEBGPU_PROBLEM.test(text))) {
      problems.list.push(`${name}: console ${m.type()}: ${text}`);
    }
  });
}

/** model.safetensors of `experiments/part1.ts` trained on 640 images, written under `tmp`. */
async function part1Checkpoint(tmp: string): Promise<Uint8Array> {
  const out = `${tmp}/part1`;
  const run = await finish(
    scriptCommand(
      "part1",
      ["--train-count", "640", "--test-count", "200", "--ablation", "none", "--out", out],
      tmp,
    ),
  );
  if (run.code !== 0) throw new Error(`part1 failed:\n${run.stderr}`);
  return await Deno.readFile(`${out}/model.safetensors`);
}

/** Draws a "1" on the canvas with the mouse; returns the predicted label. */
async function drawOne(page: Page): Promise<number> {
  const box = await page.locator("#draw").boundingBox();
  if (!box) throw new Error("no drawing canvas");
  const x = box.x + box.width * 0.5;
  await page.mouse.move(x + 6, box.y + box.height * 0.2);
  await page.mouse.down();
  for (let i = 1; i <= 12; i++) {
    await page.mouse.move(x - i * 0.5, box.y + box.height * (0.2 + (0.6 * i) / 12));
  }
  await page.mouse.up();
  await page.waitForSelector("#prediction[data-label]", { timeout: 60_000 });
  return Number(await page.getAttribute("#prediction", "data-label"));
}

function assertNoProblems(problems: Problems): void {
  if (problems.list.length) {
    throw new Error(`the browser reported problems:\n  ${problems.list.join("\n  ")}`);
  }
}

Deno.test({
  name: "in headless Chromium: kernel self-test, LeNet-5 training page, drawing, no-WebGPU message",
  // playwright-core keeps pipes and timers of the browser process open between steps
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await requireChromium();
    const t0 = performance.now();
    const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
    const tmp = await Deno.makeTempDir({ prefix: "webgpu-mnist-browser-" });
    const webDir = `${tmp}/web`, profile = `${tmp}/profile`;
    await Deno.mkdir(RESULTS, { recursive: true });
    const problems: Problems = { list: [] };
    const consoleLog: string[] = [];
    const summary: Record<string, unknown> = { chromium: CHROMIUM, args: CHROMIUM_ARGS };
    let server: WebServer | null = null;
    let context: BrowserContext | null = null;
    try {
      await buildWeb(webDir);
      server = await serveWeb({ port: 0, dir: webDir });
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        env: { ...Deno.env.toObject(), XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp" },
        viewport: { width: 1280, height: 900 },
        timeout: 60_000,
      });
      summary.browserVersion = context.browser()?.version() ?? "unknown";
      console.log(`  built, served at ${server.url}, Chromium started (${elapsed()})`);
      const url = server.url;

      await t.step("every kernel family matches its float64 reference in Chromium", async () => {
        const page = await context!.newPage();
        watch(page, "selftest", problems, consoleLog);
        await page.goto(`${url}selftest.html?seed=1`);
        await page.waitForFunction(pageStateIn(["done", "error"]), null, {
          timeout: 300_000,
          polling: 500,
        });
        const s = await page.evaluate(() =>
          (globalThis as { selftestSummary?: unknown }).selftestSummary
        ) as SelftestSummary | undefined;
        await page.screenshot({ path: `${RESULTS}/selftest.png`, fullPage: true });
        await page.close();
        if (!s) throw new Error("the self-test page produced no summary (state 'error')");
        summary.selftest = s;
        console.log(
          `  self-test: ${s.passed}/${s.checks.length} checks passed on ${s.adapter} ` +
            `(${s.textureReads} reads) in ${s.seconds.toFixed(1)} s; families: ` +
            s.families.join(", "),
        );
        const failed = s.checks.filter((c) => !c.ok);
        if (failed.length || s.checks.length === 0) {
          throw new Error(
            `${failed.length} of ${s.checks.length} kernel checks failed in Chromium:\n` +
              failed.map((c) => `  ${c.family}: ${c.name}: ${c.detail}`).join("\n"),
          );
        }
        if (s.families.length !== KERNEL_FAMILIES.length) {
          throw new Error(`only families ${s.families.join(", ")} ran`);
        }
      });

      const page = await context.newPage();
      watch(page, "training", problems, consoleLog);
      let trained = false;
      await t.step("the page trains LeNet-5 to under 15% test error on 1,000 images", async () => {
        const p0 = performance.now();
        await page.goto(`${url}?${RECIPE}&autostart=1`);
        await page.waitForFunction(pageStateIn(["done", "error", "no-webgpu"]), null, {
          timeout: 480_000,
          polling: 1000,
        });
        const state = await page.evaluate(() =>
          (globalThis as { mnistPage?: Record<string, unknown> }).mnistPage
        ) as {
          state: string;
          error?: string;
          adapter?: string;
          result?: {
            testError: number;
            testCount: number;
            trainSeconds: number;
            evalSeconds: number;
            totalSeconds: number;
            lossCurve: unknown[];
            testCurve: unknown[];
            perClassError: number[];
          };
        };
        if (state.state !== "done" || !state.result) {
          throw new Error(`training did not finish: state ${state.state}: ${state.error ?? ""}`);
        }
        const r = state.result;
        const shown = await page.textContent("#test-error");
        summary.training = { recipe: RECIPE, adapter: state.adapter, ...r, shown };
        console.log(
          `  trained on ${state.adapter}: ${shown}; training ${r.trainSeconds.toFixed(1)} s, ` +
            `test-error points ${r.evalSeconds.toFixed(1)} s, page total ` +
            `${((performance.now() - p0) / 1000).toFixed(1)} s`,
        );
        if (r.testCount !== 1000) throw new Error(`evaluated ${r.testCount} images, not 1,000`);
        if (!(r.testError < MAX_TEST_ERROR)) {
          throw new Error(`test error ${(r.testError * 100).toFixed(2)}% is not under 15%`);
        }
        if (r.lossCurve.length < 10 || r.testCurve.length < 2) {
          throw new Error("the live chart got too few points");
        }
        if (r.perClassError.length !== 10) throw new Error("no per-class error");
        const rows = await page.locator("#per-class tbody tr").count();
        if (rows !== 10) throw new Error(`per-class table has ${rows} rows`);
        trained = true;
      });

      await t.step("drawing a 1 on the canvas with the mouse gives a prediction", async () => {
        if (!trained) throw new Error("skipped: the model was not trained");
        await drawOne(page);
        const prediction = await page.evaluate(() =>
          (globalThis as { mnistPage?: { prediction?: unknown } }).mnistPage?.prediction
        ) as { label: number; probabilities: number[] };
        summary.prediction = prediction;
        const probs = prediction.probabilities;
        console.log(
          `  drawn "1" predicted as ${prediction.label} (p = ${
            (probs[prediction.label] * 100).toFixed(1)
          }%)`,
        );
        const sum = probs.reduce((a, b) => a + b, 0);
        if (probs.length !== 10 || Math.abs(sum - 1) > 1e-3) {
          throw new Error(`bad probabilities ${probs}`);
        }
        if (prediction.label !== 1) {
          throw new Error(`a drawn 1 was predicted as ${prediction.label}`);
        }
        await page.screenshot({ path: `${RESULTS}/page.png`, fullPage: true });
      });

      let savedModel: Uint8Array | null = null;
      await t.step("Save model downloads a checkpoint that decodes as LeNet-5", async () => {
        if (!trained) throw new Error("skipped: the model was not trained");
        const [download] = await Promise.all([
          page.waitForEvent("download", { timeout: 30_000 }),
          page.click("#save-model"),
        ]);
        const path = await download.path();
        savedModel = await Deno.readFile(path);
        await Deno.writeFile(`${RESULTS}/page_model.safetensors`, savedModel);
        const ck = decodeCheckpoint(savedModel, download.suggestedFilename());
        if (ck.info.model.name !== "lenet5") throw new Error(`saved a ${ck.info.model.name}`);
        if (ck.info.recipe.seed !== 1) throw new Error("the saved recipe lost its seed");
      });
      await page.close();

      await t.step("Load model in a fresh page: the drawn 1 is predicted with it", async () => {
        if (!savedModel) throw new Error("skipped: no saved model");
        const p = await context!.newPage();
        watch(p, "load-model", problems, consoleLog);
        await p.goto(url);
        await p.waitForFunction(pageStateIn(["ready", "error", "no-webgpu"]), null, {
          timeout: 60_000,
        });
        await p.setInputFiles("#load-model", {
          name: "page_model.safetensors",
          mimeType: "application/octet-stream",
          buffer: Buffer.from(savedModel),
        });
        await p.waitForFunction(pageStateIn(["loaded", "error"]), null, { timeout: 60_000 });
        const label = await drawOne(p);
        if (label !== 1) throw new Error(`with the loaded model a drawn 1 was predicted ${label}`);

        // and a checkpoint written by experiments/part1.ts (a small run) loads as well
        const cli = await part1Checkpoint(tmp);
        await p.setInputFiles("#load-model", {
          name: "model.safetensors",
          mimeType: "application/octet-stream",
          buffer: Buffer.from(cli),
        });
        await p.waitForFunction(
          `globalThis.mnistPage?.loaded?.file === "model.safetensors"`,
          null,
          { timeout: 60_000 },
        );
        const loaded = await p.evaluate(() =>
          (globalThis as { mnistPage?: { loaded?: unknown } }).mnistPage?.loaded
        ) as { model: string; testError: number | null };
        const want = decodeCheckpoint(cli, "model.safetensors").info.testError;
        if (loaded.model !== "lenet5" || loaded.testError !== want) {
          throw new Error(`part1's checkpoint loaded as ${JSON.stringify(loaded)}`);
        }
        await drawOne(p); // a prediction appears (this small model may well not say 1)
        await p.close();
      });

      await t.step("without WebGPU the page says so and what to enable", async () => {
        const p = await context!.newPage();
        watch(p, "no-webgpu", problems, consoleLog);
        // as in a browser without WebGPU: no navigator.gpu at all
        await p.addInitScript({
          content: `Object.defineProperty(Navigator.prototype, "gpu", { get: () => undefined });`,
        });
        await p.goto(url);
        await p.waitForFunction(pageStateIn(["no-webgpu", "error"]), null, { timeout: 30_000 });
        const text = (await p.textContent("#no-webgpu")) ?? "";
        const visible = await p.isVisible("#no-webgpu");
        const trainDisabled = await p.isDisabled("#train");
        await p.screenshot({ path: `${RESULTS}/no-webgpu.png` });
        await p.close();
        if (
          !visible || !/WebGPU is not available/.test(text) || !/enable-unsafe-webgpu/.test(text)
        ) {
          throw new Error(`the page does not explain the missing WebGPU: "${text}"`);
        }
        if (!trainDisabled) throw new Error("Train is enabled without WebGPU");
      });
      assertNoProblems(problems);
    } finally {
      summary.seconds = (performance.now() - t0) / 1000;
      summary.problems = problems.list;
      summary.console = consoleLog;
      await Deno.writeTextFile(`${RESULTS}/summary.json`, JSON.stringify(summary, null, 2) + "\n")
        .catch(() => {});
      await context?.close().catch(() => {});
      await server?.shutdown();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      console.log(`  browser test took ${elapsed()}; screenshots in ${RESULTS}/`);
    }
  },
});
