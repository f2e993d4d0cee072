// Test-time image corruptions of a gathered batch: x (B, PIX) in [0, 1] -> y (B, PIX) in
// [0, 1], images W x H row-major, rows PITCH floats apart (padding floats written as 0). The
// noises work on the 0..255 scale (v = 255 x), clip to [0, 255] and divide by 255 again; blur,
// median and contrast are linear or order-based, so they work on x and clip to [0, 1] directly.
// Row r shows image perm[params.batch_start + r] (the evaluation gather's indices), and every
// random draw is keyed by (SEED, image index, pixel) through the counter hash of
// src/util/rng.ts, so a corruption does not depend on batch order, batch size or device.
// Key streams for pixel p: gaussian uses counters 2p, 2p + 1 (exactly the training noise of
// batch_gather.wgsl: the caller gives the test noise its own seed); the others use 4p + j, j < 4.

const B: u32 = 1u; // batch rows
const W: u32 = 28u; // image width
const H: u32 = 28u; // image height
const PITCH: u32 = 784u; // floats per row (a multiple of 4, >= W * H)
const KIND: u32 = 0u; // which corruption of the entry point's family (see the entry points)
const SEED: u32 = 0u; // noise seed (random corruptions)
const SIGMA: f32 = 0.0; // gaussian: noise std, 0..255 scale; poisson_gaussian: read noise std
const PHOTONS: f32 = 1.0; // shot, poisson_gaussian: c in x' = Poisson(c x) / c
const IMPULSE_COUNT: u32 = 0u; // impulse: pixel hit iff its 24-bit key < this (amount * 2^24)
const BLUR_R: i32 = 0; // blur radius in pixels (taps -R..R per axis)
const BLUR_W0: f32 = 1.0; // normalized 1D Gaussian weights w(|d|), d = 0..5
const BLUR_W1: f32 = 0.0;
const BLUR_W2: f32 = 0.0;
const BLUR_W3: f32 = 0.0;
const BLUR_W4: f32 = 0.0;
const BLUR_W5: f32 = 0.0;
const CONTRAST: f32 = 1.0; // contrast: x' = (x - mean) * CONTRAST + mean

const PIX: u32 = W * H;
const ROW_TEXELS: u32 = PITCH / 4u;
// Poisson draws: inversion by sequential search up to this mean, normal approximation above
const POISSON_NORMAL_ABOVE: f32 = 30.0;
const POISSON_MAX_STEPS: u32 = 100u; // never reached for means <= 30 (P < 1e-20)

@group(0) @binding(0) var x: texture_storage_2d<rgba32float, read>; // (B, PIX)
@group(0) @binding(1) var perm: texture_storage_2d<rgba32uint, read>; // image indices
@group(0) @binding(2) var y: texture_storage_2d<rgba32float, write>; // (B, PIX)
@group(0) @binding(3) var<uniform> params: StepParams;

// counter_bits, counter_uniform, keyed_normal and pixel_normal (the keyed draws, bit for bit
// those of src/util/rng.ts) come with the prelude (keyed_rng.wgsl).

// Poisson(lam) for pixel p: inversion of the CDF with the uniform at counter 4p (one f32 product,
// quotient and sum per step, no fused operations to contract), or for lam > 30 the normal
// approximation round(lam + sqrt(lam) z) >= 0 with z from counters 4p, 4p + 1.
fn poisson(img: u32, p: u32, lam: f32) -> f32 {
  if (lam > POISSON_NORMAL_ABOVE) {
    return max(floor(lam + sqrt(lam) * keyed_normal(SEED, img, 4u * p, 4u * p + 1u) + 0.5), 0.0);
  }
  let u = counter_uniform(SEED, img, 4u * p);
  var k = 0u;
  var prob = exp(-lam);
  var cdf = prob;
  while (u > cdf && k < POISSON_MAX_STEPS) {
    k += 1u;
    prob = prob * lam / f32(k);
    cdf = cdf + prob;
  }
  return f32(k);
}

fn image_of(row: u32) -> u32 {
  let i = params.batch_start + row;
  return textureLoad(perm, texel_xy(i >> 2u))[i & 3u];
}

// Pixel (x, y) of a row, clamped to the image (clamp-to-edge padding for blur and median).
fn pixel_clamped(row: u32, px: i32, py: i32) -> f32 {
  let cx = u32(clamp(px, 0, i32(W) - 1));
  let cy = u32(clamp(py, 0, i32(H) - 1));
  let e = row * PITCH + cy * W + cx;
  return ld(x, e >> 2u)[e & 3u];
}

// One output texel (4 pixels) per invocation; `which` picks the elementwise corruption.
fn elementwise(lane: u32, which: u32) {
  if (lane >= B * ROW_TEXELS) { return; }
  let row = lane / ROW_TEXELS;
  let img = image_of(row);
  let texel = ld(x, lane);
  var result = vec4f(0.0);
  for (var k = 0u; k < 4u; k++) {
    let p = (lane % ROW_TEXELS) * 4u + k;
    if (p >= PIX) { continue; }
    let v = texel[k];
    switch which {
      case 0u: { // gaussian: clip(255 x + sigma z) / 255
        let z = pixel_normal(SEED, img, p);
        result[k] = clamp(v * 255.0 + SIGMA * z, 0.0, 255.0) / 255.0;
      }
      case 1u: { // shot: min(Poisson(c x) / c, 1), i.e. clip(255 k / c) / 255
        result[k] = min(poisson(img, p, PHOTONS * max(v, 0.0)) / PHOTONS, 1.0);
      }
      case 2u: { // poisson_gaussian: clip(255 Poisson(c x) / c + sigma z) / 255
        let shot = poisson(img, p, PHOTONS * max(v, 0.0)) / PHOTONS;
        let z = keyed_normal(SEED, img, 4u * p + 2u, 4u * p + 3u);
        result[k] = clamp(shot * 255.0 + SIGMA * z, 0.0, 255.0) / 255.0;
      }
      default: { // impulse: hit pixels become 0 or 255 with equal odds
        let hit = counter_bits(SEED, img, 4u * p) < IMPULSE_COUNT;
        let salt = counter_bits(SEED, img, 4u * p + 1u) >= 8388608u;
        result[k] = select(clamp(v, 0.0, 1.0), select(0.0, 1.0, salt), hit);
      }
    }
  }
  st(y, lane, result);
}

// Per-pixel corruptions; KIND: 0 gaussian, 1 shot, 2 poisson-gaussian, 3 impulse.
@compute @workgroup_size(64)
fn pixel_noise(@builtin(global_invocation_id) gid: vec3u) {
  elementwise(gid.x, KIND);
}

fn blur_weight(d: i32) -> f32 {
  let w = array<f32, 6>(BLUR_W0, BLUR_W1, BLUR_W2, BLUR_W3, BLUR_W4, BLUR_W5);
  return w[abs(d)];
}

// Direct 2D Gaussian blur with clamp-to-edge padding at pixel (px, py) of batch row `row`:
// weights w(dy) w(dx) summed row by row, dy then dx from -R to R (the reference's order).
fn blur_at(row: u32, px: i32, py: i32) -> f32 {
  var acc = 0.0;
  for (var dy = -BLUR_R; dy <= BLUR_R; dy++) {
    for (var dx = -BLUR_R; dx <= BLUR_R; dx++) {
      acc += blur_weight(dy) * blur_weight(dx) * pixel_clamped(row, px + dx, py + dy);
    }
  }
  return acc;
}

// 3x3 median with clamp-to-edge padding (test-time denoising): selects one of the 9 inputs, so
// the result is exact.
fn median_at(row: u32, px: i32, py: i32) -> f32 {
  var a: array<f32, 9>;
  for (var j = 0; j < 9; j++) {
    a[j] = pixel_clamped(row, px + j % 3 - 1, py + j / 3 - 1);
  }
  // partial selection sort: after 5 passes a[4] is the 5th smallest
  for (var i = 0; i < 5; i++) {
    var m = i;
    for (var j = i + 1; j < 9; j++) {
      if (a[j] < a[m]) { m = j; }
    }
    let t = a[i];
    a[i] = a[m];
    a[m] = t;
  }
  return a[4];
}

// One output texel (4 pixels) of a spatial filter: 0 blur, 1 median; clipped to [0, 1].
fn spatial_filter(lane: u32, kind: u32) {
  if (lane >= B * ROW_TEXELS) { return; }
  let row = lane / ROW_TEXELS;
  var result = vec4f(0.0);
  for (var k = 0u; k < 4u; k++) {
    let p = (lane % ROW_TEXELS) * 4u + k;
    if (p >= PIX) { continue; }
    let px = i32(p % W);
    let py = i32(p / W);
    var v: f32;
    if (kind == 0u) { v = blur_at(row, px, py); } else { v = median_at(row, px, py); }
    result[k] = clamp(v, 0.0, 1.0);
  }
  st(y, lane, result);
}

// Neighbourhood filters; KIND: 0 blur, 1 median.
@compute @workgroup_size(64)
fn neighbourhood(@builtin(global_invocation_id) gid: vec3u) {
  spatial_filter(gid.x, KIND);
}

const WG: u32 = 64u;
var<workgroup> partial: array<f32, WG>;

// Contrast reduction, one workgroup per image: lane l sums texels l, l + 64, ... in order, a
// tree adds the 64 partial sums (a fixed order), then x' = (x - mean) c + mean, clipped.
@compute @workgroup_size(WG)
fn contrast(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) l: u32) {
  let row = wid.x;
  var s = 0.0;
  for (var t = l; t < ROW_TEXELS; t += WG) {
    let texel = ld(x, row * ROW_TEXELS + t);
    for (var k = 0u; k < 4u; k++) {
      if (t * 4u + k < PIX) { s += texel[k]; }
    }
  }
  partial[l] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (l < stride) { partial[l] += partial[l + stride]; }
    workgroupBarrier();
  }
  let mean = partial[0] / f32(PIX);
  for (var t = l; t < ROW_TEXELS; t += WG) {
    let texel = ld(x, row * ROW_TEXELS + t);
    var result = vec4f(0.0);
    for (var k = 0u; k < 4u; k++) {
      if (t * 4u + k < PIX) { result[k] = clamp((texel[k] - mean) * CONTRAST + mean, 0.0, 1.0); }
    }
    st(y, row * ROW_TEXELS + t, result);
  }
}
