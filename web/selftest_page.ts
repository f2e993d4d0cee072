/// <reference lib="dom" />
/**
 * The kernel self-test page (`selftest.html`): runs web/selftest.ts on this browser's WebGPU and
 * shows every check. The summary is exposed as JSON in `#summary` and as
 * `globalThis.selftestSummary`; `document.body.dataset.state` ends as "done" or "error".
 *
 * URL parameters: `seed=N` (default 1), `reads=storage|sampled` (default: what the adapter allows).
 *
 * @module
 */
import { GpuUnavailableError } from "../mod.ts";
import { describeError, pageGpu, showNoWebGpu, webGpuMissingReason } from "./gpu_page.ts";
import { type CheckResult, runSelftest } from "./selftest.ts";

const $ = (id: string) => document.getElementById(id)!;

function setState(state: string, text: string): void {
  document.body.dataset.state = state;
  $("status").textContent = text;
}

function addRow(c: CheckResult): void {
  const tr = document.createElement("tr");
  tr.className = c.ok ? "pass" : "fail";
  const cells = [
    c.ok ? "pass" : "FAIL",
    c.family,
    c.name,
    Number.isFinite(c.error) ? c.error.toExponential(2) : "-",
    String(c.tolerance),
    c.detail ?? "",
  ];
  for (const text of cells) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  $("checks").append(tr);
}

async function main(): Promise<void> {
  const missing = webGpuMissingReason();
  if (missing) {
    setState("error", showNoWebGpu(missing));
    return;
  }
  const seed = Number(new URLSearchParams(location.search).get("seed") ?? 1) >>> 0;
  setState("running", "acquiring the GPU…");
  let ctx;
  try {
    ctx = await pageGpu((msg) => $("errors").append(`${msg}\n`));
  } catch (e) {
    const msg = describeError(e);
    if (e instanceof GpuUnavailableError) showNoWebGpu(msg);
    console.error(msg);
    setState("error", msg);
    return;
  }
  $("adapter").textContent = `${ctx.adapterName || "unnamed adapter"} ` +
    `(tensors read as ${ctx.textureReads} textures)`;
  setState("running", "running kernel checks…");
  let n = 0;
  const summary = await runSelftest(ctx, {
    seed,
    onCheck: (c) => {
      addRow(c);
      if (new URLSearchParams(location.search).has("log")) {
        console.log(`${(performance.now() / 1000).toFixed(1)}s ${c.family} ${c.name} ${c.ok}`);
      }
      $("status").textContent = `running kernel checks… ${++n} done`;
    },
  });
  const json = JSON.stringify(summary, null, 2);
  $("summary").textContent = json;
  (globalThis as { selftestSummary?: unknown }).selftestSummary = summary;
  for (const c of summary.checks.filter((c) => !c.ok)) {
    console.warn(`self-test FAIL ${c.family}: ${c.name}: ${c.detail}`);
  }
  setState(
    "done",
    `${summary.passed} of ${summary.checks.length} checks passed, ${summary.failed} failed ` +
      `(${summary.seconds.toFixed(1)} s, seed ${seed})`,
  );
}

main().catch((e) => {
  const msg = describeError(e);
  console.error(msg);
  setState("error", msg);
});
