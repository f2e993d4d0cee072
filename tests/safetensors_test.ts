import assert from "node:assert/strict";
import {
  decodeSafetensors,
  encodeSafetensors,
  type NamedTensor,
  SafetensorsError,
} from "../src/io/safetensors.ts";

const encoder = new TextEncoder();

/** The file the spec describes: u64 LE header length, the header JSON, then the data bytes. */
function buildFile(headerJson: string, data: Uint8Array, padTo8 = true): Uint8Array {
  let header = headerJson;
  if (padTo8) { while (encoder.encode(header).byteLength % 8 !== 0) header += " "; }
  const headerBytes = encoder.encode(header);
  const out = new Uint8Array(8 + headerBytes.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  out.set(data, 8 + headerBytes.byteLength);
  return out;
}

function f32Bytes(values: number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return bytes;
}

function decodeError(bytes: Uint8Array): SafetensorsError {
  try {
    decodeSafetensors(bytes, "model.safetensors");
  } catch (error) {
    assert.ok(error instanceof SafetensorsError, `expected SafetensorsError, got ${error}`);
    assert.ok(error.message.startsWith("model.safetensors: "), error.message);
    assert.ok(!error.message.includes("\n"), `message should be one line: ${error.message}`);
    return error;
  }
  throw new Error("decode should have failed");
}

function assertDecodeFails(bytes: Uint8Array, pattern: RegExp): void {
  const error = decodeError(bytes);
  assert.match(error.message, pattern);
}

Deno.test("round trip keeps every dtype, shape, value, order and metadata", () => {
  const tensors: [string, NamedTensor][] = [
    ["conv1.weight", {
      dtype: "F32",
      shape: [2, 1, 3],
      data: new Float32Array([0.5, -1.25, 3e-8, NaN, Infinity, -0]),
    }],
    ["b", { dtype: "F64", shape: [2], data: new Float64Array([Math.PI, -1e300]) }],
    ["step", { dtype: "I64", shape: [], data: new BigInt64Array([-(2n ** 62n)]) }],
    ["labels", { dtype: "I32", shape: [3], data: new Int32Array([7, -1, 2 ** 31 - 1]) }],
    ["pixels", { dtype: "U8", shape: [1, 5], data: new Uint8Array([0, 1, 127, 128, 255]) }],
    ["empty", { dtype: "F32", shape: [0, 4], data: new Float32Array(0) }],
    ["10", { dtype: "U8", shape: [1], data: new Uint8Array([9]) }],
  ];
  const metadata = { format: "pt", epoch: "3", note: 'ünïcødé "quoted"' };
  const bytes = encodeSafetensors(tensors, metadata);
  const decoded = decodeSafetensors(bytes);

  assert.deepEqual(decoded.metadata, metadata);
  // Order is the written order, even for a name like "10" that JS objects would move first.
  assert.deepEqual([...decoded.tensors.keys()], tensors.map(([name]) => name));
  for (const [name, want] of tensors) {
    const got = decoded.tensors.get(name)!;
    assert.equal(got.dtype, want.dtype, name);
    assert.deepEqual(got.shape, want.shape, name);
    assert.equal(got.data.constructor, want.data.constructor, name);
    // Compare bytes so NaN and -0 are checked bit for bit.
    assert.deepEqual(
      new Uint8Array(got.data.buffer, got.data.byteOffset, got.data.byteLength),
      new Uint8Array(want.data.buffer, want.data.byteOffset, want.data.byteLength),
      name,
    );
  }
});

Deno.test("record input, no metadata, and an empty file round-trip", () => {
  const decoded = decodeSafetensors(encodeSafetensors({
    w: { dtype: "F32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
  }));
  assert.deepEqual(decoded.metadata, {});
  assert.deepEqual([...decoded.tensors.get("w")!.data], [1, 2, 3, 4]);

  const empty = decodeSafetensors(encodeSafetensors([]));
  assert.equal(empty.tensors.size, 0);
});

Deno.test("bytes match the format written out by hand", () => {
  const header =
    '{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}';
  const expected = buildFile(header, f32Bytes([1.5, -2, 0.25]));
  // 139 header bytes pad to 144 with five spaces; data starts 8-byte aligned.
  assert.equal(new DataView(expected.buffer).getBigUint64(0, true), 144n);
  assert.deepEqual([...expected.subarray(8 + 139, 8 + 144)], [32, 32, 32, 32, 32]);

  const got = encodeSafetensors([
    ["w", { dtype: "F32", shape: [2], data: new Float32Array([1.5, -2]) }],
    ["b", { dtype: "F32", shape: [1], data: new Float32Array([0.25]) }],
  ], { format: "pt" });
  assert.deepEqual(got, expected);
});

Deno.test("bytes match the reference implementation's own test vectors", () => {
  // From the upstream Rust crate's tests: one F32 tensor "attn0" of shape [1,1,2,3] holding
  // 0..5 serialises to a 72-byte header (65 bytes of JSON plus 7 spaces).
  const json = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
  const expected = new Uint8Array([
    72,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    ...encoder.encode(json),
    32,
    32,
    32,
    32,
    32,
    32,
    32,
    ...f32Bytes([0, 1, 2, 3, 4, 5]),
  ]);
  const got = encodeSafetensors({
    attn0: { dtype: "F32", shape: [1, 1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) },
  });
  assert.deepEqual(got, expected);

  // No tensors and no metadata: "{}" plus six spaces.
  assert.deepEqual(
    encodeSafetensors({}),
    new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]),
  );
  // Metadata only.
  assert.deepEqual(
    encodeSafetensors({}, { framework: "pt" }),
    new Uint8Array([
      40,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...encoder.encode('{"__metadata__":{"framework":"pt"}}     '),
    ]),
  );
});

Deno.test("encoding is deterministic", () => {
  const make = () =>
    encodeSafetensors(
      [["a", { dtype: "F32", shape: [3], data: new Float32Array([1, 2, 3]) }]],
      { z: "1", a: "2" },
    );
  assert.deepEqual(make(), make());
  // Metadata key order does not change the bytes.
  const reordered = encodeSafetensors(
    [["a", { dtype: "F32", shape: [3], data: new Float32Array([1, 2, 3]) }]],
    { a: "2", z: "1" },
  );
  assert.deepEqual(make(), reordered);
});

Deno.test("decoding copies data out, so unaligned input and views work", () => {
  const bytes = encodeSafetensors([
    ["odd", { dtype: "U8", shape: [3], data: new Uint8Array([1, 2, 3]) }],
    ["w", { dtype: "F32", shape: [2], data: new Float32Array([0.1, 0.2]) }],
    ["d", { dtype: "F64", shape: [1], data: new Float64Array([0.3]) }],
  ]);
  // Place the file at an odd offset inside a bigger buffer.
  const host = new Uint8Array(bytes.byteLength + 3);
  host.set(bytes, 1);
  const decoded = decodeSafetensors(host.subarray(1, 1 + bytes.byteLength));
  assert.deepEqual([...decoded.tensors.get("w")!.data], [...new Float32Array([0.1, 0.2])]);
  assert.deepEqual([...decoded.tensors.get("d")!.data], [0.3]);
  // Mutating the decoded tensor must not touch the input bytes.
  (decoded.tensors.get("odd")!.data as Uint8Array)[0] = 99;
  assert.equal(host[1 + bytes.byteLength - 8 - 8 - 3], 1);
});

Deno.test("encoder rejects invalid tensors", () => {
  const cases: [() => unknown, RegExp][] = [
    [
      () => encodeSafetensors({ w: { dtype: "F32", shape: [2, 3], data: new Float32Array(5) } }),
      /shape \[2, 3\] holds 6 elements but its data has 5/,
    ],
    [
      () => encodeSafetensors({ w: { dtype: "F32", shape: [2], data: new Float64Array(2) } }),
      /is F32 but its data is a Float64Array/,
    ],
    [
      () => encodeSafetensors({ w: { dtype: "F32", shape: [-1], data: new Float32Array(1) } }),
      /shape must be non-negative integers/,
    ],
    [
      () =>
        encodeSafetensors([
          ["w", { dtype: "U8", shape: [1], data: new Uint8Array(1) }],
          ["w", { dtype: "U8", shape: [1], data: new Uint8Array(1) }],
        ]),
      /duplicate tensor name "w"/,
    ],
    [
      () =>
        encodeSafetensors({ __metadata__: { dtype: "U8", shape: [0], data: new Uint8Array() } }),
      /reserved/,
    ],
    [
      () => encodeSafetensors({}, { epoch: 3 as unknown as string }),
      /metadata value for "epoch" must be a string/,
    ],
  ];
  for (const [run, pattern] of cases) {
    assert.throws(run, (e: unknown) => {
      assert.ok(e instanceof SafetensorsError);
      assert.match(e.message, pattern);
      return true;
    });
  }
});

Deno.test("decoder: file shorter than 8 bytes", () => {
  assertDecodeFails(new Uint8Array(5), /5 bytes, shorter than the 8-byte header size/);
  assertDecodeFails(new Uint8Array(0), /0 bytes/);
});

Deno.test("decoder: header length beyond the file", () => {
  const bytes = buildFile("{}", new Uint8Array());
  new DataView(bytes.buffer).setBigUint64(0, 1000n, true);
  assertDecodeFails(bytes, /header length 1000 runs past the end of the file \(8 bytes follow\)/);
  // A length that does not even fit in a double is still reported, not wrapped.
  new DataView(bytes.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
  assertDecodeFails(bytes, /header length 18446744073709551615 runs past the end/);
});

Deno.test("decoder: invalid JSON, invalid UTF-8, non-object header", () => {
  assertDecodeFails(buildFile('{"w": {"dtype": "F32",', new Uint8Array()), /not valid UTF-8 JSON/);
  const badUtf8 = buildFile("{}      ", new Uint8Array());
  badUtf8[9] = 0xff;
  assertDecodeFails(badUtf8, /not valid UTF-8 JSON/);
  assertDecodeFails(buildFile("[1, 2]", new Uint8Array()), /header JSON must be an object/);
});

Deno.test("decoder: bad dtype", () => {
  const header = '{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}';
  assertDecodeFails(buildFile(header, new Uint8Array(4)), /"w" has unsupported dtype "F16"/);
  const missing = '{"w":{"shape":[2],"data_offsets":[0,8]}}';
  assertDecodeFails(buildFile(missing, new Uint8Array(8)), /unsupported dtype undefined/);
});

Deno.test("decoder: bad shapes and malformed offsets", () => {
  const shape = '{"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}';
  assertDecodeFails(buildFile(shape, new Uint8Array(8)), /shape must be a list of non-negative/);
  const offsets = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}}';
  assertDecodeFails(buildFile(offsets, new Uint8Array(8)), /data_offsets must be \[begin, end\]/);
  const backwards = '{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}';
  assertDecodeFails(buildFile(backwards, new Uint8Array(8)), /end before they begin/);
});

Deno.test("decoder: offsets out of range", () => {
  const header = '{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}';
  assertDecodeFails(
    buildFile(header, new Uint8Array(8)),
    /"w" data_offsets \[0, 16\] run past the 8-byte data section/,
  );
});

Deno.test("decoder: overlapping offsets", () => {
  const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
  assertDecodeFails(buildFile(header, new Uint8Array(12)), /"b" data_offsets overlap those of/);
});

Deno.test("decoder: offsets not matching shape and dtype size", () => {
  const header = '{"w":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}}';
  assertDecodeFails(
    buildFile(header, new Uint8Array(8)),
    /span 8 bytes but F64 \[2\] needs 16/,
  );
});

Deno.test("decoder: gaps and trailing bytes in the data section", () => {
  const gap = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
    '"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}';
  assertDecodeFails(buildFile(gap, new Uint8Array(12)), /gap in the data section: bytes 4..8/);
  const trailing = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
  assertDecodeFails(buildFile(trailing, new Uint8Array(6)), /2 trailing bytes/);
});

Deno.test("decoder: non-string metadata", () => {
  const header = '{"__metadata__":{"epoch":3}}';
  assertDecodeFails(
    buildFile(header, new Uint8Array()),
    /metadata value for "epoch" must be a string, got 3/,
  );
  const notObject = '{"__metadata__":"pt"}';
  assertDecodeFails(buildFile(notObject, new Uint8Array()), /__metadata__ must be an object/);
});

Deno.test("decoder accepts headers without padding and tensors stored out of name order", () => {
  // Other writers may skip the padding or list entries in any order; only the offsets matter.
  const header = '{"second":{"dtype":"U8","shape":[1],"data_offsets":[4,5]},' +
    '"first":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
  const data = new Uint8Array([...f32Bytes([2.5]), 7]);
  const decoded = decodeSafetensors(buildFile(header, data, false));
  assert.deepEqual([...decoded.tensors.keys()], ["first", "second"]);
  assert.deepEqual([...decoded.tensors.get("first")!.data], [2.5]);
  assert.deepEqual([...decoded.tensors.get("second")!.data], [7]);
});

// --- Compatibility with the reference Python implementation, when it is installed. ---

async function python(args: string[], stdin = ""): Promise<{ ok: boolean; out: string }> {
  try {
    const child = new Deno.Command("python3", {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(encoder.encode(stdin));
    await writer.close();
    const { success, stdout, stderr } = await child.output();
    const decoder = new TextDecoder();
    return { ok: success, out: success ? decoder.decode(stdout) : decoder.decode(stderr) };
  } catch {
    return { ok: false, out: "python3 not runnable" }; // missing, or no --allow-run
  }
}

const havePythonSafetensors = (await python(["-c", "import safetensors.numpy, numpy"])).ok;

Deno.test({
  name: "python safetensors reads our file and writes the same bytes we do",
  ignore: !havePythonSafetensors,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      // The reference writer orders tensors by descending dtype alignment, then by name; given
      // that order and one metadata key, both writers must produce identical bytes.
      const ours = encodeSafetensors([
        ["step", { dtype: "I64", shape: [1], data: new BigInt64Array([42n]) }],
        ["b", { dtype: "F64", shape: [2], data: new Float64Array([0.5, -3]) }],
        ["w", { dtype: "F32", shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6.5]) }],
        ["n", { dtype: "I32", shape: [1], data: new Int32Array([-7]) }],
        ["u", { dtype: "U8", shape: [3], data: new Uint8Array([1, 2, 255]) }],
      ], { format: "np" });
      await Deno.writeFile(`${dir}/ours.safetensors`, ours);
      const script = `
import json, sys, numpy as np
from safetensors.numpy import load_file, save_file
d = sys.argv[1]
loaded = load_file(d + "/ours.safetensors")
print(json.dumps({k: [str(v.dtype), list(v.shape), v.ravel().tolist()] for k, v in loaded.items()}))
save_file({
  "w": np.array([[1, 2, 3], [4, 5, 6.5]], dtype=np.float32),
  "b": np.array([0.5, -3], dtype=np.float64),
  "step": np.array([42], dtype=np.int64),
  "n": np.array([-7], dtype=np.int32),
  "u": np.array([1, 2, 255], dtype=np.uint8),
}, d + "/theirs.safetensors", metadata={"format": "np"})
`;
      const result = await python(["-c", script, dir]);
      assert.ok(result.ok, result.out);
      assert.deepEqual(JSON.parse(result.out), {
        step: ["int64", [1], [42]],
        b: ["float64", [2], [0.5, -3]],
        w: ["float32", [2, 3], [1, 2, 3, 4, 5, 6.5]],
        n: ["int32", [1], [-7]],
        u: ["uint8", [3], [1, 2, 255]],
      });
      const theirs = await Deno.readFile(`${dir}/theirs.safetensors`);
      const decoded = decodeSafetensors(theirs, "theirs.safetensors");
      assert.deepEqual([...decoded.tensors.get("w")!.data], [1, 2, 3, 4, 5, 6.5]);
      assert.deepEqual(decoded.metadata, { format: "np" });
      assert.deepEqual(theirs, ours);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
