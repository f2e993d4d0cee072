/**
 * The label-noise studies' profiles and bookkeeping: the plan's image-step count per study
 * (checked against a count written out by hand for a small profile), the relabeling budgets
 * clamped to the relabeling subset, and the grid table keeping the fresh-noise runs apart from
 * the cross-entropy column.
 */
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import {
  FORWARD_COST,
  type GridRun,
  type LabelStudies,
  labelStudyCost,
  type LabelStudyProfile,
  STANDARD_LABEL_STUDIES,
  studySeeds,
} from "../src/study/label_studies.ts";
import { gridTable } from "../src/study/report/label_studies.ts";
import { studyProfile } from "../experiments/part3.ts";

const SMALL: LabelStudyProfile = {
  name: "standard",
  seeds: 2,
  memorization: {
    images: 100,
    heldOut: 20,
    epochs: 3,
    losses: ["ce"],
    schedule: "constant",
    testImages: 50,
    seeds: 3,
  },
  robust: { losses: ["gce"] },
  pairs: true,
  confidentLearning: { images: 0, folds: 4, epochs: 2, seeds: 5 },
  relabel: { images: 120, fracs: [0.5], budgets: [10, 30], epochs: 2 },
  grid: {
    images: 80,
    epochs: 1,
    sigmas: [0, 32],
    fracs: [0, 0.5],
    losses: ["ce", "gce"],
    noisePerEpoch: true,
  },
};

Deno.test("labelStudyCost counts each study's runs with its own seeds and subsets", () => {
  const f = FORWARD_COST, fracs = [0, 0.5];
  const c = labelStudyCost(SMALL, 400, fracs, 1, true, 200);
  // 3 seeds x 2 fractions x 1 loss x 3 epochs x (80 trained + (100 predicted + 50 tested)/4)
  assertEquals(c.memorization, 3 * 2 * 3 * (80 + f * 150));
  assertEquals(c.robust, 2 * 2 * 1 * 400); // GCE only: CE comes from the sweep
  assertEquals(c.pairs, 2 * 1 * 400);
  // (5 seeds x 1 noisy fraction + the audit) x 4 folds x (2 epochs x 300 + (100 + 200)/4)
  assertEquals(c.confidentLearning, 6 * 4 * (2 * 300 + f * 300));
  // 5 seeds x 1 fraction x (nothing + 2 budgets x 2 methods) x (2 epochs x 120 + 200/4)
  assertEquals(c.relabel, 5 * 5 * (2 * 120 + f * 200));
  // 2 seeds x (4 cells x 2 losses + 2 noisy-image cells with fresh noise) x (80 + 200/4)
  assertEquals(c.grid, 2 * 10 * (80 + f * 200));
  assertEquals(labelStudyCost(SMALL, 400, fracs, 1, false, 200).robust, 2 * 2 * 2 * 400);
  assertEquals(studySeeds(SMALL), { memorization: 3, confidentLearning: 5 });
  assertEquals(
    studySeeds({ ...SMALL, memorization: { ...SMALL.memorization, seeds: undefined } }),
    {
      memorization: 2,
      confidentLearning: 5,
    },
  );
});

Deno.test("the standard profile's relabeling budgets fit its relabeling subset", () => {
  const p = studyProfile("standard", 60000)!;
  assertEquals(p.relabel.budgets, STANDARD_LABEL_STUDIES.relabel.budgets);
  ok(Math.max(...p.relabel.budgets) < p.relabel.images);
  // a small training set: the subset shrinks to it and larger budgets are dropped
  assertEquals(studyProfile("standard", 1000)!.relabel.budgets, [400]);
  assertEquals(studyProfile("standard", 1000)!.memorization.heldOut, 200);
});

Deno.test("grid table: fresh-noise runs get their own column, not the cross-entropy one", () => {
  const run = (sigma: number, frac: number, seed: number, e: number, fresh = false): GridRun => ({
    sigma,
    frac,
    seed,
    loss: "ce",
    testError: e,
    trainSeconds: 1,
    ...(fresh ? { noisePerEpoch: true } : {}),
  });
  const grid = [
    run(0, 0, 1, 0.1),
    run(0, 0, 2, 0.12),
    run(32, 0, 1, 0.2),
    run(32, 0, 2, 0.22),
    run(32, 0, 1, 0.5, true),
    run(32, 0, 2, 0.54, true),
  ];
  const st = { grid, seeds: [1, 2] } as unknown as LabelStudies;
  const lines = gridTable(st).split("\n");
  assertEquals(lines[0].includes("CE, fresh noise"), true, lines[0]);
  const row32 = lines.find((l) => l.startsWith("| 32 "))!;
  // CE at sigma 32 is the mean of the fixed-noise runs (21%), fresh noise 52%, +31 points
  ok(row32.includes("21.00% ± 1.41"), row32);
  ok(row32.includes("52.00% ± 2.83"), row32);
  ok(row32.includes("+31.00"), row32);
  const row0 = lines.find((l) => l.startsWith("| 0 "))!;
  ok(row0.includes("11.00% ± 1.41") && row0.includes("—"), row0);
});
