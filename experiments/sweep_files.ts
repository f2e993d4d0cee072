/**
 * The Deno side of the sweep runner (src/study/sweep.ts) for Parts 2 and 3: one JSON file per
 * finished run under `<out>/runs/` (written atomically), the conditions of a part declared as
 * data, and what every part does around its sweep (set-up, plan and progress on stderr, charts,
 * metrics.json, the summary table). Running the same command again continues an interrupted
 * sweep: stored runs of the same configuration are not trained again.
 *
 * @module
 */
import { join } from "node:path";
import {
  type ChartSpec,
  type ConditionSummary,
  type PlannedRun,
  type RunRecord,
  type RunStore,
  runSweep,
  type StoredRun,
} from "../mod.ts";
import {
  ensureDir,
  formatHelp,
  type OptionSpec,
  OutputDir,
  parseOptions,
  type ProgramInfo,
  writeJsonAtomic,
} from "../mod_deno.ts";
import {
  checkWritable,
  dataRecord,
  environmentRecord,
  installInterruptHandler,
  InterruptedError,
  modelSpecOf,
  pct,
  type Recipe,
  recipeOf,
  runSeeds,
  type Setup,
  setup,
  stageSweepCharts,
  sweepValues,
  type TrainingOptions,
} from "./common.ts";

/** Runs stored as `<dir>/<key>.json`. */
export class FileRunStore<R> implements RunStore<R> {
  constructor(readonly dir: string) {}

  where(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  async load(key: string): Promise<unknown> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.where(key));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
    return JSON.parse(text);
  }

  async save(key: string, run: StoredRun<R>): Promise<void> {
    await ensureDir(this.dir);
    await writeJsonAtomic(this.where(key), run);
  }
}

/** `deno task NAME ARGS...` with arguments quoted where a shell needs it. */
export function commandLine(task: string, args: readonly string[]): string {
  const quote = (a: string) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`;
  return [`deno task ${task}`, ...args.map(quote)].join(" ");
}

/** One condition of a sweep (a sigma, a label-noise fraction). */
export interface ConditionDecl<R extends RunRecord> {
  /** File-name part, e.g. "sigma8". */
  key: string;
  /** For progress lines, e.g. "sigma 8". */
  label: string;
  /** What sets the condition apart (recorded in every run's configuration). */
  condition: Record<string, unknown>;
  /** Trains the run of this condition with `seed`. */
  train: (seed: number, label: string) => Promise<R>;
  /** A run that stands in without training (Part 1's run as the baseline), if any. */
  reuse?: (seed: number) => R | undefined;
}

/**
 * Runs every condition x seed not already stored under `<out>/runs/`, storing each when it
 * finishes; returns the runs per condition. An interruption keeps the finished runs and throws
 * an {@link InterruptedError} that says how to continue.
 */
export async function sweepConditions<R extends RunRecord>(
  s: Setup,
  o: {
    out: string;
    recipe: Recipe;
    seeds: number[];
    conditions: ConditionDecl<R>[];
    /** The command that continues this sweep. */
    continueWith: string;
  },
): Promise<R[][]> {
  const store = new FileRunStore<R>(join(o.out, "runs"));
  const planned: { run: PlannedRun; decl: ConditionDecl<R>; seed: number }[] = [];
  for (const decl of o.conditions) {
    for (const [i, seed] of o.seeds.entries()) {
      planned.push({
        decl,
        seed,
        run: {
          key: `${decl.key}-seed${seed}`,
          label: decl.label + (o.seeds.length > 1 ? ` seed ${i + 1}/${o.seeds.length}` : ""),
          config: {
            recipe: o.recipe,
            seed,
            condition: decl.condition,
            data: dataRecord(s),
          },
        },
      });
    }
  }
  const byKey = new Map(planned.map((p) => [p.run.key, p]));
  const signal = installInterruptHandler();
  const outcome = await runSweep<R>({
    runs: planned.map((p) => p.run),
    store,
    signal,
    log: (line) => console.error(line),
    seconds: (r) => r.trainSeconds,
    reuse: (run) => {
      const p = byKey.get(run.key)!;
      const record = p.decl.reuse?.(p.seed);
      return record ? { record, from: `Part 1's run with seed ${p.seed}` } : undefined;
    },
    train: async (run) => {
      const p = byKey.get(run.key)!;
      try {
        return await p.decl.train(p.seed, run.label);
      } catch (e) {
        if (e instanceof InterruptedError) return undefined;
        throw e;
      }
    },
  });
  if (outcome.interrupted) {
    const kept = outcome.records.filter((r) => r !== undefined).length;
    throw new InterruptedError(
      `interrupted; ${kept} of ${planned.length} run(s) finished and kept in ${store.dir}; ` +
        `continue with: ${o.continueWith}`,
    );
  }
  return o.conditions.map((decl) =>
    planned.flatMap((p, i) => (p.decl === decl ? [outcome.records[i]!] : []))
  );
}

/** What Parts 2 and 3 declare over the shared sweep machinery. */
export interface StudyPart<R extends RunRecord, C extends ConditionSummary<R>> {
  /** "Part 2". */
  part: string;
  schema: string;
  /** The task name, for the continue command ("part2"). */
  task: string;
  /** The first line on stderr (what is swept). */
  describe: (s: Setup, seeds: number[]) => string;
  conditions: (s: Setup) => ConditionDecl<R>[];
  /** The summary of one condition from its runs. */
  summarize: (s: Setup, decl: ConditionDecl<R>, runs: R[]) => C;
  /** The x value of a condition in the charts. */
  value: (c: C) => number;
  label: (c: C) => string;
  charts: { what: string; errorKey: string; errorFile: string; errorTitle: string; xLabel: string };
  /** Part-specific metrics fields (and staged files), after the sweep. */
  extra: (s: Setup, out: OutputDir, conditions: C[], seeds: number[]) => Promise<object>;
  /** The summary table on stdout. */
  table: (conditions: C[], seeds: number[]) => string[];
}

/**
 * Runs a part's sweep and writes its results folder. `shared` reuses a set-up (from
 * `deno task all`); `args` are the command-line arguments of the continue command.
 */
export async function runStudyPart<R extends RunRecord, C extends ConditionSummary<R>>(
  part: StudyPart<R, C>,
  options: TrainingOptions & { out: string },
  args: { task: string; argv: readonly string[] },
  shared?: Setup,
): Promise<void> {
  const t0 = performance.now();
  const s = shared ?? await setup(options);
  const recipe = recipeOf(options);
  const seeds = runSeeds(options.seed, options.seeds);
  console.error(part.describe(s, seeds));
  const decls = part.conditions(s);
  const runs = await sweepConditions(s, {
    out: options.out,
    recipe,
    seeds,
    conditions: decls,
    continueWith: commandLine(args.task, args.argv),
  });
  const conditions = decls.map((d, i) => part.summarize(s, d, runs[i]));
  const sweep = conditions.map((c) => ({ label: part.label(c), value: part.value(c), summary: c }));
  const out = new OutputDir(options.out);
  const charts: Record<string, ChartSpec> = await stageSweepCharts(out, sweep, {
    part: part.part,
    ...part.charts,
    classNames: s.classNames,
  });
  const extra = await part.extra(s, out, conditions, seeds);
  out.stageJson("metrics.json", {
    schema: part.schema,
    createdAt: new Date().toISOString(),
    ...environmentRecord(s, modelSpecOf(options)),
    recipe,
    seed: options.seed,
    seeds,
    ...extra,
    conditions,
    timings: {
      setupSeconds: s.setupSeconds,
      setupShared: shared !== undefined,
      // runs trained by this sweep (not those reused from Part 1)
      trainSeconds: conditions.reduce(
        (a, c) => a + c.runs.reduce((b, r) => b + (r.reusedFrom ? 0 : r.trainSeconds), 0),
        0,
      ),
      totalSeconds: (performance.now() - t0) / 1000,
    },
    charts,
  });
  const written = await out.commit();
  console.log(`\n${part.part}: test error on the clean test set (${s.test.count} images)`);
  for (const line of part.table(conditions, seeds)) console.log(line);
  console.log(`\nwrote ${written.join(", ")} (and one record per run in ${options.out}/runs/)`);
}

/** `12.34%` or `12.34% +- 0.56%` with several seeds. */
export function errorCell(e: { mean: number; std: number }, seeds: number[], width: number) {
  return pct(e.mean).padStart(width) + (seeds.length > 1 ? ` +- ${pct(e.std)}` : "");
}

/** `--NAME V` (one value) and `--NAMEs V,W` (a list) of a swept quantity, both in [0, max]. */
export function sweptOptions(
  single: string,
  list: string,
  max: number,
  descriptions: { one: string; many: string },
): Record<string, OptionSpec> {
  return {
    [single]: { type: "number", min: 0, max, description: descriptions.one },
    [list]: { type: "number-list", min: 0, max, description: descriptions.many },
  };
}

/**
 * Parses a part's command line (UsageError on a mistake): the options and the swept values
 * (`--x` or `--xs` or the defaults, ascending) as `values`; null after --help.
 */
export function parseStudyArgs<O extends TrainingOptions & { out: string }>(
  argv: readonly string[],
  spec: Record<string, OptionSpec>,
  program: ProgramInfo,
  swept: { single: string; list: string; defaults: readonly number[] },
): (O & { values: number[] }) | null {
  const { options, help } = parseOptions<O>([...argv], spec, program);
  if (help) {
    console.log(formatHelp(spec, program));
    return null;
  }
  const given = options as unknown as Record<string, number[] | number | undefined>;
  const values = sweepValues(
    given[swept.single] as number | undefined,
    given[swept.list] as number[] | undefined,
    swept.defaults,
    { single: swept.single, list: swept.list, program: program.name },
  );
  return { ...options, values };
}

/** The main function of a part's script: parse, check the output folder, run. */
export function studyMain<O extends { out: string }>(
  parse: (argv: readonly string[]) => O | null,
  run: (options: O) => Promise<void>,
): () => Promise<number> {
  return async () => {
    const options = parse(Deno.args);
    if (!options) return 0;
    await checkWritable(options.out, ["metrics.json"]);
    await run(options);
    return 0;
  };
}
