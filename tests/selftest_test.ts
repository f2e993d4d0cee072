/**
 * The kernel self-test that the browser page runs (web/selftest.ts), run here in Deno with both
 * ways of reading tensors: read-only storage textures (the default on lavapipe) and sampled
 * textures (what adapters with fewer than 8 storage textures per stage get, e.g. SwiftShader in
 * Chromium). The browser test runs the same checks in Chromium (sampled reads, loops not
 * unrolled); here the sampled variant keeps the unrolling, which llvmpipe needs to be quick.
 */
import { acquireGpu } from "../src/gpu/context.ts";
import { runSelftest, SELFTEST_FAMILIES } from "../web/selftest.ts";
import { gpu, TEST_SEED } from "./helpers.ts";

function assertAllPassed(summary: Awaited<ReturnType<typeof runSelftest>>): void {
  const missing = SELFTEST_FAMILIES.filter((f) => !summary.families.includes(f));
  if (missing.length) throw new Error(`self-test skipped families: ${missing.join(", ")}`);
  const failed = summary.checks.filter((c) => !c.ok);
  if (failed.length) {
    throw new Error(
      `${failed.length} of ${summary.checks.length} self-test checks failed ` +
        `(${summary.textureReads} reads, seed ${summary.seed}):\n` +
        failed.map((c) => `  ${c.family}: ${c.name}: ${c.detail}`).join("\n"),
    );
  }
}

Deno.test("kernel self-test (storage-texture reads) passes", async () => {
  const ctx = await gpu();
  const summary = await runSelftest(ctx, { seed: TEST_SEED });
  if (summary.textureReads !== "storage") throw new Error("expected storage-texture reads");
  assertAllPassed(summary);
});

Deno.test("kernel self-test with sampled-texture reads (the SwiftShader path) passes", async () => {
  const ctx = await acquireGpu({ textureReads: "sampled" });
  try {
    const summary = await runSelftest(ctx, { seed: TEST_SEED });
    if (summary.textureReads !== "sampled") throw new Error("expected sampled-texture reads");
    assertAllPassed(summary);
  } finally {
    ctx.destroy();
  }
});
