// Batch gather: the data set stays on the GPU as bytes (rgba8unorm, 4 pixels per texel; as f32
// the 60,000 MNIST images would not fit one binding). A batch is gathered by index through the
// epoch's permutation and scaled to [0, 1], optionally with Gaussian noise added on the 0..255
// scale and clipped. The noise is a function of (seed, image index, pixel) only: the same image
// gets the same noise in every epoch and in any batch order, and the CPU reference (src/util/rng.ts)
// computes the same values.

const B: u32 = 64u; // batch rows
const PIX: u32 = 784u; // pixels per image (a multiple of 4)
const SIGMA: f32 = 0.0; // noise standard deviation on the 0..255 scale (0: no noise)
const NOISE_SEED: u32 = 0u;

const IMG_TEXELS: u32 = PIX / 4u;

@group(0) @binding(0) var images: texture_storage_2d<rgba8unorm, read>; // the data set
@group(0) @binding(1) var image_labels: texture_storage_2d<rgba32uint, read>; // the data set's
@group(0) @binding(2) var perm: texture_storage_2d<rgba32uint, read>; // the epoch's order
@group(0) @binding(3) var x: texture_storage_2d<rgba32float, write>; // images (B, PIX)
@group(0) @binding(4) var labels: texture_storage_2d<rgba32float, write>; // (1, B) as floats
@group(0) @binding(5) var<uniform> params: StepParams;

fn hash32(x: u32) -> u32 {
  let s = x * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}

// Uniform in (0, 1) keyed by (seed, a, b); mirrors counterUniform() in src/util/rng.ts.
fn counter_uniform(seed: u32, a: u32, b: u32) -> f32 {
  let h = hash32(hash32(hash32(seed) + a) + b);
  return (f32(h >> 8u) + 0.5) / 16777216.0;
}

// Standard normal for pixel p of image img (Box-Muller on two keyed uniforms).
fn pixel_normal(img: u32, p: u32) -> f32 {
  let u1 = counter_uniform(NOISE_SEED, img, 2u * p);
  let u2 = counter_uniform(NOISE_SEED, img, 2u * p + 1u);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
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
  var v = textureLoad(images, texel_xy(img * IMG_TEXELS + t)); // [0, 1]
  if (SIGMA > 0.0) {
    let p = t * 4u;
    let noise = vec4f(pixel_normal(img, p), pixel_normal(img, p + 1u), pixel_normal(img, p + 2u), pixel_normal(img, p + 3u));
    v = clamp(round(v * 255.0) + SIGMA * noise, vec4f(0.0), vec4f(255.0)) / 255.0;
  }
  st(x, lane, v);
}
