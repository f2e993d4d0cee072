/**
 * The study report: reads `results/part{1,2,3}/metrics.json` (and, when present, Part 1's
 * ablation `results/part1/ablation/metrics.json` and the baselines `results/baselines/metrics.json`)
 * and writes `results/REPORT.md` and
 * a self-contained `results/report.html` (chart.js inlined; charts drawn from the same
 * configurations as the PNGs; the digit grid embedded as a data URL).
 *
 *   deno task report [--results results]
 *
 * A missing part does not stop the report: its section says the part was not run and how to
 * produce it, and the rest is reported. With no part at all, or a damaged metrics file, the
 * report stops with a one-line message (exit code 1) and writes nothing.
 *
 * @module
 */
import {
  asAblation,
  asBaselines,
  asPart1,
  asPart2,
  asPart3,
  buildReport,
  EngineError,
  MetricsFormatError,
  pngDataUrl,
  reportHtml,
  reportMarkdown,
  type StudyResults,
} from "../mod.ts";
import {
  formatHelp,
  type OptionSpec,
  OutputDir,
  parseOptions,
  readChartJsSource,
} from "../mod_deno.ts";
import { join } from "node:path";
import { checkWritable, runExperiment } from "./common.ts";

export const REPORT_SPEC: Record<string, OptionSpec> = {
  results: {
    type: "path",
    default: "results",
    description: "folder with part1/, part2/, part3/; REPORT.md and report.html are written there",
  },
};

const PROGRAM = {
  name: "deno task report",
  summary: "Write results/REPORT.md and results/report.html from the results of Parts 1-3.",
};

/** A report that cannot be produced from the files found (no parts, damaged files). */
export class ReportInputError extends EngineError {
  override name = "ReportInputError";
}

async function readPart<T>(
  dir: string,
  part: 1 | 2 | 3,
  check: (value: unknown, file: string) => T,
): Promise<{ value?: T; missing?: string }> {
  const file = join(dir, `part${part}`, "metrics.json");
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { missing: `${file} was not found` };
    throw e;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ReportInputError(
      `${file} is not valid JSON (${(e as Error).message}); produce it again with ` +
        `deno task part${part}`,
    );
  }
  return { value: check(value, file) };
}

/** Reads the parts found under `dir`; throws ReportInputError when there is nothing to report. */
export async function readStudyResults(dir: string): Promise<StudyResults> {
  const r1 = await readPart(dir, 1, asPart1);
  const r2 = await readPart(dir, 2, asPart2);
  const r3 = await readPart(dir, 3, asPart3);
  if (!r1.value && !r2.value && !r3.value) {
    throw new ReportInputError(
      `no results under ${dir}/: none of part1/, part2/, part3/ has a metrics.json; run ` +
        `deno task all (or deno task part1, part2, part3) first`,
    );
  }
  const ablation = await readOptional(join(dir, "part1", "ablation", "metrics.json"), asAblation);
  const baselines = await readOptional(join(dir, "baselines", "metrics.json"), asBaselines);
  const missingReasons: StudyResults["missingReasons"] = {};
  if (r1.missing) missingReasons[1] = r1.missing;
  if (r2.missing) missingReasons[2] = r2.missing;
  if (r3.missing) missingReasons[3] = r3.missing;
  return {
    part1: r1.value,
    part2: r2.value,
    part3: r3.value,
    ablation,
    baselines,
    missingReasons,
  };
}

/** A result file the report can do without: undefined when absent; damaged: ReportInputError. */
async function readOptional<T>(
  file: string,
  check: (value: unknown, file: string) => T,
): Promise<T | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  try {
    return check(JSON.parse(text), file);
  } catch (e) {
    if (e instanceof SyntaxError) {
      throw new ReportInputError(`${file} is not valid JSON (${e.message}); produce it again`);
    }
    throw e;
  }
}

/** Writes REPORT.md and report.html into `dir`; returns the paths written. */
export async function runReport(o: { results: string; allSeconds?: number }): Promise<string[]> {
  const t0 = performance.now();
  let results: StudyResults;
  try {
    results = await readStudyResults(o.results);
  } catch (e) {
    if (e instanceof MetricsFormatError) throw new ReportInputError(e.message);
    throw e;
  }
  results.allSeconds = o.allSeconds;
  const report = buildReport(results);
  const createdAt = new Date().toISOString();
  // Images without a chart spec (the digit grid) go into the HTML as data URLs.
  const images = new Map<string, string>();
  for (const s of report.sections) {
    for (const f of s.figures) {
      if (f.spec) continue;
      try {
        images.set(f.png, pngDataUrl(await Deno.readFile(join(o.results, f.png))));
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
        console.error(`warning: ${join(o.results, f.png)} not found; the HTML report omits it`);
      }
    }
  }
  const html = reportHtml(report, {
    chartJsSource: await readChartJsSource(),
    resolveImage: (png) => images.get(png) ?? png,
    createdAt,
    resultsDir: o.results,
  });
  const out = new OutputDir(o.results);
  out.stage("REPORT.md", reportMarkdown(report, createdAt, o.results));
  out.stage("report.html", html);
  const written = await out.commit();
  const parts = ([1, 2, 3] as const).filter((k) => results[`part${k}`]);
  const missing = ([1, 2, 3] as const).filter((k) => !results[`part${k}`]);
  console.log(
    `report: parts ${parts.join(", ")}${
      missing.length ? ` (part ${missing.join(", ")} missing: not answered)` : ""
    }; wrote ${written.join(", ")} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return written;
}

async function main(): Promise<number> {
  const { options, help } = parseOptions<{ results: string }>(Deno.args, REPORT_SPEC, PROGRAM);
  if (help) {
    console.log(formatHelp(REPORT_SPEC, PROGRAM));
    return 0;
  }
  await checkWritable(options.results, ["REPORT.md", "report.html"], "--results");
  await runReport(options);
  return 0;
}

if (import.meta.main) runExperiment(main, PROGRAM.name);
