// ReLU on whole tensors, one texel per invocation. Dense and conv kernels fuse ReLU into their
// epilogues (forward) and into the consumer's input gradient (backward); these standalone kernels
// serve layers that cannot be fused.

const TEXELS: u32 = 1u;

@group(0) @binding(0) var x: texture_storage_2d<rgba32float, read>;
@group(0) @binding(1) var dy: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var fwd_y: texture_storage_2d<rgba32float, read>; // the forward output
@group(0) @binding(3) var y: texture_storage_2d<rgba32float, write>;
@group(0) @binding(4) var dx: texture_storage_2d<rgba32float, write>;

// y = max(x, 0)
@compute @workgroup_size(64)
fn relu_forward(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= TEXELS) { return; }
  st(y, gid.x, max(ld(x, gid.x), vec4f(0.0)));
}

// dx = dy * (fwd_y > 0)
@compute @workgroup_size(64)
fn relu_backward(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= TEXELS) { return; }
  let g = ld(dy, gid.x);
  let v = ld(fwd_y, gid.x);
  st(dx, gid.x, select(vec4f(0.0), g, v > vec4f(0.0)));
}
