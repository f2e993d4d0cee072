/**
 * Crash-safe file output (Deno only). A result file is either the old version or the complete new
 * one, never a truncated mix: data goes to a temporary file in the same directory, is fsynced,
 * and is then renamed over the target (rename within one file system is atomic on POSIX).
 *
 * {@link OutputDir} extends this to a set of files: an experiment stages everything it produces
 * and commits at the end, so a run that fails half-way leaves the results folder untouched.
 *
 * Note: renaming replaces a symbolic link at the target path instead of writing through it.
 *
 * @module
 */
import { EngineError } from "./errors.ts";
import { basename, dirname, isAbsolute, join } from "node:path";

const encoder = new TextEncoder();

function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The temporary name used while writing `path`: `.<base>.tmp-<pid>-<random>` in the same
 * directory (the same file system, so the final rename is atomic; hidden, so globbing readers
 * skip it; pid and random part, so concurrent writers never share one).
 */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${Deno.pid}-${randomSuffix()}`);
}

/**
 * Deno refused to write (its --allow-write does not cover the folder). The message is one line
 * that names the folder and the flag; the CLI prints it without a stack trace.
 */
export class WritePermissionError extends EngineError {
  /** Always `"WritePermissionError"`. */
  override name = "WritePermissionError";
}

/** `error` as a {@link WritePermissionError} when it is Deno's missing write permission. */
function permissionError(error: unknown, target: string): unknown {
  if (!(error instanceof Deno.errors.NotCapable)) return error;
  const dir = dirname(target);
  return new WritePermissionError(
    `cannot write ${target}: no permission to write in ${dir} (results are written to a ` +
      `temporary file beside the target, then renamed, so the whole folder must be writable); ` +
      `run with --allow-write=${dir}`,
  );
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch {
    // Already gone, or never created: nothing to clean up.
  }
}

/** Writes and fsyncs a temporary sibling of `target`; returns its path. Cleans up on failure. */
async function writeTemp(target: string, bytes: Uint8Array): Promise<string> {
  const temp = tempPathFor(target);
  let file: Deno.FsFile | undefined;
  try {
    // createNew: never reuse (and later delete) a file some other writer owns.
    file = await Deno.open(temp, { write: true, createNew: true });
    let offset = 0;
    while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
    // The data must be on disk before the rename makes it visible, or a crash could expose an
    // empty file under the final name.
    await file.sync();
    file.close();
    file = undefined;
    return temp;
  } catch (error) {
    if (file) {
      file.close();
      await removeQuietly(temp);
    }
    throw permissionError(error, target);
  }
}

/** Best-effort fsync of a directory so completed renames survive a power cut (POSIX only). */
async function syncDir(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  try {
    using handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch {
    // Some file systems refuse to fsync directories; the rename itself has still happened.
  }
}

/**
 * Replaces `path` with `data` atomically: readers see the old content or the new, never part.
 * The directory must exist. On failure the target is untouched and no temporary file remains.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temp = await writeTemp(path, toBytes(data));
  try {
    await Deno.rename(temp, path);
  } catch (error) {
    await removeQuietly(temp);
    throw permissionError(error, path);
  }
  await syncDir(dirname(path));
}

/** `value` as indented JSON with a trailing newline, for files people also read and diff. */
export function jsonText(value: unknown): string {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) throw new TypeError(`cannot write ${typeof value} as JSON`);
  return text + "\n";
}

/** {@link writeFileAtomic} of `value` as pretty JSON with a trailing newline. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, jsonText(value));
}

/** Creates `path` and its parents if needed; fine if it exists; an error if it is a file. */
export async function ensureDir(path: string): Promise<void> {
  await createDirs(path);
}

/**
 * Creates `path` and any missing parents; returns the directories it created, outermost first,
 * so a failed commit can remove exactly those.
 */
async function createDirs(path: string): Promise<string[]> {
  const missing: string[] = [];
  for (let dir = path;; dir = dirname(dir)) {
    try {
      const info = await Deno.stat(dir);
      if (!info.isDirectory) {
        throw new Deno.errors.NotADirectory(`${dir} exists and is not a directory`);
      }
      break;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      missing.push(dir);
      if (dirname(dir) === dir) break;
    }
  }
  missing.reverse();
  const created: string[] = [];
  for (const dir of missing) {
    try {
      await Deno.mkdir(dir);
      created.push(dir);
    } catch (error) {
      // Another process made it meanwhile: fine as long as it is a directory.
      if (!(error instanceof Deno.errors.AlreadyExists) || !(await isDirectory(dir))) throw error;
    }
  }
  return created;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/** Relative, `/`-separated, no empty, `.` or `..` segments: staged files stay inside the folder. */
function checkName(name: string): void {
  const segments = name.split("/");
  if (
    name === "" || isAbsolute(name) || name.includes("\\") || name.includes("\0") ||
    segments.some((s) => s === "" || s === "." || s === "..")
  ) {
    throw new RangeError(
      `output file name must be a plain relative path, got ${JSON.stringify(name)}`,
    );
  }
}

/**
 * Collects an experiment's output files in memory and writes them all at the end:
 *
 * ```ts
 * const out = new OutputDir("results/part2");
 * out.stageJson("metrics.json", metrics);
 * out.stage("plots/loss.svg", svg);
 * await out.commit(); // nothing is written if the experiment throws before this line
 * ```
 *
 * `commit()` first creates the folders, then writes and fsyncs every file under a temporary name,
 * and only then renames them all into place. A failure before the renames (a full disk, a name
 * taken by a folder) leaves no file, temporary file or newly created folder behind. Each file is
 * replaced atomically; the set as a whole is not (a crash during the renames can leave some new
 * files beside old ones).
 */
export class OutputDir {
  /** The folder the files are written under (created by `commit()` if missing). */
  readonly dir: string;
  #staged = new Map<string, Uint8Array>();

  /** An empty set of files for folder `dir`; nothing touches the disk before `commit()`. */
  constructor(dir: string) {
    this.dir = dir;
  }

  /** Adds or replaces a file; `name` is relative to the folder and may contain `/`. */
  stage(name: string, data: Uint8Array | string): void {
    checkName(name);
    // Copy bytes: the caller may reuse its buffer before commit().
    this.#staged.set(name, typeof data === "string" ? encoder.encode(data) : data.slice());
  }

  /** Stages `value` as pretty JSON with a trailing newline. */
  stageJson(name: string, value: unknown): void {
    this.stage(name, jsonText(value));
  }

  /** Names staged so far, in staging order. */
  get stagedNames(): string[] {
    return [...this.#staged.keys()];
  }

  /** Drops everything staged. */
  discard(): void {
    this.#staged.clear();
  }

  /** Writes every staged file (see the class comment); returns their paths and clears the stage. */
  async commit(): Promise<string[]> {
    const files = [...this.#staged].map(([name, bytes]) => ({ path: join(this.dir, name), bytes }));
    const createdDirs: string[] = [];
    const temps: string[] = [];
    let renamed = 0;
    try {
      for (const { path } of files) {
        if (await isDirectory(path)) {
          throw new Deno.errors.IsADirectory(`cannot write ${path}: a folder has that name`);
        }
        createdDirs.push(...await createDirs(dirname(path)));
      }
      for (const { path, bytes } of files) temps.push(await writeTemp(path, bytes));
      for (; renamed < files.length; renamed++) {
        await Deno.rename(temps[renamed], files[renamed].path);
      }
    } catch (error) {
      for (const temp of temps.slice(renamed)) await removeQuietly(temp);
      // Remove the folders this commit created, innermost first; one that received a file is not
      // empty, so its removal fails quietly and it stays.
      for (const dir of createdDirs.reverse()) await removeQuietly(dir);
      throw permissionError(error, files[Math.min(renamed, files.length - 1)]?.path ?? this.dir);
    }
    for (const dir of new Set(files.map(({ path }) => dirname(path)))) await syncDir(dir);
    this.#staged.clear();
    return files.map(({ path }) => path);
  }
}

/**
 * An output path given on the command line cannot be used (a file where a folder is needed, a
 * folder where a file is needed, no permission). One line; exit code 2, like a usage mistake, since
 * a different path fixes it.
 */
export class OutputPathError extends EngineError {
  /** Always `"OutputPathError"`. */
  override name = "OutputPathError";
  /** A different path on the command line fixes it. */
  override readonly exitCode = 2;
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    if (error instanceof Deno.errors.NotADirectory) return null; // a file on the way: see below
    throw error;
  }
}

/** The nearest existing ancestor of `path` (itself included), refusing files on the way. */
async function existingAncestor(path: string, flag: string, given: string): Promise<string> {
  let dir = path;
  for (;;) {
    const info = await statOrNull(dir);
    if (info) {
      if (!info.isDirectory) {
        throw new OutputPathError(
          dir === path
            ? `${flag} ${given}: that is a file, not a folder; name a folder`
            : `${flag} ${given}: ${dir} is a file, so no folder can be made under it`,
        );
      }
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) return dir;
    dir = parent;
  }
}

/**
 * Throws an {@link OutputPathError} unless Deno may write `target` and a file can be created in
 * its nearest existing folder `base` (a probe file, removed at once).
 */
async function probeWritable(base: string, target: string, flag: string): Promise<void> {
  const status = await Deno.permissions.query({ name: "write", path: target });
  if (status.state !== "granted") {
    throw new OutputPathError(
      `${flag} ${target}: this task may not write there (see Permissions in the README); ` +
        `choose a path under results/, or run the script with 'deno run --allow-write=${target}'`,
    );
  }
  if ((await Deno.permissions.query({ name: "write", path: base })).state !== "granted") return;
  try {
    const probe = await Deno.makeTempFile({ dir: base, prefix: ".write-probe-" });
    await Deno.remove(probe);
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
      throw new OutputPathError(`${flag} ${target}: the folder ${base} is not writable`);
    }
    throw error;
  }
}

/**
 * Checks before any work that output folder `dir` (given as `flag`) can receive files `names`:
 * it is a folder or can be made (no file on the way), it is writable, and none of `names` is taken
 * by a folder. Creates nothing.
 *
 * @throws OutputPathError naming the option, the path and what is wrong
 */
export async function checkOutputFolder(
  dir: string,
  flag: string,
  names: readonly string[] = [],
): Promise<void> {
  const base = await existingAncestor(dir, flag, dir);
  await probeWritable(base, dir, flag);
  if (base !== dir) return;
  for (const name of names) {
    const info = await statOrNull(join(dir, name));
    if (info?.isDirectory) {
      throw new OutputPathError(
        `${flag} ${dir}: ${join(dir, name)} is a folder, but the results write a file there; ` +
          `remove it or choose another ${flag}`,
      );
    }
  }
}

/**
 * Checks before any work that output file `path` (given as `flag`) can be written: not a folder,
 * its folder exists or can be made, and is writable. Creates nothing.
 *
 * @throws OutputPathError naming the option, the path and what is wrong
 */
export async function checkOutputFile(path: string, flag: string): Promise<void> {
  const info = await statOrNull(path);
  if (info?.isDirectory) {
    throw new OutputPathError(`${flag} ${path}: that is a folder; name a file`);
  }
  const base = await existingAncestor(dirname(path), flag, path);
  await probeWritable(base, path, flag);
}
