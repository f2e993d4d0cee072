/**
 * WGSL specialization: the `.wgsl` files in `shaders/` are WGSL with default constants (they
 * use the prelude and the tensor helpers that bindings.ts generates); the host replaces module-scope `const NAME: T = ...;` declarations per pipeline and fully
 * unrolls loops marked with a `/* unroll *\/` comment. Unrolling matters on CPU adapters
 * (llvmpipe): register-blocked kernels whose private accumulator arrays are indexed by loop
 * counters run about 1.5x faster when the indices are literals. Tensor bindings are resolved
 * afterwards by bindings.ts.
 *
 * @module
 */

/** Values that a specialized constant can take. */
export type ConstValue = number | boolean;

/**
 * Replaces module-scope constants. Every name in `constants` must be declared in `source`.
 * `unroll: false` leaves marked loops as loops (for SwiftShader, whose compiler takes minutes
 * or crashes on the unrolled register blocks).
 */
export function specialize(
  source: string,
  constants: Record<string, ConstValue>,
  shaderName = "shader",
  unroll = true,
): string {
  let out = source;
  for (const [name, value] of Object.entries(constants)) {
    const re = new RegExp(`^const\\s+${name}\\s*:\\s*(\\w+)\\s*=\\s*[^;]+;`, "m");
    const m = re.exec(out);
    if (!m) {
      throw new Error(
        `${shaderName}: cannot specialize constant '${name}': no 'const ${name}: T = ...;' at module scope`,
      );
    }
    out = out.replace(re, `const ${name}: ${m[1]} = ${literal(value, m[1], name, shaderName)};`);
  }
  return unroll ? unrollLoops(out, readConstants(out), shaderName) : out;
}

function literal(value: ConstValue, type: string, name: string, shaderName: string): string {
  if (type === "bool") {
    if (typeof value !== "boolean") throw new Error(`${shaderName}: ${name} must be boolean`);
    return String(value);
  }
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new Error(`${shaderName}: ${name} must be a finite number, got ${value}`);
  }
  if (type === "u32") {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new Error(`${shaderName}: ${name} must be a u32, got ${value}`);
    }
    return `${value}u`;
  }
  if (type === "i32") {
    if (!Number.isInteger(value)) throw new Error(`${shaderName}: ${name} must be an i32`);
    return `${value}i`;
  }
  if (type === "f32") {
    const s = String(value);
    return /[.eE]/.test(s) ? s : `${s}.0`;
  }
  throw new Error(`${shaderName}: cannot specialize ${name} of type ${type}`);
}

/** Integer module-scope constants (`const X: u32 = 3u;`, also simple expressions of earlier ones). */
function readConstants(source: string): Map<string, number> {
  const values = new Map<string, number>();
  const re = /^const\s+(\w+)\s*:\s*(u32|i32)\s*=\s*([^;]+);/gm;
  for (const m of source.matchAll(re)) {
    try {
      values.set(m[1], evalIntExpr(m[3], values));
    } catch {
      // not a simple integer expression; loops cannot use it as a bound
    }
  }
  return values;
}

/** Evaluates + - * / % ( ) over integer literals and known constants (truncating division). */
export function evalIntExpr(expr: string, values: Map<string, number>): number {
  const tokens = expr.match(/\d+[ui]?|[A-Za-z_]\w*|[-+*/%()]/g) ?? [];
  if (tokens.join("") !== expr.replace(/\s+/g, "")) throw new Error(`bad expression '${expr}'`);
  let pos = 0;
  const peek = () => tokens[pos];
  const primary = (): number => {
    const t = tokens[pos++];
    if (t === undefined) throw new Error(`unexpected end of '${expr}'`);
    if (t === "(") {
      const v = sum();
      if (tokens[pos++] !== ")") throw new Error(`missing ')' in '${expr}'`);
      return v;
    }
    if (t === "-") return -primary();
    if (/^\d/.test(t)) return parseInt(t, 10);
    const v = values.get(t);
    if (v === undefined) throw new Error(`unknown constant '${t}' in '${expr}'`);
    return v;
  };
  const product = (): number => {
    let v = primary();
    while (peek() === "*" || peek() === "/" || peek() === "%") {
      const op = tokens[pos++];
      const r = primary();
      if (op !== "*" && r === 0) throw new Error(`division by zero in '${expr}'`);
      v = op === "*" ? v * r : op === "/" ? Math.trunc(v / r) : v % r;
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (peek() === "+" || peek() === "-") {
      const op = tokens[pos++];
      const r = product();
      v = op === "+" ? v + r : v - r;
    }
    return v;
  };
  const v = sum();
  if (pos !== tokens.length) throw new Error(`trailing tokens in '${expr}'`);
  return v;
}

const UNROLL =
  /\/\*\s*unroll\s*\*\/\s*for\s*\(\s*var\s+(\w+)\s*=\s*([^;]+);\s*(\w+)\s*<\s*([^;]+);\s*(\w+)\s*\+\+\s*\)\s*\{/;

/** Expands every `/* unroll *\/ for (var i = A; i < B; i++) { ... }` with literal indices. */
export function unrollLoops(
  source: string,
  constants: Map<string, number>,
  shaderName: string,
): string {
  let out = source;
  for (let guard = 0; guard < 100000; guard++) {
    const m = UNROLL.exec(out);
    if (!m) return out;
    const [head, name, startExpr, condVar, endExpr, incVar] = m;
    const line = out.slice(0, m.index).split("\n").length;
    if (condVar !== name || incVar !== name) {
      throw new Error(`${shaderName}:${line}: unrolled loop must test and increment '${name}'`);
    }
    let start: number, end: number;
    try {
      start = evalIntExpr(startExpr.trim(), constants);
      end = evalIntExpr(endExpr.trim(), constants);
    } catch (e) {
      throw new Error(`${shaderName}:${line}: cannot unroll loop: ${(e as Error).message}`);
    }
    const bodyStart = m.index + head.length;
    let depth = 1, i = bodyStart;
    for (; i < out.length && depth > 0; i++) {
      if (out[i] === "{") depth++;
      else if (out[i] === "}") depth--;
    }
    if (depth !== 0) throw new Error(`${shaderName}:${line}: unbalanced braces in unrolled loop`);
    // line comments would swallow the rest of the flattened body
    const body = out.slice(bodyStart, i - 1).replace(/\/\/[^\n]*/g, "");
    const ident = new RegExp(`(?<![.\\w])${name}(?!\\w)`, "g");
    let expanded = "";
    for (let k = start; k < end; k++) expanded += `{${body.replace(ident, `${k}u`)}}`;
    // keep line count stable so compiler messages keep pointing at the right source line
    const newlines = (out.slice(m.index, i).match(/\n/g) ?? []).length;
    expanded = expanded.replace(/\n/g, " ") + "\n".repeat(newlines);
    out = out.slice(0, m.index) + expanded + out.slice(i);
  }
  throw new Error(`${shaderName}: too many unrolled loops`);
}

/**
 * Turns read-only storage textures into sampled textures (see `TextureReads` in context.ts): the
 * binding types become `texture_2d<f32>` / `texture_2d<u32>` and every `textureLoad` gets mip
 * level 0. Write-only storage textures cannot be loaded from, so every textureLoad is a read.
 * Line numbers are kept, so compiler messages still point at the source lines.
 */
export function sampledTextureReads(code: string): string {
  const typed = code.replace(
    /texture_storage_2d<\s*(rgba32float|rgba8unorm|rgba32uint)\s*,\s*read\s*>/g,
    (_, format: string) => format === "rgba32uint" ? "texture_2d<u32>" : "texture_2d<f32>",
  );
  const call = "textureLoad(";
  let out = "", from = 0;
  for (let at = typed.indexOf(call); at >= 0; at = typed.indexOf(call, from)) {
    let depth = 1, k = at + call.length;
    for (; k < typed.length && depth > 0; k++) {
      if (typed[k] === "(") depth++;
      else if (typed[k] === ")") depth--;
    }
    if (depth !== 0) throw new Error("unbalanced parentheses after textureLoad(");
    out += typed.slice(from, k - 1) + ", 0)";
    from = k;
  }
  return out + typed.slice(from);
}
