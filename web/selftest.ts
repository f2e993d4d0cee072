/**
 * Kernel self-test: every kernel family (dense, conv2d fused forward/backward, max-pool, ReLU,
 * softmax + cross-entropy, optimizer, batch gather, evaluation) runs on small random shapes and
 * is compared with the library's float64 references. Browser-safe (only `mod.ts`), so the same
 * checks run in a browser page (`selftest.html`) and in Deno (`tests/selftest_test.ts`).
 *
 * Each check reports max|got - want| / max|want| against a bound like the Deno kernel tests'
 * and, when it fails, the first mismatching elements.
 *
 * @module
 */
import {
  accumulateConfusion,
  confusionRef,
  conv2dBackwardInput,
  conv2dBackwardRef,
  conv2dBackwardWeight,
  conv2dForward,
  conv2dRef,
  type Conv2dShape,
  convGeometry,
  denseBackwardInput,
  denseBackwardRef,
  denseBackwardWeight,
  denseForward,
  denseForwardRef,
  type Dispatch,
  download,
  downloadPadded,
  gatherBatch,
  gatherBatchRef,
  type GpuContext,
  maxPool2BackwardRef,
  maxPool2Ref,
  maxPoolBackward,
  maxPoolForward,
  type OptimizerConfig,
  optimizerRef,
  optimizerStepValues,
  optimizerUpdate,
  packNHWC,
  pad4,
  padWeightRows,
  partialCols,
  predictClasses,
  reluBackward,
  reluBackwardRef,
  reluForward,
  reluRef,
  Rng,
  runDispatches,
  softmaxCrossEntropy,
  softmaxCrossEntropyRef,
  softmaxForward,
  StepParamsBuffer,
  Tensor,
  TEX_WIDTH,
  TexelStore,
  unpackNHWC,
  unpadWeightRows,
  upload,
  uploadDataset,
  uploadPadded,
  uploadUints,
  weightGradChunks,
} from "../mod.ts";

/** One comparison of a kernel output with its reference. */
export interface CheckResult {
  /** Kernel family: dense, conv2d, maxpool, relu, softmax-xent, optimizer, gather, evaluate. */
  family: string;
  /** What was compared, with the shape. */
  name: string;
  ok: boolean;
  /** max|got - want| / max|want| (for exact checks, the count of differing elements). */
  error: number;
  tolerance: number;
  /** First mismatches, or the exception that stopped the check. */
  detail?: string;
}

/** What {@link runSelftest} returns (JSON-serializable). */
export interface SelftestSummary {
  adapter: string;
  textureReads: string;
  seed: number;
  checks: CheckResult[];
  passed: number;
  failed: number;
  /** Kernel families that were exercised. */
  families: string[];
  /** Wall time per family (pipeline compilation included). */
  familySeconds: Record<string, number>;
  seconds: number;
}

/** Every family the self-test covers; a summary missing one is incomplete. */
export const SELFTEST_FAMILIES = [
  "dense",
  "conv2d",
  "maxpool",
  "relu",
  "softmax-xent",
  "optimizer",
  "gather",
  "evaluate",
] as const;

/** Compares within a relative bound; lists up to 5 mismatches with their indices. */
export function compare(
  family: string,
  name: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tolerance: number,
): CheckResult {
  if (got.length !== want.length) {
    return {
      family,
      name,
      ok: false,
      error: Infinity,
      tolerance,
      detail: `length ${got.length}, expected ${want.length}`,
    };
  }
  let norm = 0, err = 0;
  for (let i = 0; i < want.length; i++) norm = Math.max(norm, Math.abs(want[i]));
  const scale = Math.max(norm, 1e-12);
  const bad: string[] = [];
  let nBad = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= err)) err = d;
    if (!(d <= tolerance * scale)) {
      nBad++;
      if (bad.length < 5) bad.push(`[${i}] got ${got[i]} want ${want[i]}`);
    }
  }
  const error = err / scale;
  const ok = error <= tolerance;
  return {
    family,
    name,
    ok,
    error,
    tolerance,
    ...(ok ? {} : { detail: `${nBad} of ${want.length} mismatched; first: ${bad.join("; ")}` }),
  };
}

/**
 * Two tensors in one texture, as the model's gradient arena holds dW and db: kernels must then
 * write both through one binding (WebGPU forbids a texture in two writable bindings).
 */
function arenaPair(
  ctx: GpuContext,
  a: [rows: number, cols: number],
  b: [rows: number, cols: number],
  label: string,
): [Tensor, Tensor] {
  const texelsA = (a[0] * pad4(a[1])) / 4, texelsB = (b[0] * pad4(b[1])) / 4;
  const store = new TexelStore(ctx, texelsA + texelsB + 3, label);
  return [
    new Tensor(store, 1, a[0], a[1], `${label} 1`),
    new Tensor(store, 2 + texelsA, b[0], b[1], `${label} 2`),
  ];
}

const randomArray = (r: Rng, n: number, lo = -1, hi = 1) => {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = r.uniform(lo, hi);
  return a;
};
/** Values float32 represents exactly (for exact comparisons). */
const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));

type Emit = (c: CheckResult) => void;

async function checkDense(ctx: GpuContext, r: Rng, emit: Emit): Promise<void> {
  for (const [M, K, N] of [[7, 13, 5], [33, 67, 29], [8, 400, 120], [1, 1, 1]]) {
    const x = randomArray(r, M * K), w = randomArray(r, N * K), b = randomArray(r, N);
    const dz = randomArray(r, M * N);
    const tx = Tensor.create(ctx, M, K, "x"), tw = Tensor.create(ctx, N, K, "w");
    const tb = Tensor.create(ctx, 1, N, "b"), ty = Tensor.create(ctx, M, N, "y");
    const tyr = Tensor.create(ctx, M, N, "y relu"), tdz = Tensor.create(ctx, M, N, "dz");
    const tdx = Tensor.create(ctx, M, K, "dx"), tdxm = Tensor.create(ctx, M, K, "dx masked");
    const tdw = Tensor.create(ctx, N, K, "dw"), tdb = Tensor.create(ctx, 1, N, "db");
    const [adw, adb] = arenaPair(ctx, [N, K], [1, N], "dW+db arena");
    upload(ctx, tx, x);
    upload(ctx, tw, w);
    upload(ctx, tb, b);
    upload(ctx, tdz, dz);
    await runDispatches(ctx, [
      await denseForward(ctx, { x: tx, w: tw, b: tb, y: ty, relu: false }),
      await denseForward(ctx, { x: tx, w: tw, b: tb, y: tyr, relu: true }),
      await denseBackwardInput(ctx, { dz: tdz, w: tw, dx: tdx }),
      await denseBackwardInput(ctx, { dz: tdz, w: tw, dx: tdxm, reluMaskFrom: tx }),
      await denseBackwardWeight(ctx, { dz: tdz, x: tx, dw: tdw, db: tdb }),
      await denseBackwardWeight(ctx, { dz: tdz, x: tx, dw: adw, db: adb }),
    ]);
    const tag = `M=${M} K=${K} N=${N}`;
    const ref = denseBackwardRef(x, w, dz, M, K, N, false);
    const refMasked = denseBackwardRef(x, w, dz, M, K, N, true);
    emit(compare(
      "dense",
      `forward ${tag}`,
      await download(ctx, ty),
      denseForwardRef(x, w, b, M, K, N, false),
      1e-5,
    ));
    emit(compare(
      "dense",
      `forward+relu ${tag}`,
      await download(ctx, tyr),
      denseForwardRef(x, w, b, M, K, N, true),
      1e-5,
    ));
    emit(compare("dense", `dX ${tag}`, await download(ctx, tdx), ref.dx, 1e-5));
    emit(compare("dense", `dX relu-masked ${tag}`, await download(ctx, tdxm), refMasked.dx, 1e-5));
    emit(compare("dense", `dW ${tag}`, await download(ctx, tdw), ref.dw, 1e-5));
    emit(compare("dense", `db ${tag}`, await download(ctx, tdb), ref.db, 1e-5));
    emit(compare("dense", `dW in a shared arena ${tag}`, await download(ctx, adw), ref.dw, 1e-5));
    emit(compare("dense", `db in a shared arena ${tag}`, await download(ctx, adb), ref.db, 1e-5));
    // the workgroup-memory tiled variants (what GPUs prefer), same references
    const tile = { rm: 4, rn4: 1, variant: "workgroup" as const };
    await runDispatches(ctx, [
      await denseForward(ctx, { x: tx, w: tw, b: tb, y: tyr, relu: true, tile }),
      await denseBackwardInput(ctx, { dz: tdz, w: tw, dx: tdxm, reluMaskFrom: tx, tile }),
    ]);
    emit(compare(
      "dense",
      `forward+relu, workgroup-tiled ${tag}`,
      await download(ctx, tyr),
      denseForwardRef(x, w, b, M, K, N, true),
      1e-5,
    ));
    emit(
      compare(
        "dense",
        `dX relu-masked, workgroup-tiled ${tag}`,
        await download(ctx, tdxm),
        refMasked.dx,
        1e-5,
      ),
    );
  }
}

interface ConvCase {
  B: number;
  H: number;
  W: number;
  CI: number;
  CO: number;
  KS: number;
  PAD: number;
  relu: boolean;
  pool: boolean;
  raw: boolean;
}

const CONV_CASES: ConvCase[] = [
  // LeNet-5's two blocks (small batches)
  { B: 2, H: 28, W: 28, CI: 1, CO: 6, KS: 5, PAD: 2, relu: true, pool: true, raw: true },
  { B: 3, H: 14, W: 14, CI: 6, CO: 16, KS: 5, PAD: 0, relu: true, pool: true, raw: false },
  // odd sizes, channel counts that do not fill a texel, no pool, no ReLU
  { B: 3, H: 9, W: 7, CI: 3, CO: 5, KS: 3, PAD: 1, relu: true, pool: true, raw: false },
  { B: 5, H: 6, W: 10, CI: 2, CO: 3, KS: 5, PAD: 2, relu: true, pool: false, raw: false },
  { B: 4, H: 8, W: 8, CI: 1, CO: 4, KS: 3, PAD: 1, relu: false, pool: false, raw: false },
  // raw images whose rows are whole texels (aligned row loads)
  { B: 2, H: 8, W: 12, CI: 1, CO: 5, KS: 3, PAD: 1, relu: true, pool: false, raw: true },
];

async function checkConv(ctx: GpuContext, r: Rng, emit: Emit): Promise<void> {
  for (const c of CONV_CASES) {
    const s: Conv2dShape = {
      batch: c.B,
      height: c.H,
      width: c.W,
      inChannels: c.CI,
      inStored: c.raw ? 1 : pad4(c.CI),
      outChannels: c.CO,
      kernel: c.KS,
      padding: c.PAD,
      relu: c.relu,
      pool: c.pool,
    };
    const g = convGeometry(s);
    const tag = `B=${c.B} ${c.H}x${c.W} ${c.CI}->${c.CO} k${c.KS} p${c.PAD}` +
      `${c.relu ? " relu" : ""}${c.pool ? " pool" : ""}${c.raw ? " raw" : ""}`;
    const x = randomArray(r, c.B * c.H * c.W * c.CI);
    const w = randomArray(r, c.KS * c.KS * c.CI * c.CO, -0.5, 0.5);
    const b = randomArray(r, c.CO, -0.2, 0.2);
    const grad = randomArray(r, c.B * g.outH * g.outW * c.CO);
    const tx = Tensor.create(ctx, c.B, g.inCols, "x");
    const tw = Tensor.create(ctx, g.weightRows, c.CO, "w"), tb = Tensor.create(ctx, 1, c.CO, "b");
    const ty = Tensor.create(ctx, c.B, g.outCols, "y"),
      tg = Tensor.create(ctx, c.B, g.outCols, "g");
    const tcode = Tensor.create(ctx, c.B, g.outCols, "code");
    const tdx = Tensor.create(ctx, c.B, g.inCols, "dx");
    const tdxm = Tensor.create(ctx, c.B, g.inCols, "dx masked");
    const tdw = Tensor.create(ctx, g.weightRows, c.CO, "dw"),
      tdb = Tensor.create(ctx, 1, c.CO, "db");
    const tdw1 = Tensor.create(ctx, g.weightRows, c.CO, "dw direct");
    const tdb1 = Tensor.create(ctx, 1, c.CO, "db direct");
    const [adw, adb] = arenaPair(ctx, [g.weightRows, c.CO], [1, c.CO], "dW+db arena");
    const [adw1, adb1] = arenaPair(ctx, [g.weightRows, c.CO], [1, c.CO], "dW+db arena direct");
    upload(ctx, tx, packNHWC(x, c.B, c.H, c.W, c.CI, s.inStored));
    upload(ctx, tw, padWeightRows(w, c.KS, c.CI, c.CO, s.inStored));
    upload(ctx, tb, b);
    upload(ctx, tg, packNHWC(grad, c.B, g.outH, g.outW, c.CO, g.cop));
    const chunks = weightGradChunks(s);
    const partial = Tensor.create(ctx, chunks, partialCols(s), "partial");
    const aux = c.pool ? tcode : c.relu ? ty : undefined;
    const dispatches: Dispatch[] = [
      await conv2dForward(ctx, { shape: s, x: tx, w: tw, b: tb, y: ty, code: tcode }),
      ...await conv2dBackwardWeight(ctx, {
        shape: s,
        grad: tg,
        x: tx,
        aux,
        dw: tdw,
        db: tdb,
        chunks,
        partial,
      }),
      ...await conv2dBackwardWeight(ctx, {
        shape: s,
        grad: tg,
        x: tx,
        aux,
        dw: tdw1,
        db: tdb1,
        chunks: 1,
      }),
      ...await conv2dBackwardWeight(ctx, {
        shape: s,
        grad: tg,
        x: tx,
        aux,
        dw: adw,
        db: adb,
        chunks,
        partial,
      }),
      ...await conv2dBackwardWeight(ctx, {
        shape: s,
        grad: tg,
        x: tx,
        aux,
        dw: adw1,
        db: adb1,
        chunks: 1,
      }),
    ];
    if (!c.raw) {
      dispatches.push(
        await conv2dBackwardInput(ctx, { shape: s, grad: tg, w: tw, aux, dx: tdx }),
        await conv2dBackwardInput(ctx, { shape: s, grad: tg, w: tw, aux, dx: tdxm, maskFrom: tx }),
      );
    }
    await runDispatches(ctx, dispatches);

    // forward: pool(relu(conv + b)) against the reference
    const z = conv2dRef(x, w, b, c.B, c.H, c.W, c.CI, c.CO, c.KS, c.PAD);
    const act = c.relu ? reluRef(z) : z;
    const pooled = c.pool ? maxPool2Ref(act, c.B, g.ho, g.wo, c.CO, c.relu) : null;
    const yGot = unpackNHWC(await download(ctx, ty), c.B, g.outH, g.outW, c.CO, g.cop);
    emit(compare("conv2d", `forward ${tag}`, yGot, pooled ? pooled.y : act, 1e-5));
    // pad channels of the output stay exactly zero (later kernels rely on it)
    const padded = await downloadPadded(ctx, ty);
    let padNonZero = 0;
    for (let i = 0; i < padded.length; i++) if (i % g.cop >= c.CO && padded[i] !== 0) padNonZero++;
    emit({
      family: "conv2d",
      name: `zero pad channels ${tag}`,
      ok: padNonZero === 0,
      error: padNonZero,
      tolerance: 0,
      ...(padNonZero ? { detail: `${padNonZero} pad values are not 0` } : {}),
    });

    // backward: the pre-activation gradient from the GPU's own pool codes (ties are arbitrary)
    let dz: Float64Array;
    if (c.pool) {
      const code = unpackNHWC(await download(ctx, tcode), c.B, g.outH, g.outW, c.CO, g.cop);
      dz = maxPool2BackwardRef(grad, code, c.B, g.ho, g.wo, c.CO);
    } else if (c.relu) {
      dz = grad.map((v, i) => (yGot[i] > 0 ? v : 0));
    } else dz = grad;
    const ref = conv2dBackwardRef(x, w, dz, c.B, c.H, c.W, c.CI, c.CO, c.KS, c.PAD);
    const dw = unpadWeightRows(await download(ctx, tdw), c.KS, c.CI, c.CO, s.inStored);
    const dw1 = unpadWeightRows(await download(ctx, tdw1), c.KS, c.CI, c.CO, s.inStored);
    emit(compare("conv2d", `dW (${chunks} chunks) ${tag}`, dw, ref.dw, 1e-5));
    emit(compare("conv2d", `db (${chunks} chunks) ${tag}`, await download(ctx, tdb), ref.db, 1e-5));
    emit(compare("conv2d", `dW (direct) ${tag}`, dw1, ref.dw, 1e-5));
    emit(compare("conv2d", `db (direct) ${tag}`, await download(ctx, tdb1), ref.db, 1e-5));
    for (const [name, w, b] of [["", adw, adb], [" direct", adw1, adb1]] as const) {
      const dwA = unpadWeightRows(await download(ctx, w), c.KS, c.CI, c.CO, s.inStored);
      emit(compare("conv2d", `dW in a shared arena${name} ${tag}`, dwA, ref.dw, 1e-5));
      const dbA = await download(ctx, b);
      emit(compare("conv2d", `db in a shared arena${name} ${tag}`, dbA, ref.db, 1e-5));
    }
    if (!c.raw) {
      const unpack = async (t: Tensor) =>
        unpackNHWC(await download(ctx, t), c.B, c.H, c.W, c.CI, s.inStored);
      emit(compare("conv2d", `dX ${tag}`, await unpack(tdx), ref.dx, 1e-5));
      const masked = ref.dx.map((v, i) => (x[i] > 0 ? v : 0));
      emit(compare("conv2d", `dX input-masked ${tag}`, await unpack(tdxm), masked, 1e-5));
    }
  }
}

async function checkMaxPool(ctx: GpuContext, r: Rng, emit: Emit): Promise<void> {
  for (const [B, H, W, C] of [[3, 7, 9, 5], [2, 11, 4, 16], [1, 2, 2, 1]]) {
    const CP = pad4(C), PH = Math.floor(H / 2), PW = Math.floor(W / 2);
    const x = f32(randomArray(r, B * H * W * C)), dy = f32(randomArray(r, B * PH * PW * C));
    const tx = Tensor.create(ctx, B, H * W * CP, "x"),
      ty = Tensor.create(ctx, B, PH * PW * CP, "y");
    const tc = Tensor.create(ctx, B, PH * PW * CP, "code");
    const tdy = Tensor.create(ctx, B, PH * PW * CP, "dy"),
      tdx = Tensor.create(ctx, B, H * W * CP, "dx");
    upload(ctx, tx, packNHWC(x, B, H, W, C, CP));
    upload(ctx, tdy, packNHWC(dy, B, PH, PW, C, CP));
    const shape = { batch: B, height: H, width: W, stored: CP };
    await runDispatches(ctx, [
      await maxPoolForward(ctx, { shape, x: tx, y: ty, code: tc }),
      await maxPoolBackward(ctx, { shape, dy: tdy, code: tc, dx: tdx }),
    ]);
    const ref = maxPool2Ref(x, B, H, W, C);
    const tag = `B=${B} ${H}x${W} C=${C}`;
    const got = async (t: Tensor, h: number, w: number) =>
      unpackNHWC(await download(ctx, t), B, h, w, C, CP);
    emit(compare("maxpool", `forward ${tag}`, await got(ty, PH, PW), ref.y, 0));
    emit(compare("maxpool", `codes ${tag}`, await got(tc, PH, PW), ref.code, 0));
    emit(compare(
      "maxpool",
      `backward ${tag}`,
      await got(tdx, H, W),
      maxPool2BackwardRef(dy, ref.code, B, H, W, C),
      0,
    ));
  }
}

async function checkRelu(ctx: GpuContext, r: Rng, emit: Emit): Promise<void> {
  for (const [rows, cols] of [[3, 7], [64, 120], [1, 1]]) {
    const x = f32(randomArray(r, rows * cols)), dy = f32(randomArray(r, rows * cols));
    const tx = Tensor.create(ctx, rows, cols, "x"), ty = Tensor.create(ctx, rows, cols, "y");
    const tdy = Tensor.create(ctx, rows, cols, "dy"), tdx = Tensor.create(ctx, rows, cols, "dx");
    upload(ctx, tx, x);
    upload(ctx, tdy, dy);
    await runDispatches(ctx, [
      await reluForward(ctx, { x: tx, y: ty }),
      await reluBackward(ctx, { dy: tdy, y: ty, dx: tdx }),
    ]);
    const y = reluRef(x);
    emit(compare("relu", `forward ${rows}x${cols}`, await download(ctx, ty), y, 0));
    emit(compare(
      "relu",
      `backward ${rows}x${cols}`,
      await download(ctx, tdx),
      reluBackwardRef(dy, y),
      0,
    ));
  }
}

async function readBuffer(ctx: GpuContext, buf: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
  const staging = ctx.device.createBuffer({
    size: bytes,
    usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
  });
  const enc = ctx.device.createCommandEncoder();
  enc.copyBufferToBuffer(buf, 0, staging, 0, bytes);
  ctx.device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = staging.getMappedRange().slice(0);
  staging.unmap();
  staging.destroy();
  return out;
}

async function checkSoftmax(ctx: GpuContext, r: Rng, emit: Emit): Promise<void> {
  for (const [B, N] of [[7, 3], [64, 10], [5, 13], [1, 1]]) {
    const z = randomArray(r, B * N, -8, 8);
    const labels = Array.from({ length: B }, () => r.int(N));
    const tz = Tensor.create(ctx, B, N, "logits"), tl = Tensor.create(ctx, 1, B, "labels");
    const tdz = Tensor.create(ctx, B, N, "dz"), tloss = Tensor.create(ctx, 1, B, "losses");
    const tp = Tensor.create(ctx, B, N, "probs");
    upload(ctx, tz, z);
    upload(ctx, tl, labels);
    const log = ctx.device.createBuffer({
      size: 64,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const params = new StepParamsBuffer(ctx, 4);
    params.write(0, [0, 1, 2, 3].map((step) => ({ step, batchStart: 0 })));
    const d = await softmaxCrossEntropy(ctx, {
      logits: tz,
      labels: tl,
      dz: tdz,
      losses: tloss,
      lossLog: log,
      params,
    });
    await runDispatches(ctx, [d], params.offset(2)); // slot 2 says step 2
    await runDispatches(ctx, [await softmaxForward(ctx, { logits: tz, probs: tp })]);
    const ref = softmaxCrossEntropyRef(z, labels, B, N);
    const tag = `B=${B} N=${N}`;
    emit(compare("softmax-xent", `losses ${tag}`, await download(ctx, tloss), ref.losses, 1e-5));
    emit(compare("softmax-xent", `dZ ${tag}`, await download(ctx, tdz), ref.dz, 1e-5));
    emit(compare("softmax-xent", `softmax ${tag}`, await download(ctx, tp), ref.probs, 1e-5));
    const logged = new Float32Array(await readBuffer(ctx, log, 64));
    emit(compare(
      "softmax-xent",
      `mean loss in step slot 2 ${tag}`,
      [logged[0], logged[1], logged[2], logged[3]],
      [0, 0, ref.mean, 0],
      1e-5,
    ));
    log.destroy();
  }
}

const OPTIMIZERS: OptimizerConfig[] = [
  { kind: "adam", lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
  { kind: "adam", lr: 3e-3, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.01 },
  { kind: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 0 },
  { kind: "sgd", lr: 0.1, momentum: 0, weightDecay: 5e-4 },
];

async function checkOptimizer(ctx: GpuContext, r: Rng, emit: Emit): Promise<void> {
  for (const cfg of OPTIMIZERS) {
    for (const texels of [1, 37]) {
      const n = texels * 4;
      const p = f32(randomArray(r, n)), m = new Float64Array(n), v = new Float64Array(n);
      const P = new TexelStore(ctx, texels, "P"), G = new TexelStore(ctx, texels, "G");
      const S = new TexelStore(ctx, 2 * texels, "S"), P2 = new TexelStore(ctx, texels, "P'");
      const S2 = new TexelStore(ctx, 2 * texels, "S'");
      const view = (s: TexelStore, t: number) => new Tensor(s, 0, 1, t * 4, "view");
      uploadPadded(ctx, view(P, texels), Float32Array.from(p));
      const steps = 3;
      const params = new StepParamsBuffer(ctx, steps);
      params.write(
        0,
        Array.from(
          { length: steps },
          (_, i) => ({ step: i, batchStart: 0, ...optimizerStepValues(cfg, i + 1) }),
        ),
      );
      const d = await optimizerUpdate(ctx, {
        config: cfg,
        texels,
        params: P,
        grads: G,
        state: S,
        paramsOut: P2,
        stateOut: S2,
        step: params,
      });
      for (let t = 1; t <= steps; t++) {
        const g = Float32Array.from(randomArray(r, n));
        uploadPadded(ctx, view(G, texels), g);
        await runDispatches(ctx, [d], params.offset(t - 1));
        const enc = ctx.device.createCommandEncoder();
        enc.copyTextureToTexture({ texture: P2.texture }, { texture: P.texture }, [
          TEX_WIDTH,
          P.texture.height,
        ]);
        enc.copyTextureToTexture({ texture: S2.texture }, { texture: S.texture }, [
          TEX_WIDTH,
          S.texture.height,
        ]);
        ctx.device.queue.submit([enc.finish()]);
        optimizerRef(cfg, p, g, m, v, t);
      }
      const name = cfg.kind === "adam"
        ? `${cfg.weightDecay > 0 ? "AdamW" : "Adam"} lr=${cfg.lr}`
        : `SGD momentum=${cfg.momentum} wd=${cfg.weightDecay}`;
      const tag = `${name}, ${texels} texels, 3 steps`;
      emit(
        compare("optimizer", `params ${tag}`, await downloadPadded(ctx, view(P, texels)), p, 2e-5),
      );
      const state = await downloadPadded(ctx, view(S, 2 * texels));
      emit(compare("optimizer", `first moment ${tag}`, state.subarray(0, n), m, 2e-5));
      if (cfg.kind === "adam") {
        emit(compare("optimizer", `second moment ${tag}`, state.subarray(n), v, 2e-5));
      }
      for (const s of [P, G, S, P2, S2]) s.destroy();
    }
  }
}

async function checkGather(ctx: GpuContext, r: Rng, emit: Emit): Promise<void> {
  const count = 40, pixels = 28 * 28;
  const images = new Uint8Array(count * pixels).map(() => r.int(256));
  const labels = Array.from({ length: count }, () => r.int(10));
  const data = uploadDataset(ctx, images, labels, count, pixels, "selftest images");
  const perm = r.permutation(count);
  const permStore = uploadUints(ctx, perm, "perm");
  for (const [B, start, sigma] of [[8, 0, 0], [13, 20, 0], [7, 31, 32]]) {
    const noise = sigma > 0 ? { sigma, seed: 1234 + B } : undefined;
    const x = Tensor.create(ctx, B, pixels, "x"), tl = Tensor.create(ctx, 1, B, "labels");
    const params = new StepParamsBuffer(ctx, 2);
    params.write(0, [{ step: 0, batchStart: 0 }, { step: 1, batchStart: start }]);
    await runDispatches(ctx, [
      await gatherBatch(ctx, { data, perm: permStore, x, labels: tl, params, noise }),
    ], params.offset(1));
    const tag = `B=${B} start=${start} sigma=${sigma}`;
    // float32 Box-Muller vs float64: differences of ~1e-4 of the 0..255 scale
    emit(compare(
      "gather",
      `images ${tag}`,
      await download(ctx, x),
      gatherBatchRef(images, pixels, perm, start, B, noise),
      sigma > 0 ? 2e-4 : 1e-7,
    ));
    const want = Array.from({ length: B }, (_, i) => labels[perm[start + i]]);
    emit(compare("gather", `labels ${tag}`, await download(ctx, tl), want, 0));
  }
}

async function checkEvaluate(ctx: GpuContext, r: Rng, emit: Emit): Promise<void> {
  const N = 10;
  const counts = ctx.device.createBuffer({
    size: N * N * 4,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  const want = new Array<number>(N * N).fill(0);
  // (rows in the batch, rows that are real samples): the last chunk of an evaluation is partial
  for (const [B, valid] of [[200, 200], [37, 30], [1, 1]]) {
    const z = randomArray(r, B * N), labels = Array.from({ length: B }, () => r.int(N));
    const tz = Tensor.create(ctx, B, N, "logits"), tl = Tensor.create(ctx, 1, B, "labels");
    const tp = Tensor.create(ctx, 1, B, "preds");
    upload(ctx, tz, z);
    upload(ctx, tl, labels);
    const params = new StepParamsBuffer(ctx, 1);
    params.write(0, [{ step: 0, batchStart: 0, valid }]);
    await runDispatches(ctx, [
      await predictClasses(ctx, { logits: tz, preds: tp, counts }),
      await accumulateConfusion(ctx, { preds: tp, labels: tl, classes: N, counts, params }),
    ]);
    const m = confusionRef(z, labels, valid, N);
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) want[i * N + j] += m[i][j];
  }
  const got = new Uint32Array(await readBuffer(ctx, counts, N * N * 4));
  emit(compare("evaluate", "confusion matrix over 3 batches (one partial)", got, want, 0));
  counts.destroy();
}

const FAMILY_CHECKS: Record<
  (typeof SELFTEST_FAMILIES)[number],
  (ctx: GpuContext, r: Rng, emit: Emit) => Promise<void>
> = {
  dense: checkDense,
  conv2d: checkConv,
  maxpool: checkMaxPool,
  relu: checkRelu,
  "softmax-xent": checkSoftmax,
  optimizer: checkOptimizer,
  gather: checkGather,
  evaluate: checkEvaluate,
};

/**
 * Runs every kernel family against its float64 reference. A family that throws (a shader that
 * does not compile, a WebGPU validation error) becomes one failed check naming the error, and
 * the other families still run.
 */
export async function runSelftest(
  ctx: GpuContext,
  opts: { seed?: number; onCheck?: (c: CheckResult) => void } = {},
): Promise<SelftestSummary> {
  const seed = opts.seed ?? 1;
  const t0 = performance.now();
  const checks: CheckResult[] = [];
  const emit = (c: CheckResult) => {
    checks.push(c);
    opts.onCheck?.(c);
  };
  const familySeconds: Record<string, number> = {};
  for (const family of SELFTEST_FAMILIES) {
    const f0 = performance.now();
    const r = new Rng((seed * 7919 + family.length * 104729 + family.charCodeAt(0)) >>> 0);
    try {
      await FAMILY_CHECKS[family](ctx, r, emit);
      ctx.check();
    } catch (e) {
      emit({
        family,
        name: "exception",
        ok: false,
        error: Infinity,
        tolerance: 0,
        detail: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
      });
    }
    familySeconds[family] = (performance.now() - f0) / 1000;
  }
  const failed = checks.filter((c) => !c.ok).length;
  return {
    adapter: ctx.adapterName,
    textureReads: ctx.textureReads,
    seed,
    checks,
    passed: checks.length - failed,
    failed,
    families: [...new Set(checks.map((c) => c.family))],
    familySeconds,
    seconds: (performance.now() - t0) / 1000,
  };
}
