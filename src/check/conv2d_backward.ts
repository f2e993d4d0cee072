/**
 * The conv2d backward pass as the model runs it, against the float64 references: the weight
 * gradient's partial sums and the input gradient in one dispatch (default tiles, a spread of the
 * tuner's candidates, chunked and direct, with and without the input mask), bit-identical to the
 * separate kernels; and the reduction of several layers' partial sums in one dispatch, exact
 * against their float32 sums in order. Browser-safe: no Deno APIs.
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { runDispatches } from "../gpu/program.ts";
import { downloadPadded, pad4, Tensor, TexelStore, uploadPadded } from "../gpu/tensor.ts";
import {
  type Conv2dShape,
  type Conv2dTile,
  convGeometry,
  convTileCandidates,
  convTileName,
} from "../ops/conv2d.ts";
import {
  conv2dBackwardFused,
  conv2dWeightReduce,
  type ConvReduceLayer,
  partialCols,
} from "../ops/conv2d_backward.ts";
import type { Rng } from "../util/rng.ts";
import type { ConvFixture } from "./conv2d.ts";
import { arenaPair, type Checks, randomArray } from "./family.ts";

/** At most four of a list, spread over it (each one compiles a pipeline). */
function spread<T>(all: readonly T[]): T[] {
  if (all.length <= 4) return [...all];
  return [0, 1 / 3, 2 / 3, 1].map((f) => all[Math.floor(f * (all.length - 1))]);
}

/**
 * The fused weight and input gradient of a (non-raw) case, then the reduction: against the
 * reference and bit for bit against the separate kernels' `bits` (default tiles, unmasked).
 */
export async function checkFusedBackward(
  ctx: GpuContext,
  f: ConvFixture,
  ck: Checks,
  bits: { dw: Float32Array; dx: Float32Array },
  gRef: { dx: Float64Array; dw: Float64Array; db: Float64Array },
  opts: { tiles: boolean; direct: boolean },
): Promise<void> {
  const { s, t, c, g } = f;
  const chunks = t.partial.rows;
  const [adw, adb] = arenaPair(ctx, [g.weightRows, c.CO], [1, c.CO]);
  const run = async (
    how: string,
    o: { wtile?: Conv2dTile; itile?: Conv2dTile; mask?: boolean; direct?: boolean } = {},
  ) => {
    const n = o.direct ? 1 : chunks;
    const weight = { grad: t.grad, x: t.x, aux: f.aux, dw: adw, db: adb, chunks: n };
    const fused = await conv2dBackwardFused(ctx, {
      shape: s,
      weight: { ...weight, partial: t.partial, tile: o.wtile },
      input: {
        grad: t.grad,
        w: t.w,
        aux: f.aux,
        dx: t.dx,
        maskFrom: o.mask ? t.x : undefined,
        tile: o.itile,
      },
    });
    const layer: ConvReduceLayer = { shape: s, partial: t.partial, chunks: n, dw: adw, db: adb };
    await runDispatches(ctx, [fused, ...await conv2dWeightReduce(ctx, [layer])]);
    const dx = o.mask ? gRef.dx.map((v, i) => (f.x[i] > 0 ? v : 0)) : gRef.dx;
    ck.close(`fused dW (${how})`, await f.readWeights(adw), gRef.dw, 1e-5, f.wShape);
    ck.close(`fused db (${how})`, await f.readBias(adb), gRef.db, 1e-5);
    ck.close(`fused dX (${how})`, await f.readIn(t.dx), dx, 1e-5, f.inShape);
    if (!o.mask) ck.bits(`fused dX bits (${how})`, await downloadPadded(ctx, t.dx), bits.dx);
    if (!o.direct) ck.bits(`fused dW bits (${how})`, await downloadPadded(ctx, adw), bits.dw);
  };
  await run(`${chunks} chunks, shared arena`);
  await run("input-masked", { mask: true });
  if (opts.direct) await run("direct", { direct: true });
  if (!opts.tiles) return;
  const wtiles = spread(convTileCandidates("backwardWeight", s));
  const itiles = spread(convTileCandidates("backwardInput", s));
  for (let k = 0; k < Math.max(wtiles.length, itiles.length); k++) {
    const wtile = wtiles[k % wtiles.length], itile = itiles[k % itiles.length];
    await run(`tiles ${convTileName(wtile)} + ${convTileName(itile)}`, { wtile, itile });
  }
}

/** A random layer geometry for the reduction (its partial sums are random too). */
function randomLayer(r: Rng): Conv2dShape {
  const raw = r.int(3) === 0, ci = raw ? 1 : 1 + r.int(9);
  return {
    batch: 2 + r.int(9),
    height: 7,
    width: 7,
    inChannels: ci,
    inStored: raw ? 1 : pad4(ci),
    outChannels: 1 + r.int(11),
    kernel: 1 + r.int(5),
    padding: 0,
    relu: false,
    pool: false,
  };
}

/**
 * `extra` random layers' partial sums (random values, random chunk counts) and, first, the
 * case's own (from the weight gradient's run), reduced in one dispatch per 4 layers into one
 * arena: each dW and db must be the float32 sum of its rows in order, bit for bit, close to the
 * float64 sum, and the arena texels between them must stay 0.
 */
export async function checkMultiLayerReduce(
  ctx: GpuContext,
  f: ConvFixture,
  ck: Checks,
  extra: number,
  r: Rng,
): Promise<void> {
  const shapes = [f.s, ...Array.from({ length: extra }, () => randomLayer(r))];
  // dW0, db0, dW1, ... with one unused texel before each tensor
  let texels = 0;
  const places = shapes.map((s) => {
    const g = convGeometry(s);
    const dw = texels + 1, db = dw + (g.weightRows * g.cop) / 4 + 1;
    texels = db + g.cop / 4;
    return { dw, db };
  });
  const arena = new TexelStore(ctx, texels + 1, "reduce arena");
  const layers: ConvReduceLayer[] = [];
  const partials: Float32Array[] = [];
  for (const [k, s] of shapes.entries()) {
    const g = convGeometry(s);
    const chunks = k === 0 ? f.t.partial.rows : 2 + r.int(s.batch - 1);
    const used = Math.ceil(s.batch / Math.ceil(s.batch / chunks));
    let partial = f.t.partial;
    if (k === 0) {
      partials.push((await downloadPadded(ctx, partial)).subarray(0, used * partialCols(s)));
    } else {
      partial = Tensor.create(ctx, used, partialCols(s), `partial ${k}`);
      const values = Float32Array.from(randomArray(r, used * partialCols(s)));
      uploadPadded(ctx, partial, values);
      partials.push(values);
    }
    layers.push({
      shape: s,
      partial,
      chunks,
      dw: new Tensor(arena, places[k].dw, g.weightRows, s.outChannels, `dW ${k}`),
      db: new Tensor(arena, places[k].db, 1, s.outChannels, `db ${k}`),
    });
  }
  const dispatches = await conv2dWeightReduce(ctx, layers);
  ck.count("reduce dispatches", dispatches.length, Math.ceil(shapes.length / 4), "too many");
  await runDispatches(ctx, dispatches);
  const all = await downloadPadded(ctx, new Tensor(arena, 0, 1, 4 * texels + 4, "arena"));
  const touched = new Uint8Array(all.length);
  for (const [k, l] of layers.entries()) {
    const row = partialCols(l.shape), rows = Math.ceil(partials[k].length / row);
    const want32 = new Float32Array(row), want64 = new Float64Array(row);
    for (let i = 0; i < row; i++) {
      let s32 = 0, s64 = 0;
      for (let j = 0; j < rows; j++) {
        s32 = Math.fround(s32 + partials[k][j * row + i]);
        s64 += partials[k][j * row + i];
      }
      want32[i] = s32;
      want64[i] = s64;
    }
    const wf = l.dw.rows * l.dw.pitch;
    const got = new Float32Array(row);
    got.set(all.subarray(4 * l.dw.base, 4 * l.dw.base + wf));
    got.set(all.subarray(4 * l.db.base, 4 * l.db.base + l.db.pitch), wf);
    touched.fill(1, 4 * l.dw.base, 4 * l.dw.base + wf);
    touched.fill(1, 4 * l.db.base, 4 * l.db.base + l.db.pitch);
    const what = `layer ${k + 1} of ${layers.length} (${rows} rows of ${row})`;
    ck.bits(`reduced dW+db bits, ${what}`, got, want32);
    ck.close(`reduced dW+db, ${what}`, got, want64, 1e-5);
  }
  let stray = 0;
  for (let i = 0; i < all.length; i++) if (!touched[i] && all[i] !== 0) stray++;
  ck.count("reduce writes outside dW and db", stray, 0, "arena values written");
}
