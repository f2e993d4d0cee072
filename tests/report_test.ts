/**
 * Report rendering: PNG charts and digit grids (decoded and inspected pixel by pixel), the
 * self-contained HTML report (also executed against chart.js's UMD bundle with a Skia canvas
 * standing in for the browser's), and the Markdown subset.
 *
 * Permissions: --allow-ffi=node_modules --allow-read=node_modules,/usr/bin/ldd
 * --allow-env=NAPI_RS_NATIVE_LIBRARY_PATH,NAPI_RS_FORCE_WASI,DISABLE_SYSTEM_FONTS_LOAD
 * --allow-sys=homedir
 */
import { Chart, type ChartItem, type Plugin } from "chart.js";
import { type Canvas, createCanvas, loadImage } from "@napi-rs/canvas";
import {
  barChart,
  type ChartSpec,
  confusionMatrixChart,
  learningCurveChart,
  lineChart,
  pluginSource,
  reportPlugins,
} from "../src/render/charts.ts";
import { digitGridPng, renderChartPng, reportFontFamily } from "../src/render/png.ts";
import { escapeHtml, htmlReport, markdownToHtml } from "../src/render/html.ts";
import { readChartJsSource } from "../src/render/chartjs_source.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function assertEquals<T>(got: T, want: T, what: string): void {
  if (!Object.is(got, want)) throw new Error(`${what}: got ${got}, want ${want}`);
}

const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** Width and height from the IHDR chunk, after checking the signature and chunk type. */
function pngSize(png: Uint8Array): { width: number; height: number } {
  PNG_SIGNATURE.forEach((b, i) => assertEquals(png[i], b, `PNG signature byte ${i}`));
  assertEquals(new TextDecoder().decode(png.subarray(12, 16)), "IHDR", "first chunk");
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

interface Pixels {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

async function decode(png: Uint8Array): Promise<Pixels> {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(image, 0, 0);
  return {
    width: image.width,
    height: image.height,
    data: ctx.getImageData(0, 0, image.width, image.height).data,
  };
}

function pixelAt(p: Pixels, x: number, y: number): [number, number, number, number] {
  const o = (y * p.width + x) * 4;
  return [p.data[o], p.data[o + 1], p.data[o + 2], p.data[o + 3]];
}

/** Pixels that are not opaque white (transparent ones count: the background must be filled). */
function nonWhite(p: Pixels, x0 = 0, y0 = 0, x1 = p.width, y1 = p.height): number {
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const [r, g, b, a] = pixelAt(p, x, y);
      if (a < 255 || r < 245 || g < 245 || b < 245) n++;
    }
  }
  return n;
}

function differingPixels(a: Pixels, b: Pixels): number {
  assertEquals(a.data.length, b.data.length, "pixel buffer length");
  let n = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    if (
      a.data[i] !== b.data[i] || a.data[i + 1] !== b.data[i + 1] ||
      a.data[i + 2] !== b.data[i + 2] || a.data[i + 3] !== b.data[i + 3]
    ) n++;
  }
  return n;
}

const SIGMAS = [0, 8, 16, 32, 64, 128];

function noiseLineChart(withErrors: boolean): ChartSpec {
  return lineChart({
    title: "Test error vs image noise",
    xLabel: "noise sigma (0..255 scale)",
    yLabel: "test error (%)",
    series: [
      {
        label: "LeNet-5",
        x: SIGMAS,
        y: [0.9, 1.0, 1.3, 2.1, 5.5, 18],
        yErr: withErrors ? [0.3, 0.3, 0.4, 0.6, 1.2, 2.5] : undefined,
      },
      {
        label: "MLP",
        x: SIGMAS,
        y: [1.8, 2.0, 2.6, 4.1, 9.5, 30],
        yErr: withErrors ? [0.3, 0.4, 0.4, 0.8, 1.5, 3] : undefined,
      },
    ],
    // Fixed axis: with and without error bars the plot area is the same, so only the
    // whiskers differ.
    yMin: 0,
    yMax: 40,
  });
}

const labelNoiseBars = barChart({
  title: "Test error vs label noise",
  xLabel: "label-noise fraction",
  yLabel: "test error (%)",
  categories: ["0%", "10%", "20%", "40%"],
  series: [
    { label: "LeNet-5", values: [0.9, 1.4, 2.2, 5.0], errors: [0.1, 0.2, 0.3, 0.8] },
    { label: "MLP", values: [1.8, 2.9, 4.2, 9.0], errors: [0.2, 0.3, 0.3, 1.0] },
  ],
});

Deno.test("a sans-serif font is available, so chart text is drawn", async () => {
  const family = await reportFontFamily();
  const canvas = createCanvas(200, 40);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, 200, 40);
  ctx.fillStyle = "#000";
  ctx.font = `20px '${family}'`;
  ctx.fillText("sigma 64", 10, 28);
  const data = ctx.getImageData(0, 0, 200, 40).data;
  let ink = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] < 128) ink++;
  assert(ink > 100, `text "sigma 64" in ${family} left only ${ink} dark pixels`);
});

Deno.test("line chart with error bars renders to a non-blank PNG of the requested size", async () => {
  const png = await renderChartPng(noiseLineChart(true), { width: 640, height: 400 });
  const size = pngSize(png);
  assertEquals(size.width, 640, "IHDR width");
  assertEquals(size.height, 400, "IHDR height");
  const pixels = await decode(png);
  assertEquals(pixels.width, 640, "decoded width");
  // Opaque white corners: the background plugin filled the canvas.
  for (const [x, y] of [[0, 0], [639, 0], [0, 399], [639, 399]]) {
    assertEquals(pixelAt(pixels, x, y).join(","), "255,255,255,255", `pixel (${x}, ${y})`);
  }
  const ink = nonWhite(pixels);
  assert(ink > 2000 && ink < 640 * 400 / 2, `${ink} non-white pixels: blank or garbage`);
  // Title text at the top centre, axis title at the bottom.
  assert(nonWhite(pixels, 200, 0, 440, 40) > 100, "no title ink");
  assert(nonWhite(pixels, 200, 370, 440, 400) > 50, "no x-axis title ink");
});

Deno.test("error bars add whiskers and nothing else changes", async () => {
  const size = { width: 640, height: 400 };
  const withBars = await decode(await renderChartPng(noiseLineChart(true), size));
  const without = await decode(await renderChartPng(noiseLineChart(false), size));
  const changed = differingPixels(withBars, without);
  // 12 whiskers of 4..60 px plus caps; a broken plugin changes nothing.
  assert(changed > 150, `error bars changed only ${changed} pixels`);
  assert(changed < 5000, `error bars changed ${changed} pixels: more than whiskers`);
  assert(
    noiseLineChart(true).pluginNames.includes("errorBars") &&
      !noiseLineChart(false).pluginNames.includes("errorBars"),
    "errorBars plugin should be named only when yErr is given",
  );
});

Deno.test("bar chart renders with bars in both series colours and dark whiskers", async () => {
  const png = await renderChartPng(labelNoiseBars);
  assertEquals(pngSize(png).width, 800, "default width");
  assertEquals(pngSize(png).height, 500, "default height");
  const pixels = await decode(png);
  let blue = 0, orange = 0, dark = 0;
  for (let i = 0; i < pixels.data.length; i += 4) {
    const [r, g, b] = [pixels.data[i], pixels.data[i + 1], pixels.data[i + 2]];
    if (b > 150 && r < 100) blue++;
    if (r > 180 && g < 150 && b < 100) orange++;
    if (r < 60 && g < 60 && b < 60) dark++;
  }
  assert(blue > 5000, `only ${blue} blue (LeNet-5 bar) pixels`);
  assert(orange > 5000, `only ${orange} orange (MLP bar) pixels`);
  assert(dark > 300, `only ${dark} dark pixels (text, whiskers)`);
});

Deno.test("learning curve and confusion matrix render", async () => {
  const x = Array.from({ length: 20 }, (_, i) => (i + 1) * 3000);
  const curve = learningCurveChart({
    title: "Learning curve",
    runs: [{
      label: "sigma 0",
      loss: { x, y: x.map((v) => 2.3 * Math.exp(-v / 20000) + 0.05) },
      testErrorPct: { x: [30000, 60000], y: [2, 1.2], yErr: [0.2, 0.1] },
    }],
    logLoss: true,
  });
  const scales = curve.options.scales as Record<string, { position?: string }>;
  assertEquals(scales.yLoss.position, "left", "loss axis");
  assertEquals(scales.yError.position, "right", "error axis");
  assert(nonWhite(await decode(await renderChartPng(curve))) > 2000, "blank learning curve");

  const matrix = Array.from(
    { length: 10 },
    (_, i) => Array.from({ length: 10 }, (_, j) => (i === j ? 980 : j)),
  );
  const png = await renderChartPng(confusionMatrixChart(matrix, [..."0123456789"]), {
    width: 500,
    height: 500,
  });
  const pixels = await decode(png);
  // Diagonal cells are dark blue; count very blue pixels (about 10 cells of ~35 x 35).
  let deepBlue = 0;
  for (let i = 0; i < pixels.data.length; i += 4) {
    if (pixels.data[i] < 40 && pixels.data[i + 2] > 90 && pixels.data[i + 2] < 130) deepBlue++;
  }
  assert(deepBlue > 5000, `confusion matrix: only ${deepBlue} dark-blue diagonal pixels`);
  let threw = false;
  try {
    confusionMatrixChart([[1, 2]], ["a", "b"]);
  } catch {
    threw = true;
  }
  assert(threw, "a 1 x 2 matrix with 2 labels should be rejected");
});

Deno.test("plugins serialised for the HTML report draw exactly what the module plugins draw", async () => {
  const spec = noiseLineChart(true);
  const reference = await decode(await renderChartPng(spec, { width: 500, height: 320 }));
  // Rebuild the plugins from their source text, as the browser does, in a scope without the
  // module's bindings: a hook that leans on a module-level helper throws here.
  const rebuilt = Object.fromEntries(
    Object.entries(reportPlugins).map(([name, plugin]) => [
      name,
      new Function(`"use strict"; return (${pluginSource(plugin)});`)() as Plugin,
    ]),
  );
  const canvas = createCanvas(500, 320);
  const chart = new Chart(canvas as unknown as ChartItem, {
    type: spec.type,
    data: structuredClone(spec.data),
    options: {
      ...structuredClone(spec.options),
      responsive: false,
      animation: false,
      devicePixelRatio: 1,
    },
    plugins: ["background", ...spec.pluginNames].map((name) => rebuilt[name]),
    // deno-lint-ignore no-explicit-any
  } as any);
  const copy = await decode(await canvas.encode("png"));
  chart.destroy();
  assertEquals(differingPixels(reference, copy), 0, "pixels differing between the two renders");
});

Deno.test("digit grid has the computed size, ink where 255 is, white where 0 is", async () => {
  const scale = 2, cell = 28 * scale, gap = 4, pad = 12;
  const full = new Uint8Array(784).fill(255);
  const empty = new Uint8Array(784);
  const rows = [
    { label: "sigma 0", images: [empty, empty, empty, full] },
    { label: "sigma 64", images: [empty, empty] },
    { label: "sigma 128 <b>", images: [empty] },
  ];
  const png = await digitGridPng(rows, { scale });
  const { width, height } = pngSize(png);
  assertEquals(height, pad + 3 * (cell + gap) - gap + pad, "grid height");
  assert(
    width >= pad + 4 * cell + 3 * gap + pad + 40,
    `grid width ${width} leaves no label column`,
  );
  const pixels = await decode(png);
  // The last image of row 0 ends `pad` pixels before the right edge.
  assertEquals(
    pixelAt(pixels, width - pad - cell / 2, pad + cell / 2).join(","),
    "0,0,0,255",
    "centre of the all-255 image",
  );
  assertEquals(
    pixelAt(pixels, width - pad - 4 * cell - 3 * gap + cell / 2, pad + cell / 2).join(","),
    "255,255,255,255",
    "centre of an all-0 image",
  );
  // Row labels are drawn in the left column.
  const labelColumn = width - pad - 4 * cell - 3 * gap - pad;
  assert(nonWhite(pixels, 0, pad, labelColumn, pad + cell) > 50, "no label text in row 0");

  const titled = pngSize(await digitGridPng(rows, { scale, title: "What the network saw" }));
  assert(titled.height > height, "a title adds height");
  let threw = false;
  try {
    await digitGridPng([{ label: "bad", images: [new Uint8Array(100)] }]);
  } catch {
    threw = true;
  }
  assert(threw, "a 100-pixel image should be rejected");
});

const hostile = `<script>alert("x")</script>`;

async function sampleReport(): Promise<{ html: string; chartJs: string }> {
  const chartJs = await readChartJsSource();
  const withHostileTitle = lineChart({
    title: `noise ${hostile}`,
    xLabel: "sigma",
    yLabel: "error (%)",
    series: [{ label: "a", x: [0, 1], y: [1, 2], yErr: [0.1, 0.1] }],
  });
  const html = htmlReport({
    title: `Robustness ${hostile}`,
    chartJsSource: chartJs,
    sections: [
      {
        heading: "Image noise",
        html: markdownToHtml(`Error **rises** with sigma. ${hostile}`),
        charts: [
          { id: "noise-chart", config: noiseLineChart(true), caption: `mean ± sd ${hostile}` },
          { config: withHostileTitle },
        ],
      },
      {
        heading: `Label noise ${hostile}`,
        html: "<p>Bars.</p>",
        charts: [{ id: "label_noise", config: labelNoiseBars, width: 700, height: 420 }],
      },
    ],
  });
  return { html, chartJs };
}

Deno.test("HTML report is self-contained, escapes user text and names every chart", async () => {
  const { html, chartJs } = await sampleReport();
  assert(html.includes(chartJs.slice(0, 2000)), "chart.js source is not inlined");
  assert(html.includes(chartJs.slice(-2000)), "chart.js source is truncated");
  for (const id of ["noise-chart", "chart-1-2", "label_noise"]) {
    assert(html.includes(`<canvas id="${id}"`), `no canvas for ${id}`);
    assert(html.includes(`"id":"${id}"`), `no config for ${id}`);
  }
  assert(!html.includes('alert("x")</script>'), "user text closed a script element");
  assertEquals(html.match(/<script/gi)?.length, 2, "<script> elements (chart.js + charts)");
  assert(html.includes(escapeHtml(hostile)), "escaped user text missing");
  assert(html.includes("\\u003cscript>alert"), "chart title not escaped inside the JSON");
  const remote = html.match(/\b(src|href)\s*=\s*["']?\s*(https?:)?\/\//gi);
  assert(remote === null, `network references: ${remote}`);
  assert(html.includes('"errorBars": {'), "errorBars plugin not inlined");

  for (
    const bad of [[{ id: "x y", config: {} }], [{ id: "a", config: {} }, { id: "a", config: {} }]]
  ) {
    let threw = false;
    try {
      htmlReport({
        title: "t",
        chartJsSource: "",
        sections: [{ heading: "h", html: "", charts: bad }],
      });
    } catch {
      threw = true;
    }
    assert(threw, `chart ids ${JSON.stringify(bad.map((c) => c.id))} should be rejected`);
  }
});

Deno.test("HTML report scripts run: the UMD chart.js draws every chart with the plugins", async () => {
  const { html } = await sampleReport();
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
  assertEquals(scripts.length, 2, "inline scripts");
  // A stand-in document: Skia canvases for the chart ids, a parent that records error notes.
  const canvases = new Map<string, Canvas>();
  const failures: string[] = [];
  const document = {
    getElementById(id: string) {
      let canvas = canvases.get(id);
      if (!canvas) {
        canvas = createCanvas(600, 380);
        Object.assign(canvas, {
          parentNode: {
            replaceChild: (note: { textContent: string }) => failures.push(note.textContent),
          },
        });
        canvases.set(id, canvas);
      }
      return canvas;
    },
    createElement: () => ({ className: "", textContent: "" }),
  };
  const scope = globalThis as { Chart?: unknown };
  try {
    // The UMD bundle assigns globalThis.Chart, which the second script uses.
    new Function("document", `${scripts[0]}\n;${scripts[1]}`)(document);
    assertEquals(failures.join("; "), "", "chart errors");
    assertEquals(
      [...canvases.keys()].sort().join(","),
      "chart-1-2,label_noise,noise-chart",
      "charts drawn",
    );
    const UmdChart = scope.Chart as typeof Chart;
    for (const [id, canvas] of canvases) {
      const chart = UmdChart.getChart(canvas as unknown as ChartItem);
      assert(chart, `no chart on ${id}`);
      const plugins = (chart.config.plugins as Plugin[]).map((p) => p.id);
      assert(
        plugins.includes("background") && plugins.includes("errorBars"),
        `${id}: plugins ${plugins}`,
      );
      const pixels = await decode(await canvas.encode("png"));
      assert(nonWhite(pixels) > 2000, `${id} is blank`);
      assertEquals(pixelAt(pixels, 0, 0)[3], 255, `${id}: background alpha`);
      chart.destroy();
    }
  } finally {
    delete scope.Chart;
  }
});

Deno.test("markdownToHtml: headings, emphasis, code, lists, tables, images; escapes HTML", () => {
  const md = [
    "# Results",
    "",
    "Error is **low** at *small* sigma; see `sigma_0` and snake_case_name.",
    "Second line <b>not bold</b>.",
    "",
    "- first item",
    "- second **item**",
    "  wrapped",
    "",
    "1. one",
    "2. two",
    "",
    "| sigma | error (%) |",
    "|:------|----------:|",
    "| 0 | 0.9 |",
    "| 64 | 5.5 \\| 6 |",
    "",
    "![noise grid](grid.png)",
    "",
    "[bad](javascript:alert(1)) [ok](#results)",
    "",
    "```",
    "deno task study <all>",
    "```",
  ].join("\n");
  const html = markdownToHtml(md);
  const expect = [
    "<h1>Results</h1>",
    "<p>Error is <strong>low</strong> at <em>small</em> sigma; see <code>sigma_0</code> and " +
    "snake_case_name.\nSecond line &lt;b&gt;not bold&lt;/b&gt;.</p>",
    "<ul>\n<li>first item</li>\n<li>second <strong>item</strong>\nwrapped</li>\n</ul>",
    "<ol>\n<li>one</li>\n<li>two</li>\n</ol>",
    '<th style="text-align: left">sigma</th><th style="text-align: right">error (%)</th>',
    '<tr><td style="text-align: left">0</td><td style="text-align: right">0.9</td></tr>',
    '<td style="text-align: right">5.5 | 6</td>',
    '<img src="grid.png" alt="noise grid">',
    '<a href="#results">ok</a>',
    "<pre><code>deno task study &lt;all&gt;</code></pre>",
  ];
  for (const fragment of expect) {
    assert(html.includes(fragment), `missing ${fragment}\nin\n${html}`);
  }
  assert(!html.includes('javascript:alert(1)"'), "javascript: URL became a link");
  assert(!/<b>/.test(html), "raw HTML passed through");
  assertEquals(html.match(/<table>/g)?.length, 1, "tables");
  assertEquals(html.match(/<tr>/g)?.length, 3, "table rows (header + 2)");

  const inlined = markdownToHtml("![g](a.png)", {
    resolveImage: (src) => `data:image/png;base64,${src}`,
  });
  assert(
    inlined.includes('src="data:image/png;base64,a.png"'),
    `resolveImage not used: ${inlined}`,
  );
});
