/**
 * Text helpers shared by the report's sections: percentages, points, mean ± sd, the wording of a
 * comparison, Markdown tables.
 *
 * @module
 */
import type { Comparison, Measured } from "../compare.ts";
import type { ConditionSummary } from "../results.ts";

/** A fraction as a percentage with two decimals: 0.01234 -> "1.23%". */
export function pctText(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

/** A difference of fractions in percentage points, signed: 0.0045 -> "+0.45 points". */
export function pointsText(d: number): string {
  const v = (d * 100).toFixed(2);
  const sign = d > 0 && Number(v) !== 0 ? "+" : d < 0 && Number(v) !== 0 ? "−" : "±";
  return `${sign}${v.replace("-", "")} points`;
}

/** The size of a difference in percentage points, unsigned: -0.0045 -> "0.45 points". */
export function absPoints(d: number): string {
  return `${Math.abs(d * 100).toFixed(2)} points`;
}

/** "1.23%" for one run, "1.23% ± 0.10" (mean ± sd in points) for several. */
export function measuredText(s: Measured): string {
  return s.n === 1 ? pctText(s.mean) : `${pctText(s.mean)} ± ${(s.std * 100).toFixed(2)}`;
}

/** A whole number with thousands separators: 60000 -> "60,000". */
export function intText(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Seconds as "2 min 05 s" (or "45 s" under a minute). */
export function durationText(seconds: number): string {
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${String(s % 60).padStart(2, "0")} s` : `${s} s`;
}

/** A fraction as a percentage with up to 4 decimals and no trailing zeros: 0.05 -> "5%". */
export const fracText = (f: number) => `${+(f * 100).toFixed(4)}%`;

/**
 * One clause comparing `a` with `b`, e.g. "+0.45 points (larger sd 0.10 points): higher by more
 * than the spread". Never calls a difference real unless {@link compare} does.
 */
export function comparisonText(c: Comparison): string {
  const d = pointsText(c.diff);
  switch (c.verdict) {
    case "single-run":
      return `${d} (measured once: no spread, so not established)`;
    case "within-spread":
      return `${d}, within the spread (larger sd ${(c.spread! * 100).toFixed(2)} points): ` +
        `not distinguishable`;
    case "higher":
      return `${d}, more than the spread (larger sd ${(c.spread! * 100).toFixed(2)} points): ` +
        `a real increase by the report's rule`;
    case "lower":
      return `${d}, more than the spread (larger sd ${(c.spread! * 100).toFixed(2)} points): ` +
        `a real decrease by the report's rule`;
  }
}

/** Short verdict for tables. */
export function verdictCell(c: Comparison): string {
  switch (c.verdict) {
    case "single-run":
      return "measured once";
    case "within-spread":
      return "within spread";
    case "higher":
      return "real increase";
    case "lower":
      return "real decrease";
  }
}

/** The sentence on how many runs each condition had, and what one run cannot show. */
export function seedsNote(n: number): string {
  return n === 1
    ? "One run per condition: there is no spread, so differences are measured once and not " +
      "established; rerun with `--seeds 3` or more to judge them"
    : `${n} runs per condition with derived seeds (mean ± sample standard deviation)`;
}

/** A Markdown table; `align` per column, "l" or "r" (default right). */
export function table(header: string[], rows: string[][], align?: ("l" | "r")[]): string {
  const sep = header.map((_, i) => (align?.[i] === "l" ? ":--" : "--:"));
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(header), `| ${sep.join(" | ")} |`, ...rows.map(line)].join("\n");
}

/** Per-class test error as Measured values. */
export function perClassMeasured(s: ConditionSummary): Measured[] {
  return s.perClassError.mean.map((m, c) => ({
    mean: m,
    std: s.perClassError.std[c],
    n: s.testError.n,
  }));
}

/** The classes a true class is most often taken for: "4 (12×), 7 (5×)". */
export function takenFor(
  confusion: number[][],
  truth: number,
  k = 2,
  names?: readonly string[],
): string {
  const row = confusion[truth];
  const wrong = row.map((count, p) => ({ p, count })).filter((e) => e.p !== truth && e.count > 0)
    .sort((a, b) => b.count - a.count || a.p - b.p).slice(0, k);
  return wrong.length
    ? wrong.map((e) => `${names?.[e.p] ?? e.p} (${intText(e.count)}×)`).join(", ")
    : "nothing";
}
