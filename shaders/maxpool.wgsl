// 2x2 max-pool with stride 2 (floor mode, as PyTorch) on channels-last maps (H, W, CP), CP a
// multiple of 4, one image per tensor row. Forward records a code per output: the index
// dy * 2 + dx (0..3) of the first maximum in the window. Backward is a gather: every input
// element reads the one window it belongs to, so there are no racing writes.

const B: u32 = 64u;
const H: u32 = 28u;
const W: u32 = 28u;
const CP: u32 = 8u;

const PH: u32 = H / 2u;
const PW: u32 = W / 2u;
const CT: u32 = CP / 4u; // channel texels per position
const IN_ROW: u32 = H * W * CT;
const OUT_ROW: u32 = PH * PW * CT;

@group(0) @binding(0) var x: texture_storage_2d<rgba32float, read>; // (B, H, W, CP)
@group(0) @binding(1) var dy: texture_storage_2d<rgba32float, read>; // (B, PH, PW, CP)
@group(0) @binding(2) var fwd_code: texture_storage_2d<rgba32float, read>; // code, from forward
@group(0) @binding(3) var y: texture_storage_2d<rgba32float, write>; // (B, PH, PW, CP)
@group(0) @binding(4) var code: texture_storage_2d<rgba32float, write>; // (B, PH, PW, CP)
@group(0) @binding(5) var dx: texture_storage_2d<rgba32float, write>; // (B, H, W, CP)

// Where texel `t` of a (B, rows, cols, CT) map lies: image, row, column, channel texel.
struct TexelAt { b: u32, row: u32, col: u32, ct: u32 }

fn texel_at(t: u32, cols: u32, per_image: u32) -> TexelAt {
  let r = t % per_image;
  return TexelAt(t / per_image, r / (CT * cols), (r / CT) % cols, r % CT);
}

// y = maxpool(x) and its code.  One output texel per invocation.
@compute @workgroup_size(64)
fn maxpool_forward(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= B * OUT_ROW) { return; }
  let o = texel_at(gid.x, PW, OUT_ROW);
  let at = o.b * IN_ROW + ((2u * o.row) * W + 2u * o.col) * CT + o.ct;
  var m = ld(x, at);
  var k = vec4f(0.0);
  let v1 = ld(x, at + CT);
  let v2 = ld(x, at + W * CT);
  let v3 = ld(x, at + W * CT + CT);
  k = select(k, vec4f(1.0), v1 > m);
  m = max(m, v1);
  k = select(k, vec4f(2.0), v2 > m);
  m = max(m, v2);
  k = select(k, vec4f(3.0), v3 > m);
  m = max(m, v3);
  st(y, gid.x, m);
  st(code, gid.x, k);
}

// dx gathered from dy through fwd_code.  One input texel per invocation.
@compute @workgroup_size(64)
fn maxpool_backward(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= B * IN_ROW) { return; }
  let i = texel_at(gid.x, W, IN_ROW);
  let iy = i.row;
  let ix = i.col;
  var g = vec4f(0.0);
  if (iy / 2u < PH && ix / 2u < PW) {
    let at = i.b * OUT_ROW + ((iy / 2u) * PW + ix / 2u) * CT + i.ct;
    let k = ld(fwd_code, at);
    g = select(vec4f(0.0), ld(dy, at), k == vec4f(f32((iy & 1u) * 2u + (ix & 1u))));
  }
  st(dx, gid.x, g);
}
