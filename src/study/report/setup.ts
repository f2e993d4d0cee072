/**
 * The report's "Set-up" section (model, recipe, data, adapter, seeds, time taken, how conditions
 * are compared, reproducibility of the shared baselines) and the section for a part that has no
 * results.
 *
 * @module
 */
import { samplingError } from "../../util/stats.ts";
import {
  type Part1Metrics,
  type Part2Metrics,
  type Part3Metrics,
  type RunRecord,
  type SetupRecord,
  summarizeRuns,
} from "../results.ts";
import { durationText, intText, pctText, table } from "./text.ts";
import type { ReportSectionOut, StudyResults } from "./types.ts";

export function missingSection(part: 1 | 2 | 3, reason: string | undefined): ReportSectionOut {
  const what = { 1: "the clean baseline", 2: "image noise", 3: "label noise" }[part];
  return {
    heading: `Part ${part}: not run`,
    markdown:
      `**Part ${part} (${what}) has no results**: ${
        reason ?? `results/part${part}/metrics.json was not found`
      }. Produce it with \`deno task part${part}\` (or everything with \`deno task all\`), then ` +
      `run \`deno task report\` again. The questions of Part ${part} are not answered below.`,
    figures: [],
  };
}

function recipeText(r: SetupRecord["recipe"]): string {
  const o = r.optimizer;
  const opt = o.kind === "adam"
    ? `Adam (lr ${o.lr}, betas ${o.beta1}/${o.beta2}, eps ${o.eps}, weight decay ${o.weightDecay})`
    : `SGD (lr ${o.lr}, momentum ${o.momentum}, weight decay ${o.weightDecay})`;
  const sched = r.schedule.kind === "cosine"
    ? `cosine decay with ${Number(r.schedule.warmupFraction) * 100}% warm-up`
    : "constant learning rate";
  return `${opt}, ${sched}, batch ${r.batchSize}, ${r.epochs} epoch${r.epochs === 1 ? "" : "s"}`;
}

/**
 * Sigma 0 and fraction 0 are Part 1's recipe; with the same seeds, data and adapter the engine
 * must reproduce Part 1's numbers exactly. Says whether it did (null when not comparable).
 */
function reproducibilityCheck(r: StudyResults): string | null {
  const p1 = r.part1;
  if (!p1) return null;
  const same = (p: Part2Metrics | Part3Metrics) =>
    JSON.stringify(p.recipe) === JSON.stringify(p1.recipe) && p.trainData === p1.trainData &&
    p.testData === p1.testData && p.adapter === p1.adapter &&
    JSON.stringify(p.seeds) === JSON.stringify(p1.runs.map((x) => x.seed));
  const reused: string[] = [];
  const c2r = r.part2?.conditions.find((c) => c.sigma === 0);
  const c3r = r.part3?.conditions.find((c) => c.frac === 0);
  if (c2r?.runs.some((x) => x.reusedFrom)) reused.push("sigma 0 (Part 2)");
  if (c3r?.runs.some((x) => x.reusedFrom)) reused.push("fraction 0 (Part 3)");
  if (reused.length) {
    return `${reused.join(" and ")} reuse Part 1's runs instead of training them again: same ` +
      "seeds, recipe and data, and training is deterministic (bit-identical results for the " +
      "same seed on the same adapter, checked by the test suite), so the numbers are the same " +
      "by construction. `deno task all --rerun-baselines` trains them again and lets this " +
      "report compare them.";
  }
  const found: string[] = [];
  let allEqual = true;
  const c2 = r.part2?.conditions.find((c) => c.sigma === 0);
  if (r.part2 && c2 && same(r.part2)) {
    found.push(`sigma 0 in Part 2 (${c2.runs.map((x) => pctText(x.testError)).join(", ")})`);
    allEqual &&= c2.runs.every((x, i) => x.testError === p1.runs[i].testError);
  }
  const c3 = r.part3?.conditions.find((c) => c.frac === 0);
  if (r.part3 && c3 && same(r.part3)) {
    found.push(`fraction 0 in Part 3 (${c3.runs.map((x) => pctText(x.testError)).join(", ")})`);
    allEqual &&= c3.runs.every((x, i) => x.testError === p1.runs[i].testError);
  }
  if (!found.length) return null;
  const p1Text = p1.runs.map((x) => pctText(x.testError)).join(", ");
  return allEqual
    ? `${found.join(" and ")} repeat Part 1 (${p1Text}) with the same seeds and gave exactly ` +
      "the same test errors, as deterministic training should."
    : `${found.join(" and ")} repeat Part 1 (${p1Text}) with the same seeds but gave different ` +
      "test errors: training was not reproducible on this adapter, so treat small differences " +
      "with extra caution.";
}

/** A short description of a network: LeNet-5's in words, others' layers from their source. */
function modelText(name: string, torch: string | undefined): string {
  if (name === "lenet5") {
    return "modern LeNet-5: two 5×5 convolutions with ReLU and 2×2 max-pooling, dense " +
      "400-120-84-10";
  }
  const layers = (torch ?? "").split("\n").map((l) => l.trim().replace(/,$/, ""))
    .filter((l) => l.startsWith("nn.") && l !== "nn.Sequential(");
  return layers.length ? layers.join(", ") : "see metrics.json";
}

export function setupSection(r: StudyResults): ReportSectionOut {
  const parts = [r.part1, r.part2, r.part3];
  const present = parts.filter((p): p is NonNullable<typeof p> => p !== undefined);
  const first = present[0];
  const lines: string[] = [];
  lines.push(
    `- **Model**: ${first.model} (${modelText(first.model, first.modelTorch)}), trained from ` +
      `scratch; every heavy pass is a WGSL compute shader.`,
    `- **Recipe**: ${recipeText(first.recipe)}; cross-entropy loss${
      first.recipe.augment === "affine" || first.recipe.augment === "elastic"
        ? "; training images randomly distorted on the GPU (shift up to 2 pixels, rotation up " +
          "to 10°, scale 0.9-1.1" +
          (first.recipe.augment === "elastic" ? ", then elastic with alpha 34, sigma 4" : "") +
          ", drawn per image and epoch)"
        : ""
    }.`,
    `- **Data**: ${intText(first.trainImages)} training images (${first.trainData}), ` +
      `${intText(first.testImages)} test images (${first.testData}); the test set is always clean.`,
    `- **Adapter**: ${first.adapter}${
      (first as { cpuAdapter?: boolean }).cpuAdapter ? " (a CPU implementation of WebGPU)" : ""
    }; Deno ${(first as { deno?: string }).deno ?? "?"}.`,
  );
  const seedParts = ([[1, r.part1], [2, r.part2], [3, r.part3]] as const)
    .filter(([, p]) => p)
    .map(([k, p]) => {
      const runs = k === 1
        ? (p as Part1Metrics).runs.length
        : (p as Part2Metrics | Part3Metrics).conditions[0].runs.length;
      const seeds = k === 1
        ? (p as Part1Metrics).runs.map((x) => x.seed)
        : (p as Part2Metrics | Part3Metrics).seeds;
      return `Part ${k}: master seed ${p!.seed}, ${runs} run${runs === 1 ? "" : "s"} per ` +
        `condition (seeds ${seeds.join(", ")})`;
    });
  lines.push(
    `- **Seeds**: ${seedParts.join("; ")}. A run seed derives the initialization, each ` +
      `epoch's shuffle, the image noise and the label corruption; the same seed on the same ` +
      `adapter gives identical numbers.`,
  );
  // Set-ups that differ between parts make cross-part comparisons unfair: say so.
  const differences: string[] = [];
  for (const p of present.slice(1)) {
    if (JSON.stringify(p.recipe) !== JSON.stringify(first.recipe)) differences.push("recipe");
    if (p.trainImages !== first.trainImages || p.testImages !== first.testImages) {
      differences.push("data");
    }
    if (p.adapter !== first.adapter) differences.push("adapter");
  }
  if (differences.length) {
    lines.push(
      `- **Warning**: the parts differ in ${[...new Set(differences)].join(", ")}; ` +
        `comparisons across parts are not like for like. Rerun with \`deno task all\`.`,
    );
  }
  const check = reproducibilityCheck(r);
  if (check) lines.push(`- **Reproducibility**: ${check}`);
  const timeRows = ([[1, r.part1], [2, r.part2], [3, r.part3]] as const)
    .filter(([, p]) => p)
    .map(([k, p]) => {
      const runs: RunRecord[] = k === 1
        ? (p as Part1Metrics).runs
        : (p as Part2Metrics | Part3Metrics).conditions.flatMap((c): RunRecord[] => c.runs);
      const trained = runs.filter((x) => !x.reusedFrom);
      const reused = runs.length - trained.length;
      const train = trained.reduce((a, x) => a + x.trainSeconds, 0);
      const rate = trained.length
        ? trained.reduce((a, x) => a + x.imagesPerSecond, 0) / trained.length
        : NaN;
      return [
        `Part ${k}`,
        `${trained.length}${reused ? ` (+${reused} reused from Part 1)` : ""}`,
        durationText(train),
        Number.isFinite(rate) ? intText(rate) : "–",
        durationText(p!.timings.totalSeconds),
      ];
    });
  lines.push(
    "",
    "Time taken (training excludes the test-error evaluations during training):",
    "",
    table(
      ["part", "runs trained", "training", "images/s (mean)", "total"],
      timeRows,
      ["l", "r", "r", "r", "r"],
    ),
  );
  if (r.allSeconds !== undefined) {
    lines.push(
      "",
      `\`deno task all\` took ${durationText(r.allSeconds)} up to writing this report.`,
    );
  }
  const p1 = r.part1;
  const testN = first.testImages;
  const exampleP = p1 ? summarizeRuns(p1.runs).testError.mean : null;
  lines.push(
    "",
    "**How conditions are compared.** Differences are in percentage points. Runs with the same " +
      "seed index share initialization and shuffling, so two conditions are compared by the " +
      "mean of their paired differences with a 95% t interval over seeds; a difference is " +
      "**established** only when that interval excludes 0 (test-time comparisons on the same " +
      "models also need the interval over images to exclude 0). Within one condition (classes " +
      "against each other) a difference counts as real only when it exceeds the larger of the " +
      "two standard deviations over seeds. With one run per condition nothing is established; " +
      "`--seeds N` repeats every condition N times.",
  );
  if (exampleP !== null) {
    lines.push(
      "",
      `For scale: an error rate of ${pctText(exampleP)} measured on ${
        intText(testN)
      } test images ` +
        `has a test-set sampling error of about ±${
          (samplingError(exampleP, testN) * 100).toFixed(2)
        } points (binomial); seed-to-seed variation adds to that.`,
    );
  }
  return { heading: "Set-up", markdown: lines.join("\n"), figures: [] };
}
