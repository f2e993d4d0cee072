/** Batch gather: the check suite's cases (src/check/gather.ts), and the pixel noise's statistics. */
import { pixelNormal } from "../src/ops/gather.ts";
import { GATHER_FAMILY } from "../src/check/gather.ts";
import { kernelFamilyTest } from "./helpers.ts";

kernelFamilyTest(GATHER_FAMILY);

Deno.test("pixel noise is standard normal, keyed only by (seed, image, pixel)", () => {
  const n = 200000;
  let s = 0, s2 = 0, s3 = 0, s4 = 0;
  for (let i = 0; i < n; i++) {
    const v = pixelNormal(7, i % 1000, Math.floor(i / 1000));
    s += v;
    s2 += v * v;
    s3 += v * v * v;
    s4 += v * v * v * v;
  }
  const mean = s / n, variance = s2 / n - mean * mean;
  if (Math.abs(mean) > 0.01) throw new Error(`mean ${mean}`);
  if (Math.abs(variance - 1) > 0.02) throw new Error(`variance ${variance}`);
  if (Math.abs(s3 / n) > 0.03) throw new Error(`skewness ${s3 / n}`);
  if (Math.abs(s4 / n - 3) > 0.08) throw new Error(`kurtosis ${s4 / n}`);
  if (pixelNormal(7, 3, 5) !== pixelNormal(7, 3, 5)) throw new Error("not deterministic");
  if (pixelNormal(7, 3, 5) === pixelNormal(8, 3, 5)) throw new Error("seed is ignored");
});
