import assert from "node:assert/strict";
import {
  differenceIsWithinSpread,
  formatPercent,
  mean,
  std,
  summarize,
} from "../src/util/stats.ts";

const close = (got: number, want: number, tol = 1e-12) =>
  assert.ok(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `${got} != ${want}`);

Deno.test("mean and sample standard deviation (n - 1)", () => {
  assert.equal(mean([1, 2, 3, 4]), 2.5);
  // Deviations -1.5, -0.5, 0.5, 1.5: squares sum to 5, divided by n - 1 = 3.
  close(std([1, 2, 3, 4]), Math.sqrt(5 / 3));
  close(std([2, 4, 4, 4, 5, 5, 7, 9]), Math.sqrt(32 / 7));
  assert.equal(std([42]), 0);
  assert.equal(std([3, 3, 3]), 0);
  // A large common offset must not destroy the result (a one-pass formula would).
  close(std([1e9 + 1, 1e9 + 2, 1e9 + 3]), 1, 1e-9);
});

Deno.test("empty and non-finite inputs throw instead of producing NaN", () => {
  assert.throws(() => mean([]), RangeError);
  assert.throws(() => std([]), RangeError);
  assert.throws(() => summarize([]), RangeError);
  assert.throws(() => mean([1, NaN]), /value 1 is NaN/);
  assert.throws(() => std([Infinity, 1]), RangeError);
});

Deno.test("summarize reports mean, std, min, max and n", () => {
  const s = summarize([0.97, 0.99, 0.98]);
  close(s.mean, 0.98);
  close(s.std, 0.01, 1e-9);
  assert.equal(s.min, 0.97);
  assert.equal(s.max, 0.99);
  assert.equal(s.n, 3);
  assert.deepEqual(summarize([5]), { mean: 5, std: 0, min: 5, max: 5, n: 1 });
});

Deno.test("formatPercent", () => {
  assert.equal(formatPercent(0.98765, 2), "98.77%");
  assert.equal(formatPercent(0.5), "50.0%");
  assert.equal(formatPercent(1, 0), "100%");
  assert.equal(formatPercent(0.0001, 3), "0.010%");
  assert.equal(formatPercent(NaN), "n/a");
});

Deno.test("differenceIsWithinSpread compares the mean gap with the larger std", () => {
  // std of a is 0.01; means differ by 0.005: within the spread.
  assert.equal(differenceIsWithinSpread([0.97, 0.98, 0.99], [0.985]), true);
  // Means differ by 0.02 > 0.01: a real difference by this rule.
  assert.equal(differenceIsWithinSpread([0.97, 0.98, 0.99], [1.0]), false);
  // The larger of the two spreads counts, whichever group it belongs to.
  assert.equal(differenceIsWithinSpread([0.5, 0.5], [0.4, 0.6, 0.5, 0.7]), true);
  assert.equal(differenceIsWithinSpread([0.4, 0.6, 0.5, 0.7], [0.5, 0.5]), true);
  // Exactly one std apart is still within (the bound is inclusive).
  assert.equal(differenceIsWithinSpread([1, 3], [2 + Math.SQRT2]), true);
  // Single runs have no spread: only identical values are "within".
  assert.equal(differenceIsWithinSpread([0.9], [0.9]), true);
  assert.equal(differenceIsWithinSpread([0.9], [0.9001]), false);
  assert.throws(() => differenceIsWithinSpread([], [1]), RangeError);
});
