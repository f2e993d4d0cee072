/** Systematic (pairs) label noise and the trainer's --loss switch. */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { corruptLabels, PAIR_LABELS, pairLabel } from "../src/study/label_noise.ts";
import { Rng } from "../src/util/rng.ts";

Deno.test("pairs label noise: a symmetric swap, every corrupted label moves to its partner", () => {
  for (let c = 0; c < 10; c++) {
    assertEquals(PAIR_LABELS[PAIR_LABELS[c]], c, `partner of partner of ${c}`);
    assertEquals(PAIR_LABELS[c] === c, false, `${c} is its own partner`);
  }
  assertEquals([PAIR_LABELS[4], PAIR_LABELS[3], PAIR_LABELS[7]], [9, 5, 1]);
  const r = new Rng(5);
  const labels = Array.from({ length: 1001 }, () => r.int(10));
  const out = corruptLabels(labels, 0.3, 17, "pairs");
  assertEquals(out.corrupted.length, 300);
  assertEquals(out.changed, 300);
  const hit = new Set(out.corrupted);
  for (let i = 0; i < labels.length; i++) {
    assertEquals(out.labels[i], hit.has(i) ? PAIR_LABELS[labels[i]] : labels[i], `image ${i}`);
  }
  // the same images are chosen as under uniform noise with the same seed
  assertEquals(corruptLabels(labels, 0.3, 17, "uniform").corrupted, out.corrupted);
  for (let c = 0; c < 5; c++) assertEquals(pairLabel(pairLabel(c, 5), 5) === c || c === 4, true);
});
