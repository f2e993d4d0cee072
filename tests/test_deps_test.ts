/**
 * The preflight of `deno task test` (tools/ensure_test_deps.sh), run with stand-ins for id, sudo
 * and apt-get: it installs what is missing when it may, stops with the exact command when it may
 * not, and sets XDG_RUNTIME_DIR and (on Linux) DENO_WEBGPU_BACKEND=vulkan for the tests it then runs.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;
const SCRIPT = `${ROOT}tools/ensure_test_deps.sh`;

/** Runs the preflight with fake `id` (uid), `sudo` and `apt-get` that log their arguments. */
async function preflight(
  o: { uid: number; sudoWorks: boolean; chromium: string; env?: Record<string, string> },
): Promise<{ code: number; stdout: string; stderr: string; calls: string[] }> {
  const dir = await Deno.makeTempDir({ prefix: "test_deps_" });
  try {
    const log = `${dir}/calls.log`;
    const stub = async (name: string, body: string) => {
      await Deno.writeTextFile(`${dir}/${name}`, `#!/bin/sh\n${body}\n`);
      await Deno.chmod(`${dir}/${name}`, 0o755);
    };
    await stub("id", `echo ${o.uid}`);
    await stub("apt-get", `echo "apt-get $*" >> ${log}`);
    await stub(
      "sudo",
      o.sudoWorks
        ? `[ "$1" = -n ] && shift; [ "$1" = true ] && exit 0; echo "sudo $1" >> ${log}; exec "$@"`
        : `exit 1`,
    );
    const out = await new Deno.Command("sh", {
      args: [
        SCRIPT,
        "sh",
        "-c",
        'echo "ran tests with XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR backend=$DENO_WEBGPU_BACKEND"',
      ],
      clearEnv: true,
      env: { PATH: `${dir}:/usr/bin:/bin`, WEBGPU_MNIST_CHROMIUM: o.chromium, ...o.env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const calls = await Deno.readTextFile(log).then((t) => t.trim().split("\n"), () => []);
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr).trim(),
      calls,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("test preflight: everything present runs the tests with XDG_RUNTIME_DIR and the Vulkan backend set", async () => {
  const backend = Deno.build.os === "linux" ? "vulkan" : "";
  const r = await preflight({ uid: 1000, sudoWorks: false, chromium: "/bin/sh" });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `ran tests with XDG_RUNTIME_DIR=/tmp backend=${backend}`);
  assert.deepEqual(r.calls, []);
  const kept = await preflight({
    uid: 1000,
    sudoWorks: false,
    chromium: "/bin/sh",
    env: { XDG_RUNTIME_DIR: "/run/user/1000", DENO_WEBGPU_BACKEND: "gl" },
  });
  assert.equal(kept.stdout.trim(), "ran tests with XDG_RUNTIME_DIR=/run/user/1000 backend=gl");
});

Deno.test("test preflight: without root or sudo it stops before testing with the install command", async () => {
  const r = await preflight({ uid: 1000, sudoWorks: false, chromium: "/nonexistent/chromium" });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "", "the tests must not run");
  assert.equal(
    r.stderr,
    "the tests need chromium; install with: sudo apt-get install -y --no-install-recommends chromium",
  );
  assert.deepEqual(r.calls, []);
});

Deno.test("test preflight: as root or with passwordless sudo it installs what is missing, then tests", async () => {
  for (
    const [uid, sudoWorks, prefix] of [[0, false, ""], [1000, true, "sudo apt-get\n"]] as const
  ) {
    const r = await preflight({ uid, sudoWorks, chromium: "/nonexistent/chromium" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /installing what the tests need: chromium/);
    assert.match(r.stdout.trim(), /^ran tests with XDG_RUNTIME_DIR=\/tmp backend=/);
    const want = "apt-get update -qq\napt-get install -y --no-install-recommends chromium -qq";
    assert.equal(
      r.calls.filter((c) => c.startsWith("apt-get")).join("\n"),
      want,
      `uid ${uid}${prefix ? " with sudo" : ""}`,
    );
  }
});

Deno.test("deno task test runs the preflight first", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  for (const name of ["test", "test:browser"]) {
    assert.match(config.tasks[name].command, /^sh tools\/ensure_test_deps\.sh deno test /, name);
  }
});
