/**
 * The options that choose the network, the augmentation and the data set of the part tasks
 * (`--model`, `--hidden`, `--augment`, `--dataset`), and what they build.
 *
 * @module
 */
import {
  AFFINE_DEFAULTS,
  type AffineAugment,
  cnn,
  deriveSeed,
  ELASTIC_DEFAULTS,
  type ElasticAugment,
  lenet5,
  logreg,
  mlp,
  type ModelSpec,
} from "../mod.ts";
import { type OptionSpec, UsageError } from "../mod_deno.ts";

/** `--model`, `--hidden`, `--augment`, `--dataset` (part of every part's training options). */
export const MODEL_OPTIONS: Record<string, OptionSpec> = {
  model: {
    type: "enum",
    values: ["lenet5", "logreg", "mlp", "cnn"],
    default: "lenet5",
    description: "network: LeNet-5, logistic regression (784-10), an MLP (--hidden), or a wider " +
      "CNN (conv 32 and 64 @3x3, dense 256, dropout 0.5)",
  },
  hidden: {
    type: "number-list",
    default: [300, 100],
    min: 1,
    max: 65536,
    description: "hidden layer widths of --model mlp",
  },
  augment: {
    type: "enum",
    values: ["none", "affine", "elastic"],
    default: "none",
    description: "training-image augmentation on the GPU, drawn per image and epoch (affine: " +
      "shift <= 2 px, rotation <= 10 degrees, scale 0.9-1.1; elastic: affine, then an elastic " +
      "distortion with alpha 34, sigma 4)",
  },
  dataset: {
    type: "enum",
    values: ["mnist", "fashion-mnist"],
    default: "mnist",
    description: "data set (fashion-mnist: from Debian's dataset-fashion-mnist package)",
  },
};

/** A value of `--augment`. */
export type AugmentName = "none" | "affine" | "elastic";

/** Parsed values of {@link MODEL_OPTIONS}. */
export interface ModelOptions {
  model: "lenet5" | "logreg" | "mlp" | "cnn";
  hidden: number[];
}

/** The network of `--model` (and `--hidden` for the MLP). */
export function modelSpecOf(o: ModelOptions): ModelSpec {
  switch (o.model) {
    case "logreg":
      return logreg();
    case "mlp":
      if (o.hidden.some((h) => !Number.isInteger(h))) {
        throw new UsageError(`--hidden takes whole layer widths, got ${o.hidden.join(",")}`);
      }
      return mlp(784, o.hidden);
    case "cnn":
      return cnn();
    default:
      return lenet5();
  }
}

/**
 * The augmentation of a run (the session recipe's `augment` and `elastic`), seeded from the
 * run's seed: `--augment affine`, or `elastic` (affine, then elastic).
 */
export function augmentOf(
  recipe: { augment: string },
  seed: number,
): { augment?: AffineAugment; elastic?: ElasticAugment } {
  const affine = { ...AFFINE_DEFAULTS, seed: deriveSeed(seed, "augment") };
  if (recipe.augment === "affine") return { augment: affine };
  if (recipe.augment === "elastic") {
    return { augment: affine, elastic: { ...ELASTIC_DEFAULTS, seed: deriveSeed(seed, "elastic") } };
  }
  return {};
}

/** `--augment` of a checkpoint's recipe. */
export function augmentNameOf(recipe: { augment?: unknown; elastic?: unknown }): AugmentName {
  return recipe.elastic ? "elastic" : recipe.augment ? "affine" : "none";
}
