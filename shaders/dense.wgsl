// Dense (fully connected) layer, forward and backward. Layouts (rows padded to multiples of 4):
//   X  (M, K)   input, one row per sample          W  (N, K)  weights, PyTorch's (out, in)
//   b  (1, N)   bias                               Y  (M, N)  output, act(X W^T + b)
// Each invocation computes an RM x (4*RN4) register block; no workgroup memory, no barriers
// (barriers and workgroup loads are slow on CPU adapters). Pad columns are written as 0.

const M: u32 = 64u; // rows (batch)
const N: u32 = 120u; // output features
const K: u32 = 400u; // input features
const RELU: bool = false; // forward: apply ReLU; backward_input: mask dX by (X > 0)
const RM: u32 = 4u; // forward: rows per invocation
const RN4: u32 = 2u; // forward: texels (4 columns each) per invocation
const IRM: u32 = 4u; // input gradient: rows per invocation
const IRN4: u32 = 2u; // input gradient: texels of dx per invocation
const WRM: u32 = 4u; // weight gradient: rows n of dW per invocation (a multiple of 4)
const WRN4: u32 = 2u; // weight gradient: texels of k per invocation
// dense_backward: workgroups in all, and how many of them compute the weight gradient (the
// rest: the input gradient)
const GROUPS: u32 = 1u;
const WEIGHT_GROUPS: u32 = 0u;
// backward input: dx is un-pooled through pool_code into a (2 PH, 2 PW, 4 CT) map (see store_dx)
const UNPOOL: bool = false;
const PW: u32 = 1u; // width of the pooled map
const CT: u32 = 1u; // channel texels per position of the pooled map
// Invocations per workgroup: small groups balance better across a CPU adapter's threads when a
// dispatch has few of them.
const WG: u32 = 16u;

const KT: u32 = (K + 3u) / 4u; // texels per row of X and W
const NT: u32 = (N + 3u) / 4u; // texels per row of Y, dZ and b
const MT: u32 = (M + 3u) / 4u;

@group(0) @binding(0) var x: texture_storage_2d<rgba32float, read>; // (M, K)
@group(0) @binding(1) var w: texture_storage_2d<rgba32float, read>; // (N, K)
@group(0) @binding(2) var bias: texture_storage_2d<rgba32float, read>; // (1, N)
@group(0) @binding(3) var dz: texture_storage_2d<rgba32float, read>; // (M, N): gradient of the pre-activation
@group(0) @binding(4) var y: texture_storage_2d<rgba32float, write>; // (M, N)
@group(0) @binding(5) var dx: texture_storage_2d<rgba32float, write>; // (M, K)
@group(0) @binding(6) var dw: texture_storage_2d<rgba32float, write>; // (N, K)
@group(0) @binding(7) var db: texture_storage_2d<rgba32float, write>; // (1, N)
@group(0) @binding(8) var pool_code: texture_storage_2d<rgba32float, read>; // (M, K) with UNPOOL

fn lanes_valid(n: u32, limit: u32) -> vec4<bool> {
  return vec4<bool>(n < limit, n + 1u < limit, n + 2u < limit, n + 3u < limit);
}

// y = act(x w^T + bias).
@compute @workgroup_size(WG)
fn dense_forward(@builtin(global_invocation_id) gid: vec3u) {
  let col_blocks = (NT + RN4 - 1u) / RN4;
  if (gid.x >= col_blocks * ((M + RM - 1u) / RM)) { return; }
  let n4 = (gid.x % col_blocks) * RN4;
  let m0 = (gid.x / col_blocks) * RM;
  var acc: array<array<vec4f, RN4>, RM>;
  for (var k4 = 0u; k4 < KT; k4++) {
    var xv: array<vec4f, RM>;
    /* unroll */ for (var i = 0u; i < RM; i++) {
      xv[i] = ld(x, min(m0 + i, M - 1u) * KT + k4);
    }
    /* unroll */ for (var j = 0u; j < RN4; j++) {
      let n = (n4 + j) * 4u;
      let w0 = ld(w, min(n, N - 1u) * KT + k4);
      let w1 = ld(w, min(n + 1u, N - 1u) * KT + k4);
      let w2 = ld(w, min(n + 2u, N - 1u) * KT + k4);
      let w3 = ld(w, min(n + 3u, N - 1u) * KT + k4);
      /* unroll */ for (var i = 0u; i < RM; i++) {
        acc[i][j] += vec4f(dot(xv[i], w0), dot(xv[i], w1), dot(xv[i], w2), dot(xv[i], w3));
      }
    }
  }
  /* unroll */ for (var j = 0u; j < RN4; j++) {
    if (n4 + j < NT) {
      let bias = ld(bias, n4 + j);
      let valid = lanes_valid((n4 + j) * 4u, N);
      /* unroll */ for (var i = 0u; i < RM; i++) {
        if (m0 + i < M) {
          var v = acc[i][j] + bias;
          if (RELU) { v = max(v, vec4f(0.0)); }
          st(y, (m0 + i) * NT + n4 + j, select(vec4f(0.0), v, valid));
        }
      }
    }
  }
}

// dx = dz w, masked by (x > 0) when RELU (the producer's ReLU; x is only read then), for the
// register block `lane` of IRM rows by IRN4 texels of dx. `windows`: see store_dx.
fn backward_input_block(lane: u32, windows: u32) {
  let col_blocks = (KT + IRN4 - 1u) / IRN4;
  if (lane >= col_blocks * ((M + IRM - 1u) / IRM)) { return; }
  let k4 = (lane % col_blocks) * IRN4;
  let m0 = (lane / col_blocks) * IRM;
  var acc: array<array<vec4f, IRN4>, IRM>;
  for (var n4 = 0u; n4 < NT; n4++) {
    var dz: array<vec4f, IRM>;
    /* unroll */ for (var i = 0u; i < IRM; i++) {
      dz[i] = ld(dz, min(m0 + i, M - 1u) * NT + n4);
    }
    let n = n4 * 4u;
    /* unroll */ for (var j = 0u; j < IRN4; j++) {
      let kt = min(k4 + j, KT - 1u);
      let w0 = ld(w, min(n, N - 1u) * KT + kt);
      let w1 = ld(w, min(n + 1u, N - 1u) * KT + kt);
      let w2 = ld(w, min(n + 2u, N - 1u) * KT + kt);
      let w3 = ld(w, min(n + 3u, N - 1u) * KT + kt);
      /* unroll */ for (var i = 0u; i < IRM; i++) {
        acc[i][j] += dz[i].x * w0 + dz[i].y * w1 + dz[i].z * w2 + dz[i].w * w3;
      }
    }
  }
  /* unroll */ for (var j = 0u; j < IRN4; j++) {
    if (k4 + j < KT) {
      /* unroll */ for (var i = 0u; i < IRM; i++) {
        if (m0 + i < M) { store_dx(m0 + i, k4 + j, acc[i][j], windows); }
      }
    }
  }
}

// Stores texel kt of dx row m (pad columns as 0), masked by (x > 0) when RELU. With UNPOOL, dx
// is the output gradient of a 2x2 max-pool (stride 2) over a (2 PH, 2 PW, 4 CT) map, and what is
// stored is that map's gradient, as maxpool_backward would gather it: the value at the window
// position its pool code names, 0 at the other three (code 4, a ReLU-zeroed window: all 0).
// `windows` is 4, the window positions (see opaque_windows).
fn store_dx(m: u32, kt: u32, acc: vec4f, windows: u32) {
  let at = m * KT + kt;
  var v = acc;
  if (RELU) { v = select(vec4f(0.0), v, ld(x, at) > vec4f(0.0)); }
  v = select(vec4f(0.0), v, lanes_valid(kt * 4u, K));
  if (!UNPOOL) {
    st(dx, at, v);
    return;
  }
  let code = ld(pool_code, at);
  let pos = kt / CT; // pooled position py * PW + px
  let corner = m * 4u * KT + (2u * (pos / PW) * 2u * PW + 2u * (pos % PW)) * CT + kt % CT;
  for (var q = 0u; q < windows; q++) {
    let offset = ((q / 2u) * 2u * PW + q % 2u) * CT;
    st(dx, corner + offset, select(vec4f(0.0), v, code == vec4f(f32(q))));
  }
}

@compute @workgroup_size(WG)
fn dense_backward_input(@builtin(global_invocation_id) gid: vec3u) {
  backward_input_block(gid.x, 4u);
}

// dW = dZ^T X (N, K) and db = column sums of dZ (1, N), summed over the M rows in a fixed order,
// for the register block `lane` of WRM rows n (a multiple of 4) by WRN4 texels of k. Lanes past
// the dW blocks compute db texels.
fn backward_weight_block(lane: u32) {
  let col_blocks = (KT + WRN4 - 1u) / WRN4;
  let row_blocks = (N + WRM - 1u) / WRM;
  let dw_lanes = col_blocks * row_blocks;
  if (lane >= dw_lanes) {
    let nt = lane - dw_lanes;
    if (nt >= NT) { return; }
    var s = vec4f(0.0);
    for (var m = 0u; m < M; m++) { s += ld(dz, m * NT + nt); }
    st(db, nt, s);
    return;
  }
  let k4 = (lane % col_blocks) * WRN4;
  let n0 = (lane / col_blocks) * WRM;
  var acc: array<array<vec4f, WRN4>, WRM>;
  for (var m = 0u; m < M; m++) {
    var xv: array<vec4f, WRN4>;
    /* unroll */ for (var j = 0u; j < WRN4; j++) {
      xv[j] = ld(x, m * KT + min(k4 + j, KT - 1u));
    }
    /* unroll */ for (var q = 0u; q < WRM / 4u; q++) {
      let dz = ld(dz, m * NT + min(n0 / 4u + q, NT - 1u));
      /* unroll */ for (var j = 0u; j < WRN4; j++) {
        acc[q * 4u][j] += dz.x * xv[j];
        acc[q * 4u + 1u][j] += dz.y * xv[j];
        acc[q * 4u + 2u][j] += dz.z * xv[j];
        acc[q * 4u + 3u][j] += dz.w * xv[j];
      }
    }
  }
  /* unroll */ for (var j = 0u; j < WRN4; j++) {
    if (k4 + j < KT) {
      let valid = lanes_valid((k4 + j) * 4u, K);
      /* unroll */ for (var i = 0u; i < WRM; i++) {
        if (n0 + i < N) {
          st(dw, (n0 + i) * KT + k4 + j, select(vec4f(0.0), acc[i][j], valid));
        }
      }
    }
  }
}

@compute @workgroup_size(WG)
fn dense_backward_weight(@builtin(global_invocation_id) gid: vec3u) {
  backward_weight_block(gid.x);
}

// 4 (wg < 2^31), in a form the compiler cannot fold: a CPU adapter runs the input part's code in
// the weight part's workgroups too, with every lane masked off, and there an un-pooling loop it
// cannot unroll costs one masked store per texel instead of four (fc1's weight part ran 1.4x
// slower with them). A constant, or a select on the part, gets folded and unrolled.
fn opaque_windows(wg: u32) -> u32 {
  return 4u >> (wg >> 31u);
}

// Both gradients of a layer in one dispatch (each pays the per-dispatch cost once): WEIGHT_GROUPS
// of the GROUPS workgroups run the weight gradient's blocks, the rest the input gradient's, spread
// evenly (shared_group, in the prelude). Every output is the same sum in the same order as in the
// separate kernels, so the bits are theirs.
@compute @workgroup_size(WG)
fn dense_backward(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(local_invocation_index) li: u32,
) {
  let p = shared_group(wg.x, WEIGHT_GROUPS, GROUPS);
  if (p.first) {
    backward_weight_block(p.index * WG + li);
  } else {
    backward_input_block(p.index * WG + li, opaque_windows(wg.x));
  }
}

// ---------------------------------------------------------------------------------------------
// Workgroup-tiled variants, for GPUs: a 16x16 workgroup computes a 64x64 output tile from
// operand chunks staged in workgroup memory (one texel loaded per invocation per chunk, shared by
// 16). CPU adapters run these slower (workgroup memory and barriers are slow there); the tuner
// measures both kinds. Each output is summed over K in the same order as the register-blocked
// kernels, so the results are bit-identical.

const TILE: u32 = 64u; // output rows and columns per workgroup
const CH4: u32 = 4u; // texels of the reduced dimension per chunk (16 values)

var<workgroup> tile_a: array<array<vec4f, CH4>, TILE>; // [row][chunk texel]
var<workgroup> tile_b: array<array<vec4f, TILE / 4u>, TILE / 4u>; // backward input: [n][k texel]

// Y = act(X W^T + b); tile_a holds X rows, tile_b's storage is reused as W rows (64 x CH4 texels).
var<workgroup> tile_w: array<array<vec4f, CH4>, TILE>;

@compute @workgroup_size(16, 16)
fn dense_forward_tiled(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = wg.y * TILE;
  let col0 = wg.x * TILE;
  let li = lid.y * 16u + lid.x;
  let r = li / CH4;
  let t = li % CH4;
  var acc: array<vec4f, 4>; // rows row0 + 4 lid.y + i, output texel col0 / 4 + lid.x
  for (var k4 = 0u; k4 < KT; k4 += CH4) {
    let kt = k4 + t;
    tile_a[r][t] = select(vec4f(0.0), ld(x, min(row0 + r, M - 1u) * KT + min(kt, KT - 1u)), kt < KT);
    tile_w[r][t] = select(vec4f(0.0), ld(w, min(col0 + r, N - 1u) * KT + min(kt, KT - 1u)), kt < KT);
    workgroupBarrier();
    for (var c = 0u; c < CH4; c++) {
      let n = lid.x * 4u;
      let w0 = tile_w[n][c];
      let w1 = tile_w[n + 1u][c];
      let w2 = tile_w[n + 2u][c];
      let w3 = tile_w[n + 3u][c];
      /* unroll */ for (var i = 0u; i < 4u; i++) {
        let xv = tile_a[lid.y * 4u + i][c];
        acc[i] += vec4f(dot(xv, w0), dot(xv, w1), dot(xv, w2), dot(xv, w3));
      }
    }
    workgroupBarrier();
  }
  let n4 = col0 / 4u + lid.x;
  if (n4 < NT) {
    let bias = ld(bias, n4);
    let valid = lanes_valid(n4 * 4u, N);
    /* unroll */ for (var i = 0u; i < 4u; i++) {
      let m = row0 + lid.y * 4u + i;
      if (m < M) {
        var v = acc[i] + bias;
        if (RELU) { v = max(v, vec4f(0.0)); }
        st(y, m * NT + n4, select(vec4f(0.0), v, valid));
      }
    }
  }
}

// dX = dZ W (masked by X > 0 when RELU; un-pooled with UNPOOL) for the 64 x 64 tile `tile`
// (column tile, row tile); tile_a holds dZ rows (64 x CH4 texels of n), tile_b W rows n (16) x
// k texels (16).
fn backward_input_tile(tile: vec2u, lid: vec3u, windows: u32) {
  let row0 = tile.y * TILE;
  let k40 = tile.x * (TILE / 4u);
  let li = lid.y * 16u + lid.x;
  var acc: array<vec4f, 4>; // rows row0 + 4 lid.y + i, dX texel k40 + lid.x
  for (var n4 = 0u; n4 < NT; n4 += CH4) {
    let r = li / CH4;
    let t = li % CH4;
    tile_a[r][t] = select(vec4f(0.0), ld(dz, min(row0 + r, M - 1u) * NT + min(n4 + t, NT - 1u)), n4 + t < NT);
    let n = n4 * 4u + li / 16u;
    let kt = k40 + li % 16u;
    tile_b[li / 16u][li % 16u] = select(vec4f(0.0), ld(w, min(n, N - 1u) * KT + min(kt, KT - 1u)), n < N && kt < KT);
    workgroupBarrier();
    for (var c = 0u; c < CH4; c++) {
      let w0 = tile_b[c * 4u][lid.x];
      let w1 = tile_b[c * 4u + 1u][lid.x];
      let w2 = tile_b[c * 4u + 2u][lid.x];
      let w3 = tile_b[c * 4u + 3u][lid.x];
      /* unroll */ for (var i = 0u; i < 4u; i++) {
        let dz = tile_a[lid.y * 4u + i][c];
        acc[i] += dz.x * w0 + dz.y * w1 + dz.z * w2 + dz.w * w3;
      }
    }
    workgroupBarrier();
  }
  let k4 = k40 + lid.x;
  if (k4 < KT) {
    /* unroll */ for (var i = 0u; i < 4u; i++) {
      let m = row0 + lid.y * 4u + i;
      if (m < M) { store_dx(m, k4, acc[i], windows); }
    }
  }
}

@compute @workgroup_size(16, 16)
fn dense_backward_input_tiled(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  backward_input_tile(wg.xy, lid, 4u);
}

// dense_backward with the workgroup-tiled input gradient: the weight workgroups run 256 blocks
// each, the others one 64 x 64 dX tile each (column tiles first).
@compute @workgroup_size(16, 16)
fn dense_backward_tiled(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(local_invocation_index) li: u32,
) {
  let p = shared_group(wg.x, WEIGHT_GROUPS, GROUPS);
  if (p.first) {
    backward_weight_block(p.index * 256u + li);
  } else {
    let col_tiles = (KT + TILE / 4u - 1u) / (TILE / 4u);
    let tile = vec2u(p.index % col_tiles, p.index / col_tiles);
    backward_input_tile(tile, lid, opaque_windows(wg.x));
  }
}
