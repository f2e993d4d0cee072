/**
 * The whole study in one process: Parts 1, 2 and 3, then the report. The device and the data are
 * set up once and shared; each part writes its results folder when it finishes (atomically), so
 * an interruption keeps the parts already done. Prints the total time at the end.
 *
 * Sigma 0 (Part 2) and fraction 0 (Part 3) are Part 1's recipe; with the same seeds and data they
 * would give bit-identical numbers, so `all` reuses Part 1's runs for them (recorded as
 * `reusedFrom: "part1"` and stated in the report); `--rerun-baselines` trains them again.
 *
 *   deno task all [--epochs 1] [--seeds 1] [--seed 1] [--sigmas 0,8,32,128]
 *                 [--fracs 0,0.05,0.15,0.5] [--label-mode uniform] [--rerun-baselines]
 *                 [--results results]
 *
 * Every option is checked before any work starts.
 *
 * Interrupted (Ctrl-C or SIGTERM, exit 130), the same command continues: a finished Part 1 of the
 * same configuration is kept (results/part1/metrics.json), and Parts 2 and 3 train only the runs
 * not yet in results/part{2,3}/runs/.
 *
 * @module
 */
import { join } from "node:path";
import { canonicalJson, type LabelMode, type RunRecord } from "../mod.ts";
import { formatDuration, formatHelp, type OptionSpec, parseOptions } from "../mod_deno.ts";
import {
  checkWritable,
  runExperiment,
  runRecord,
  setup,
  sweepValues,
  TRAINING_OPTIONS,
  type TrainingOptions,
} from "./common.ts";
import { part1Configuration, runPart1 } from "./part1.ts";
import { DEFAULT_SIGMAS, PART2_SIGMA_OPTIONS, runPart2 } from "./part2.ts";
import {
  DEFAULT_FRACS,
  PART3_FRAC_OPTIONS,
  PART3_STUDY_OPTIONS,
  part3Plan,
  runPart3,
  type StudiesChoice,
} from "./part3.ts";
import { runReport } from "./report.ts";

export const ALL_SPEC: Record<string, OptionSpec> = {
  ...TRAINING_OPTIONS,
  ...PART2_SIGMA_OPTIONS,
  ...PART3_FRAC_OPTIONS,
  ...PART3_STUDY_OPTIONS,
  full: {
    type: "boolean",
    description: "the full profile: 5 seeds per condition and the full label-noise studies " +
      "(whole training set); without it the standard profile fits about 30 minutes on a CPU",
  },
  rerunBaselines: {
    type: "boolean",
    description: "train sigma 0 and fraction 0 again instead of reusing Part 1's runs (same " +
      "seeds, recipe and data, so the numbers are identical; costs two more runs per seed)",
  },
  results: {
    type: "path",
    default: "results",
    description: "results folder: part1/, part2/, part3/, REPORT.md and report.html go there",
  },
};

const PROGRAM = {
  name: "deno task all",
  summary: "The whole study: Part 1 (clean), Part 2 (image noise), Part 3 (label noise), then " +
    "the report (results/REPORT.md, results/report.html).",
};

type AllOptions = TrainingOptions & {
  sigma?: number;
  sigmas?: number[];
  frac?: number;
  fracs?: number[];
  labelMode: LabelMode;
  studies: StudiesChoice;
  full: boolean;
  rerunBaselines: boolean;
  results: string;
};

/** The runs of `dir/metrics.json` if it records Part 1 with this configuration. */
async function finishedPart1(dir: string, config: unknown): Promise<RunRecord[] | undefined> {
  try {
    const m = JSON.parse(await Deno.readTextFile(join(dir, "metrics.json")));
    if (canonicalJson(m.configuration) === canonicalJson(config)) return m.runs;
  } catch {
    // missing or unreadable: train Part 1
  }
  return undefined;
}

async function main(): Promise<number> {
  const t0 = performance.now();
  const { options, help } = parseOptions<AllOptions>(Deno.args, ALL_SPEC, PROGRAM);
  if (help) {
    console.log(formatHelp(ALL_SPEC, PROGRAM));
    return 0;
  }
  if (options.full) options.seeds = Math.max(options.seeds, 5);
  const sigmas = sweepValues(options.sigma, options.sigmas, DEFAULT_SIGMAS, {
    single: "sigma",
    list: "sigmas",
    program: PROGRAM.name,
  });
  const fracs = sweepValues(options.frac, options.fracs, DEFAULT_FRACS, {
    single: "frac",
    list: "fracs",
    program: PROGRAM.name,
  });
  const dir = options.results;
  await checkWritable(dir);
  const s = await setup(options);
  const studies = options.full && options.studies === "standard" ? "full" : options.studies;
  // Part 3's share of the plan (sweep and label-noise studies), before any training
  console.error(
    part3Plan({ ...options, fracs, studies }, s.train.count, options.seeds, !options.rerunBaselines)
      .text,
  );
  const times: string[] = [];
  const step = async (name: string, run: () => Promise<unknown>) => {
    console.error(`\n=== ${name} (${formatDuration((performance.now() - t0) / 1000)} elapsed)`);
    const start = performance.now();
    await run();
    times.push(`${name.split(":")[0]} ${formatDuration((performance.now() - start) / 1000)}`);
  };
  let part1: readonly RunRecord[] = [];
  const command = { task: "all", argv: Deno.args };
  const part1Dir = join(dir, "part1");
  await step("Part 1: clean training set", async () => {
    // a finished Part 1 of the same configuration (an earlier, interrupted `all`) is kept
    const done = await finishedPart1(part1Dir, part1Configuration(options, s));
    if (done) {
      console.error(
        `${part1Dir}/metrics.json has Part 1 with this recipe, these seeds and this data; ` +
          `not trained again`,
      );
      part1 = done;
      return;
    }
    part1 = (await runPart1({ ...options, out: part1Dir }, s)).map(runRecord);
  });
  // Sigma 0 and fraction 0 are Part 1's recipe with Part 1's seeds on the same data: reuse those
  // runs (training is deterministic) unless asked to train them again.
  const baseline = options.rerunBaselines ? undefined : part1;
  await step(
    "Part 2: image noise",
    () => runPart2({ ...options, sigmas, out: join(dir, "part2") }, s, baseline, command),
  );
  await step(
    "Part 3: label noise",
    () =>
      runPart3(
        {
          ...options,
          fracs,
          out: join(dir, "part3"),
          studies,
        },
        s,
        baseline,
        command,
      ),
  );
  await step(
    "Report",
    () => runReport({ results: dir, allSeconds: (performance.now() - t0) / 1000 }),
  );
  const total = (performance.now() - t0) / 1000;
  console.log(
    `\ndeno task all: total time ${formatDuration(total)} (${total.toFixed(1)} s; set-up ${
      formatDuration(s.setupSeconds)
    }, ${times.join(", ")}); report: ${join(dir, "REPORT.md")}, ${join(dir, "report.html")}`,
  );
  return 0;
}

if (import.meta.main) runExperiment(main, PROGRAM.name);
