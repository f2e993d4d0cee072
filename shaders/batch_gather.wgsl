// Batch gather: the data set stays on the GPU as bytes (rgba8unorm, 4 pixels per texel; as f32
// the 60,000 MNIST images would not fit one binding). A batch is gathered by index through the
// epoch's permutation and scaled to [0, 1], optionally with Gaussian noise added on the 0..255
// scale and clipped. The noise is a function of (seed, image index, pixel) only: the same image
// gets the same noise in every epoch and in any batch order, and the CPU reference (src/util/rng.ts)
// computes the same values.
//
// Augmentation (AUGMENT): each image is drawn through a random affine map about its centre —
// rotation, scale, shift — with parameters keyed by (AUG_SEED, image index, epoch), so they
// change every epoch but not with batch order; pixels are sampled bilinearly, zero outside. The
// float64 reference is src/ops/augment.ts. Noise, if any, is added to the distorted image.

const B: u32 = 64u; // batch rows
const PIX: u32 = 784u; // pixels per image (a multiple of 4)
const SIGMA: f32 = 0.0; // noise standard deviation on the 0..255 scale (0: no noise)
const NOISE_SEED: u32 = 0u;
const AUGMENT: bool = false; // random affine distortion
const AUG_SEED: u32 = 0u;
const IMG_W: u32 = 28u; // image width (height = PIX / IMG_W)
const MAX_SHIFT: f32 = 0.0; // pixels
const MAX_ROT: f32 = 0.0; // radians
const MIN_SCALE: f32 = 1.0;
const MAX_SCALE: f32 = 1.0;

const IMG_TEXELS: u32 = PIX / 4u;

@group(0) @binding(0) var images: texture_storage_2d<rgba8unorm, read>; // the data set
@group(0) @binding(1) var image_labels: texture_storage_2d<rgba32uint, read>; // the data set's
@group(0) @binding(2) var perm: texture_storage_2d<rgba32uint, read>; // the epoch's order
@group(0) @binding(3) var x: texture_storage_2d<rgba32float, write>; // images (B, PIX)
@group(0) @binding(4) var labels: texture_storage_2d<rgba32float, write>; // (1, B) as floats
@group(0) @binding(5) var<uniform> params: StepParams;

// counter_uniform and pixel_normal (the keyed draws) come with the prelude (keyed_rng.wgsl).

// The noise of pixels p..p+3 of image img (standard normal).
fn pixel_noise4(img: u32, p: u32) -> vec4f {
  var n = vec4f(0.0);
  for (var k = 0u; k < 4u; k++) { n[k] = pixel_normal(NOISE_SEED, img, p + k); }
  return n;
}

// The affine map of image img this epoch: (cos a, sin a, 1 / scale, shift x, shift y).
struct Affine { c: f32, s: f32, inv_scale: f32, tx: f32, ty: f32 }

fn affine_of(img: u32) -> Affine {
  let k = params.epoch * 4u;
  let a = (2.0 * counter_uniform(AUG_SEED, img, k) - 1.0) * MAX_ROT;
  let scale = MIN_SCALE + (MAX_SCALE - MIN_SCALE) * counter_uniform(AUG_SEED, img, k + 1u);
  let tx = (2.0 * counter_uniform(AUG_SEED, img, k + 2u) - 1.0) * MAX_SHIFT;
  let ty = (2.0 * counter_uniform(AUG_SEED, img, k + 3u) - 1.0) * MAX_SHIFT;
  // Taylor series (|a| <= pi/4: error below 1e-6), the same on every device
  let a2 = a * a;
  let c = 1.0 - a2 / 2.0 * (1.0 - a2 / 12.0 * (1.0 - a2 / 30.0 * (1.0 - a2 / 56.0)));
  let s = a * (1.0 - a2 / 6.0 * (1.0 - a2 / 20.0 * (1.0 - a2 / 42.0)));
  return Affine(c, s, 1.0 / scale, tx, ty);
}

// Pixel (x, y) of image img on the 0..255 scale, 0 outside the image.
fn pixel_at(img: u32, x: i32, y: i32) -> f32 {
  let h = i32(PIX / IMG_W);
  if (x < 0 || y < 0 || x >= i32(IMG_W) || y >= h) { return 0.0; }
  let p = u32(y) * IMG_W + u32(x);
  return round(textureLoad(images, texel_xy(img * IMG_TEXELS + (p >> 2u)))[p & 3u] * 255.0);
}

// Output pixel p of the distorted image: the source point (inverse map) sampled bilinearly.
fn distorted_pixel(img: u32, m: Affine, p: u32) -> f32 {
  let cx = f32(IMG_W - 1u) * 0.5;
  let cy = f32(PIX / IMG_W - 1u) * 0.5;
  let u = (f32(p % IMG_W) - cx - m.tx) * m.inv_scale;
  let v = (f32(p / IMG_W) - cy - m.ty) * m.inv_scale;
  let sx = cx + m.c * u + m.s * v; // rotation by -a
  let sy = cy - m.s * u + m.c * v;
  let x0 = floor(sx);
  let y0 = floor(sy);
  let fx = sx - x0;
  let fy = sy - y0;
  let ix = i32(x0);
  let iy = i32(y0);
  let top = pixel_at(img, ix, iy) * (1.0 - fx) + pixel_at(img, ix + 1, iy) * fx;
  let bottom = pixel_at(img, ix, iy + 1) * (1.0 - fx) + pixel_at(img, ix + 1, iy + 1) * fx;
  return top * (1.0 - fy) + bottom * fy;
}

// Element i of the permutation / the labels (4 per texel).
fn perm_at(i: u32) -> u32 {
  return textureLoad(perm, texel_xy(i >> 2u))[i & 3u];
}

fn label_at(i: u32) -> u32 {
  return textureLoad(image_labels, texel_xy(i >> 2u))[i & 3u];
}

@compute @workgroup_size(64)
fn gather_batch(@builtin(global_invocation_id) gid: vec3u) {
  let label_lanes = (B + 3u) / 4u;
  if (gid.x < label_lanes) {
    var l = vec4f(0.0);
    for (var k = 0u; k < 4u; k++) {
      let row = gid.x * 4u + k;
      if (row < B) { l[k] = f32(label_at(perm_at(params.batch_start + row))); }
    }
    st(labels, gid.x, l);
    return;
  }
  let lane = gid.x - label_lanes;
  if (lane >= B * IMG_TEXELS) { return; }
  let row = lane / IMG_TEXELS;
  let t = lane % IMG_TEXELS;
  let img = perm_at(params.batch_start + row);
  if (AUGMENT) {
    let m = affine_of(img);
    var v255 = vec4f(0.0);
    for (var k = 0u; k < 4u; k++) { v255[k] = distorted_pixel(img, m, t * 4u + k); }
    if (SIGMA > 0.0) {
      v255 = clamp(v255 + SIGMA * pixel_noise4(img, t * 4u), vec4f(0.0), vec4f(255.0));
    }
    st(x, lane, v255 / 255.0);
    return;
  }
  var v = textureLoad(images, texel_xy(img * IMG_TEXELS + t)); // [0, 1]
  if (SIGMA > 0.0) {
    let noisy = round(v * 255.0) + SIGMA * pixel_noise4(img, t * 4u);
    v = clamp(noisy, vec4f(0.0), vec4f(255.0)) / 255.0;
  }
  st(x, lane, v);
}
