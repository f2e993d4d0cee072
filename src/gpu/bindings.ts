/**
 * Named kernel bindings. A shader declares its tensors and buffers by name
 * (`@group(0) @binding(i) var x: texture_storage_2d<rgba32float, read>;`), reads tensor texel i
 * with `ld(x, i)` and stores with `st(y, i, v)`, both relative to the tensor's first texel. An op
 * names what each binding reads or writes (see `makeDispatch` in program.ts); from that this
 * module derives, per compiled kernel, the WGSL that the names need:
 *
 * - `X_BASE`, the first texel of the tensor bound to `x` (tensors share textures in arenas), and
 *   the helpers `ld_x(i)` / `st_y(i, v)` that the calls become (GL backends reject textures as
 *   function arguments, so no helper may take one);
 * - for a name the op leaves out (`undefined`: the kernel variant does not need it), helpers that
 *   read zeros and drop stores, so the entry point does not use the binding and it needs no
 *   placeholder texture;
 * - for a written name whose tensor shares a texture with another written name (dW and db in the
 *   gradient arena), stores through that other binding: WebGPU forbids one texture in two
 *   writable bindings of a dispatch.
 *
 * @module
 */
import type { BindingKind } from "./context.ts";

/** A binding that a shader declares: its name, binding number and kind. */
export interface BindingDecl {
  /** Variable name in the WGSL. */
  readonly name: string;
  /** `@binding(i)` number (group 0). */
  readonly binding: number;
  /**
   * Declared kind; a `var<uniform>` is `"uniform"` here and becomes `"uniform-dynamic"` when the
   * op binds per-step parameters to it.
   */
  readonly kind: BindingKind;
}

/** How one compiled kernel uses the names its shader declares. */
export interface BindingPlan {
  /** The bindings of the kernel's layout, in binding order. */
  readonly bound: readonly BindingDecl[];
  /** First texel of the tensor bound to each rgba32float name (0 for whole stores). */
  readonly bases: Readonly<Record<string, number>>;
  /** Tensor names this kernel variant leaves out: their reads give 0, their stores are dropped. */
  readonly absent: readonly string[];
  /** Written names stored through another written name's binding (same texture). */
  readonly storedVia: Readonly<Record<string, string>>;
}

const DECL =
  /@group\(\s*0\s*\)\s*@binding\(\s*(\d+)\s*\)\s*var\s*(<[^>]*>)?\s+(\w+)\s*:\s*([^;]+);/g;

function declKind(space: string | undefined, type: string): BindingKind | null {
  const t = type.replace(/\s+/g, "");
  if (space === undefined) {
    const m = /^texture_storage_2d<(rgba32float|rgba8unorm|rgba32uint),(read|write)>$/.exec(t);
    if (!m) return null;
    if (m[2] === "write") return m[1] === "rgba32float" ? "write" : null;
    return m[1] === "rgba32float" ? "read" : m[1] === "rgba8unorm" ? "bytes" : "uints";
  }
  const s = space.replace(/\s+/g, "");
  if (s === "<uniform>") return "uniform";
  if (s === "<storage,read_write>") return "storage";
  if (s === "<storage>" || s === "<storage,read>") return "storage-read";
  return null;
}

const declCache = new Map<string, ReadonlyMap<string, BindingDecl>>();

/**
 * The group-0 bindings a shader source declares, by name (parsed once per source text).
 *
 * @throws Error on a binding of a type the engine does not bind, or two names with one number
 */
export function declaredBindings(
  source: string,
  shaderName: string,
): ReadonlyMap<string, BindingDecl> {
  let decls = declCache.get(source);
  if (!decls) {
    decls = parseBindings(source, shaderName);
    declCache.set(source, decls);
  }
  return decls;
}

function parseBindings(source: string, shaderName: string): Map<string, BindingDecl> {
  const map = new Map<string, BindingDecl>();
  const numbers = new Set<number>();
  for (const m of source.matchAll(DECL)) {
    const [, binding, space, name, type] = m;
    const kind = declKind(space, type);
    if (!kind) throw new Error(`${shaderName}: binding '${name}' has an unsupported type`);
    if (numbers.has(+binding)) {
      throw new Error(`${shaderName}: @binding(${binding}) is declared twice`);
    }
    numbers.add(+binding);
    map.set(name, { name, binding: +binding, kind });
  }
  return map;
}

/** `x` -> `X_BASE`. */
export function baseConstant(name: string): string {
  return `${name.toUpperCase()}_BASE`;
}

/**
 * Rewrites `ld(x, i)` and `st(y, i, v)` into the generated helpers `ld_x(i)` / `st_y(i, v)` and
 * appends the helpers and the `X_BASE` constants of every rgba32float binding the source declares
 * (at the end, so compiler messages keep their line numbers).
 *
 * @throws Error when `ld`/`st` names no read/write tensor binding, or the source loads or stores
 *   a tensor binding directly (that would skip its base and the plan's stubs)
 */
export function bindTensors(source: string, plan: BindingPlan, shaderName: string): string {
  const decls = parseBindings(source, shaderName);
  const absent = new Set(plan.absent);
  let out = source;
  let generated = "";
  for (const d of decls.values()) {
    if (d.kind !== "read" && d.kind !== "write") continue;
    const n = d.name, base = baseConstant(n);
    const direct = new RegExp(`\\btexture(Load|Store)\\(\\s*${n}\\b`).exec(out);
    if (direct) {
      throw new Error(`${shaderName}: use ld(${n}, i) / st(${n}, i, v), not texture${direct[1]}`);
    }
    generated += `\nconst ${base}: u32 = ${plan.bases[n] ?? 0}u;`;
    if (d.kind === "read") {
      out = out.replace(new RegExp(`\\bld\\(\\s*${n}\\s*,`, "g"), `ld_${n}(`);
      generated += absent.has(n)
        ? `\nfn ld_${n}(i: u32) -> vec4f { return vec4f(0.0); }`
        : `\nfn ld_${n}(i: u32) -> vec4f { return textureLoad(${n}, texel_xy(${base} + i)); }`;
    } else {
      out = out.replace(new RegExp(`\\bst\\(\\s*${n}\\s*,`, "g"), `st_${n}(`);
      const via = plan.storedVia[n] ?? n;
      generated += absent.has(n)
        ? `\nfn st_${n}(i: u32, v: vec4f) {}`
        : `\nfn st_${n}(i: u32, v: vec4f) { textureStore(${via}, texel_xy(${base} + i), v); }`;
    }
  }
  const stray = /\b(ld|st)\(\s*(\w+)/.exec(out);
  if (stray) {
    const line = out.slice(0, stray.index).split("\n").length;
    throw new Error(
      `${shaderName}:${line}: ${stray[1]}(${stray[2]}, ...) does not name a ` +
        `${stray[1] === "ld" ? "read" : "write"} tensor binding`,
    );
  }
  return `${out}\n${generated}\n`;
}
