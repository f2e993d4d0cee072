// Elastic distortion of a gathered batch (Simard et al. 2003): x (B, PIX) in [0, 1] -> y (B, PIX).
// One workgroup per image. The displacement field is uniform noise in [-1, 1] per pixel and axis,
// keyed by (hash(SEED + epoch), image index, k) so it changes every epoch but not with batch
// order; it is smoothed by a normalized Gaussian of std SIGMA (zero outside the image, separable:
// rows, then columns, in workgroup memory) and scaled by ALPHA pixels. Output pixel (x, y)
// samples the input at (x + dx, y + dy) bilinearly, zero outside. Gaussian pixel noise, if any,
// is added afterwards (the gather then adds none), keyed as in batch_gather.wgsl. The float64
// reference is src/ops/elastic.ts.

const W: u32 = 28u; // image width
const H: u32 = 28u; // image height
const SEED: u32 = 0u;
const ALPHA: f32 = 0.0; // displacement scale, pixels
const SIGMA: f32 = 1.0; // smoothing std, pixels
const RADIUS: i32 = 3; // taps -RADIUS..RADIUS per axis (ceil(3 SIGMA))
const INV_NORM: f32 = 1.0; // 1 / sum of the 1D weights exp(-d^2 / (2 SIGMA^2))
const NOISE_SIGMA: f32 = 0.0; // pixel noise std on the 0..255 scale (0: none)
const NOISE_SEED: u32 = 0u;

const PIX: u32 = W * H;
const ROW_TEXELS: u32 = PIX / 4u;
const WG: u32 = 64u;

@group(0) @binding(0) var x: texture_storage_2d<rgba32float, read>; // (B, PIX)
@group(0) @binding(1) var perm: texture_storage_2d<rgba32uint, read>; // the epoch's order
@group(0) @binding(2) var y: texture_storage_2d<rgba32float, write>; // (B, PIX)
@group(0) @binding(3) var<uniform> params: StepParams;

var<workgroup> field: array<f32, 2u * PIX>; // [axis][pixel]: noise, then the smoothed field
var<workgroup> rows_done: array<f32, 2u * PIX>; // after the row pass

// hash32, counter_uniform and pixel_normal come with the prelude (keyed_rng.wgsl).

fn weight(d: i32) -> f32 {
  let f = f32(d);
  return exp(-f * f / (2.0 * SIGMA * SIGMA)) * INV_NORM;
}

// Input pixel (px, py) of batch row r, 0 outside the image.
fn src_at(r: u32, px: i32, py: i32) -> f32 {
  if (px < 0 || py < 0 || px >= i32(W) || py >= i32(H)) { return 0.0; }
  let p = u32(py) * W + u32(px);
  return ld(x, r * ROW_TEXELS + (p >> 2u))[p & 3u];
}

@compute @workgroup_size(64)
fn elastic(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x;
  let pos = params.batch_start + r;
  let img = textureLoad(perm, texel_xy(pos >> 2u))[pos & 3u];
  let seed = hash32(SEED + params.epoch);
  for (var k = lid; k < 2u * PIX; k += WG) {
    field[k] = 2.0 * counter_uniform(seed, img, k) - 1.0;
  }
  workgroupBarrier();
  for (var k = lid; k < 2u * PIX; k += WG) {
    let p = k % PIX;
    let px = i32(p % W);
    var s = 0.0;
    for (var d = -RADIUS; d <= RADIUS; d++) {
      let q = px + d;
      if (q >= 0 && q < i32(W)) { s += weight(d) * field[k - u32(px) + u32(q)]; }
    }
    rows_done[k] = s;
  }
  workgroupBarrier();
  for (var k = lid; k < 2u * PIX; k += WG) {
    let p = k % PIX;
    let py = i32(p / W);
    var s = 0.0;
    for (var d = -RADIUS; d <= RADIUS; d++) {
      let q = py + d;
      if (q >= 0 && q < i32(H)) { s += weight(d) * rows_done[k - p + u32(q) * W + p % W]; } // column p % W
    }
    field[k] = ALPHA * s;
  }
  workgroupBarrier();
  for (var t = lid; t < ROW_TEXELS; t += WG) {
    var out = vec4f(0.0);
    for (var c = 0u; c < 4u; c++) {
      let p = t * 4u + c;
      let sx = f32(p % W) + field[p];
      let sy = f32(p / W) + field[PIX + p];
      let x0 = floor(sx);
      let y0 = floor(sy);
      let fx = sx - x0;
      let fy = sy - y0;
      let ix = i32(x0);
      let iy = i32(y0);
      let top = src_at(r, ix, iy) * (1.0 - fx) + src_at(r, ix + 1, iy) * fx;
      let bottom = src_at(r, ix, iy + 1) * (1.0 - fx) + src_at(r, ix + 1, iy + 1) * fx;
      var v = (top * (1.0 - fy) + bottom * fy) * 255.0;
      if (NOISE_SIGMA > 0.0) { v = clamp(v + NOISE_SIGMA * pixel_normal(NOISE_SEED, img, p), 0.0, 255.0); }
      out[c] = v / 255.0;
    }
    st(y, r * ROW_TEXELS + t, out);
  }
}
