/**
 * Declarative command-line options for the experiment scripts, on top of `node:util` parseArgs.
 *
 * Every user mistake becomes a {@link UsageError} whose message is one line naming the option,
 * the value given and what is accepted, e.g. `--frac must be a number in [0, 1], got "1.5"`.
 * {@link runCli} turns those into exit code 2 without a stack trace.
 *
 * Spec keys are camelCase in TypeScript and kebab-case on the command line
 * (`batchSize` is `--batch-size`); the parsed options object uses the spec keys.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { EngineError, isUserFacing } from "../util/errors.ts";

/** A mistake on the command line; {@link runCli} prints it on one line and exits with code 2. */
export class UsageError extends EngineError {
  /** Error name shown before the message. */
  override name = "UsageError";
  /** Usage mistakes exit with code 2. */
  override readonly exitCode = 2;
  /** The program's name, for the "run ... --help" hint; set by {@link parseOptions}. */
  program?: string;
}

/** Value kinds an option accepts; "number-list" is comma-separated, "path" non-empty text. */
export type OptionType = "int" | "number" | "string" | "boolean" | "enum" | "number-list" | "path";

/** One option of a program: its kind, default, bounds and help text. */
export interface OptionSpec {
  /** What the value must be, and what it parses to. */
  type: OptionType;
  /** Used when the option is absent; booleans default to false. */
  default?: number | string | boolean | readonly number[];
  /** Inclusive bounds for int, number and each number-list item (see the *Exclusive flags). */
  min?: number;
  /** Upper bound (inclusive unless `maxExclusive`). */
  max?: number;
  /** Make `min` exclusive (the value must be greater). */
  minExclusive?: boolean;
  /** Make `max` exclusive (the value must be smaller). */
  maxExclusive?: boolean;
  /** The accepted values of an enum. */
  values?: readonly string[];
  /** An option with no default that must be given; otherwise an absent option is undefined. */
  required?: boolean;
  /** One line for `--help`. */
  description: string;
  /** A one-letter alias, e.g. "e" for `-e 10`. */
  short?: string;
}

/** A program's name, summary and positional arguments, for parsing and `--help`. */
export interface ProgramInfo {
  /** How the user starts it, e.g. "deno task part2"; used in the usage line and the hint. */
  name: string;
  /** One sentence saying what the program does, for `--help`. */
  summary: string;
  /** Without this, positional arguments are rejected. */
  positional?: { name: string; description: string; min?: number; max?: number };
}

/** The result of {@link parseOptions}. */
export interface ParsedOptions<T> {
  /** Option values by spec key (camelCase), defaults filled in. */
  options: T;
  /** Positional arguments, in order. */
  positionals: string[];
  /** `--help`/`-h` was given: print {@link formatHelp} and stop; `options` holds only defaults. */
  help: boolean;
}

/** `batchSize` -> `batch-size`. */
export function optionFlag(key: string): string {
  return key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

// Plain decimal/exponent syntax only: Number() would also accept "", " ", "0x10" and "Infinity".
const NUMBER_SYNTAX = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function parseNumber(text: string): number | undefined {
  if (!NUMBER_SYNTAX.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined; // "1e999" overflows to Infinity
}

function rangeText(spec: OptionSpec): string {
  const { min, max } = spec;
  if (min !== undefined && max !== undefined) {
    return `in ${spec.minExclusive ? "(" : "["}${min}, ${max}${spec.maxExclusive ? ")" : "]"}`;
  }
  if (min !== undefined) return `${spec.minExclusive ? ">" : ">="} ${min}`;
  if (max !== undefined) return `${spec.maxExclusive ? "<" : "<="} ${max}`;
  return "";
}

function inRange(value: number, spec: OptionSpec): boolean {
  const { min, max } = spec;
  if (min !== undefined && (spec.minExclusive ? value <= min : value < min)) return false;
  if (max !== undefined && (spec.maxExclusive ? value >= max : value > max)) return false;
  return true;
}

/** What the option accepts, as the end of "--x must be ...". */
function expectation(spec: OptionSpec): string {
  const range = rangeText(spec);
  const suffix = range ? ` ${range}` : "";
  switch (spec.type) {
    case "int":
      return `an integer${suffix}`;
    case "number":
      return `a number${suffix}`;
    case "number-list":
      return `a comma-separated list of numbers${range ? ` each ${range}` : ""}`;
    case "enum":
      return `one of ${(spec.values ?? []).join(", ")}`;
    case "path":
      return "a non-empty path";
    case "string":
      return "a non-empty string";
    case "boolean":
      return "a flag without a value";
  }
}

function quote(text: string): string {
  return JSON.stringify(text);
}

function usageError(message: string, program: ProgramInfo): UsageError {
  const error = new UsageError(message);
  error.program = program.name;
  return error;
}

/** Converts one option's text to its value, or returns the reason it is not acceptable. */
function convert(text: string, spec: OptionSpec): { value: unknown } | { problem: string } {
  switch (spec.type) {
    case "int": {
      const value = parseNumber(text);
      if (value === undefined || !Number.isSafeInteger(value) || !inRange(value, spec)) {
        return { problem: "" };
      }
      return { value };
    }
    case "number": {
      const value = parseNumber(text);
      if (value === undefined || !inRange(value, spec)) return { problem: "" };
      return { value };
    }
    case "number-list": {
      const items = text.split(",");
      const values: number[] = [];
      for (let i = 0; i < items.length; i++) {
        const item = items[i].trim();
        if (item === "") {
          return { problem: text.trim() === "" ? "" : ` (item ${i + 1} is empty)` };
        }
        const value = parseNumber(item);
        if (value === undefined) return { problem: ` (item ${i + 1} "${item}" is not a number)` };
        if (!inRange(value, spec)) return { problem: ` (item ${i + 1} is ${item})` };
        values.push(value);
      }
      return { value: values };
    }
    case "enum":
      return spec.values?.includes(text) ? { value: text } : { problem: "" };
    case "path":
    case "string":
      // A NUL byte can never be part of a path; an empty value is almost always a shell mistake.
      return text === "" || text.includes("\0") ? { problem: "" } : { value: text };
    case "boolean":
      return { problem: "" };
  }
}

/** A value that looks like the next option rather than this option's argument. */
function looksLikeOption(text: string, spec: OptionSpec): boolean {
  if (!text.startsWith("-") || text === "-") return false;
  const numeric = spec.type === "int" || spec.type === "number" || spec.type === "number-list";
  if (!numeric) return true;
  // Negative numbers (and junk like "-Infinity") are values, so they reach range checking with a
  // clear message; only `--x` or a lone `-x` reads as the next option.
  return text.startsWith("--") || /^-[A-Za-z]$/.test(text);
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** Throws a plain Error (a programming mistake, not a usage mistake) for an inconsistent spec. */
function checkSpec(spec: Record<string, OptionSpec>): void {
  const shorts = new Set<string>(["h"]);
  for (const [key, option] of Object.entries(spec)) {
    const flag = `--${optionFlag(key)}`;
    if (key === "help") throw new Error(`option spec: ${flag} is reserved`);
    if (option.type === "enum" && !option.values?.length) {
      throw new Error(`option spec: ${flag} is an enum without values`);
    }
    if (option.short !== undefined) {
      if (option.short.length !== 1 || shorts.has(option.short)) {
        throw new Error(`option spec: ${flag} has a bad or duplicate short name "${option.short}"`);
      }
      shorts.add(option.short);
    }
    if (option.default === undefined || option.type === "boolean") continue;
    // Defaults must satisfy the same rules as user input, so help text and behaviour agree.
    const text = Array.isArray(option.default) ? option.default.join(",") : String(option.default);
    if ("problem" in convert(text, option)) {
      throw new Error(`option spec: default of ${flag} (${text}) is not ${expectation(option)}`);
    }
  }
}

function defaultValue(option: OptionSpec): unknown {
  if (option.type === "boolean") return option.default ?? false;
  return Array.isArray(option.default) ? [...option.default] : option.default;
}

/**
 * Parses `argv` (e.g. `Deno.args`) against `spec`. Accepts `--name value`, `--name=value` and
 * `-x value` for options with a `short` name; `--` ends the options. Throws {@link UsageError}
 * for unknown options, missing values, bad values, repeated options and wrong positional counts.
 */
export function parseOptions<T = Record<string, unknown>>(
  argv: string[],
  spec: Record<string, OptionSpec>,
  program: ProgramInfo,
): ParsedOptions<T> {
  checkSpec(spec);
  const byFlag = new Map<string, [string, OptionSpec]>();
  const parseArgsOptions: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [key, option] of Object.entries(spec)) {
    const flag = optionFlag(key);
    byFlag.set(flag, [key, option]);
    parseArgsOptions[flag] = {
      type: option.type === "boolean" ? "boolean" : "string",
      ...(option.short ? { short: option.short } : {}),
    };
  }

  const options: Record<string, unknown> = {};
  for (const [key, option] of Object.entries(spec)) options[key] = defaultValue(option);

  // Help wins over every other mistake, so `--epochs --help` still shows the help.
  const terminator = argv.indexOf("--");
  const beforeTerminator = terminator < 0 ? argv : argv.slice(0, terminator);
  if (beforeTerminator.some((arg) => arg === "--help" || arg === "-h")) {
    return { options: options as T, positionals: [], help: true };
  }

  // strict: false so that we see every token and write our own one-line messages.
  const { tokens } = parseArgs({
    args: argv,
    options: parseArgsOptions,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });

  const seen = new Set<string>();
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional") {
      positionals.push(token.value);
      continue;
    }
    if (token.kind !== "option") continue;
    // Reached only through grouped short flags such as `-vh`.
    if (token.name === "help") return { options: options as T, positionals: [], help: true };
    const entry = byFlag.get(token.name);
    if (!entry) {
      const known = [...byFlag.keys()];
      const close = known
        .map((flag) => ({ flag, distance: editDistance(token.name, flag) }))
        .filter((c) => c.distance <= Math.max(1, Math.floor(c.flag.length / 3)))
        .sort((a, b) => a.distance - b.distance)[0];
      const hint = close
        ? `did you mean --${close.flag}?`
        : `accepted: ${known.map((f) => `--${f}`).join(", ") || "none"}`;
      throw usageError(`unknown option ${quote(token.rawName)} (${hint})`, program);
    }
    const [key, option] = entry;
    const flag = `--${token.name}`;
    if (seen.has(key)) throw usageError(`${flag} was given more than once`, program);
    seen.add(key);

    if (option.type === "boolean") {
      if (token.inlineValue) {
        throw usageError(
          `${flag} is a flag and takes no value, got ${quote(token.value!)}`,
          program,
        );
      }
      options[key] = true;
      continue;
    }
    const text = token.value;
    if (text === undefined || (!token.inlineValue && looksLikeOption(text, option))) {
      // parseArgs consumed the next option as our value; write `--x=-value` to mean it literally.
      throw usageError(`${flag} needs a value: ${expectation(option)}`, program);
    }
    const result = convert(text, option);
    if ("problem" in result) {
      throw usageError(
        `${flag} must be ${expectation(option)}, got ${quote(text)}${result.problem}`,
        program,
      );
    }
    options[key] = result.value;
  }

  for (const [key, option] of Object.entries(spec)) {
    if (option.required && options[key] === undefined) {
      throw usageError(`--${optionFlag(key)} is required: ${expectation(option)}`, program);
    }
  }

  const positional = program.positional;
  if (!positional) {
    if (positionals.length > 0) {
      throw usageError(
        `unexpected argument ${quote(positionals[0])} (${program.name} takes only options)`,
        program,
      );
    }
  } else {
    const min = positional.min ?? 0;
    const max = positional.max ?? Infinity;
    if (positionals.length < min || positionals.length > max) {
      const wanted = min === max
        ? `${min}`
        : max === Infinity
        ? `at least ${min}`
        : `${min} to ${max}`;
      throw usageError(
        `expected ${wanted} <${positional.name}> argument(s), got ${positionals.length}`,
        program,
      );
    }
  }
  return { options: options as T, positionals, help: false };
}

function placeholder(option: OptionSpec): string {
  switch (option.type) {
    case "boolean":
      return "";
    case "enum":
      return ` <${(option.values ?? []).join("|")}>`;
    case "number-list":
      return " <n,n,...>";
    case "int":
      return " <int>";
    case "number":
      return " <number>";
    case "path":
      return " <path>";
    case "string":
      return " <text>";
  }
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.length ? lines : [""];
}

/** The `--help` text: usage line, summary, and every option with its default and range. */
export function formatHelp(
  spec: Record<string, OptionSpec>,
  program: ProgramInfo,
  lineWidth = 100,
): string {
  const positional = program.positional;
  const usage = `Usage: ${program.name} [options]${positional ? ` <${positional.name}...>` : ""}`;
  const rows: [string, string][] = [];
  for (const [key, option] of Object.entries(spec)) {
    const names = `${option.short ? `-${option.short}, ` : "    "}--${optionFlag(key)}`;
    const notes: string[] = [];
    const range = rangeText(option);
    if (range) notes.push(option.type === "number-list" ? `each ${range}` : range);
    if (option.required) notes.push("required");
    else if (option.default !== undefined && option.type !== "boolean") {
      const shown = Array.isArray(option.default) ? option.default.join(",") : option.default;
      notes.push(`default: ${shown}`);
    }
    const note = notes.length ? ` (${notes.join("; ")})` : "";
    rows.push([names + placeholder(option), option.description + note]);
  }
  rows.push(["-h, --help", "show this help and exit"]);

  const column = Math.min(Math.max(...rows.map(([left]) => left.length)) + 4, 40);
  const lines = [usage, "", ...wrap(program.summary, lineWidth)];
  if (positional) {
    lines.push("", "Arguments:");
    for (const text of wrap(positional.description, lineWidth - column)) {
      lines.push(`  <${positional.name}>`.padEnd(column) + text);
    }
  }
  lines.push("", "Options:");
  for (const [left, description] of rows) {
    const text = wrap(description, lineWidth - column);
    const head = `  ${left}`;
    if (head.length >= column) lines.push(head, ...text.map((t) => " ".repeat(column) + t));
    else {lines.push(
        head.padEnd(column) + text[0],
        ...text.slice(1).map((t) => " ".repeat(column) + t),
      );}
  }
  return lines.join("\n") + "\n";
}

/** Marks an error as an expected, user-facing failure: {@link runCli} prints it without a stack. */
export function expectedError<E extends Error>(error: E): E {
  (error as E & { expected?: boolean }).expected = true;
  return error;
}

/** Deno's own errors about files and permissions: the path the user gave is in the message. */
const FILE_ERRORS = [
  Deno.errors.NotFound,
  Deno.errors.PermissionDenied,
  Deno.errors.NotCapable,
  Deno.errors.AlreadyExists,
  Deno.errors.IsADirectory,
  Deno.errors.NotADirectory,
  Deno.errors.FilesystemLoop,
  Deno.errors.InvalidData,
  Deno.errors.UnexpectedEof,
];

/**
 * Writes the report for an error thrown by a command's main function and returns the exit code:
 * a user-facing error (see `EngineError`) and Deno's file errors get one line and their exit code
 * (2 for usage errors, 130 for an interruption, else 1); anything else is a bug and gets its stack
 * and exit code 1. Exported so the mapping can be tested in-process.
 */
export function reportError(error: unknown, writeLine: (line: string) => void): number {
  if (error instanceof UsageError) {
    writeLine(`error: ${firstLine(error.message)}`);
    const command = error.program ? `${error.program} --help` : "with --help";
    writeLine(`Run ${command} to see the accepted options.`);
    return 2;
  }
  if (isUserFacing(error)) {
    writeLine(`error: ${error.message}`);
    return error.exitCode ?? 1;
  }
  if (FILE_ERRORS.some((kind) => error instanceof kind)) {
    writeLine(`error: ${firstLine((error as Error).message)}`);
    return 1;
  }
  if (error instanceof Error) writeLine(error.stack ?? `${error.name}: ${error.message}`);
  else writeLine(`error: a non-Error value was thrown: ${String(error)}`);
  return 1;
}

// Usage messages are one line by contract; guard against a multi-line message slipping through.
function firstLine(text: string): string {
  return text.split("\n", 1)[0];
}

/**
 * Runs a command's main function and exits the process: with main's return value (default 0),
 * 2 after a {@link UsageError}, 1 after any other error (stack trace only for unexpected ones).
 */
export async function runCli(main: () => Promise<number | void>): Promise<never> {
  let code: number;
  try {
    code = (await main()) ?? 0;
  } catch (error) {
    code = reportError(error, (line) => console.error(line));
  }
  Deno.exit(code);
}
