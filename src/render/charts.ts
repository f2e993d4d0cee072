/**
 * Chart builders for the report. Each builder returns a {@link ChartSpec}: a chart.js
 * configuration made of JSON data only, plus the names of the plugins it needs. The same spec is
 * drawn to PNG in Deno (`png.ts`) and embedded in the HTML report (`html.ts`), which is why no
 * spec holds functions: the renderers swap `pluginNames` for the plugin objects below.
 *
 * Browser-safe: no Deno APIs and no runtime imports (the chart.js import is types only).
 *
 * @module
 */
import type { Chart, Plugin } from "npm:chart.js@4.5.1";

/** Names of the plugins in {@link reportPlugins}. */
export type PluginName = "background" | "errorBars" | "matrixCells";

/** A chart.js configuration with JSON-only data plus the plugins it needs, by name. */
export interface ChartSpec {
  /** chart.js chart type. */
  type: "line" | "bar" | "scatter";
  /** chart.js `data`: category labels (optional) and datasets, JSON values only. */
  data: { labels?: (string | number)[]; datasets: Record<string, unknown>[] };
  /** chart.js `options`, JSON values only. */
  options: Record<string, unknown>;
  /** Renderers replace these with the objects from {@link reportPlugins}. */
  pluginNames: PluginName[];
}

/** Distinct, colour-blind-friendly series colours (Okabe–Ito, then Tableau extras). */
export const SERIES_COLORS = [
  "#0072B2", // blue
  "#D55E00", // vermillion
  "#009E73", // green
  "#CC79A7", // purple-pink
  "#E69F00", // orange
  "#56B4E9", // sky blue
  "#000000", // black
  "#8C564B", // brown
  "#7F7F7F", // grey
  "#BCBD22", // olive
] as const;

/** Marker shapes cycled with the colours, so series stay apart in greyscale prints. */
const POINT_STYLES = ["circle", "rect", "triangle", "rectRot", "star", "crossRot"] as const;

const FONT = {
  title: { size: 18, weight: "bold" },
  axisTitle: { size: 14, weight: "bold" },
  ticks: { size: 12 },
  legend: { size: 13 },
} as const;

export function seriesColor(i: number): string {
  return SERIES_COLORS[i % SERIES_COLORS.length];
}

/** `#RRGGBB` plus an alpha, for fills that must not hide what lies behind them. */
function withAlpha(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

/** Options every chart shares: no animation, title, legend, white background. */
function baseOptions(title: string, legend: boolean): Record<string, unknown> {
  return {
    animation: false,
    // Room on the right: chart.js puts the last bar, cell or tick flush against the edge.
    layout: { padding: { left: 6, right: 16, bottom: 4 } },
    plugins: {
      title: { display: true, text: title, font: FONT.title, color: "#111", padding: 12 },
      legend: {
        display: legend,
        position: "top",
        // boxHeight 10: chart.js sizes point-style markers from it, and circles at the
        // default (the font size) dwarf the other shapes.
        labels: {
          font: FONT.legend,
          color: "#222",
          usePointStyle: true,
          boxHeight: 10,
          padding: 14,
        },
      },
      background: { color: "#ffffff" },
    },
  };
}

function axis(title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    title: { display: true, text: title, font: FONT.axisTitle, color: "#222" },
    ticks: { font: FONT.ticks, color: "#333" },
    grid: { color: "#e4e4e4" },
    ...extra,
  };
}

/** Non-finite numbers become null: chart.js leaves a gap, and JSON keeps it (NaN would not). */
function finiteOrNull(v: number | undefined): number | null {
  return v !== undefined && Number.isFinite(v) ? v : null;
}

/**
 * Axis hints that keep whole error bars in view (chart.js sizes axes from the values only);
 * `suggested*` so an explicit min/max still wins. Reads built datasets: data holds numbers,
 * nulls or {x, y} points.
 */
function errorBarBounds(datasets: Record<string, unknown>[]) {
  let lo = Infinity, hi = -Infinity, allNonNegative = true;
  for (const d of datasets) {
    const errors = d.yErr as (number | null)[] | undefined;
    if (!errors) continue;
    (d.data as (number | null | { y: number | null })[]).forEach((point, i) => {
      const v = typeof point === "object" && point !== null ? point.y : point;
      const e = errors[i];
      if (v === null) return;
      if (v < 0) allNonNegative = false;
      if (e === null || e === undefined) return;
      lo = Math.min(lo, v - e);
      hi = Math.max(hi, v + e);
    });
  }
  // Non-negative data (error rates) keeps a zero floor: a whisker below 0 is clipped instead.
  if (allNonNegative && lo < 0) lo = 0;
  return Number.isFinite(lo) ? { suggestedMin: lo, suggestedMax: hi } : {};
}

function checkLengths(what: string, n: number, arrays: Record<string, unknown[] | undefined>) {
  for (const [name, a] of Object.entries(arrays)) {
    if (a !== undefined && a.length !== n) {
      throw new Error(`${what}: ${name} has ${a.length} entries, expected ${n}`);
    }
  }
}

/** One line of a {@link lineChart}: points (x[i], y[i]) with optional error bars. */
export interface LineSeries {
  /** Legend text. */
  label: string;
  /** X coordinates, one per point. */
  x: number[];
  /** Y coordinates, one per point (same length as `x`); non-finite values leave a gap. */
  y: number[];
  /** Half-length of the vertical error bar at each point (e.g. one standard deviation). */
  yErr?: number[];
}

/** Options of {@link lineChart}. */
export interface LineChartOptions {
  /** Chart title, drawn above the plot. */
  title: string;
  /** X-axis title. */
  xLabel: string;
  /** Y-axis title. */
  yLabel: string;
  /** The lines, coloured in order from {@link SERIES_COLORS}. */
  series: LineSeries[];
  /**
   * "linear" (default) places x by value; "category" spaces the distinct x values evenly,
   * which suits sweeps such as sigma = 0, 8, 16, 32, 64.
   */
  xType?: "linear" | "category";
  /** Lower end of the y axis (default: fitted to the data and error bars). */
  yMin?: number;
  /** Upper end of the y axis (default: fitted to the data and error bars). */
  yMax?: number;
}

/** One line per series, with vertical error bars where `yErr` is given. */
export function lineChart(o: LineChartOptions): ChartSpec {
  const category = o.xType === "category";
  // Category mode: the union of all x values, in numeric order, is the shared axis.
  const labels = category ? [...new Set(o.series.flatMap((s) => s.x))].sort((a, b) => a - b) : [];
  const datasets = o.series.map((s, i) => {
    checkLengths(`lineChart series "${s.label}"`, s.x.length, { y: s.y, yErr: s.yErr });
    const color = seriesColor(i);
    let data: unknown[];
    let yErr: (number | null)[] | undefined;
    if (category) {
      const at = new Map(s.x.map((x, k) => [x, k]));
      data = labels.map((x) => finiteOrNull(at.has(x) ? s.y[at.get(x)!] : undefined));
      yErr = s.yErr && labels.map((x) => finiteOrNull(at.has(x) ? s.yErr![at.get(x)!] : undefined));
    } else {
      data = s.x.map((x, k) => ({ x, y: finiteOrNull(s.y[k]) }));
      yErr = s.yErr?.map(finiteOrNull);
    }
    return {
      label: s.label,
      data,
      ...(yErr ? { yErr } : {}),
      borderColor: color,
      backgroundColor: withAlpha(color, 0.85),
      borderWidth: 2,
      pointStyle: POINT_STYLES[i % POINT_STYLES.length],
      pointRadius: 4,
      pointHoverRadius: 6,
      tension: 0,
      spanGaps: false,
    };
  });
  const options = baseOptions(o.title, true);
  options.scales = {
    // offset: category points sit inside the axis ends, so markers and caps are not cut.
    x: axis(o.xLabel, category ? { type: "category", offset: true } : { type: "linear" }),
    y: axis(o.yLabel, { type: "linear", ...errorBarBounds(datasets), min: o.yMin, max: o.yMax }),
  };
  const hasErrors = o.series.some((s) => s.yErr);
  return {
    type: "line",
    data: category ? { labels: labels.map(String), datasets } : { datasets },
    options,
    pluginNames: hasErrors ? ["background", "errorBars"] : ["background"],
  };
}

/** Options of {@link barChart}. */
export interface BarChartOptions {
  /** Chart title, drawn above the plot. */
  title: string;
  /** X-axis title (under the category groups). */
  xLabel: string;
  /** Y-axis title. */
  yLabel: string;
  /** Group names along the x axis, in order. */
  categories: string[];
  /** One bar per category each: values, optional error half-lengths (both per category). */
  series: { label: string; values: number[]; errors?: number[] }[];
  /** Lower end of the y axis (default: 0, or below it for negative bars). */
  yMin?: number;
  /** Upper end of the y axis (default: fitted to the bars and error bars). */
  yMax?: number;
}

/** Grouped bars: one group per category, one bar per series, optional error bars. */
export function barChart(o: BarChartOptions): ChartSpec {
  const datasets = o.series.map((s, i) => {
    checkLengths(`barChart series "${s.label}"`, o.categories.length, {
      values: s.values,
      errors: s.errors,
    });
    const color = seriesColor(i);
    return {
      label: s.label,
      data: s.values.map(finiteOrNull),
      ...(s.errors ? { yErr: s.errors.map(finiteOrNull) } : {}),
      backgroundColor: withAlpha(color, 0.8),
      borderColor: color,
      borderWidth: 1,
    };
  });
  const options = baseOptions(o.title, true);
  // Bars need square legend boxes; point-style legends would draw circles.
  ((options.plugins as Record<string, Record<string, unknown>>).legend.labels as Record<
    string,
    unknown
  >).usePointStyle = false;
  options.scales = {
    x: axis(o.xLabel, { type: "category", grid: { display: false } }),
    y: axis(o.yLabel, {
      type: "linear",
      beginAtZero: true,
      ...errorBarBounds(datasets),
      min: o.yMin,
      max: o.yMax,
    }),
  };
  return {
    type: "bar",
    data: { labels: [...o.categories], datasets },
    options,
    pluginNames: o.series.some((s) => s.errors) ? ["background", "errorBars"] : ["background"],
  };
}

/** One run of a {@link learningCurveChart}: its loss and test-error curves. */
export interface LearningCurveRun {
  /** Legend text of the run (both curves). */
  label: string;
  /** Training loss against x (e.g. images seen): drawn solid, on the left axis. */
  loss?: { x: number[]; y: number[] };
  /** Test error in percent against x: drawn dashed with markers, on the right axis. */
  testErrorPct?: { x: number[]; y: number[]; yErr?: number[] };
}

/** Options of {@link learningCurveChart}. */
export interface LearningCurveOptions {
  /** Chart title, drawn above the plot. */
  title: string;
  /** Default "images seen". */
  xLabel?: string;
  /** Left (loss) axis title; default "training loss (cross-entropy)". */
  lossLabel?: string;
  /** Right (error) axis title; default "test error (%)". */
  errorLabel?: string;
  /** The runs, coloured in order from {@link SERIES_COLORS}. */
  runs: LearningCurveRun[];
  /** Log-scale loss axis: losses span decades early in training. */
  logLoss?: boolean;
}

/** Training loss (left axis) and test error % (right axis) over images seen or epochs. */
export function learningCurveChart(o: LearningCurveOptions): ChartSpec {
  const datasets: Record<string, unknown>[] = [];
  o.runs.forEach((run, i) => {
    const color = seriesColor(i);
    if (run.loss) {
      checkLengths(`learningCurveChart "${run.label}" loss`, run.loss.x.length, {
        y: run.loss.y,
      });
      datasets.push({
        label: `${run.label}: training loss`,
        yAxisID: "yLoss",
        data: run.loss.x.map((x, k) => ({ x, y: finiteOrNull(run.loss!.y[k]) })),
        borderColor: color,
        backgroundColor: color,
        borderWidth: 2,
        pointRadius: 0,
        pointStyle: "line",
      });
    }
    if (run.testErrorPct) {
      const t = run.testErrorPct;
      checkLengths(`learningCurveChart "${run.label}" test error`, t.x.length, {
        y: t.y,
        yErr: t.yErr,
      });
      datasets.push({
        label: `${run.label}: test error`,
        yAxisID: "yError",
        data: t.x.map((x, k) => ({ x, y: finiteOrNull(t.y[k]) })),
        ...(t.yErr ? { yErr: t.yErr.map(finiteOrNull) } : {}),
        borderColor: color,
        backgroundColor: withAlpha(color, 0.85),
        borderWidth: 2,
        borderDash: [6, 4],
        pointRadius: 4,
        pointStyle: POINT_STYLES[i % POINT_STYLES.length],
      });
    }
  });
  const options = baseOptions(o.title, true);
  options.scales = {
    x: axis(o.xLabel ?? "images seen", { type: "linear" }),
    yLoss: axis(o.lossLabel ?? "training loss (cross-entropy)", {
      type: o.logLoss ? "logarithmic" : "linear",
      position: "left",
    }),
    yError: axis(o.errorLabel ?? "test error (%)", {
      type: "linear",
      position: "right",
      beginAtZero: true,
      ...errorBarBounds(datasets.filter((d) => d.yAxisID === "yError")),
      // One grid is enough; the right axis only labels its ticks.
      grid: { drawOnChartArea: false },
    }),
  };
  const hasErrors = o.runs.some((r) => r.testErrorPct?.yErr);
  return {
    type: "line",
    data: { datasets },
    options,
    pluginNames: hasErrors ? ["background", "errorBars"] : ["background"],
  };
}

/** Options of {@link confusionMatrixChart}. */
export interface ConfusionMatrixOptions {
  /** Chart title; default "Confusion matrix". */
  title?: string;
  /** X-axis title; default "predicted class". */
  xLabel?: string;
  /** Y-axis title; default "true class". */
  yLabel?: string;
}

/**
 * Confusion matrix as a heatmap: rows are true classes (top to bottom), columns predictions.
 * chart.js has no matrix type, so two category axes give the layout and the `matrixCells`
 * plugin paints the cells; colour is the row fraction (per-class recall on the diagonal), the
 * text is the raw count.
 */
export function confusionMatrixChart(
  matrix: number[][],
  labels: string[],
  o: ConfusionMatrixOptions = {},
): ChartSpec {
  if (matrix.length !== labels.length) {
    throw new Error(`confusionMatrixChart: ${matrix.length} rows for ${labels.length} labels`);
  }
  matrix.forEach((row, i) => checkLengths(`confusionMatrixChart row ${i}`, labels.length, { row }));
  const options = baseOptions(o.title ?? "Confusion matrix", false);
  (options.plugins as Record<string, unknown>).matrixCells = {
    matrix: matrix.map((row) => row.map((v) => (Number.isFinite(v) ? v : 0))),
  };
  options.aspectRatio = 1;
  const categoryAxis = (title: string, extra: Record<string, unknown>) =>
    axis(title, { type: "category", labels: [...labels], offset: true, ...extra });
  options.scales = {
    x: categoryAxis(o.xLabel ?? "predicted class", {
      position: "bottom",
      grid: { display: false },
    }),
    y: categoryAxis(o.yLabel ?? "true class", { grid: { display: false } }),
  };
  return {
    type: "scatter",
    data: { datasets: [] },
    options,
    pluginNames: ["background", "matrixCells"],
  };
}

// ---------------------------------------------------------------------------------------------
// Plugins. The HTML report serialises these objects with Function.prototype.toString, so each
// hook must be self-contained: no references to anything outside its own body.

/** Fills the canvas (white by default) so exported PNGs are not transparent. */
export const backgroundPlugin: Plugin = {
  id: "background",
  defaults: { color: "#ffffff" },
  beforeDraw(chart: Chart, _args: unknown, options: { color?: string }) {
    const ctx = chart.ctx;
    ctx.save();
    ctx.globalCompositeOperation = "destination-over";
    ctx.fillStyle = options.color || "#ffffff";
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

/**
 * Draws vertical whiskers with caps from each dataset's `yErr` array (half-lengths, one per
 * data point). Lines use the series colour; bars use dark grey so the whisker stays visible
 * over the bar. Non-positive or missing errors draw nothing.
 */
export const errorBarsPlugin: Plugin = {
  id: "errorBars",
  defaults: { lineWidth: 1.5, capWidth: 10, barColor: "#222222" },
  afterDatasetsDraw(
    chart: Chart,
    _args: unknown,
    options: { lineWidth: number; capWidth: number; barColor: string },
  ) {
    const ctx = chart.ctx;
    const area = chart.chartArea;
    ctx.save();
    // Clip vertically to the plot (bars past a fixed max), but let caps at the ends show.
    const margin = options.capWidth / 2 + options.lineWidth;
    ctx.beginPath();
    ctx.rect(
      area.left - margin,
      area.top,
      area.right - area.left + 2 * margin,
      area.bottom - area.top,
    );
    ctx.clip();
    chart.data.datasets.forEach((dataset, i) => {
      const errors = (dataset as { yErr?: unknown }).yErr;
      if (!Array.isArray(errors) || !chart.isDatasetVisible(i)) return;
      const meta = chart.getDatasetMeta(i);
      const scale = meta.vScale;
      if (!scale) return;
      const controller = meta.controller as unknown as {
        getParsed(index: number): Record<string, number> | undefined;
      };
      const isBar = meta.type === "bar";
      ctx.strokeStyle = isBar ? options.barColor : String(dataset.borderColor || options.barColor);
      ctx.lineWidth = options.lineWidth;
      meta.data.forEach((element, j) => {
        const err = Number(errors[j]);
        const parsed = controller.getParsed(j);
        const value = parsed ? parsed[scale.axis] : NaN;
        if (!(err > 0) || !Number.isFinite(value) || (element as { skip?: boolean }).skip) return;
        const x = element.x;
        const top = scale.getPixelForValue(value + err);
        let bottom = scale.getPixelForValue(value - err);
        // A log axis has no pixel for value - err <= 0: run the whisker to the axis.
        if (!Number.isFinite(bottom)) bottom = area.bottom;
        const barWidth = (element as { width?: number }).width;
        const cap = isBar && barWidth
          ? Math.min(options.capWidth, barWidth * 0.6)
          : options.capWidth;
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, bottom);
        ctx.moveTo(x - cap / 2, top);
        ctx.lineTo(x + cap / 2, top);
        ctx.moveTo(x - cap / 2, bottom);
        ctx.lineTo(x + cap / 2, bottom);
        ctx.stroke();
      });
    });
    ctx.restore();
  },
};

/**
 * Paints `options.matrix` (rows = y categories, columns = x categories) as coloured cells with
 * counts. Colour: white to dark blue by the cell's share of its row.
 */
export const matrixCellsPlugin: Plugin = {
  id: "matrixCells",
  beforeDatasetsDraw(
    chart: Chart,
    _args: unknown,
    options: { matrix?: number[][]; shade?: number[][]; text?: string[][] },
  ) {
    const matrix = options.matrix;
    // optional: shade in [-1, 1] per cell (negative blue, positive red) and the text to print
    const shade = options.shade, text = options.text;
    const xs = chart.scales.x;
    const ys = chart.scales.y;
    if (!Array.isArray(matrix) || matrix.length === 0 || !xs || !ys) return;
    const rows = matrix.length;
    const cols = matrix[0].length;
    const cellW = (xs.right - xs.left) / cols;
    const cellH = (ys.bottom - ys.top) / rows;
    const ctx = chart.ctx;
    const fontSize = Math.max(8, Math.min(16, Math.floor(Math.min(cellW, cellH) * 0.32)));
    const family = (chart.options.font && chart.options.font.family) || "sans-serif";
    ctx.save();
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.font = `${fontSize}px ${family}`;
    for (let r = 0; r < rows; r++) {
      let rowSum = 0;
      for (let c = 0; c < cols; c++) rowSum += matrix[r][c];
      const cy = ys.getPixelForValue(r);
      for (let c = 0; c < cols; c++) {
        const count = matrix[r][c];
        // sqrt keeps rare confusions visible next to a dominant diagonal.
        const given = shade && shade[r] ? shade[r][c] : undefined;
        const t = typeof given === "number"
          ? Math.min(1, Math.abs(given))
          : rowSum > 0
          ? Math.sqrt(count / rowSum)
          : 0;
        const cx = xs.getPixelForValue(c);
        const to = typeof given === "number" && given > 0 ? [165, 15, 21] : [8, 48, 107];
        const red = Math.round(255 + (to[0] - 255) * t);
        const green = Math.round(255 + (to[1] - 255) * t);
        const blue = Math.round(255 + (to[2] - 255) * t);
        ctx.fillStyle = `rgb(${red}, ${green}, ${blue})`;
        ctx.fillRect(cx - cellW / 2, cy - cellH / 2, cellW, cellH);
        ctx.strokeStyle = "#ffffff";
        ctx.lineWidth = 1;
        ctx.strokeRect(cx - cellW / 2, cy - cellH / 2, cellW, cellH);
        ctx.fillStyle = t > 0.55 ? "#ffffff" : "#222222";
        ctx.fillText(text && text[r] ? text[r][c] : String(count), cx, cy);
      }
    }
    ctx.restore();
  },
};

/** Every plugin a {@link ChartSpec} may name. */
export const reportPlugins: Record<PluginName, Plugin> = {
  background: backgroundPlugin,
  errorBars: errorBarsPlugin,
  matrixCells: matrixCellsPlugin,
};

/** The plugin objects for a spec; the background plugin is always included. */
export function pluginsFor(spec: { pluginNames?: readonly string[] }): Plugin[] {
  const names = new Set<string>(["background", ...(spec.pluginNames ?? [])]);
  return [...names].map((name) => {
    const plugin = (reportPlugins as Record<string, Plugin>)[name];
    if (!plugin) throw new Error(`unknown chart plugin "${name}"`);
    return plugin;
  });
}

/**
 * JavaScript source for an object literal equal to `plugin`: functions via toString (method
 * shorthand gets a `function` keyword), everything else as JSON. Used to inline the plugins in
 * the HTML report, so the browser runs the very code the PNG renderer runs.
 */
export function pluginSource(plugin: Plugin): string {
  const entries = Object.entries(plugin).map(([key, value]) => {
    if (typeof value === "function") {
      let src = value.toString();
      const isExpression = /^(async\s+)?function\b/.test(src) ||
        /^(async\s+)?(\([^)]*\)|[\w$]+)\s*=>/.test(src);
      if (!isExpression) src = `function ${src}`;
      return `${JSON.stringify(key)}: ${src}`;
    }
    return `${JSON.stringify(key)}: ${JSON.stringify(value)}`;
  });
  return `{\n${entries.join(",\n")}\n}`;
}
