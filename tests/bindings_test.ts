/**
 * Named kernel bindings: what bindings.ts parses and generates, what makeDispatch refuses (each
 * with its one-line message), and small kernels that run with tensors at random bases, a
 * left-out input that reads 0 and two outputs that share one texture.
 */
import {
  baseConstant,
  type BindingPlan,
  bindTensors,
  declaredBindings,
} from "../src/gpu/bindings.ts";
import { type KernelCall, makeDispatch, runDispatches } from "../src/gpu/program.ts";
import { StepParamsBuffer } from "../src/gpu/step_params.ts";
import { downloadPadded, Tensor, TexelStore, uploadPadded } from "../src/gpu/tensor.ts";
import type { GpuContext } from "../src/gpu/context.ts";
import { uploadUints } from "../src/ops/gather.ts";
import type { Rng } from "../src/util/rng.ts";
import { gpu, rng, TEST_SEED } from "./helpers.ts";

const SOURCE = `
const N: u32 = 1u; // texels per tensor
const SCALE: f32 = 2.0;

@group(0) @binding(0) var x: texture_storage_2d<rgba32float, read>;
@group(0) @binding(1) var bias: texture_storage_2d<rgba32float, read>; // optional
@group(0) @binding(2) var perm: texture_storage_2d<rgba32uint, read>;
@group(0) @binding(3) var y: texture_storage_2d<rgba32float, write>;
@group(0) @binding(4) var z: texture_storage_2d<rgba32float, write>; // optional
@group(0) @binding(5) var<uniform> params: StepParams;
@group(0) @binding(6) var<storage, read_write> counts: array<u32>;

// y = x + bias, z = SCALE x
@compute @workgroup_size(64)
fn affine(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= N) { return; }
  let v = ld(x, gid.x);
  st(y, gid.x, v + ld(bias, gid.x));
  st(z, gid.x, SCALE * v);
}

// texel i of y = texel perm[params.batch_start + i] of x
@compute @workgroup_size(64)
fn permute(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= N) { return; }
  let i = params.batch_start + gid.x;
  st(y, gid.x, ld(x, textureLoad(perm, texel_xy(i >> 2u))[i & 3u]));
}

@compute @workgroup_size(1)
fn count() {
  counts[0] = N;
}
`;

const SHADER = { name: "bindings_test.wgsl", source: SOURCE };

/** Asserts that `run` fails with exactly `want` (a string) or a match of `want`, on one line. */
async function expectError(
  what: string,
  run: () => unknown,
  want: string | RegExp,
): Promise<void> {
  let msg: string | null = null;
  try {
    await run();
  } catch (e) {
    msg = (e as Error).message;
  }
  if (msg === null) throw new Error(`${what}: no error, want '${want}'`);
  const ok = typeof want === "string" ? msg === want : want.test(msg);
  if (!ok || msg.includes("\n")) {
    throw new Error(
      `${what}: got '${msg}', want one line ${typeof want === "string" ? `'${want}'` : want}`,
    );
  }
}

function assertEqual<T>(what: string, got: T, want: T): void {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// bindings.ts without a device

Deno.test("declaredBindings reads names, numbers and kinds; refuses unknown types and reused numbers", async () => {
  const decls = declaredBindings(SOURCE, "bindings_test.wgsl");
  assertEqual("declarations", [...decls.values()], [
    { name: "x", binding: 0, kind: "read" },
    { name: "bias", binding: 1, kind: "read" },
    { name: "perm", binding: 2, kind: "uints" },
    { name: "y", binding: 3, kind: "write" },
    { name: "z", binding: 4, kind: "write" },
    { name: "params", binding: 5, kind: "uniform" },
    { name: "counts", binding: 6, kind: "storage" },
  ]);
  if (declaredBindings(SOURCE, "again") !== decls) throw new Error("parsed twice");
  const more = declaredBindings(
    `@group(0) @binding(3) var images: texture_storage_2d<rgba8unorm, read>;
     @group( 0 ) @binding( 7 ) var<storage, read> table: array<f32>;
     @group(0) @binding(8) var<storage> other: array<u32>;
     @group(1) @binding(0) var ignored: texture_storage_2d<rgba32float, read>;`,
    "more.wgsl",
  );
  assertEqual("kinds", [...more.values()].map((d) => `${d.name}:${d.binding}:${d.kind}`), [
    "images:3:bytes",
    "table:7:storage-read",
    "other:8:storage-read",
  ]);
  const bad: [string, string][] = [
    [
      "@group(0) @binding(0) var img: texture_storage_2d<rgba8unorm, write>;",
      "bad.wgsl: binding 'img' has an unsupported type",
    ],
    [
      "@group(0) @binding(0) var s: texture_2d<f32>;",
      "bad.wgsl: binding 's' has an unsupported type",
    ],
    [
      "@group(0) @binding(0) var<workgroup> w: array<f32, 4>;",
      "bad.wgsl: binding 'w' has an unsupported type",
    ],
    [
      `@group(0) @binding(2) var a: texture_storage_2d<rgba32float, read>;
       @group(0) @binding(2) var b: texture_storage_2d<rgba32float, write>;`,
      "bad.wgsl: @binding(2) is declared twice",
    ],
  ];
  for (const [source, want] of bad) {
    await expectError(source, () => declaredBindings(source, "bad.wgsl"), want);
  }
});

Deno.test("bindTensors rewrites ld/st into helpers with bases, stubs and stores via a shared binding", () => {
  assertEqual("base constant", baseConstant("dw"), "DW_BASE");
  const plan: BindingPlan = {
    bound: [],
    bases: { x: 5, y: 2049, z: 77 },
    absent: ["bias"],
    storedVia: { z: "y" },
  };
  const out = bindTensors(SOURCE, plan, "bindings_test.wgsl");
  const lines = out.split("\n");
  // the source keeps its lines (compiler messages point at them); helpers come after
  const source = SOURCE.split("\n");
  for (const [i, line] of source.entries()) {
    const want = line.replace(/\bld\((\w+),/g, "ld_$1(").replace(/\bst\((\w+),/g, "st_$1(");
    if (lines[i] !== want) throw new Error(`line ${i + 1}: got '${lines[i]}', want '${want}'`);
  }
  const generated = lines.slice(source.length).filter((l) => l !== "");
  assertEqual("generated", generated, [
    "const X_BASE: u32 = 5u;",
    "fn ld_x(i: u32) -> vec4f { return textureLoad(x, texel_xy(X_BASE + i)); }",
    "const BIAS_BASE: u32 = 0u;",
    "fn ld_bias(i: u32) -> vec4f { return vec4f(0.0); }",
    "const Y_BASE: u32 = 2049u;",
    "fn st_y(i: u32, v: vec4f) { textureStore(y, texel_xy(Y_BASE + i), v); }",
    "const Z_BASE: u32 = 77u;",
    "fn st_z(i: u32, v: vec4f) { textureStore(y, texel_xy(Z_BASE + i), v); }",
  ]);
  // a left-out output drops its stores
  const dropped = bindTensors(SOURCE, { ...plan, absent: ["z"], storedVia: {} }, "t.wgsl");
  if (!dropped.includes("\nfn st_z(i: u32, v: vec4f) {}\n")) throw new Error("z not dropped");
  if (!dropped.includes("fn ld_bias(i: u32) -> vec4f { return textureLoad(bias, ")) {
    throw new Error("bias stubbed although present");
  }
});

Deno.test("bindTensors refuses direct loads and stores of tensors and ld/st of other names", async () => {
  const plan: BindingPlan = { bound: [], bases: {}, absent: [], storedVia: {} };
  // the line of the first stray call: where `to` starts in the changed source
  const bad: [string, string, string | ((line: number) => string)][] = [
    [
      "let v = ld(x, gid.x);",
      "let v = textureLoad(x, texel_xy(X_BASE));",
      "t.wgsl: use ld(x, i) / st(x, i, v), not textureLoad",
    ],
    [
      "st(y, gid.x, v + ld(bias, gid.x));",
      "textureStore(y, texel_xy(gid.x), v);",
      "t.wgsl: use ld(y, i) / st(y, i, v), not textureStore",
    ],
    [
      "st(z, gid.x, SCALE * v);",
      "st(x, gid.x, SCALE * v);",
      (line) => `t.wgsl:${line}: st(x, ...) does not name a write tensor binding`,
    ],
    [
      "st(y, gid.x, ld(x, ",
      "st(y, gid.x, ld(perm, ",
      (line) => `t.wgsl:${line}: ld(perm, ...) does not name a read tensor binding`,
    ],
    [
      "let v = ld(x, gid.x);",
      "let v = ld(w, gid.x);",
      (line) => `t.wgsl:${line}: ld(w, ...) does not name a read tensor binding`,
    ],
  ];
  for (const [from, to, want] of bad) {
    if (!SOURCE.includes(from)) throw new Error(`test source lacks '${from}'`);
    const source = SOURCE.replace(from, to);
    const line = source.slice(0, source.indexOf(to)).split("\n").length;
    const message = typeof want === "string" ? want : want(line);
    await expectError(to, () => bindTensors(source, plan, "t.wgsl"), message);
  }
  // names that merely contain a tensor's name are not loads of it
  const fine = SOURCE.replace("let v = ld(x, gid.x);", "let v = textureLoad(xs, vec2u(0u));");
  bindTensors(fine, plan, "t.wgsl");
});

// ---------------------------------------------------------------------------------------------
// makeDispatch on a device

/** A texel store of `texels` filled with `fill`, and tensors of `sizes` texels at random gaps. */
function arena(
  ctx: GpuContext,
  label: string,
  sizes: number[],
  fill: number,
  r: Rng,
): { store: TexelStore; tensors: Tensor[] } {
  const bases: number[] = [];
  let at = 0;
  for (const n of sizes) {
    at += r.int(2100); // sometimes past a texture row (2048 texels)
    bases.push(at);
    at += n;
  }
  const store = new TexelStore(ctx, at + 3, label);
  uploadPadded(
    ctx,
    new Tensor(store, 0, 1, 4 * store.texels, "all"),
    new Float32Array(4 * store.texels).fill(fill),
  );
  const tensors = sizes.map((n, i) => new Tensor(store, bases[i], 1, 4 * n, `${label}[${i}]`));
  return { store, tensors };
}

function randomValues(r: Rng, n: number): Float32Array<ArrayBuffer> {
  return Float32Array.from({ length: n }, () => 4 * r.next() - 2);
}

function expectValues(what: string, got: Float32Array, want: (i: number) => number): void {
  for (let i = 0; i < got.length; i++) {
    const w = Math.fround(want(i));
    if (got[i] !== w) {
      throw new Error(`${what}: float ${i} is ${got[i]}, want ${w} (TEST_SEED=${TEST_SEED})`);
    }
  }
}

Deno.test("kernels read and write tensors at their bases; a left-out input reads 0", async () => {
  const ctx = await gpu();
  const r = rng(1);
  const N = 1 + 2 * r.int(700); // texels per tensor (odd)
  const inputs = arena(ctx, "inputs", [N, N], -7, r);
  const outputs = arena(ctx, "outputs", [N, N], -9, r);
  const [x, bias] = inputs.tensors;
  const [y, z] = outputs.tensors;
  const xv = randomValues(r, 4 * N), bv = randomValues(r, 4 * N);
  uploadPadded(ctx, x, xv);
  uploadPadded(ctx, bias, bv);
  const call = (b: Tensor | undefined, zOut: Tensor | undefined, shared: boolean): KernelCall => ({
    shader: SHADER,
    entryPoint: "affine",
    constants: { N, SCALE: 3 },
    reads: { x, bias: b },
    writes: { y, z: zOut },
    sharedWrites: shared,
    size: { lanes: N },
  });
  // bias left out: y = x; z left out: its stores are dropped
  const other = Tensor.create(ctx, 1, 4 * N, "other");
  await runDispatches(ctx, [await makeDispatch(ctx, call(undefined, undefined, false))]);
  expectValues("y = x + 0", await downloadPadded(ctx, y), (i) => xv[i]);
  expectValues("z untouched", await downloadPadded(ctx, z), () => -9);
  // both: y = x + bias, and z = 3 x in the same texture as y (stored through y's binding)
  await runDispatches(ctx, [await makeDispatch(ctx, call(bias, z, true))]);
  expectValues("y = x + bias", await downloadPadded(ctx, y), (i) => xv[i] + bv[i]);
  expectValues("z = 3 x", await downloadPadded(ctx, z), (i) => 3 * xv[i]);
  // only the two tensors were written: every other texel of the arena keeps its fill
  const all = await downloadPadded(
    ctx,
    new Tensor(outputs.store, 0, 1, 4 * outputs.store.texels, "all"),
  );
  const inside = (t: Tensor, f: number) => f >= 4 * t.base && f < 4 * (t.base + t.texels);
  expectValues("rest of the arena", all.filter((_, f) => !inside(y, f) && !inside(z, f)), () => -9);
  // a write into its own texture needs no sharing
  await runDispatches(ctx, [await makeDispatch(ctx, call(bias, other, false))]);
  expectValues("other = 3 x", await downloadPadded(ctx, other), (i) => 3 * xv[i]);
  for (const s of [inputs.store, outputs.store, other.store]) s.destroy();
});

Deno.test("kernels read rgba32uint stores and per-step parameters at their dynamic offset", async () => {
  const ctx = await gpu();
  const r = rng(2);
  const N = 1 + 2 * r.int(300), start = r.int(40);
  const x = Tensor.create(ctx, 1, 4 * N, "x"), y = Tensor.create(ctx, 1, 4 * N, "y");
  const xv = randomValues(r, 4 * N);
  uploadPadded(ctx, x, xv);
  const order = Array.from({ length: start + N }, () => r.int(N));
  const perm = uploadUints(ctx, order, "perm");
  const params = new StepParamsBuffer(ctx, 3);
  params.write(0, [0, 1, 2].map((s) => ({ step: s, batchStart: s === 2 ? start : 0 })));
  const d = await makeDispatch(ctx, {
    shader: SHADER,
    entryPoint: "permute",
    constants: { N },
    reads: { x, perm },
    writes: { y },
    buffers: { params },
    size: { lanes: N },
  });
  if (!d.stepped) throw new Error("step parameters not bound with a dynamic offset");
  await runDispatches(ctx, [d], params.offset(2));
  const got = await downloadPadded(ctx, y);
  expectValues("y = x[perm]", got, (f) => xv[4 * order[start + (f >> 2)] + (f & 3)]);
  for (const s of [x.store, y.store, perm]) s.destroy();
  params.destroy();
});

Deno.test("makeDispatch refuses wrong names, kinds, formats and texture sharing with one line", async () => {
  const ctx = await gpu();
  const N = 5;
  const a = arena(ctx, "arena", [N, N, N], 0, rng(3));
  const [t0, t1, t2] = a.tensors;
  const own = Tensor.create(ctx, 1, 4 * N, "own"), spare = Tensor.create(ctx, 1, 4 * N, "spare");
  const perm = uploadUints(ctx, [0, 1, 2, 3, 4], "perm");
  const params = new StepParamsBuffer(ctx, 1);
  const base: KernelCall = {
    shader: SHADER,
    entryPoint: "affine",
    constants: { N },
    reads: { x: t0, bias: undefined },
    writes: { y: own, z: undefined },
    size: { lanes: N },
  };
  await runDispatches(ctx, [await makeDispatch(ctx, base)]); // the base call works
  const at = "bindings_test.wgsl:affine";
  const cases: [string, Partial<KernelCall>, string | RegExp][] = [
    ["unknown name", { reads: { x: t0, w: t1 } }, `${at}: the shader declares no read binding 'w'`],
    [
      "a write used as a read",
      { reads: { x: t0, y: t1 } },
      `${at}: the shader declares no read binding 'y'`,
    ],
    [
      "a read used as a write",
      { writes: { y: own, x: spare } },
      `${at}: the shader declares no write binding 'x'`,
    ],
    [
      "a buffer used as a read",
      { reads: { x: t0, counts: t1 } },
      `${at}: the shader declares no read binding 'counts'`,
    ],
    [
      "a texture used as a buffer",
      { buffers: { x: params } },
      `${at}: the shader declares no buffer binding 'x'`,
    ],
    [
      "step parameters in a storage binding",
      { buffers: { counts: params } },
      `${at}: step parameters need a uniform binding, 'counts' is not one`,
    ],
    [
      "wrong float texture format",
      { reads: { x: t0, bias: perm } },
      `${at}: 'bias' needs an rgba32float texture, got 'perm'`,
    ],
    [
      "wrong uint texture format",
      { reads: { x: t0, perm: t1 } },
      `${at}: 'perm' needs an rgba32uint texture, got 'arena[1]'`,
    ],
    [
      "written where it is read",
      { reads: { x: t0, bias: t1 }, writes: { y: t2 } },
      `${at}: 'arena[2]' is written in the same texture that 'arena[0]' is read from`,
    ],
    [
      "written twice without sharedWrites",
      { reads: { x: own }, writes: { y: t1, z: t2 } },
      `${at}: 'arena[1]' and 'arena[2]' both write texture 'arena'; WebGPU forbids that ` +
      `(see KernelCall.sharedWrites)`,
    ],
    [
      "written where it is read, with sharedWrites",
      { reads: { x: t0 }, writes: { y: t1, z: t2 }, sharedWrites: true },
      `${at}: 'arena[1]' is written in the same texture that 'arena[0]' is read from`,
    ],
    [
      "an unnamed binding the entry point uses",
      { reads: { bias: t0 } },
      /^pipeline bindings_test\.wgsl:affine failed: .+ \(bound: bias, y\)$/,
    ],
    [
      "too many invocations",
      { size: { lanes: 64 * (ctx.device.limits.maxComputeWorkgroupsPerDimension + 1) } },
      `${at}: ${64 * (ctx.device.limits.maxComputeWorkgroupsPerDimension + 1)} invocations ` +
      `exceed the dispatch limit`,
    ],
    [
      "too many workgroups",
      { size: { workgroups: [1, ctx.device.limits.maxComputeWorkgroupsPerDimension + 1] } },
      `${at}: ${ctx.device.limits.maxComputeWorkgroupsPerDimension + 1} workgroups exceed the ` +
      `dispatch limit`,
    ],
  ];
  for (const [what, change, want] of cases) {
    await expectError(what, () => makeDispatch(ctx, { ...base, ...change }), want);
  }
  // the shader is checked when the kernel compiles: a direct load skips the base and stubs
  const direct = {
    name: "direct.wgsl",
    source: SOURCE.replace("let v = ld(x, gid.x);", "let v = textureLoad(x, texel_xy(gid.x));"),
  };
  await expectError(
    "a direct textureLoad of a tensor",
    () => makeDispatch(ctx, { ...base, shader: direct }),
    "direct.wgsl: use ld(x, i) / st(x, i, v), not textureLoad",
  );
  ctx.check(); // no WebGPU error escaped
  for (const s of [a.store, own.store, spare.store, perm]) s.destroy();
  params.destroy();
});
