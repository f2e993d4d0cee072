// Optimizer updates over the whole parameter arena, one texel (4 parameters) per invocation.
// Reads params P, gradients G and state S (first moment / momentum at [0, TEXELS), second moment
// at [TEXELS, 2 TEXELS)); writes P' and S' into separate textures (a texture cannot be read and
// written in one dispatch), which the host then copies back. Padding stays 0: its gradient is 0.

const TEXELS: u32 = 1u;
const BETA1: f32 = 0.9; // Adam beta1, or SGD momentum
const BETA2: f32 = 0.999;
const EPS: f32 = 1e-8;
const WEIGHT_DECAY: f32 = 0.0; // Adam: decoupled (AdamW); SGD: L2 added to the gradient

@group(0) @binding(0) var param: texture_storage_2d<rgba32float, read>; // P
@group(0) @binding(1) var grad: texture_storage_2d<rgba32float, read>; // G
@group(0) @binding(2) var state: texture_storage_2d<rgba32float, read>; // S
@group(0) @binding(3) var param_out: texture_storage_2d<rgba32float, write>; // P'
@group(0) @binding(4) var state_out: texture_storage_2d<rgba32float, write>; // S'
@group(0) @binding(5) var<uniform> params: StepParams;

// PyTorch's Adam (AdamW when WEIGHT_DECAY > 0):
// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
// p -= lr wd p; p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
@compute @workgroup_size(64)
fn adam_update(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= TEXELS) { return; }
  var p = ld(param, i);
  let g = ld(grad, i);
  let m = BETA1 * ld(state, i) + (1.0 - BETA1) * g;
  let v = BETA2 * ld(state, TEXELS + i) + (1.0 - BETA2) * g * g;
  p -= params.lr * WEIGHT_DECAY * p;
  p -= (params.lr / params.bias1) * m / (sqrt(v) / sqrt(params.bias2) + EPS);
  st(param_out, i, p);
  st(state_out, i, m);
  st(state_out, TEXELS + i, v);
}

// PyTorch's SGD with momentum (dampening 0): g += wd p; buf = mu buf + g; p -= lr buf.
@compute @workgroup_size(64)
fn sgd_update(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= TEXELS) { return; }
  let p = ld(param, i);
  let g = ld(grad, i) + WEIGHT_DECAY * p;
  let buf = BETA1 * ld(state, i) + g;
  st(param_out, i, p - params.lr * buf);
  st(state_out, i, buf);
}
