import assert from "node:assert/strict";
import {
  expectedError,
  formatHelp,
  optionFlag,
  type OptionSpec,
  parseOptions,
  reportError,
  UsageError,
} from "../src/cli/args.ts";

const SPEC: Record<string, OptionSpec> = {
  epochs: { type: "int", default: 10, min: 1, max: 1000, short: "e", description: "passes" },
  sigmas: {
    type: "number-list",
    default: [0, 8, 32, 128],
    min: 0,
    max: 255,
    description: "noise strengths in pixel units",
  },
  frac: { type: "number", default: 0.15, min: 0, max: 1, description: "fraction corrupted" },
  lr: { type: "number", default: 0.01, min: 0, minExclusive: true, description: "step size" },
  optimizer: { type: "enum", values: ["sgd", "adam"], default: "sgd", description: "optimizer" },
  outDir: { type: "path", default: "results", description: "results folder" },
  tag: { type: "string", description: "free-form run tag" },
  verbose: { type: "boolean", description: "more logging" },
};
const PROGRAM = { name: "deno task part2", summary: "Trains with pixel noise." };

interface Options {
  epochs: number;
  sigmas: number[];
  frac: number;
  lr: number;
  optimizer: string;
  outDir: string;
  tag?: string;
  verbose: boolean;
}

function parse(...argv: string[]) {
  return parseOptions<Options>(argv, SPEC, PROGRAM);
}

/** Asserts a one-line UsageError whose message contains every fragment. */
function assertUsageError(argv: string[], ...fragments: string[]): UsageError {
  let caught: unknown;
  try {
    parse(...argv);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof UsageError, `${JSON.stringify(argv)} should throw a UsageError`);
  assert.equal(caught.name, "UsageError");
  assert.ok(!caught.message.includes("\n"), `one line: ${caught.message}`);
  for (const fragment of fragments) {
    assert.ok(
      caught.message.includes(fragment),
      `${JSON.stringify(argv)}: message ${JSON.stringify(caught.message)} lacks ${fragment}`,
    );
  }
  assert.equal(caught.program, "deno task part2");
  return caught;
}

Deno.test("defaults fill every option; booleans default to false; no default means undefined", () => {
  const { options, positionals, help } = parse();
  assert.deepEqual(options, {
    epochs: 10,
    sigmas: [0, 8, 32, 128],
    frac: 0.15,
    lr: 0.01,
    optimizer: "sgd",
    outDir: "results",
    tag: undefined,
    verbose: false,
  });
  assert.deepEqual(positionals, []);
  assert.equal(help, false);
  // The default array is copied, so mutating options cannot change the spec.
  options.sigmas.push(1);
  assert.deepEqual(SPEC.sigmas.default, [0, 8, 32, 128]);
});

Deno.test("accepts --name value, --name=value, short names and kebab-case flags", () => {
  const { options } = parse(
    "--epochs",
    "3",
    "--frac=0.5",
    "--sigmas",
    "0, 8,32.5",
    "--lr",
    "1e-3",
    "--optimizer=adam",
    "--out-dir",
    "out/run1",
    "--tag",
    "x",
    "--verbose",
  );
  assert.deepEqual(options, {
    epochs: 3,
    sigmas: [0, 8, 32.5],
    frac: 0.5,
    lr: 0.001,
    optimizer: "adam",
    outDir: "out/run1",
    tag: "x",
    verbose: true,
  });
  assert.equal(parse("-e", "7").options.epochs, 7);
  assert.equal(parse("-e7").options.epochs, 7);
  assert.equal(optionFlag("batchSize"), "batch-size");
});

Deno.test("range bounds are inclusive unless marked exclusive", () => {
  assert.equal(parse("--frac", "0").options.frac, 0);
  assert.equal(parse("--frac", "1").options.frac, 1);
  assert.equal(parse("--epochs", "1000").options.epochs, 1000);
  assert.deepEqual(parse("--sigmas", "0,255").options.sigmas, [0, 255]);
  assertUsageError(["--lr", "0"], "--lr", "> 0", '"0"');
  assertUsageError(["--lr", "-0.5"], "--lr", "> 0", '"-0.5"');
});

Deno.test("bad numbers name the option, the value and the range", () => {
  const error = assertUsageError(["--frac", "1.5"]);
  assert.equal(error.message, '--frac must be a number in [0, 1], got "1.5"');
  for (
    const bad of ["abc", "", "1e", "NaN", "Infinity", "-Infinity", "0x10", " 1", "1e999", "-0.1"]
  ) {
    assertUsageError(["--frac", bad], "--frac", "[0, 1]", JSON.stringify(bad));
  }
  for (const bad of ["2.5", "0", "1001", "ten", "1e3000", "9007199254740993"]) {
    assertUsageError(["--epochs", bad], "--epochs", "an integer", "[1, 1000]", JSON.stringify(bad));
  }
  assertUsageError(["-e", "0"], "--epochs", "[1, 1000]", '"0"');
});

Deno.test("number lists: empty lists, empty items and each out-of-range item are rejected", () => {
  assert.deepEqual(parse("--sigmas", "128").options.sigmas, [128]);
  assert.deepEqual(parse("--sigmas=0,8,32,128").options.sigmas, [0, 8, 32, 128]);
  assertUsageError(["--sigmas", ""], "--sigmas", "[0, 255]", 'got ""');
  assertUsageError(["--sigmas", "8,,32"], "--sigmas", '"8,,32"', "item 2 is empty");
  assertUsageError(["--sigmas", ","], "--sigmas", "item 1 is empty");
  assertUsageError(["--sigmas", "8,32,"], "--sigmas", "item 3 is empty");
  assertUsageError(["--sigmas", "8,x"], "--sigmas", '"8,x"', "item 2", "not a number");
  assertUsageError(["--sigmas", "0,256"], "--sigmas", "[0, 255]", "item 2 is 256");
  assertUsageError(["--sigmas", "300,8"], "--sigmas", "item 1 is 300");
  // A negative item is a value to range-check, not a missing value.
  assertUsageError(["--sigmas", "-1,8"], "--sigmas", "[0, 255]", "item 1 is -1");
  assertUsageError(["--sigmas", "8,NaN"], "--sigmas", "item 2");
});

Deno.test("enums, strings, paths and flags", () => {
  assertUsageError(["--optimizer", "rmsprop"], "--optimizer", "sgd, adam", '"rmsprop"');
  assertUsageError(["--optimizer", "SGD"], "--optimizer", '"SGD"');
  assertUsageError(["--out-dir", ""], "--out-dir", "path", 'got ""');
  assertUsageError(["--tag="], "--tag", 'got ""');
  assertUsageError(["--verbose=yes"], "--verbose", "takes no value", '"yes"');
});

Deno.test("unknown options, missing values, repeats and positionals are usage errors", () => {
  assertUsageError(["--epoch", "3"], '"--epoch"', "did you mean --epochs?");
  assertUsageError(["--bogus"], '"--bogus"', "--epochs", "--out-dir");
  assertUsageError(["-x"], '"-x"');
  assertUsageError(["--epochs"], "--epochs needs a value", "[1, 1000]");
  assertUsageError(["--epochs", "--frac", "0.5"], "--epochs needs a value");
  assertUsageError(["--out-dir", "--verbose"], "--out-dir needs a value");
  assertUsageError(["--epochs", "3", "-e", "4"], "--epochs", "more than once");
  assertUsageError(["extra"], '"extra"', "takes only options");
  // `--x=-value` passes a dash-leading string on purpose.
  assert.equal(parse("--tag=-weird").options.tag, "-weird");
});

Deno.test("positional arguments are counted when the program declares them", () => {
  const program = {
    ...PROGRAM,
    positional: { name: "file", description: "result files", min: 1, max: 2 },
  };
  const { positionals } = parseOptions(["a.json", "--verbose", "b.json"], SPEC, program);
  assert.deepEqual(positionals, ["a.json", "b.json"]);
  assert.deepEqual(parseOptions(["--", "--odd"], SPEC, program).positionals, ["--odd"]);
  assert.throws(() => parseOptions([], SPEC, program), /expected 1 to 2 <file>.*got 0/);
  assert.throws(() => parseOptions(["a", "b", "c"], SPEC, program), UsageError);
});

Deno.test("required options without a default must be given", () => {
  const spec: Record<string, OptionSpec> = {
    input: { type: "path", required: true, description: "input file" },
  };
  assert.throws(() => parseOptions([], spec, PROGRAM), /--input is required: a non-empty path/);
  assert.deepEqual(parseOptions(["--input", "x"], spec, PROGRAM).options, { input: "x" });
});

Deno.test("--help and -h win over other mistakes and return only defaults", () => {
  const spec = { ...SPEC, verbose: { ...SPEC.verbose, short: "v" } };
  assert.equal(parseOptions(["-vh"], spec, PROGRAM).help, true);
  for (const argv of [["--help"], ["-h"], ["--epochs", "0", "--help"], ["--bogus", "-h"]]) {
    const result = parse(...argv);
    assert.equal(result.help, true, JSON.stringify(argv));
    assert.equal(result.options.epochs, 10);
  }
  // After `--`, "-h" is a positional, not a request for help.
  assert.throws(() => parse("--", "-h"), UsageError);
});

Deno.test("an inconsistent spec is a programming error, not a UsageError", () => {
  const check = (spec: Record<string, OptionSpec>, pattern: RegExp) =>
    assert.throws(() => parseOptions([], spec, PROGRAM), (e: unknown) => {
      assert.ok(e instanceof Error && !(e instanceof UsageError));
      assert.match(e.message, pattern);
      return true;
    });
  check({ x: { type: "int", default: 0, min: 1, description: "" } }, /default of --x/);
  check({ x: { type: "enum", description: "" } }, /enum without values/);
  check({ x: { type: "int", short: "h", description: "" } }, /short name/);
  check({ help: { type: "boolean", description: "" } }, /reserved/);
});

Deno.test("help text lists every option with its default and range", () => {
  const text = formatHelp(SPEC, PROGRAM);
  assert.match(text, /^Usage: deno task part2 \[options\]\n/);
  assert.ok(text.includes("Trains with pixel noise."));
  for (const flag of ["--epochs", "--sigmas", "--frac", "--lr", "--optimizer", "--out-dir"]) {
    assert.ok(text.includes(flag), `help lacks ${flag}`);
  }
  const line = (flag: string) => text.split("\n").find((l) => l.includes(flag)) ?? "";
  assert.match(line("--epochs"), /-e, --epochs <int> +passes \(in \[1, 1000\]; default: 10\)/);
  assert.match(line("--frac"), /in \[0, 1\]; default: 0\.15/);
  assert.match(line("--lr"), /> 0; default: 0\.01/);
  assert.match(line("--optimizer"), /<sgd\|adam>.*default: sgd/);
  assert.match(line("--verbose"), /more logging$/);
  assert.match(line("--help"), /show this help/);
  assert.match(text, /each in \[0, 255\]; default:\s+0,8,32,128/);
  for (const l of text.split("\n")) assert.ok(l.length <= 100, `line too long: ${l}`);
});

Deno.test("reportError maps errors to exit codes and messages", () => {
  const run = (error: unknown) => {
    const lines: string[] = [];
    const code = reportError(error, (l) => lines.push(l));
    return { code, text: lines.join("\n") };
  };
  const usage = new UsageError('--frac must be a number in [0, 1], got "2"');
  usage.program = "deno task part3";
  assert.deepEqual(run(usage), {
    code: 2,
    text: 'error: --frac must be a number in [0, 1], got "2"\n' +
      "Run deno task part3 --help to see the accepted options.",
  });
  class DataError extends Error {
    override name = "DataError";
  }
  assert.deepEqual(run(expectedError(new DataError("no data"))), {
    code: 1,
    text: "error: no data",
  });
  const unexpected = run(new DataError("boom"));
  assert.equal(unexpected.code, 1);
  assert.match(unexpected.text, /^DataError: boom\n\s+at /);
  assert.equal(run("a string").code, 1);
});

// --- runCli, through a real subprocess --------------------------------------------------------

const FIXTURE = new URL("./fixtures/cli_main.ts", import.meta.url).pathname;

async function runFixture(...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--allow-read", FIXTURE, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("runCli: success exits 0 or with main's return value", async () => {
  const ok = await runFixture("parse", "--frac", "0.25");
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, "frac=0.25\n");
  assert.equal(ok.stderr, "");
  assert.equal((await runFixture("code", "3")).code, 3);
  const help = await runFixture("parse", "--help");
  assert.equal(help.code, 0);
  assert.equal(help.stdout, "help\n");
});

Deno.test("runCli: a usage error exits 2 with one error line and a hint, no stack", async () => {
  const { code, stdout, stderr } = await runFixture("parse", "--frac", "1.5");
  assert.equal(code, 2, stderr);
  assert.equal(stdout, "");
  assert.equal(
    stderr,
    'error: --frac must be a number in [0, 1], got "1.5"\n' +
      "Run deno task part3 --help to see the accepted options.\n",
  );
  assert.doesNotMatch(stderr, /\bat /);
});

Deno.test("runCli: an expected error exits 1 without a stack; others print the stack", async () => {
  const expected = await runFixture("expected");
  assert.equal(expected.code, 1);
  assert.equal(expected.stderr, "error: MNIST files not found in .cache/mnist\n");

  const unexpected = await runFixture("unexpected");
  assert.equal(unexpected.code, 1);
  assert.match(unexpected.stderr, /^TypeError: cannot read properties of undefined\n\s+at /);
  assert.match(unexpected.stderr, /cli_main\.ts/);

  const oddName = await runFixture("unexpected-marked-wrong-name");
  assert.equal(oddName.code, 1);
  assert.match(oddName.stderr, /^Oops: odd\n\s+at /);
});

Deno.test("runCli: engine errors print one line and exit with their code; Deno's file errors are one line", async () => {
  const engine = await runFixture("engine");
  assert.equal(engine.code, 130);
  assert.equal(
    engine.stderr,
    "error: stopped at step 3; resume with: deno task part1 --resume x\n",
  );
  const file = await runFixture("deno-file");
  assert.equal(file.code, 1);
  assert.match(
    file.stderr,
    /^error: No such file or directory \(os error 2\): readfile '.*missing\.bin'\n$/,
  );
});
