// Evaluation: predicted class per sample, and a confusion matrix accumulated over batches.
// Each confusion cell has its own invocation that scans the batch in order, so the counts need
// no atomics and are exact.

const B: u32 = 1000u;
const N: u32 = 10u; // classes
const T0_BASE: u32 = 0u; // logits (predict) or predictions (confusion)
const T1_BASE: u32 = 0u; // labels (confusion)
const OUT0_BASE: u32 = 0u; // predictions (1, B)

const NT: u32 = (N + 3u) / 4u;

@group(0) @binding(0) var t0: texture_storage_2d<rgba32float, read>;
@group(0) @binding(1) var t1: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var out0: texture_storage_2d<rgba32float, write>;
@group(0) @binding(3) var<storage, read_write> counts: array<u32>; // (N, N): [true][predicted]
@group(0) @binding(4) var<uniform> params: StepParams; // params.valid: rows that are real samples

// One texel of 4 predictions per invocation: index of the first maximum logit.
@compute @workgroup_size(64)
fn predict(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= (B + 3u) / 4u) { return; }
  var preds = vec4f(0.0);
  for (var k = 0u; k < 4u; k++) {
    let i = gid.x * 4u + k;
    if (i < B) {
      var best = -3.4e38;
      var arg = 0u;
      for (var t = 0u; t < NT; t++) {
        let z = ld(t0, T0_BASE + i * NT + t);
        for (var c = 0u; c < 4u; c++) {
          if (t * 4u + c < N && z[c] > best) {
            best = z[c];
            arg = t * 4u + c;
          }
        }
      }
      preds[k] = f32(arg);
    }
  }
  textureStore(out0, texel_xy(OUT0_BASE + gid.x), preds);
}

// counts[true * N + predicted] += number of samples in this batch with that pair.
@compute @workgroup_size(64)
fn confusion_accumulate(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= N * N) { return; }
  let want_true = f32(gid.x / N);
  let want_pred = f32(gid.x % N);
  var n = 0u;
  for (var g = 0u; g < (B + 3u) / 4u; g++) {
    let p = ld(t0, T0_BASE + g);
    let l = ld(t1, T1_BASE + g);
    for (var k = 0u; k < 4u; k++) {
      let row = g * 4u + k;
      if (row < B && row < params.valid && p[k] == want_pred && l[k] == want_true) { n += 1u; }
    }
  }
  counts[gid.x] += n;
}
