// Evaluation: predicted class per sample, and a confusion matrix accumulated over batches.
// Each confusion cell has its own invocation that scans the batch in order, so the counts need
// no atomics and are exact.

const B: u32 = 1000u;
const N: u32 = 10u; // classes

const NT: u32 = (N + 3u) / 4u;

@group(0) @binding(0) var logits: texture_storage_2d<rgba32float, read>; // (B, N)
@group(0) @binding(1) var predicted: texture_storage_2d<rgba32float, read>; // preds (1, B)
@group(0) @binding(2) var labels: texture_storage_2d<rgba32float, read>; // (1, B)
@group(0) @binding(3) var preds: texture_storage_2d<rgba32float, write>; // (1, B)
@group(0) @binding(4) var<storage, read_write> counts: array<u32>; // (N, N): [true][predicted]
@group(0) @binding(5) var<uniform> params: StepParams; // params.valid: rows that are real samples

// One texel of 4 predictions per invocation: index of the first maximum logit.
@compute @workgroup_size(64)
fn predict(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= (B + 3u) / 4u) { return; }
  var pred4 = vec4f(0.0);
  for (var k = 0u; k < 4u; k++) {
    let i = gid.x * 4u + k;
    if (i < B) {
      var best = -3.4e38;
      var arg = 0u;
      for (var t = 0u; t < NT; t++) {
        let z = ld(logits, i * NT + t);
        for (var c = 0u; c < 4u; c++) {
          if (t * 4u + c < N && z[c] > best) {
            best = z[c];
            arg = t * 4u + c;
          }
        }
      }
      pred4[k] = f32(arg);
    }
  }
  st(preds, gid.x, pred4);
}

// counts[true * N + predicted] += number of samples in this batch with that pair.
@compute @workgroup_size(64)
fn confusion_accumulate(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= N * N) { return; }
  let want_true = f32(gid.x / N);
  let want_pred = f32(gid.x % N);
  var n = 0u;
  for (var g = 0u; g < (B + 3u) / 4u; g++) {
    let p = ld(predicted, g);
    let l = ld(labels, g);
    for (var k = 0u; k < 4u; k++) {
      let row = g * 4u + k;
      if (row < B && row < params.valid && p[k] == want_pred && l[k] == want_true) { n += 1u; }
    }
  }
  counts[gid.x] += n;
}
