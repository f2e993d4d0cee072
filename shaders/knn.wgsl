// k-nearest neighbours on raw pixels. The test x train squared-distance matrix is computed one
// chunk (CM test rows x CN train rows) at a time as ||a||^2 + ||b||^2 - 2 a.b, and a selection
// kernel merges each chunk into every test row's running k best (distance, train index) list.
//
// Exactness: pixels are integers 0..255 (as f32). a.b is summed in f32 over blocks of KBLK = 64
// texels (256 pixels, at most 256 * 255^2 < 2^24, so every partial sum is an exact integer) and
// the blocks are added in i32, so the distance is the exact integer; it is stored as f32, exact
// below 2^24 (larger distances round, monotonically, which can only tie far neighbours).
//
//   knn_expand:   images (bytes) rows -> rows (R, PIX) as integer-valued floats, norms (R, 4)
//                 holding ||row||^2 as [low 16 bits, high bits, 0, 0]
//   knn_distance: dist (CM, CN) = squared distances of a test chunk to a train chunk
//   knn_select:   state rows of the test chunk := k best of (state, this chunk), in the order
//                 (distance, train index): ties go to the lower train index
// Register-blocked like dense.wgsl: no workgroup memory (slow on CPU adapters), textures only.
// Texels (4 pixels) that are 0 in all of an invocation's test rows are skipped (about 40% of
// them on MNIST): exact, since they add nothing to a.b.

const PIX: u32 = 784u; // pixels per image (a multiple of 4)
const ER: u32 = 4000u; // knn_expand: rows of the chunk tensor (CM or CN)
const TRAIN: bool = true; // knn_expand: which chunk of the parameters (train or test rows)
const CM: u32 = 2000u; // test rows per chunk (a multiple of RM)
const CN: u32 = 4000u; // train rows per chunk (a multiple of 4 * RN4)
const RM: u32 = 16u; // knn_distance: test rows per invocation
const RN4: u32 = 2u; // knn_distance: texels (4 train rows each) per invocation
const KSEL: u32 = 5u; // neighbours kept per test row
const WG: u32 = 16u; // invocations per workgroup (small groups balance CPU adapters' threads)

const KT: u32 = PIX / 4u; // texels per image row
const NT: u32 = CN / 4u; // texels per row of dist
const KBLK: u32 = 64u; // texels per exactly-summed f32 block
const KP4: u32 = (KSEL + 3u) / 4u; // texels per half of a state row (distances, then indices)
const BIG: f32 = 3.0e38; // empty slot: larger than any distance or index

// Where the chunk lies in the data sets; one 256-byte slot per (train chunk, test chunk) pair.
struct KnnChunk {
  test_row0: u32, // first test row of the chunk
  test_rows: u32, // valid test rows in the chunk (<= CM)
  train_row0: u32, // first train row of the chunk
  train_rows: u32, // valid train rows in the chunk (<= CN)
  first: u32, // 1 for the first train chunk: the state is not read
}

// Each kernel binds only the names it uses (src/ops/knn.ts).
@group(0) @binding(0) var images: texture_storage_2d<rgba8unorm, read>; // the data set (bytes)
@group(0) @binding(1) var test: texture_storage_2d<rgba32float, read>; // test rows (CM, PIX)
@group(0) @binding(2) var train: texture_storage_2d<rgba32float, read>; // train rows (CN, PIX)
@group(0) @binding(3) var test_norms: texture_storage_2d<rgba32float, read>; // (CM, 4)
@group(0) @binding(4) var train_norms: texture_storage_2d<rgba32float, read>; // (CN, 4)
@group(0) @binding(5) var dist: texture_storage_2d<rgba32float, read>; // (CM, CN)
@group(0) @binding(6) var state_in: texture_storage_2d<rgba32float, read>; // (tests, 8 * KP4)
@group(0) @binding(7) var rows: texture_storage_2d<rgba32float, write>; // (ER, PIX)
@group(0) @binding(8) var norms: texture_storage_2d<rgba32float, write>; // (ER, 4)
@group(0) @binding(9) var dist_out: texture_storage_2d<rgba32float, write>; // (CM, CN)
@group(0) @binding(10) var state_out: texture_storage_2d<rgba32float, write>; // (tests, 8 * KP4)
@group(0) @binding(11) var<uniform> chunk: KnnChunk;

// rows (ER, PIX) := the chunk's rows as floats 0..255 (zeros past the valid rows), norms (ER, 4)
// := their squared norms. One invocation per row.
@compute @workgroup_size(64)
fn knn_expand(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= ER) { return; }
  let row0 = select(chunk.test_row0, chunk.train_row0, TRAIN);
  let valid = r < select(chunk.test_rows, chunk.train_rows, TRAIN);
  var norm = 0i;
  for (var t = 0u; t < KT; t++) {
    var v = vec4f(0.0);
    if (valid) { v = round(textureLoad(images, texel_xy((row0 + r) * KT + t)) * 255.0); }
    norm += i32(dot(v, v)); // <= 4 * 255^2: exact
    st(rows, r * KT + t, v);
  }
  st(norms, r, vec4f(f32(norm & 0xffffi), f32(norm >> 16u), 0.0, 0.0));
}

fn test_norm(i: u32) -> i32 {
  let q = ld(test_norms, i);
  return i32(q.x) + (i32(q.y) << 16u);
}

fn train_norm(i: u32) -> i32 {
  let q = ld(train_norms, i);
  return i32(q.x) + (i32(q.y) << 16u);
}

// dist_out (CM, CN) = ||a||^2 + ||b||^2 - 2 a.b for a in the test rows, b in the train rows.
// Each invocation computes an RM x (4 * RN4) block.
@compute @workgroup_size(WG)
fn knn_distance(@builtin(global_invocation_id) gid: vec3u) {
  let col_blocks = NT / RN4;
  if (gid.x >= col_blocks * (CM / RM)) { return; }
  let n4 = (gid.x % col_blocks) * RN4;
  let m0 = (gid.x / col_blocks) * RM;
  var dots: array<array<vec4i, RN4>, RM>;
  var acc: array<array<vec4f, RN4>, RM>;
  for (var kb = 0u; kb < KT; kb += KBLK) {
    // zeroed explicitly: a declaration inside the loop is not re-zeroed by every compiler
    /* unroll */ for (var i = 0u; i < RM; i++) {
      /* unroll */ for (var j = 0u; j < RN4; j++) {
        acc[i][j] = vec4f(0.0);
      }
    }
    let kend = min(kb + KBLK, KT);
    for (var k4 = kb; k4 < kend; k4++) {
      var xv: array<vec4f, RM>;
      var lit = vec4f(0.0);
      /* unroll */ for (var i = 0u; i < RM; i++) {
        xv[i] = ld(test, (m0 + i) * KT + k4);
        lit = max(lit, xv[i]);
      }
      // skip 4 pixels that are 0 in all RM test rows (often: digits leave borders dark); the
      // invocations of a workgroup mostly share m0, so the branch is uniform
      if (all(lit == vec4f(0.0))) { continue; }
      /* unroll */ for (var j = 0u; j < RN4; j++) {
        let n = (n4 + j) * 4u;
        let w0 = ld(train, n * KT + k4);
        let w1 = ld(train, (n + 1u) * KT + k4);
        let w2 = ld(train, (n + 2u) * KT + k4);
        let w3 = ld(train, (n + 3u) * KT + k4);
        /* unroll */ for (var i = 0u; i < RM; i++) {
          acc[i][j] += vec4f(dot(xv[i], w0), dot(xv[i], w1), dot(xv[i], w2), dot(xv[i], w3));
        }
      }
    }
    /* unroll */ for (var i = 0u; i < RM; i++) {
      /* unroll */ for (var j = 0u; j < RN4; j++) {
        dots[i][j] += vec4i(acc[i][j]);
      }
    }
  }
  /* unroll */ for (var j = 0u; j < RN4; j++) {
    let n = (n4 + j) * 4u;
    let nb = vec4i(train_norm(n), train_norm(n + 1u), train_norm(n + 2u), train_norm(n + 3u));
    /* unroll */ for (var i = 0u; i < RM; i++) {
      let d = vec4i(test_norm(m0 + i)) + nb - 2i * dots[i][j];
      st(dist_out, (m0 + i) * NT + n4 + j, vec4f(d));
    }
  }
}

// state_out rows of the test chunk := the k best of state_in's and of dist (CM, CN); a state is
// (test rows, 8 * KP4): KSEL distances (padded to whole texels), then KSEL train indices. Train
// rows are scanned in increasing index after the state, which holds lower indices only, so a
// candidate that ties the k-th distance is rejected and ties keep the lower index.
@compute @workgroup_size(64)
fn knn_select(@builtin(global_invocation_id) gid: vec3u) {
  let m = gid.x;
  if (m >= CM || m >= chunk.test_rows) { return; }
  let srow = (chunk.test_row0 + m) * 2u * KP4;
  var bd: array<f32, KSEL>; // distances, ascending
  var bi: array<f32, KSEL>; // train indices (exact in f32 below 2^24)
  /* unroll */ for (var s = 0u; s < KSEL; s++) {
    if (chunk.first != 0u) {
      bd[s] = BIG;
      bi[s] = BIG;
    } else {
      bd[s] = ld(state_in, srow + s / 4u)[s % 4u];
      bi[s] = ld(state_in, srow + KP4 + s / 4u)[s % 4u];
    }
  }
  let row = m * NT;
  let cols = min(chunk.train_rows, CN);
  for (var n4 = 0u; n4 < (cols + 3u) / 4u; n4++) {
    let v = ld(dist, row + n4);
    /* unroll */ for (var c = 0u; c < 4u; c++) {
      if (v[c] < bd[KSEL - 1u] && n4 * 4u + c < cols) {
        // insert (v[c], index) into the sorted list, comparing (distance, index) pairs
        var cd = v[c];
        var ci = f32(chunk.train_row0 + n4 * 4u + c);
        /* unroll */ for (var s = 0u; s < KSEL; s++) {
          let before = cd < bd[s] || (cd == bd[s] && ci < bi[s]);
          let od = bd[s];
          let oi = bi[s];
          bd[s] = select(od, cd, before);
          bi[s] = select(oi, ci, before);
          cd = select(cd, od, before);
          ci = select(ci, oi, before);
        }
      }
    }
  }
  let orow = srow;
  /* unroll */ for (var t = 0u; t < KP4; t++) {
    var dv = vec4f(BIG);
    var iv = vec4f(BIG);
    /* unroll */ for (var c = 0u; c < 4u; c++) {
      if (t * 4u + c < KSEL) {
        dv[c] = bd[min(t * 4u + c, KSEL - 1u)];
        iv[c] = bi[min(t * 4u + c, KSEL - 1u)];
      }
    }
    st(state_out, orow + t, dv);
    st(state_out, orow + KP4 + t, iv);
  }
}
