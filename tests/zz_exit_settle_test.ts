/**
 * Runs last (`deno test` takes files in name order): waits until the threads that ran the other
 * test files have exited, so the test process exits cleanly.
 *
 * Why: `deno test` runs each file on a thread of its blocking pool, and an idle pool thread lingers
 * about 10 s. When Deno's WebGPU starts Mesa's GL driver (EGL) beside Vulkan, a process that exits
 * while a thread that used the GPU is still alive can abort in glibc after every test has passed
 * ("double free or corruption", exit 134; a core dump shows the pool thread freeing its
 * thread-specific data while the main thread runs the libraries' destructors). One CI run ended
 * so. `deno task test` asks for Vulkan alone (tools/ensure_test_deps.sh), which removes it: eight
 * small GPU test files aborted in 11 of 100 runs with both drivers, 0 of 100 with Vulkan.
 * This wait covers runs that keep the GL driver (`DENO_WEBGPU_BACKEND=gl`, or `deno test` run
 * directly): the same eight files with it aborted in 1 of 60 runs.
 */

/** Threads of this process named like the blocking pool's (Linux), or null without `/proc`. */
async function poolThreads(): Promise<number | null> {
  const out = await new Deno.Command("sh", {
    // Deno refuses `/proc/<pid>` to a reader without --allow-all; `cat` may read it
    args: ["-c", `cat /proc/${Deno.pid}/task/*/comm`],
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => null);
  if (!out?.success) return null;
  const names = new TextDecoder().decode(out.stdout).split("\n");
  return names.filter((n) => n.startsWith("tokio-runtime-w")).length;
}

Deno.test("the other test files' threads exit before the process does", async () => {
  if (Deno.build.os !== "linux") return;
  const limitMs = 30_000;
  const t0 = performance.now();
  let left = await poolThreads();
  if (left === null) return; // no /proc to watch
  // this file's own thread is one of them
  while (left > 1 && performance.now() - t0 < limitMs) {
    await new Promise((r) => setTimeout(r, 200));
    left = (await poolThreads()) ?? 0;
  }
  if (left > 1) {
    throw new Error(
      `${left - 1} earlier test threads still alive after ${limitMs / 1000} s; exiting now ` +
        `risks the abort described at the top of this file`,
    );
  }
});
