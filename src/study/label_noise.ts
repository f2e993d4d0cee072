/**
 * Label noise for Part 3: exactly round(frac x N) training images, chosen without replacement,
 * get a random label. Seeded and deterministic; browser-safe (no Deno APIs).
 *
 * @module
 */
import { deriveSeed, Rng } from "../util/rng.ts";

/**
 * How a corrupted image's new label is drawn: `uniform` draws from all classes (so about one in
 * ten keeps its true label), `different` draws from the other classes only, `pairs` is
 * systematic noise: every corrupted image of class c gets the fixed partner {@link PAIR_LABELS}[c].
 */
export type LabelMode = "uniform" | "different" | "pairs";

/** The label modes, for validating user input. */
export const LABEL_MODES: readonly LabelMode[] = ["uniform", "different", "pairs"];

/**
 * The partner of each digit under `pairs` noise (a symmetric swap): 4<->9, 3<->5, 7<->1 (the
 * pairs that look alike), and 0<->6, 2<->8 for the rest.
 */
export const PAIR_LABELS: readonly number[] = [6, 7, 8, 5, 9, 3, 0, 1, 2, 4];

/** Result of {@link corruptLabels}. */
export interface CorruptedLabels {
  /** A new array: the labels after corruption (the input is not modified). */
  labels: Uint8Array;
  /** Indices of the images that were given a random label, in ascending order. */
  corrupted: Uint32Array;
  /** How many of those labels actually differ from the original. */
  changed: number;
}

/** Number of images corrupted for a fraction: round(frac x count), halves rounded up. */
export function corruptedCount(frac: number, count: number): number {
  if (!(frac >= 0 && frac <= 1)) {
    throw new RangeError(`label-noise fraction must be in [0, 1], got ${frac}`);
  }
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`image count must be a non-negative integer, got ${count}`);
  }
  // frac * count carries float error (0.15 * 60000 = 9000.000000000002); round it away first.
  return Math.round(Number((frac * count).toPrecision(12)));
}

/** The `pairs` partner of a label: {@link PAIR_LABELS} for 10 classes, else the neighbour c ^ 1. */
export function pairLabel(label: number, classes = 10): number {
  if (classes === PAIR_LABELS.length) return PAIR_LABELS[label];
  const other = label ^ 1;
  return other < classes ? other : (label + 1) % classes;
}

/**
 * Picks exactly round(frac x N) images without replacement and gives each a random label in
 * 0..classes-1 (`uniform`) or a random label different from its own (`different`) or its fixed partner (`pairs`).
 *
 * `seed` is a run seed: the generator is seeded with deriveSeed(seed, "labels"), so label noise
 * is independent of the initialization, shuffles and image noise derived from the same seed.
 */
export function corruptLabels(
  labels: ArrayLike<number>,
  frac: number,
  seed: number,
  mode: LabelMode = "uniform",
  classes = 10,
): CorruptedLabels {
  if (!LABEL_MODES.includes(mode)) throw new RangeError(`unknown label mode ${String(mode)}`);
  if (!Number.isInteger(classes) || classes < 2) {
    throw new RangeError(`classes must be an integer >= 2, got ${classes}`);
  }
  const n = labels.length;
  const k = corruptedCount(frac, n);
  const out = Uint8Array.from(labels);
  for (let i = 0; i < n; i++) {
    if (!(out[i] < classes) || out[i] !== labels[i]) {
      throw new RangeError(`label ${i} is ${labels[i]}, expected an integer in 0..${classes - 1}`);
    }
  }
  const rng = new Rng(deriveSeed(seed, "labels"));
  // Partial Fisher-Yates: the first k entries of a random permutation, without replacement.
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const corrupted = order.slice(0, k).sort();
  let changed = 0;
  for (const i of corrupted) {
    const original = out[i];
    const label = mode === "uniform"
      ? rng.int(classes)
      : mode === "pairs"
      ? pairLabel(original, classes)
      : (original + 1 + rng.int(classes - 1)) % classes;
    out[i] = label;
    if (label !== original) changed++;
  }
  return { labels: out, corrupted, changed };
}
