/**
 * Deno-only helpers, listed name by name: data and image files, PNG charts, atomic writes, the
 * tuning cache and the command-line toolkit the tasks are built with. Not for browsers; the
 * browser-safe API is `mod.ts`.
 *
 * @module
 */

// Data and image files
export {
  candidateNames,
  DataFileError,
  DEFAULT_MNIST_DIR,
  FASHION_MNIST_DIR,
  loadKaggleCsv,
  loadMnist,
  loadMnistSplit,
  loadNamedDataset,
  MNIST_FILE_NAMES,
  type Split,
} from "./src/data/files.ts";
export { loadImageAsMnist } from "./src/data/image_file.ts";

// PNG charts and image grids (chart.js on Skia), and chart.js's source for the HTML report
export {
  type ChartConfigLike,
  digitGridPng,
  type DigitRow,
  registerReportFont,
  renderChartPng,
  reportFontFamily,
} from "./src/render/png.ts";
export { readChartJsSource } from "./src/render/chartjs_source.ts";

// Files written whole or not at all
export {
  checkOutputFile,
  checkOutputFolder,
  ensureDir,
  jsonText,
  OutputDir,
  OutputPathError,
  tempPathFor,
  writeFileAtomic,
  writeJsonAtomic,
  WritePermissionError,
} from "./src/util/atomic_write.ts";

// The kernel-variant tuner's cache file
export { DEFAULT_TUNING_FILE, FileTuningStore } from "./src/gpu/tuning_file.ts";

// Command-line toolkit: declarative options with one-line usage errors (exit 2), exit codes,
// progress bars with ETA
export {
  expectedError,
  formatHelp,
  optionFlag,
  type OptionSpec,
  type OptionType,
  type ParsedOptions,
  parseOptions,
  type ProgramInfo,
  reportError,
  runCli,
  UsageError,
} from "./src/cli/args.ts";
export {
  formatCount,
  formatDuration,
  formatRate,
  ProgressBar,
  type ProgressBarOptions,
  type ProgressStream,
  renderBar,
} from "./src/cli/progress.ts";
