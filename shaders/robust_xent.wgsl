// Noise-robust losses on softmax probabilities, forward and backward fused like softmax_xent.wgsl.
// Logits (B, N) rows of NT texels; labels (1, B) as floats, 4 per texel. p = softmax(z), y = label.
//   KIND 1, generalized cross-entropy (Zhang & Sabuncu 2018): L = (1 - p_y^Q) / Q,
//           dL/dz = p_y^Q (p - onehot)
//   KIND 2, symmetric cross-entropy (Wang et al. 2019): L = ALPHA CE + BETA RCE with
//           RCE = -sum_k p_k log(onehot_k), log 0 clamped to LOG0, so RCE = -LOG0 (1 - p_y),
//           dL/dz = (ALPHA - BETA LOG0 p_y) (p - onehot)
// Both gradients are a per-sample weight times CE's, divided by B for the batch mean. One
// workgroup; the mean is summed in a fixed order, so results are deterministic.

const B: u32 = 64u;
const N: u32 = 10u;
const KIND: u32 = 1u;
const Q: f32 = 0.7;
const ALPHA: f32 = 0.1;
const BETA: f32 = 1.0;
const LOG0: f32 = -4.0;

const NT: u32 = (N + 3u) / 4u;
const GROUPS: u32 = (B + 3u) / 4u; // 4 samples per label texel

@group(0) @binding(0) var logits: texture_storage_2d<rgba32float, read>; // (B, N)
@group(0) @binding(1) var labels: texture_storage_2d<rgba32float, read>; // (1, B)
@group(0) @binding(2) var dz: texture_storage_2d<rgba32float, write>; // (B, N)
@group(0) @binding(3) var losses: texture_storage_2d<rgba32float, write>; // per-sample loss (1, B)
@group(0) @binding(4) var<storage, read_write> loss_log: array<f32>;
@group(0) @binding(5) var<uniform> params: StepParams;

var<workgroup> partial: array<f32, 64>;

fn valid4(n: u32) -> vec4<bool> {
  return vec4<bool>(n < N, n + 1u < N, n + 2u < N, n + 3u < N);
}

// Max and log-sum-exp of row i; padding columns excluded.
fn row_stats(i: u32) -> vec2f {
  var m = -3.4e38;
  for (var t = 0u; t < NT; t++) {
    let z = select(vec4f(-3.4e38), ld(logits, i * NT + t), valid4(t * 4u));
    m = max(m, max(max(z.x, z.y), max(z.z, z.w)));
  }
  var s = 0.0;
  for (var t = 0u; t < NT; t++) {
    let z = ld(logits, i * NT + t);
    s += dot(select(vec4f(0.0), exp(z - m), valid4(t * 4u)), vec4f(1.0));
  }
  return vec2f(m, log(s));
}

// (loss, gradient weight) from log p_y.
fn robust(log_py: f32) -> vec2f {
  if (KIND == 1u) {
    let pq = exp(Q * log_py); // p_y^Q without forming p_y^(Q-1)
    return vec2f((1.0 - pq) / Q, pq);
  }
  let py = exp(log_py);
  return vec2f(-ALPHA * log_py - BETA * LOG0 * (1.0 - py), ALPHA - BETA * LOG0 * py);
}

@compute @workgroup_size(64)
fn robust_xent(@builtin(local_invocation_index) lane: u32) {
  var lane_sum = 0.0;
  for (var g = lane; g < GROUPS; g += 64u) {
    let label4 = ld(labels, g);
    var loss4 = vec4f(0.0);
    for (var k = 0u; k < 4u; k++) {
      let i = g * 4u + k;
      if (i < B) {
        let stats = row_stats(i);
        let label = u32(label4[k]);
        var log_py = 0.0;
        for (var t = 0u; t < NT; t++) {
          let n = t * 4u;
          let onehot = vec4f(vec4<bool>(n == label, n + 1u == label, n + 2u == label, n + 3u == label));
          log_py += dot(onehot, ld(logits, i * NT + t) - stats.x - stats.y);
        }
        let lw = robust(log_py);
        for (var t = 0u; t < NT; t++) {
          let n = t * 4u;
          let onehot = vec4f(vec4<bool>(n == label, n + 1u == label, n + 2u == label, n + 3u == label));
          let p = exp(ld(logits, i * NT + t) - stats.x - stats.y);
          st(dz, i * NT + t, select(vec4f(0.0), lw.y * (p - onehot) / f32(B), valid4(n)));
        }
        loss4[k] = lw.x;
        lane_sum += lw.x;
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
