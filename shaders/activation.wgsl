// ReLU on whole tensors, one texel per invocation. Dense and conv kernels fuse ReLU into their
// epilogues (forward) and into the consumer's input gradient (backward); these standalone kernels
// serve layers that cannot be fused.

const TEXELS: u32 = 1u;
const T0_BASE: u32 = 0u;
const T1_BASE: u32 = 0u;
const OUT0_BASE: u32 = 0u;

@group(0) @binding(0) var t0: texture_storage_2d<rgba32float, read>;
@group(0) @binding(1) var t1: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var out0: texture_storage_2d<rgba32float, write>;

// t0 = X, out0 = max(X, 0)
@compute @workgroup_size(64)
fn relu_forward(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= TEXELS) { return; }
  textureStore(out0, texel_xy(OUT0_BASE + gid.x), max(ld(t0, T0_BASE + gid.x), vec4f(0.0)));
}

// t0 = dY, t1 = Y (the forward output), out0 = dX = dY * (Y > 0)
@compute @workgroup_size(64)
fn relu_backward(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= TEXELS) { return; }
  let g = ld(t0, T0_BASE + gid.x);
  let y = ld(t1, T1_BASE + gid.x);
  textureStore(out0, texel_xy(OUT0_BASE + gid.x), select(vec4f(0.0), g, y > vec4f(0.0)));
}
