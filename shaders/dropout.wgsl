// Inverted dropout on whole tensors, one texel per invocation. Element e of the tensor (its
// stored float index, row * pitch + col) is kept in step t when the high 24 bits of
// hash(seed, t, e) are at least DROP_THRESHOLD = round(p * 2^24): the mask depends only on
// (seed, step, element), not on dispatch order, and the backward pass recomputes it instead of
// storing it. Kept values are scaled by 1 / (1 - p), so evaluation (no dropout) needs no scaling.
// Padding floats are 0 and stay 0.

const TEXELS: u32 = 1u;
const SEED: u32 = 0u; // the layer's dropout seed
const DROP_THRESHOLD: u32 = 0u; // round(p * 2^24)
const SCALE: f32 = 1.0; // 1 / (1 - p)
const MASK_INPUT: bool = false; // backward: also zero the gradient where the input x <= 0

@group(0) @binding(0) var x: texture_storage_2d<rgba32float, read>; // forward input
@group(0) @binding(1) var dy: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var y: texture_storage_2d<rgba32float, write>;
@group(0) @binding(3) var dx: texture_storage_2d<rgba32float, write>;
@group(0) @binding(4) var<uniform> params: StepParams;

// hash32 comes with the prelude (keyed_rng.wgsl).

// SCALE where element e is kept this step, else 0 (for the 4 floats of texel i).
fn keep_scale(i: u32) -> vec4f {
  let k = hash32(hash32(SEED) + params.global_step);
  var m = vec4f(0.0);
  for (var c = 0u; c < 4u; c++) {
    if ((hash32(k + i * 4u + c) >> 8u) >= DROP_THRESHOLD) { m[c] = SCALE; }
  }
  return m;
}

// y = x * mask / (1 - p)
@compute @workgroup_size(64)
fn dropout_forward(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= TEXELS) { return; }
  st(y, gid.x, ld(x, gid.x) * keep_scale(gid.x));
}

// dx = dy * mask / (1 - p) [* (x > 0)]
@compute @workgroup_size(64)
fn dropout_backward(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= TEXELS) { return; }
  var g = ld(dy, gid.x) * keep_scale(gid.x);
  if (MASK_INPUT) { g = select(vec4f(0.0), g, ld(x, gid.x) > vec4f(0.0)); }
  st(dx, gid.x, g);
}
