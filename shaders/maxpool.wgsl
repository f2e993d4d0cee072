// 2x2 max-pool with stride 2 (floor mode, as PyTorch) on channels-last maps (H, W, CP), CP a
// multiple of 4, one image per tensor row. Forward records a code per output: the index
// dy * 2 + dx (0..3) of the first maximum in the window. Backward is a gather: every input
// element reads the one window it belongs to, so there are no racing writes.

const B: u32 = 64u;
const H: u32 = 28u;
const W: u32 = 28u;
const CP: u32 = 8u;
const T0_BASE: u32 = 0u;
const T1_BASE: u32 = 0u;
const OUT0_BASE: u32 = 0u;
const OUT1_BASE: u32 = 0u;

const PH: u32 = H / 2u;
const PW: u32 = W / 2u;
const CT: u32 = CP / 4u; // channel texels per position
const IN_ROW: u32 = H * W * CT;
const OUT_ROW: u32 = PH * PW * CT;

@group(0) @binding(0) var t0: texture_storage_2d<rgba32float, read>;
@group(0) @binding(1) var t1: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var out0: texture_storage_2d<rgba32float, write>;
@group(0) @binding(3) var out1: texture_storage_2d<rgba32float, write>;

// t0 = X (B, H, W, CP), out0 = Y (B, PH, PW, CP), out1 = code.  One output texel per invocation.
@compute @workgroup_size(64)
fn maxpool_forward(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= B * OUT_ROW) { return; }
  let b = gid.x / OUT_ROW;
  let r = gid.x % OUT_ROW;
  let ct = r % CT;
  let px = (r / CT) % PW;
  let py = r / (CT * PW);
  let at = T0_BASE + b * IN_ROW + ((2u * py) * W + 2u * px) * CT + ct;
  var m = ld(t0, at);
  var code = vec4f(0.0);
  let v1 = ld(t0, at + CT);
  let v2 = ld(t0, at + W * CT);
  let v3 = ld(t0, at + W * CT + CT);
  code = select(code, vec4f(1.0), v1 > m);
  m = max(m, v1);
  code = select(code, vec4f(2.0), v2 > m);
  m = max(m, v2);
  code = select(code, vec4f(3.0), v3 > m);
  m = max(m, v3);
  textureStore(out0, texel_xy(OUT0_BASE + gid.x), m);
  textureStore(out1, texel_xy(OUT1_BASE + gid.x), code);
}

// t0 = dY (B, PH, PW, CP), t1 = code, out0 = dX (B, H, W, CP).  One input texel per invocation.
@compute @workgroup_size(64)
fn maxpool_backward(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= B * IN_ROW) { return; }
  let b = gid.x / IN_ROW;
  let r = gid.x % IN_ROW;
  let ct = r % CT;
  let x = (r / CT) % W;
  let y = r / (CT * W);
  var g = vec4f(0.0);
  if (y / 2u < PH && x / 2u < PW) {
    let at = b * OUT_ROW + ((y / 2u) * PW + x / 2u) * CT + ct;
    let code = ld(t1, T1_BASE + at);
    g = select(vec4f(0.0), ld(t0, T0_BASE + at), code == vec4f(f32((y & 1u) * 2u + (x & 1u))));
  }
  textureStore(out0, texel_xy(OUT0_BASE + gid.x), g);
}
