/**
 * Augmentation: the check suite's cases (src/check/augment.ts: GPU against the float64
 * reference, identity ranges give the input), the drawn parameters' statistics and keys, and the
 * reference's geometry.
 */
import {
  AFFINE_DEFAULTS,
  affineImageRef,
  affineParams,
  checkAffineRanges,
} from "../src/ops/augment.ts";
import { AUGMENT_FAMILY } from "../src/check/augment.ts";
import { ELASTIC_DEFAULTS, elasticFieldRef, elasticImageRef } from "../src/ops/elastic.ts";
import { assertClose, kernelFamilyTest, rng } from "./helpers.ts";

kernelFamilyTest(AUGMENT_FAMILY);

Deno.test("affine parameters are uniform within the ranges, keyed by (seed, image, epoch)", () => {
  const aug = { ...AFFINE_DEFAULTS, seed: rng(1).int(2 ** 32) }, n = 50000;
  const sums = { angle: 0, scale: 0, shiftX: 0, shiftY: 0 };
  const lo = { angle: Infinity, scale: Infinity, shiftX: Infinity, shiftY: Infinity };
  const hi = { angle: -Infinity, scale: -Infinity, shiftX: -Infinity, shiftY: -Infinity };
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const m = affineParams(aug, i, 3);
    for (const k of ["angle", "scale", "shiftX", "shiftY"] as const) {
      sums[k] += m[k];
      lo[k] = Math.min(lo[k], m[k]);
      hi[k] = Math.max(hi[k], m[k]);
    }
    sq += m.shiftX * m.shiftX;
  }
  const rad = (10 * Math.PI) / 180;
  const expect: [string, number, number, number, number, number][] = [
    ["angle", sums.angle / n, 0, lo.angle, hi.angle, rad],
    ["shiftX", sums.shiftX / n, 0, lo.shiftX, hi.shiftX, 2],
    ["shiftY", sums.shiftY / n, 0, lo.shiftY, hi.shiftY, 2],
  ];
  for (const [k, mean, want, min, max, range] of expect) {
    if (Math.abs(mean - want) > 0.02 * range) throw new Error(`${k}: mean ${mean}`);
    if (min < -range || max > range || min > -0.99 * range || max < 0.99 * range) {
      throw new Error(`${k}: drawn in [${min}, ${max}], expected to fill [-${range}, ${range}]`);
    }
  }
  if (Math.abs(sums.scale / n - 1) > 0.002 || lo.scale < 0.9 || hi.scale > 1.1) {
    throw new Error(`scale: mean ${sums.scale / n} in [${lo.scale}, ${hi.scale}]`);
  }
  // a uniform on [-2, 2] has variance 4/3
  if (Math.abs(sq / n - 4 / 3) > 0.03) throw new Error(`shiftX variance ${sq / n}`);
  const a = affineParams(aug, 5, 1);
  if (JSON.stringify(a) !== JSON.stringify(affineParams(aug, 5, 1))) throw new Error("not keyed");
  if (a.angle === affineParams(aug, 5, 2).angle) throw new Error("the epoch is ignored");
  if (a.angle === affineParams(aug, 6, 1).angle) throw new Error("the image is ignored");
});

Deno.test("affine reference: identity, whole-pixel shifts, a half-turn symmetric image", () => {
  const r = rng(2), w = 9;
  const img = Float64Array.from({ length: w * w }, () => r.int(256));
  const id = { angle: 0, scale: 1, shiftX: 0, shiftY: 0 };
  assertClose("identity", affineImageRef(img, w, id), img, 0);
  // shift right by 2 and down by 1: pixel (x, y) shows source (x - 2, y - 1), zero outside
  const shifted = affineImageRef(img, w, { ...id, shiftX: 2, shiftY: 1 });
  const want = Float64Array.from(
    { length: w * w },
    (_, i) => (i % w < 2 || i < w ? 0 : img[i - 2 - w]),
  );
  assertClose("shift (2, 1)", shifted, want, 1e-12);
  // half a pixel: the mean of two neighbours
  const half = affineImageRef(img, w, { ...id, shiftX: 0.5 });
  assertClose("shift 0.5", [half[w + 3]], [(img[w + 3] + img[w + 2]) / 2], 1e-12);
  // 90 degrees maps the centre pixel to itself
  const turned = affineImageRef(img, w, { ...id, angle: Math.PI / 2 });
  assertClose("centre under rotation", [turned[(w * w - 1) / 2]], [img[(w * w - 1) / 2]], 1e-9);
  // scale 2 about the centre: pixel (cx + 2, cy) shows source (cx + 1, cy)
  const c = (w - 1) / 2, zoomed = affineImageRef(img, w, { ...id, scale: 2 });
  assertClose("zoom", [zoomed[c * w + c + 2]], [img[c * w + c + 1]], 1e-12);
  for (const bad of [{ maxShift: -1 }, { maxRotation: 60 }, { minScale: 1.2 }, { maxScale: 3 }]) {
    let threw = false;
    try {
      checkAffineRanges({ ...AFFINE_DEFAULTS, ...bad });
    } catch (e) {
      threw = e instanceof RangeError;
    }
    if (!threw) throw new Error(`ranges ${JSON.stringify(bad)} were accepted`);
  }
});

Deno.test("elastic field: zero mean, smooth, scaled by alpha, keyed by (seed, epoch, image)", () => {
  const e = { ...ELASTIC_DEFAULTS, seed: rng(4).int(2 ** 32) }, w = 28;
  let sum = 0, sq = 0, neighbour = 0, far = 0, n = 0;
  for (let img = 0; img < 200; img++) {
    const f = elasticFieldRef(e, img, 1, w, w);
    for (let p = 0; p < w * w; p++) {
      sum += f.dx[p];
      sq += f.dx[p] * f.dx[p];
      n++;
      if (p % w < w - 1) neighbour += f.dx[p] * f.dx[p + 1];
      if (p % w < w - 14) far += f.dx[p] * f.dx[p + 14];
    }
  }
  const sd = Math.sqrt(sq / n);
  if (Math.abs(sum / n) > 0.1 * sd) throw new Error(`mean ${sum / n} (sd ${sd})`);
  // Simard's alpha 34, sigma 4 moves pixels by about a pixel or two
  if (!(sd > 0.5 && sd < 4)) throw new Error(`displacement sd ${sd} pixels`);
  const corr1 = neighbour / (n * sd * sd), corr14 = far / (n * sd * sd);
  if (!(corr1 > 0.9)) throw new Error(`neighbouring displacements correlate only ${corr1}`);
  if (!(Math.abs(corr14) < 0.3)) {
    throw new Error(`displacements 14 pixels apart correlate ${corr14}`);
  }
  const a = elasticFieldRef(e, 3, 1, w, w).dx;
  if (a[100] !== elasticFieldRef(e, 3, 1, w, w).dx[100]) throw new Error("not keyed");
  if (a[100] === elasticFieldRef(e, 3, 2, w, w).dx[100]) throw new Error("the epoch is ignored");
  if (a[100] === elasticFieldRef(e, 4, 1, w, w).dx[100]) throw new Error("the image is ignored");
  const half = elasticFieldRef({ ...e, alpha: 17 }, 3, 1, w, w).dx;
  assertClose("alpha scales the field", half, a.map((v) => v / 2), 1e-12);
  const img = Float64Array.from({ length: w * w }, (_, i) => i % 7);
  const still = elasticFieldRef({ ...e, alpha: 0 }, 3, 1, w, w);
  assertClose("alpha 0 is the identity", elasticImageRef(img, w, still), img, 0);
  const one = { dx: new Float64Array(w * w).fill(1), dy: new Float64Array(w * w) };
  const moved = elasticImageRef(img, w, one);
  assertClose("a field of +1 reads the right neighbour", [moved[5]], [img[6]], 0);
});
