/**
 * Reads chart.js's UMD bundle for inlining into the HTML report (Deno only). The bundle is found
 * next to the ES module that `chart.js` resolves to, so the report embeds the very version the
 * PNG renderer uses. Needs `--allow-read` on node_modules.
 *
 * @module
 */

/** The text of `chart.js/dist/chart.umd.js` (a UMD script defining the global `Chart`). */
export async function readChartJsSource(): Promise<string> {
  const entry = import.meta.resolve("npm:chart.js@4.5.1");
  if (!entry.startsWith("file:")) {
    throw new Error(
      `chart.js resolved to ${entry}, not a file; run \`deno install\` (nodeModulesDir) first`,
    );
  }
  const umd = new URL("./chart.umd.js", entry);
  const source = await Deno.readTextFile(umd);
  if (!source.includes("Chart")) throw new Error(`${umd.pathname} does not look like chart.js`);
  return source;
}
