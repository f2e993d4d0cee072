/**
 * Builds the browser page (Deno only): `deno bundle --platform browser` turns the library
 * (`mod.ts`, WGSL text imports inlined) and the page scripts into self-contained ES modules, and
 * the HTML/CSS files are copied next to them.
 *
 *   deno task build:web [--out dist/web]
 *
 * Output: `mod.js` (the library for other pages: `import { acquireGpu } from "./mod.js"`),
 * `app.js` (training page), `selftest.js` (kernel self-test page), `index.html`,
 * `selftest.html`, `style.css`. The build fails if a bundle refers to a Deno API: the library
 * must not need one in a browser.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expectedError, formatHelp, type OptionSpec, parseOptions, runCli } from "../mod_deno.ts";

const REPO = new URL("../", import.meta.url);

/** Bundled entry points: output name -> source (relative to the repository). */
export const WEB_ENTRIES: Record<string, string> = {
  "mod.js": "mod.ts",
  "app.js": "web/app.ts",
  "selftest.js": "web/selftest_page.ts",
};

/** Files copied as they are. */
export const WEB_STATIC = ["index.html", "selftest.html", "style.css"];

/** `Deno.someApi` in a bundle means a code path that cannot run in a browser. */
const DENO_API = /\bDeno\.[A-Za-z_]/;

/** Bundles the page into `outDir` (created if needed); returns the files written. */
export async function buildWeb(outDir: string): Promise<string[]> {
  const repo = fileURLToPath(REPO);
  const out = resolve(outDir);
  await Deno.mkdir(out, { recursive: true });
  const written: string[] = [];
  for (const [name, entry] of Object.entries(WEB_ENTRIES)) {
    const target = join(out, name);
    const result = await new Deno.Command("deno", {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "browser",
        "--sourcemap",
        "linked",
        "-o",
        target,
        join(repo, entry),
      ],
      cwd: repo,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!result.success) {
      const why = new TextDecoder().decode(result.stderr).trim();
      throw expectedError(new Error(`deno bundle ${entry} failed:\n${why}`));
    }
    const code = await Deno.readTextFile(target);
    const m = DENO_API.exec(code);
    if (m) {
      const line = code.slice(0, m.index).split("\n").length;
      throw expectedError(
        new Error(
          `${name} (from ${entry}) uses a Deno API (${m[0]}... at line ${line}); code that the ` +
            `page imports must run in a browser: move Deno-only parts to mod_deno.ts`,
        ),
      );
    }
    written.push(target);
  }
  for (const name of WEB_STATIC) {
    const target = join(out, name);
    await Deno.copyFile(join(repo, "web", name), target);
    written.push(target);
  }
  return written;
}

const SPEC: Record<string, OptionSpec> = {
  out: { type: "path", default: "dist/web", description: "output folder" },
};
const PROGRAM = {
  name: "deno task build:web",
  summary: "Bundles the library and the training page for the browser (deno bundle --platform " +
    "browser) into one folder that 'deno task web' serves.",
};

async function main(): Promise<number> {
  const { options, help } = parseOptions<{ out: string }>(Deno.args, SPEC, PROGRAM);
  if (help) {
    console.log(formatHelp(SPEC, PROGRAM));
    return 0;
  }
  const t0 = performance.now();
  const files = await buildWeb(options.out);
  console.log(
    `built ${files.length} files into ${options.out}/ in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
  return 0;
}

if (import.meta.main) runCli(main);
