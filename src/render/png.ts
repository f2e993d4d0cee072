/**
 * Headless PNG rendering for the report (Deno only): chart.js on @napi-rs/canvas (Skia), and a
 * grid of digit images drawn pixel by pixel.
 *
 * Text needs a real font: Skia draws nothing for text when no font is installed, so
 * {@link reportFontFamily} looks for a sans-serif family (DejaVu Sans on Debian, package
 * `fonts-dejavu-core`) and throws instead of producing PNGs without labels.
 *
 * Permissions (paths relative to the project root, where node_modules is):
 *   --allow-ffi=node_modules (the Skia native addon)
 *   --allow-read=node_modules,/usr/bin/ldd (chart.js and the addon; ldd for its musl check)
 *   --allow-env=NAPI_RS_NATIVE_LIBRARY_PATH,NAPI_RS_FORCE_WASI,DISABLE_SYSTEM_FONTS_LOAD
 *   --allow-sys=homedir (the addon scans ~/.fonts)
 *
 * @module
 */
import { Chart, type ChartConfiguration, type ChartItem, registerables } from "npm:chart.js@4.5.1";
import { canvasLib } from "./canvas_lib.ts";
import { type ChartSpec, pluginsFor } from "./charts.ts";

Chart.register(...registerables);

/** Families tried in order; the first one Skia knows is used for all report text. */
const PREFERRED_FAMILIES = [
  "DejaVu Sans",
  "Liberation Sans",
  "Noto Sans",
  "Arial",
  "Helvetica",
  "FreeSans",
];

/** Font files registered by hand when Skia's system scan found none of the families above. */
const FALLBACK_FONT_FILES = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
  "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
  "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
  "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
];

let resolvedFamily: string | undefined;

/** Registers a font file (TTF/OTF) for report text; it wins over the system families. */
export async function registerReportFont(path: string, family = "ReportSans"): Promise<void> {
  const { GlobalFonts } = await canvasLib();
  if (!GlobalFonts.registerFromPath(path, family)) {
    throw new Error(`could not register font ${path}`);
  }
  resolvedFamily = family;
}

/**
 * The font family used for chart and grid text. Throws with install advice when no sans-serif
 * font is available: text would otherwise be silently missing from every PNG.
 */
export async function reportFontFamily(): Promise<string> {
  if (resolvedFamily) return resolvedFamily;
  const { GlobalFonts } = await canvasLib();
  const find = () => {
    const known = new Set(GlobalFonts.families.map((f) => f.family));
    return PREFERRED_FAMILIES.find((f) => known.has(f));
  };
  let family = find();
  if (!family) {
    for (const path of FALLBACK_FONT_FILES) GlobalFonts.registerFromPath(path);
    family = find();
  }
  if (!family) {
    throw new Error(
      "no sans-serif font for report text: install one (Debian: apt-get install " +
        "fonts-dejavu-core) or call registerReportFont(pathToTtf)",
    );
  }
  resolvedFamily = family;
  return family;
}

/** A chart.js configuration, optionally naming report plugins (see `charts.ts`). */
export type ChartConfigLike =
  | ChartSpec
  | { type: string; data: unknown; options?: Record<string, unknown>; pluginNames?: string[] };

/** Copies the fields chart.js needs; chart.js mutates the objects it is given. */
function chartJsConfig(spec: ChartConfigLike): ChartConfiguration {
  const { type, data, options } = structuredClone({
    type: spec.type,
    data: spec.data,
    options: spec.options ?? {},
  });
  const fixed = {
    ...options,
    // A fixed-size canvas: no resize observers, no animation frames, one synchronous draw.
    responsive: false,
    animation: false,
    devicePixelRatio: 1,
  };
  return { type, data, options: fixed, plugins: pluginsFor(spec) } as ChartConfiguration;
}

/** Draws a chart spec (or plain chart.js config) to PNG bytes; default size 800 x 500. */
export async function renderChartPng(
  config: ChartConfigLike,
  opts: { width?: number; height?: number } = {},
): Promise<Uint8Array> {
  const width = opts.width ?? 800;
  const height = opts.height ?? 500;
  // Set globally: the title and legend take their family from Chart.defaults, not
  // options.font, and Skia maps chart.js's default list ending in sans-serif to a serif face.
  Chart.defaults.font.family = `'${await reportFontFamily()}'`;
  const canvas = (await canvasLib()).createCanvas(width, height);
  const chart = new Chart(canvas as unknown as ChartItem, chartJsConfig(config));
  try {
    const png = await canvas.encode("png");
    return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
  } finally {
    chart.destroy();
  }
}

/** One labelled row of 28 x 28 grayscale digits (0 = background, 255 = full ink). */
export interface DigitRow {
  /** Text drawn to the left of the row, e.g. "sigma 64". */
  label: string;
  /** The digits, 784 bytes each (28 x 28, row-major). */
  images: Uint8Array[];
}

const DIGIT_SIDE = 28;

/**
 * A grid of digit images, one row per label (e.g. "sigma 0", "sigma 64"), the label on the
 * left. Pixels are drawn as ink on white (255 = black), nearest-neighbour scaled by
 * `scale` (default 3), each image framed so the 28 x 28 field shows even when empty.
 */
export async function digitGridPng(
  rows: DigitRow[],
  opts: { scale?: number; title?: string } = {},
): Promise<Uint8Array> {
  const scale = Math.max(1, Math.floor(opts.scale ?? 3));
  const cell = DIGIT_SIDE * scale;
  const gap = Math.max(4, scale * 2);
  const pad = 12;
  const family = await reportFontFamily();
  const labelFont = `${Math.max(12, Math.min(18, cell / 3))}px '${family}'`;
  const titleFont = `bold 18px '${family}'`;
  const titleHeight = opts.title ? 34 : 0;
  for (const row of rows) {
    for (const img of row.images) {
      if (img.length !== DIGIT_SIDE * DIGIT_SIDE) {
        throw new Error(`digitGridPng: row "${row.label}" has an image of ${img.length} pixels`);
      }
    }
  }

  // Measure the label column and the title before sizing the canvas.
  const probe = (await canvasLib()).createCanvas(1, 1).getContext("2d");
  probe.font = labelFont;
  const labelWidth = Math.ceil(Math.max(0, ...rows.map((r) => probe.measureText(r.label).width)));
  probe.font = titleFont;
  const titleWidth = opts.title ? Math.ceil(probe.measureText(opts.title).width) : 0;
  const columns = Math.max(1, ...rows.map((r) => r.images.length));
  const gridLeft = pad + labelWidth + (labelWidth > 0 ? pad : 0);
  const width = Math.max(
    gridLeft + columns * cell + (columns - 1) * gap + pad,
    titleWidth + 2 * pad,
  );
  const height = pad + titleHeight + Math.max(1, rows.length) * (cell + gap) - gap + pad;

  const canvas = (await canvasLib()).createCanvas(width, height);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = "#111111";
  if (opts.title) {
    ctx.font = titleFont;
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    ctx.fillText(opts.title, pad, pad + titleHeight / 2 - 2);
  }
  rows.forEach((row, r) => {
    const top = pad + titleHeight + r * (cell + gap);
    ctx.font = labelFont;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    ctx.fillStyle = "#111111";
    ctx.fillText(row.label, gridLeft - pad, top + cell / 2);
    row.images.forEach((img, c) => {
      const left = gridLeft + c * (cell + gap);
      const pixels = ctx.createImageData(cell, cell);
      for (let y = 0; y < cell; y++) {
        const srcRow = Math.floor(y / scale) * DIGIT_SIDE;
        for (let x = 0; x < cell; x++) {
          const shade = 255 - img[srcRow + Math.floor(x / scale)];
          const o = (y * cell + x) * 4;
          pixels.data[o] = pixels.data[o + 1] = pixels.data[o + 2] = shade;
          pixels.data[o + 3] = 255;
        }
      }
      ctx.putImageData(pixels, left, top);
      ctx.strokeStyle = "#b0b0b0";
      ctx.lineWidth = 1;
      ctx.strokeRect(left - 0.5, top - 0.5, cell + 1, cell + 1);
    });
  });
  const png = await canvas.encode("png");
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}
