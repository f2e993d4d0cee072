/**
 * Dropout: the check suite's cases (src/check/dropout.ts), the reference gradient by finite
 * differences, and the mask's statistics and keys.
 */
import { dropoutBackwardRef, dropoutKeeps, dropoutRef } from "../src/ops/dropout.ts";
import { DROPOUT_FAMILY } from "../src/check/dropout.ts";
import { reluRef } from "../src/ops/relu.ts";
import { assertClose, kernelFamilyTest, numericGrad, randomArray, rng } from "./helpers.ts";

kernelFamilyTest(DROPOUT_FAMILY);

Deno.test("dropout reference gradient (after a ReLU) agrees with finite differences", () => {
  const r = rng(3);
  const n = 40, p = 0.3, seed = r.int(2 ** 32), step = r.int(1000);
  const z = randomArray(r, n), g = randomArray(r, n);
  const loss = () => dropoutRef(reluRef(z), p, seed, step).reduce((s, v, i) => s + v * g[i], 0);
  const want = dropoutBackwardRef(g, p, seed, step, reluRef(z));
  const got = numericGrad(loss, z, Array.from({ length: n }, (_, i) => i));
  assertClose("dropout(relu) dZ vs finite differences", got, want, 1e-6);
});

Deno.test("dropout keeps 1 - p of the elements, scaled to keep the mean, new mask each step", () => {
  const r = rng(5);
  const seed = r.int(2 ** 32), n = 100000;
  for (const p of [0.1, 0.5, 0.8]) {
    let kept = 0, same = 0;
    for (let e = 0; e < n; e++) {
      const k = dropoutKeeps(seed, 7, e, p);
      if (k) kept++;
      if (k === dropoutKeeps(seed, 8, e, p)) same++;
    }
    // binomial standard deviation is at most 0.0016 of n
    if (Math.abs(kept / n - (1 - p)) > 0.01) throw new Error(`p=${p}: kept ${kept / n}`);
    const agree = p * p + (1 - p) * (1 - p);
    if (Math.abs(same / n - agree) > 0.01) {
      throw new Error(`p=${p}: masks of steps 7 and 8 agree on ${same / n}, expected ${agree}`);
    }
    const ones = new Float64Array(n).fill(1);
    const mean = dropoutRef(ones, p, seed, 7).reduce((a, b) => a + b, 0) / n;
    if (Math.abs(mean - 1) > 0.03) throw new Error(`p=${p}: mean after dropout ${mean}`);
  }
  if (dropoutKeeps(1, 2, 3, 0.5) !== dropoutKeeps(1, 2, 3, 0.5)) throw new Error("not a function");
  let differ = 0;
  for (let e = 0; e < 1000; e++) {
    if (dropoutKeeps(1, 2, e, 0.5) !== dropoutKeeps(9, 2, e, 0.5)) differ++;
  }
  if (differ < 400) throw new Error(`the seed changes only ${differ} of 1000 mask elements`);
  const all = dropoutRef(randomArray(r, 50), 0, seed, 3), zero = dropoutRef([1, 2], 0, 1, 1);
  if (all.some((v) => !Number.isFinite(v)) || zero[0] !== 1 || zero[1] !== 2) {
    throw new Error("p = 0 must be the identity");
  }
});
