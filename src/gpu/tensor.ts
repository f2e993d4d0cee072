/**
 * Texture-backed tensors. A tensor is `rows` rows of `pitch` floats (pitch a multiple of 4,
 * padding zero) stored as consecutive rgba32float texels starting at texel `base` of a texture
 * that is {@link TEX_WIDTH} texels wide. Several tensors may share one texture (an arena).
 *
 * @module
 */
import { type GpuContext, TEX_WIDTH } from "./context.ts";
import { GpuLimitError } from "./errors.ts";

/** Rounds up to a multiple of 4 (the floats in one texel). */
export function pad4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

const TEXTURE_USAGE = GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST |
  GPUTextureUsage.COPY_SRC;

/**
 * A 2D texture used as linear texel storage: {@link TEX_WIDTH} texels wide and as many rows as
 * `texels` needs, texel i at (i % TEX_WIDTH, i / TEX_WIDTH).
 */
export class TexelStore {
  /** The backing texture (usable as storage binding and as copy source and destination). */
  readonly texture: GPUTexture;
  /** Texels that were asked for; the texture may have more (its last row is full width). */
  readonly texels: number;
  /**
   * Texel format: `rgba32float` (4 floats, tensors), `rgba8unorm` (4 bytes, images) or
   * `rgba32uint` (4 unsigned integers, labels and permutations).
   */
  readonly format: GPUTextureFormat;
  /**
   * Allocates a texture of at least `texels` texels (`label` names it in WebGPU messages).
   *
   * @throws GpuLimitError when `texels` needs more rows than the adapter's maxTextureDimension2D
   */
  constructor(
    ctx: GpuContext,
    texels: number,
    label: string,
    format: GPUTextureFormat = "rgba32float",
  ) {
    const rows = Math.max(1, Math.ceil(texels / TEX_WIDTH));
    if (rows > ctx.maxTextureRows) {
      const maxFloats = ctx.maxTextureRows * TEX_WIDTH * 4;
      throw new GpuLimitError(
        `tensor '${label}' needs ${texels * 4} values but one texture on this adapter holds at ` +
          `most ${maxFloats} (maxTextureDimension2D ${ctx.maxTextureRows}); use a smaller batch ` +
          `or data set`,
      );
    }
    this.texels = texels;
    this.format = format;
    this.texture = ctx.device.createTexture({
      label,
      size: [TEX_WIDTH, rows],
      format,
      usage: ctx.textureReads === "sampled"
        ? TEXTURE_USAGE | GPUTextureUsage.TEXTURE_BINDING
        : TEXTURE_USAGE,
    });
  }
  /** A new view of the whole texture. */
  view(): GPUTextureView {
    return this.texture.createView();
  }
  /** Frees the texture; every tensor in this store becomes unusable. */
  destroy(): void {
    this.texture.destroy();
  }
}

/** A matrix of `rows` x `cols` floats, rows padded to `pitch`, stored in texels. */
export class Tensor {
  /** The texel store (texture) the tensor lives in, possibly shared with other tensors. */
  readonly store: TexelStore;
  /** Index of the tensor's first texel in the store. */
  readonly base: number;
  /** Number of rows (for activations: one image per row). */
  readonly rows: number;
  /** Logical floats per row. */
  readonly cols: number;
  /** Stored floats per row: `cols` rounded up to a multiple of 4; the padding floats are 0. */
  readonly pitch: number;
  /** Name used in error messages and WebGPU labels. */
  readonly label: string;

  /**
   * A view of `rows` x `cols` floats at texel `base` of an existing store (no GPU work).
   *
   * @throws Error when `pitch` is not a multiple of 4 or below `cols`, or the tensor does not fit
   *   in the store
   */
  constructor(
    store: TexelStore,
    base: number,
    rows: number,
    cols: number,
    label: string,
    pitch = pad4(cols),
  ) {
    if (pitch % 4 !== 0 || pitch < cols) throw new Error(`bad pitch ${pitch} for ${cols} columns`);
    if (base + (rows * pitch) / 4 > store.texels) {
      throw new Error(`tensor '${label}' does not fit its store`);
    }
    this.store = store;
    this.base = base;
    this.rows = rows;
    this.cols = cols;
    this.pitch = pitch;
    this.label = label;
  }

  /** A tensor with its own texture. */
  static create(
    ctx: GpuContext,
    rows: number,
    cols: number,
    label: string,
    pitch = pad4(cols),
  ): Tensor {
    const store = new TexelStore(ctx, (rows * pitch) / 4, label);
    return new Tensor(store, 0, rows, cols, label, pitch);
  }

  /** Texels this tensor occupies. */
  get texels(): number {
    return (this.rows * this.pitch) / 4;
  }

  /** Number of padded floats (rows * pitch). */
  get size(): number {
    return this.rows * this.pitch;
  }
}

/** Splits a linear texel range into rectangles of the texture. */
function* texelRects(
  base: number,
  texels: number,
): Generator<{ x: number; y: number; w: number; h: number; offset: number }> {
  let done = 0;
  while (done < texels) {
    const t = base + done;
    const x = t % TEX_WIDTH, y = Math.floor(t / TEX_WIDTH);
    if (x !== 0 || texels - done < TEX_WIDTH) {
      const w = Math.min(TEX_WIDTH - x, texels - done);
      yield { x, y, w, h: 1, offset: done };
      done += w;
    } else {
      const h = Math.floor((texels - done) / TEX_WIDTH);
      yield { x: 0, y, w: TEX_WIDTH, h, offset: done };
      done += h * TEX_WIDTH;
    }
  }
}

/** Bytes per texel of a store format. */
function texelBytes(format: GPUTextureFormat): number {
  return format === "rgba8unorm" || format === "rgba8uint" ? 4 : 16;
}

/** Writes raw texel data (already padded) into a store at texel `base`. */
export function writeTexels(
  ctx: GpuContext,
  store: TexelStore,
  base: number,
  data: ArrayBufferView<ArrayBuffer>,
): void {
  const bpt = texelBytes(store.format);
  const texels = data.byteLength / bpt;
  if (!Number.isInteger(texels)) throw new Error("data is not a whole number of texels");
  if (base + texels > store.texels) throw new Error("write past the end of the store");
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  for (const r of texelRects(base, texels)) {
    ctx.device.queue.writeTexture(
      { texture: store.texture, origin: [r.x, r.y] },
      bytes.subarray(r.offset * bpt, (r.offset + r.w * r.h) * bpt),
      { bytesPerRow: r.w * bpt, rowsPerImage: r.h },
      [r.w, r.h],
    );
  }
}

/** Uploads a tensor from `rows x cols` values (unpadded, row-major); padding is written as 0. */
export function upload(ctx: GpuContext, t: Tensor, values: ArrayLike<number>): void {
  if (values.length !== t.rows * t.cols) {
    throw new Error(
      `upload to '${t.label}': expected ${t.rows * t.cols} values, got ${values.length}`,
    );
  }
  const padded = new Float32Array(t.size);
  for (let r = 0; r < t.rows; r++) {
    for (let c = 0; c < t.cols; c++) padded[r * t.pitch + c] = values[r * t.cols + c];
  }
  writeTexels(ctx, t.store, t.base, padded);
}

/** Uploads padded data (length rows * pitch) as is. */
export function uploadPadded(ctx: GpuContext, t: Tensor, padded: Float32Array<ArrayBuffer>): void {
  if (padded.length !== t.size) {
    throw new Error(`uploadPadded '${t.label}': length ${padded.length} != ${t.size}`);
  }
  writeTexels(ctx, t.store, t.base, padded);
}

/** Encodes copies of a texel range into a buffer; returns the buffer and the byte offset of `base`. */
export function encodeReadTexels(
  ctx: GpuContext,
  encoder: GPUCommandEncoder,
  store: TexelStore,
  base: number,
  texels: number,
): { buffer: GPUBuffer; offset: number; bytes: number } {
  const bpt = texelBytes(store.format);
  const y0 = Math.floor(base / TEX_WIDTH);
  const y1 = Math.floor((base + Math.max(texels, 1) - 1) / TEX_WIDTH);
  const rowBytes = TEX_WIDTH * bpt;
  const buffer = ctx.device.createBuffer({
    size: (y1 - y0 + 1) * rowBytes,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  encoder.copyTextureToBuffer(
    { texture: store.texture, origin: [0, y0] },
    { buffer, bytesPerRow: rowBytes, rowsPerImage: y1 - y0 + 1 },
    [TEX_WIDTH, y1 - y0 + 1],
  );
  return { buffer, offset: (base - y0 * TEX_WIDTH) * bpt, bytes: texels * bpt };
}

/** Reads a tensor back as padded floats (length rows * pitch). */
export async function downloadPadded(ctx: GpuContext, t: Tensor): Promise<Float32Array> {
  ctx.check();
  const enc = ctx.device.createCommandEncoder();
  const r = encodeReadTexels(ctx, enc, t.store, t.base, t.texels);
  ctx.device.queue.submit([enc.finish()]);
  await r.buffer.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(r.buffer.getMappedRange().slice(r.offset, r.offset + r.bytes));
  r.buffer.unmap();
  r.buffer.destroy();
  ctx.check();
  return out;
}

/** Reads a tensor back as `rows x cols` values without padding. */
export async function download(ctx: GpuContext, t: Tensor): Promise<Float32Array> {
  const padded = await downloadPadded(ctx, t);
  if (t.pitch === t.cols) return padded;
  const out = new Float32Array(t.rows * t.cols);
  for (let r = 0; r < t.rows; r++) {
    out.set(padded.subarray(r * t.pitch, r * t.pitch + t.cols), r * t.cols);
  }
  return out;
}
