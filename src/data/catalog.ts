/**
 * The data sets the study knows by name, with their class names (for tables and charts).
 * Browser-safe: names only; loading is in `files.ts` (Deno).
 *
 * @module
 */

/** A data set known by name: `--dataset mnist|fashion-mnist`. */
export type DatasetName = "mnist" | "fashion-mnist";

/** What tables and charts need to know about a data set. */
export interface DatasetInfo {
  /** Display name, e.g. "Fashion-MNIST". */
  title: string;
  /** Class names by label (0..9). */
  classNames: string[];
  /** What one class is called in captions ("digit", "class"). */
  classNoun: string;
}

/** MNIST digits 0..9. */
export const MNIST_CLASS_NAMES: readonly string[] = Array.from({ length: 10 }, (_, i) => String(i));

/** Fashion-MNIST's ten clothing classes, by label. */
export const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
];

/** Every named data set. */
export const DATASETS: Readonly<Record<DatasetName, DatasetInfo>> = {
  mnist: { title: "MNIST", classNames: [...MNIST_CLASS_NAMES], classNoun: "digit" },
  "fashion-mnist": {
    title: "Fashion-MNIST",
    classNames: [...FASHION_MNIST_CLASS_NAMES],
    classNoun: "class",
  },
};

/** True for a name of {@link DATASETS}. */
export function isDatasetName(name: string): name is DatasetName {
  return Object.hasOwn(DATASETS, name);
}

/** "digit" for digit names 0..9 (or none given), else "class": the noun of chart axes. */
export function classNounOf(classNames?: readonly string[]): string {
  return !classNames || classNames.every((n, i) => n === String(i)) ? "digit" : "class";
}
