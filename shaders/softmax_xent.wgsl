// Softmax + cross-entropy. Logits (B, N) rows of NT texels; labels (1, B) as floats, 4 per texel.
// Forward and backward are fused: dZ = (softmax(z) - onehot(label)) / B, per-sample loss, and the
// batch mean written to the loss log at the step's slot. One workgroup; the mean is summed in a
// fixed order, so results are deterministic. With DENSE the kernel first computes the logits
// themselves, as the logits layer's dense_forward (dense.wgsl) would: Z = X W^T + b, stored too.

const B: u32 = 64u;
const N: u32 = 10u;

const DENSE: bool = false;
const K: u32 = 84u; // DENSE: input features of the logits layer

const NT: u32 = (N + 3u) / 4u;
const KT: u32 = (K + 3u) / 4u;
const GROUPS: u32 = (B + 3u) / 4u; // 4 samples per label texel

@group(0) @binding(0) var logits: texture_storage_2d<rgba32float, read>; // (B, N)
@group(0) @binding(1) var labels: texture_storage_2d<rgba32float, read>; // (1, B)
@group(0) @binding(2) var dz: texture_storage_2d<rgba32float, write>; // (B, N)
@group(0) @binding(3) var losses: texture_storage_2d<rgba32float, write>; // per-sample loss (1, B)
@group(0) @binding(4) var probs: texture_storage_2d<rgba32float, write>; // (B, N)
@group(0) @binding(5) var<storage, read_write> loss_log: array<f32>;
@group(0) @binding(6) var<uniform> params: StepParams;
@group(0) @binding(7) var x: texture_storage_2d<rgba32float, read>; // DENSE: (B, K)
@group(0) @binding(8) var w: texture_storage_2d<rgba32float, read>; // DENSE: (N, K)
@group(0) @binding(9) var bias: texture_storage_2d<rgba32float, read>; // DENSE: (1, N)
@group(0) @binding(10) var logits_out: texture_storage_2d<rgba32float, write>; // DENSE: (B, N)

var<workgroup> partial: array<f32, 64>;

fn valid4(n: u32) -> vec4<bool> {
  return vec4<bool>(n < N, n + 1u < N, n + 2u < N, n + 3u < N);
}

// Row i of the logits (padding columns 0): read, or with DENSE computed and stored, summed over
// k in dense_forward's order, then the bias added.
fn row_logits(i: u32) -> array<vec4f, NT> {
  var z: array<vec4f, NT>;
  if (!DENSE) {
    for (var t = 0u; t < NT; t++) { z[t] = ld(logits, i * NT + t); }
    return z;
  }
  for (var k4 = 0u; k4 < KT; k4++) {
    let xv = ld(x, i * KT + k4);
    for (var t = 0u; t < NT; t++) {
      let n = t * 4u;
      let w0 = ld(w, min(n, N - 1u) * KT + k4);
      let w1 = ld(w, min(n + 1u, N - 1u) * KT + k4);
      let w2 = ld(w, min(n + 2u, N - 1u) * KT + k4);
      let w3 = ld(w, min(n + 3u, N - 1u) * KT + k4);
      z[t] += vec4f(dot(xv, w0), dot(xv, w1), dot(xv, w2), dot(xv, w3));
    }
  }
  for (var t = 0u; t < NT; t++) {
    z[t] = select(vec4f(0.0), z[t] + ld(bias, t), valid4(t * 4u));
    st(logits_out, i * NT + t, z[t]);
  }
  return z;
}

// Max and log-sum-exp of a row; padding columns excluded.
fn row_stats(z: array<vec4f, NT>) -> vec2f {
  var m = -3.4e38;
  for (var t = 0u; t < NT; t++) {
    let zt = select(vec4f(-3.4e38), z[t], valid4(t * 4u));
    m = max(m, max(max(zt.x, zt.y), max(zt.z, zt.w)));
  }
  var s = 0.0;
  for (var t = 0u; t < NT; t++) {
    s += dot(select(vec4f(0.0), exp(z[t] - m), valid4(t * 4u)), vec4f(1.0));
  }
  return vec2f(m, log(s));
}

@compute @workgroup_size(64)
fn softmax_xent(@builtin(local_invocation_index) lane: u32) {
  var lane_sum = 0.0;
  for (var g = lane; g < GROUPS; g += 64u) {
    let label4 = ld(labels, g);
    var loss4 = vec4f(0.0);
    for (var k = 0u; k < 4u; k++) {
      let i = g * 4u + k;
      if (i < B) {
        let zs = row_logits(i);
        let stats = row_stats(zs);
        let label = u32(label4[k]);
        var loss = 0.0;
        for (var t = 0u; t < NT; t++) {
          let z = zs[t];
          let n = t * 4u;
          let onehot = vec4f(vec4<bool>(n == label, n + 1u == label, n + 2u == label, n + 3u == label));
          loss -= dot(onehot, z - stats.x - stats.y);
          let p = exp(z - stats.x - stats.y);
          st(dz, i * NT + t, select(vec4f(0.0), (p - onehot) / f32(B), valid4(n)));
        }
        loss4[k] = loss;
        lane_sum += loss;
      }
    }
    st(losses, g, loss4);
  }
  partial[lane] = lane_sum;
  workgroupBarrier();
  if (lane == 0u) {
    var total = 0.0;
    for (var l = 0u; l < 64u; l++) { total += partial[l]; }
    loss_log[params.step] = total / f32(B);
  }
}

// Probabilities (B, N): one row per invocation.
@compute @workgroup_size(64)
fn softmax_forward(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= B) { return; }
  let z = row_logits(i);
  let stats = row_stats(z);
  for (var t = 0u; t < NT; t++) {
    let p = exp(z[t] - stats.x - stats.y);
    st(probs, i * NT + t, select(vec4f(0.0), p, valid4(t * 4u)));
  }
}
