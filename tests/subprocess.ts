/**
 * Helpers for the tests that run the project's tasks and experiment scripts as subprocesses, the
 * way a user does, and read back the exit code, stdout and stderr.
 */
import assert from "node:assert/strict";
import { join } from "node:path";

/** The project root (ends with `/`). */
export const ROOT = new URL("../", import.meta.url).pathname;

/** The environment of every child: no colours, and the runtime folder lavapipe wants. */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { NO_COLOR: "1", XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp", ...extra };
}

/** `deno task --quiet ...args` in the project root, stdout and stderr piped. */
export function taskCommand(args: string[], env: Record<string, string> = {}): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", ...args],
    cwd: ROOT,
    env: childEnv(env),
    stdout: "piped",
    stderr: "piped",
  });
}

/**
 * `experiments/<name>.ts` run with the permissions of its deno task, except that it may write only
 * into `outDir` (so a test cannot touch `results/`) and read only the project, `outDir` and
 * `alsoRead`; stdout and stderr piped.
 */
export function scriptCommand(
  name: string,
  args: string[],
  outDir: string,
  alsoRead: string[] = [],
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      `--allow-read=${[ROOT, outDir, "/usr/bin/ldd", ...alsoRead].join(",")}`,
      `--allow-write=${outDir}`,
      `--allow-ffi=${join(ROOT, "node_modules")}`,
      "--allow-env=NAPI_RS_NATIVE_LIBRARY_PATH,NAPI_RS_FORCE_WASI,DISABLE_SYSTEM_FONTS_LOAD," +
      "WEBGPU_MNIST_NO_ADAPTER",
      "--allow-sys=homedir",
      join(ROOT, "experiments", `${name}.ts`),
      ...args,
    ],
    cwd: ROOT,
    env: childEnv(),
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs an experiment script as its deno task does, but writing into `outDir`, to the end. */
export function runScript(
  name: string,
  args: string[],
  outDir: string,
  alsoRead: string[] = [],
): Promise<Finished> {
  return finish(scriptCommand(name, args, outDir, alsoRead));
}

/** What a finished child reported. */
export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/** Waits for a spawned child (or runs a command) and decodes its output. */
export async function finish(child: Deno.ChildProcess | Deno.Command): Promise<Finished> {
  const out = await child.output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** Runs `deno task --quiet ...args` to the end. */
export function runTask(args: string[], env: Record<string, string> = {}): Promise<Finished> {
  return finish(taskCommand(args, env));
}

/** The lines of stderr that report something: no progress bars, adapter line or blank lines. */
export function reportLines(stderr: string): string[] {
  return stderr.split(/[\n\r]/).map((l) => l.trim()).filter((l) =>
    l !== "" && !l.startsWith("adapter:") && !/^train \[/.test(l) && !l.startsWith("Task ")
  );
}

/** Whether `path` exists; errors other than "not found" are thrown. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** A bad command line: the experiment script, its arguments, and what its error line must match. */
export type BadInputCase = [name: string, args: string[], error: RegExp];

/**
 * Runs each case in a fresh temporary folder (named from `prefix`) with `<folder>/out` as its
 * output (`--results` for `all`, `--out` otherwise) and asserts that it stops with exit code 2,
 * one error line matching the case and the --help hint, nothing on stdout and nothing written.
 */
export async function assertBadInputs(prefix: string, cases: BadInputCase[]): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    const out = join(dir, "out");
    for (const [name, args, want] of cases) {
      const outArgs = name === "all" ? ["--results", out] : ["--out", out];
      const r = await runScript(name, [...args, ...outArgs], dir);
      const what = `${name} ${args.join(" ")}`;
      assert.equal(r.code, 2, `${what}: exit code ${r.code}\n${r.stderr}`);
      const lines = r.stderr.trimEnd().split("\n");
      assert.match(lines[0], want, what);
      assert.equal(
        lines.length,
        2,
        `${what}: one error line and the --help hint, got:\n${r.stderr}`,
      );
      assert.match(lines[1], /^Run deno task \w+ --help to see the accepted options\.$/);
      assert.equal(r.stdout, "", what);
      assert.equal(await exists(out), false, `${what}: nothing is written`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
