/**
 * The HTML report: one self-contained file (chart.js, the report plugins and every chart config
 * inlined; no network access), plus a small Markdown-subset converter for the prose.
 *
 * Pure and browser-safe: the caller passes the chart.js UMD source (see `chartjs_source.ts`).
 *
 * @module
 */
import { pluginSource, reportPlugins } from "./charts.ts";

/** Escapes text for HTML content and double- or single-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]);
}

const HTML_ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Makes JavaScript safe inside a `<script>` element: the HTML parser ends the element at the
 * first `</script`, and `<!--` switches it into a state where that can go wrong. Both only occur
 * inside strings, regexes or comments, where `<\/` and `<\!` mean the same.
 */
function scriptSafe(js: string): string {
  return js.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

/** JSON as a JavaScript literal that cannot close its `<script>` element. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** Base64 `data:` URL for PNG bytes, to inline images in the report. */
export function pngDataUrl(png: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < png.length; i += 0x8000) {
    binary += String.fromCharCode(...png.subarray(i, i + 0x8000));
  }
  return `data:image/png;base64,${btoa(binary)}`;
}

/** A live chart in the HTML report: a chart.js config drawn on a canvas. */
export interface ReportChart {
  /** Element id of the canvas; default `chart-<section>-<index>`. Letters, digits, - and _. */
  id?: string;
  /** A `ChartSpec` from charts.ts, or a plain chart.js config (JSON data only). */
  config: object;
  /** Maximum display size in CSS pixels; the chart keeps this aspect ratio. Default 800 x 500. */
  width?: number;
  /** Maximum display height in CSS pixels (default 500). */
  height?: number;
  /** Plain text shown under the chart. */
  caption?: string;
}

/** A section of the HTML report: a heading, trusted HTML, then its charts. */
export interface ReportSection {
  /** Section heading (plain text, escaped). */
  heading: string;
  /** Trusted HTML (e.g. from {@link markdownToHtml}); inserted as is. */
  html: string;
  /** Charts drawn after the HTML, in order. */
  charts?: ReportChart[];
}

/** Options of {@link htmlReport}. */
export interface HtmlReportOptions {
  /** Page title and top heading (plain text, escaped). */
  title: string;
  /** Text of chart.js's `dist/chart.umd.js`. */
  chartJsSource: string;
  /** The report's sections, in order. */
  sections: ReportSection[];
}

const CSS = `
  body { font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial,
    sans-serif; color: #1d1d1f; background: #fff; margin: 0; }
  main { max-width: 960px; margin: 0 auto; padding: 24px 20px 64px; }
  h1 { font-size: 1.9em; margin: 0.4em 0 0.6em; }
  h2 { font-size: 1.45em; margin: 1.8em 0 0.5em; border-bottom: 1px solid #ddd;
    padding-bottom: 0.2em; }
  h3 { font-size: 1.15em; margin: 1.4em 0 0.4em; }
  nav ol { padding-left: 1.4em; }
  code { font: 0.9em/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
    background: #f3f3f5; padding: 0.1em 0.3em; border-radius: 3px; }
  pre { background: #f3f3f5; padding: 10px 12px; overflow-x: auto; border-radius: 4px; }
  pre code { background: none; padding: 0; }
  table { border-collapse: collapse; margin: 1em 0; font-variant-numeric: tabular-nums; }
  th, td { border: 1px solid #ccc; padding: 4px 10px; }
  th { background: #f3f3f5; }
  img { max-width: 100%; height: auto; }
  figure.chart { margin: 1.2em 0; }
  .chart-box { position: relative; width: 100%; }
  figcaption { color: #555; font-size: 0.92em; margin-top: 0.3em; }
  .chart-error { color: #b00020; font-family: monospace; }
`;

/** Builds the report page. Throws on a malformed or duplicate chart id. */
export function htmlReport(opts: HtmlReportOptions): string {
  const usedIds = new Set<string>();
  const charts: { id: string; config: object }[] = [];
  const body = opts.sections.map((section, s) => {
    const figures = (section.charts ?? []).map((chart, c) => {
      const id = chart.id ?? `chart-${s + 1}-${c + 1}`;
      if (!/^[A-Za-z][\w-]*$/.test(id)) {
        throw new Error(`chart id ${JSON.stringify(id)} is invalid`);
      }
      if (usedIds.has(id)) throw new Error(`chart id "${id}" is used twice`);
      usedIds.add(id);
      charts.push({ id, config: chart.config });
      const width = chart.width ?? 800;
      const height = chart.height ?? 500;
      const caption = chart.caption ? `<figcaption>${escapeHtml(chart.caption)}</figcaption>` : "";
      return `<figure class="chart" style="max-width: ${width}px">` +
        `<div class="chart-box" style="aspect-ratio: ${width} / ${height}">` +
        `<canvas id="${id}" role="img"></canvas></div>${caption}</figure>`;
    });
    return `<section id="section-${s + 1}">\n<h2>${escapeHtml(section.heading)}</h2>\n` +
      `${section.html}\n${figures.join("\n")}\n</section>`;
  });
  const toc = opts.sections
    .map((section, s) => `<li><a href="#section-${s + 1}">${escapeHtml(section.heading)}</a></li>`)
    .join("");
  const plugins = Object.entries(reportPlugins)
    .map(([name, plugin]) => `${JSON.stringify(name)}: ${pluginSource(plugin)}`)
    .join(",\n");

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${escapeHtml(opts.title)}</h1>
${opts.sections.length > 1 ? `<nav><ol>${toc}</ol></nav>` : ""}
${body.join("\n")}
</main>
<script>
${scriptSafe(opts.chartJsSource)}
</script>
<script>
(function () {
  "use strict";
  var plugins = {
${scriptSafe(plugins)}
  };
  var charts = ${jsonForScript(charts)};
  charts.forEach(function (entry) {
    var canvas = document.getElementById(entry.id);
    try {
      var spec = entry.config;
      var names = ["background"].concat(spec.pluginNames || []).filter(function (n, i, all) {
        return all.indexOf(n) === i;
      });
      // The page sizes the chart (the box keeps the aspect ratio); no animation in a report.
      var options = Object.assign({}, spec.options, {
        responsive: true,
        maintainAspectRatio: false,
        animation: false
      });
      new Chart(canvas, {
        type: spec.type,
        data: spec.data,
        options: options,
        plugins: names.map(function (n) { return plugins[n]; }).filter(Boolean)
      });
    } catch (err) {
      var note = document.createElement("p");
      note.className = "chart-error";
      note.textContent = "Chart " + entry.id + " failed: " + err;
      canvas.parentNode.replaceChild(note, canvas);
    }
  });
})();
</script>
</body>
</html>
`;
}

// ---------------------------------------------------------------------------------------------
// Markdown subset: headings, paragraphs, **bold**, *italic*, `code`, fenced code, bullet and
// numbered lists, pipe tables, images, links, horizontal rules. All text is escaped; only URLs
// with a safe scheme become src/href.

/** Options of {@link markdownToHtml}. */
export interface MarkdownOptions {
  /** Maps an image path to its src, e.g. to inline it as a data: URL. Default: as written. */
  resolveImage?: (src: string) => string;
}

const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const FENCE = /^\s*(```|~~~)\s*([\w+-]*)\s*$/;
const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*\d+[.)]\s+(.*)$/;
const RULE = /^\s*([-*_])(\s*\1){2,}\s*$/;
const TABLE_SEPARATOR = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

function isTableStart(lines: string[], i: number): boolean {
  return lines[i].includes("|") && i + 1 < lines.length && TABLE_SEPARATOR.test(lines[i + 1]) &&
    lines[i + 1].includes("-");
}

function startsBlock(lines: string[], i: number): boolean {
  const line = lines[i];
  return HEADING.test(line) || FENCE.test(line) || RULE.test(line) || BULLET.test(line) ||
    NUMBERED.test(line) || isTableStart(lines, i);
}

/** Cells of a pipe-table row; `\|` is a literal pipe. */
function tableCells(line: string): string[] {
  let row = line.trim();
  if (row.startsWith("|")) row = row.slice(1);
  if (row.endsWith("|") && !row.endsWith("\\|")) row = row.slice(0, -1);
  return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"));
}

/** Converts the Markdown subset the report uses to HTML; raw HTML in the input is escaped. */
export function markdownToHtml(md: string, opts: MarkdownOptions = {}): string {
  const lines = md.replace(/\r\n?/g, "\n").split("\n");
  const out: string[] = [];
  const inline = (text: string) => inlineMarkdown(text, opts);
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === "") {
      i++;
      continue;
    }
    const fence = line.match(FENCE);
    if (fence) {
      const code: string[] = [];
      for (i++; i < lines.length && lines[i].trim() !== fence[1]; i++) code.push(lines[i]);
      i++; // the closing fence (or the end of input)
      const lang = fence[2] ? ` class="language-${escapeHtml(fence[2])}"` : "";
      out.push(`<pre><code${lang}>${escapeHtml(code.join("\n"))}</code></pre>`);
      continue;
    }
    const heading = line.match(HEADING);
    if (heading) {
      const level = heading[1].length;
      out.push(`<h${level}>${inline(heading[2])}</h${level}>`);
      i++;
      continue;
    }
    if (RULE.test(line)) {
      out.push("<hr>");
      i++;
      continue;
    }
    if (isTableStart(lines, i)) {
      const header = tableCells(line);
      const align = tableCells(lines[i + 1]).map((spec) => {
        const left = spec.startsWith(":"), right = spec.endsWith(":");
        return left && right ? "center" : right ? "right" : left ? "left" : "";
      });
      const cell = (tag: string, text: string, k: number) =>
        `<${tag}${align[k] ? ` style="text-align: ${align[k]}"` : ""}>${inline(text)}</${tag}>`;
      const rows: string[] = [];
      for (i += 2; i < lines.length && lines[i].includes("|") && lines[i].trim() !== ""; i++) {
        const cells = tableCells(lines[i]);
        rows.push(`<tr>${header.map((_, k) => cell("td", cells[k] ?? "", k)).join("")}</tr>`);
      }
      out.push(
        `<table>\n<thead><tr>${header.map((h, k) => cell("th", h, k)).join("")}</tr></thead>\n` +
          `<tbody>\n${rows.join("\n")}\n</tbody>\n</table>`,
      );
      continue;
    }
    const listKind = BULLET.test(line) ? BULLET : NUMBERED.test(line) ? NUMBERED : null;
    if (listKind) {
      const items: string[] = [];
      while (i < lines.length && lines[i].trim() !== "") {
        const item = lines[i].match(listKind);
        if (item) items.push(item[1]);
        else if (startsBlock(lines, i)) break;
        else items[items.length - 1] += `\n${lines[i].trim()}`; // a wrapped item
        i++;
      }
      const tag = listKind === BULLET ? "ul" : "ol";
      out.push(`<${tag}>\n${items.map((t) => `<li>${inline(t)}</li>`).join("\n")}\n</${tag}>`);
      continue;
    }
    const paragraph: string[] = [line.trim()];
    for (i++; i < lines.length && lines[i].trim() !== "" && !startsBlock(lines, i); i++) {
      paragraph.push(lines[i].trim());
    }
    out.push(`<p>${inline(paragraph.join("\n"))}</p>`);
  }
  return out.join("\n");
}

/** Relative paths, #anchors, http(s) and data:image URLs; anything else (javascript:) is not. */
function safeUrl(url: string): boolean {
  const scheme = url.match(/^([a-zA-Z][\w+.-]*):/);
  if (!scheme) return true;
  const name = scheme[1].toLowerCase();
  return name === "http" || name === "https" || (name === "data" && /^data:image\//i.test(url));
}

/** Undoes escapeHtml, to hand a URL written in the Markdown to resolveImage. */
function unescapeHtml(text: string): string {
  const chars = Object.fromEntries(Object.entries(HTML_ENTITIES).map(([c, e]) => [e, c]));
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (entity) => chars[entity]);
}

function inlineMarkdown(text: string, opts: MarkdownOptions): string {
  // Code, images and links become placeholders first, so emphasis never rewrites their text.
  const held: string[] = [];
  const hold = (html: string) => `\uE000${held.push(html) - 1}\uE000`;
  let s = escapeHtml(text.replace(/\uE000/g, ""));
  s = s.replace(/(`+)(.+?)\1/g, (_, _ticks, code: string) => hold(`<code>${code.trim()}</code>`));
  s = s.replace(/!\[([^\]]*)\]\(\s*([^)\s]+)\s*\)/g, (match, alt: string, src: string) => {
    const url = opts.resolveImage ? opts.resolveImage(unescapeHtml(src)) : unescapeHtml(src);
    return safeUrl(url) ? hold(`<img src="${escapeHtml(url)}" alt="${alt}">`) : match;
  });
  s = s.replace(/\[([^\]]+)\]\(\s*([^)\s]+)\s*\)/g, (match, label: string, href: string) => {
    return safeUrl(unescapeHtml(href)) ? hold(`<a href="${href}">${label}</a>`) : match;
  });
  s = s
    .replace(/\*\*(?=\S)(.+?)(?<=\S)\*\*/gs, "<strong>$1</strong>")
    .replace(/(^|[^\w])__(?=\S)(.+?)(?<=\S)__(?!\w)/gs, "$1<strong>$2</strong>")
    .replace(/\*(?=\S)(.+?)(?<=\S)\*/gs, "<em>$1</em>")
    .replace(/(^|[^\w])_(?=\S)(.+?)(?<=\S)_(?!\w)/gs, "$1<em>$2</em>");
  return s.replace(/\uE000(\d+)\uE000/g, (_, k) => held[Number(k)]);
}
