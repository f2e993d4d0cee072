// 2D convolution, stride 1, zero padding, with bias and optional fused ReLU and 2x2 max-pool.
//
// Activations are channels-last, one tensor row per image: (H, W, CP) where CP, the stored
// channels per position, is 1 (raw single-channel images: a texel holds 4 neighbouring pixels)
// or a multiple of 4 (a texel holds 4 channels of one pixel; pad channels are 0).
// Weights are ((KS, KS, CIP) rows, CO columns): row (ky, kx, ci), so one texel holds the weights
// of 4 output channels for one tap. The host converts to and from PyTorch's (CO, CI, KS, KS).
//
// With POOL the block output is the pooled map (HO/2, WO/2, COP) plus a code map of the same
// shape: code = index 0..3 of the first maximum in the 2x2 window (dy * 2 + dx), or 4 when ReLU
// zeroed the window (no gradient flows). Backward kernels rebuild the gradient of the
// pre-activation from (pooled gradient, code) on the fly: a gather, no racing writes, and the
// un-pooled gradient is never stored.
//
// Every invocation computes a register block; no workgroup memory and no barriers.

const B: u32 = 64u; // images
const H: u32 = 28u; // input height
const W: u32 = 28u; // input width
const CI: u32 = 1u; // input channels
const CIP: u32 = 1u; // stored input channels per position: 1 or a multiple of 4
const CO: u32 = 6u; // output channels
const KS: u32 = 5u; // kernel size
const PAD: u32 = 2u; // zero padding
const RELU: bool = true;
const POOL: bool = true;
const MASK_INPUT: bool = false; // backward_input: multiply dX by (X > 0), the producer's ReLU
const CODES: bool = true; // forward with POOL: write the argmax codes (inference does not need them)
const YB: u32 = 2u; // forward: output rows per invocation (even with POOL); weight: kernel rows
const XB: u32 = 4u; // forward: output columns per invocation (even with POOL); weight: columns
const CG: u32 = 2u; // forward and weight gradient: output channel texels per invocation
// backward_input: input rows, columns and input texels per invocation (its own constants, so one
// dispatch can run the weight gradient and the input gradient each with its own tile)
const IYB: u32 = 2u;
const IXB: u32 = 4u;
const ICG: u32 = 2u;
// forward: input texels unrolled per step, CIT (all) when there are at most 2, so their pad
// channels are constants; 1 with more (a loop: 8x less code to compile for 32 channels)
const CTU: u32 = 1u;
const CHUNK: u32 = 8u; // backward_weight: images summed per invocation
const NCHUNK: u32 = 8u; // backward_weight: number of image chunks (partial sums)
// backward_fused: workgroups of the weight gradient, and of both gradients
const WEIGHT_GROUPS: u32 = 1u;
const ALL_GROUPS: u32 = 2u;
// Invocations per workgroup: small groups balance better across a CPU adapter's threads when a
// dispatch has few of them.
const WG: u32 = 16u;

const HO: u32 = H + 2u * PAD - KS + 1u; // conv output height
const WO: u32 = W + 2u * PAD - KS + 1u;
const PH: u32 = HO / 2u; // pooled height (floor, as PyTorch)
const PW: u32 = WO / 2u;
const GH: u32 = select(HO, PH, POOL); // height of the block output (and of its gradient)
const GW: u32 = select(WO, PW, POOL);
const COT: u32 = (CO + 3u) / 4u; // output channel texels per position
const CIT: u32 = (CIP + 3u) / 4u; // input texels per position (1 for the scalar layout)
const IN_ROW: u32 = (H * W * CIP + 3u) / 4u; // texels per input image
const OUT_ROW: u32 = GH * GW * COT; // texels per output image
const XS: u32 = XB + KS - 1u; // input columns one register row spans
// Single-channel rows that start on a texel boundary: a row segment is loaded as whole texels
// (4 pixels each) instead of one texel per pixel. Needs W and the column block a multiple of 4.
const ALIGNED_ROWS: bool = CIP == 1u && W % 4u == 0u && XB % 4u == 0u;
const PAD_UP: u32 = (PAD + 3u) / 4u * 4u; // padding rounded up to whole texels
const LEAD: u32 = PAD_UP - PAD; // first needed pixel within the loaded span
const SPAN: u32 = (LEAD + XS + 3u) / 4u; // texels covering a row segment
const IXS: u32 = IXB + KS - 1u; // backward_input: output columns one register row spans
// backward_input: the column block is the whole row (it starts at column 0)
const FULL_ROW: bool = IXB == W;

@group(0) @binding(0) var x: texture_storage_2d<rgba32float, read>; // input (B, H, W, CIP)
@group(0) @binding(1) var w: texture_storage_2d<rgba32float, read>; // (KS, KS, CIP) x CO
@group(0) @binding(2) var bias: texture_storage_2d<rgba32float, read>; // (1, CO)
@group(0) @binding(3) var grad: texture_storage_2d<rgba32float, read>; // gradient of the block output
@group(0) @binding(4) var aux: texture_storage_2d<rgba32float, read>; // code (POOL) or Y (RELU only)
@group(0) @binding(5) var mask: texture_storage_2d<rgba32float, read>; // X of dX's mask (MASK_INPUT)
@group(0) @binding(6) var partial: texture_storage_2d<rgba32float, read>; // NCHUNK partial sums
@group(0) @binding(7) var y: texture_storage_2d<rgba32float, write>; // block output
@group(0) @binding(8) var code: texture_storage_2d<rgba32float, write>; // argmax codes (POOL)
@group(0) @binding(9) var dx: texture_storage_2d<rgba32float, write>; // (B, H, W, CIP)
@group(0) @binding(10) var dw: texture_storage_2d<rgba32float, write>; // dW, or the partial sums
@group(0) @binding(11) var db: texture_storage_2d<rgba32float, write>; // (1, CO)
// weight_reduce: the partial sums of up to 3 more layers (partial: the first layer's)
@group(0) @binding(12) var partial1: texture_storage_2d<rgba32float, read>;
@group(0) @binding(13) var partial2: texture_storage_2d<rgba32float, read>;
@group(0) @binding(14) var partial3: texture_storage_2d<rgba32float, read>;

// Input channels (texel ct) at (iy, ix) of image b, zero outside the image.
fn load_input(b: u32, iy: i32, ix: i32, ct: u32) -> vec4f {
  let inside = iy >= 0 && iy < i32(H) && ix >= 0 && ix < i32(W);
  let pos = u32(clamp(iy, 0, i32(H) - 1)) * W + u32(clamp(ix, 0, i32(W) - 1));
  var v: vec4f;
  if (CIP == 1u) {
    let e = b * IN_ROW * 4u + pos;
    v = vec4f(ld(x, e >> 2u)[e & 3u], 0.0, 0.0, 0.0);
  } else {
    v = ld(x, b * IN_ROW + pos * CIT + ct);
  }
  return select(vec4f(0.0), v, inside);
}

// Pixels [x0 - PAD, x0 - PAD + XS) of row iy of image b, for ALIGNED_ROWS (x0 a multiple of 4),
// each in the x component (the layout load_input returns), zero outside the image.
fn input_row_aligned(b: u32, iy: i32, x0: u32) -> array<vec4f, XS> {
  var span: array<vec4f, SPAN>;
  let row_ok = iy >= 0 && iy < i32(H);
  let row = b * IN_ROW + u32(clamp(iy, 0, i32(H) - 1)) * (W / 4u);
  /* unroll */ for (var t = 0u; t < SPAN; t++) {
    let tcol = i32(x0 / 4u + t) - i32(PAD_UP / 4u);
    let ok = row_ok && tcol >= 0 && tcol < i32(W / 4u);
    span[t] = select(vec4f(0.0), ld(x, row + u32(clamp(tcol, 0, i32(W / 4u) - 1))), ok);
  }
  var out: array<vec4f, XS>;
  /* unroll */ for (var c = 0u; c < XS; c++) {
    out[c] = vec4f(span[(c + LEAD) / 4u][(c + LEAD) % 4u], 0.0, 0.0, 0.0);
  }
  return out;
}

// Gradient of the pre-activation at conv output (oy, ox), channel texel ct, from the gradient of
// the block output and, with POOL, the argmax code map, or, with ReLU only, the output itself
// (both in aux). Zero outside the output.
fn grad_preact(b: u32, oy: i32, ox: i32, ct: u32) -> vec4f {
  if (oy < 0 || oy >= i32(HO) || ox < 0 || ox >= i32(WO)) { return vec4f(0.0); }
  let y = u32(oy);
  let x = u32(ox);
  if (POOL) {
    let py = y / 2u;
    let px = x / 2u;
    if (py >= PH || px >= PW) { return vec4f(0.0); }
    let at = b * OUT_ROW + (py * PW + px) * COT + ct;
    let g = ld(grad, at);
    let code = ld(aux, at);
    return select(vec4f(0.0), g, code == vec4f(f32((y & 1u) * 2u + (x & 1u))));
  }
  let at = b * OUT_ROW + (y * WO + x) * COT + ct;
  let g = ld(grad, at);
  if (RELU) { return select(vec4f(0.0), g, ld(aux, at) > vec4f(0.0)); }
  return g;
}

// y = pool(relu(conv(x, w) + bias)), code = argmax codes (POOL, CODES).
@compute @workgroup_size(WG)
fn conv2d_forward(@builtin(global_invocation_id) gid: vec3u) {
  // pooled rows/columns per invocation (max(): this module is also compiled with odd tiles for
  // the backward entry points, and constant expressions are evaluated everywhere)
  let rows = max(select(YB, YB / 2u, POOL), 1u);
  let cols = max(select(XB, XB / 2u, POOL), 1u);
  let yblocks = (GH + rows - 1u) / rows;
  let xblocks = (GW + cols - 1u) / cols;
  let cblocks = (COT + CG - 1u) / CG;
  if (gid.x >= B * yblocks * xblocks * cblocks) { return; }
  let cg0 = (gid.x % cblocks) * CG;
  let xb = (gid.x / cblocks) % xblocks;
  let yb = (gid.x / (cblocks * xblocks)) % yblocks;
  let b = gid.x / (cblocks * xblocks * yblocks);
  let oy0 = yb * YB;
  let ox0 = xb * XB;
  var acc: array<array<array<vec4f, CG>, XB>, YB>;
  for (var ky = 0u; ky < KS; ky++) {
    // (one pass, no loop, when CTU == CIT: the host rewrites this line, see conv2d.ts)
    for (var ct0 = 0u; ct0 < CIT; ct0 += CTU) {
      /* unroll */ for (var u = 0u; u < CTU; u++) {
        let ct = ct0 + u;
        var xin: array<array<vec4f, XS>, YB>;
        /* unroll */ for (var r = 0u; r < YB; r++) {
          if (ALIGNED_ROWS) {
            xin[r] = input_row_aligned(b, i32(oy0 + r + ky) - i32(PAD), ox0);
          } else {
            /* unroll */ for (var c = 0u; c < XS; c++) {
              xin[r][c] = load_input(b, i32(oy0 + r + ky) - i32(PAD), i32(ox0 + c) - i32(PAD), ct);
            }
          }
        }
        /* unroll */ for (var kx = 0u; kx < KS; kx++) {
          let wrow = (ky * KS + kx) * CIP + ct * 4u;
          /* unroll */ for (var g = 0u; g < CG; g++) {
            let co_t = min(cg0 + g, COT - 1u);
            // channels past CI are zero padding (conv2's 6 of 8; the scalar layout holds 1): their
            // products are skipped, a constant condition once ct is unrolled. With the scalar
            // layout, output channels past CO are padding (conv1's 6 of 8): a CPU adapter computes
            // a vec4 as 4 lanes, so a half-used texel costs half (constant for CG >= COT). The real
            // terms sum in the same order. Selects, not branches: constant ones fold without
            // growing the compiler's CFG, and one statement serves both layouts (half the WGSL).
            let n = select(CI - min(ct * 4u, CI), 4u, CIP > 1u && CI % 4u == 0u);
            let real = real_lanes(select(4u, CO - min((cg0 + g) * 4u, CO), CIP == 1u));
            let w0 = ld(w, wrow * COT + co_t);
            let w1 = ld(w, (wrow + 1u) * COT + co_t);
            let w2 = ld(w, (wrow + 2u) * COT + co_t);
            let w3 = ld(w, (wrow + 3u) * COT + co_t);
            /* unroll */ for (var r = 0u; r < YB; r++) {
              /* unroll */ for (var c = 0u; c < XB; c++) {
                acc[r][c][g] = fma_texel(acc[r][c][g], xin[r][c + kx], w0, w1, w2, w3, n, real);
              }
            }
          }
        }
      }
    }
  }
  /* unroll */ for (var g = 0u; g < CG; g++) {
    if (cg0 + g < COT) {
      let bias = ld(bias, cg0 + g);
      if (POOL) {
        /* unroll */ for (var pr = 0u; pr < YB / 2u; pr++) {
          /* unroll */ for (var pc = 0u; pc < XB / 2u; pc++) {
            let py = oy0 / 2u + pr;
            let px = ox0 / 2u + pc;
            if (py < PH && px < PW) {
              let v0 = acc[2u * pr][2u * pc][g];
              let v1 = acc[2u * pr][2u * pc + 1u][g];
              let v2 = acc[2u * pr + 1u][2u * pc][g];
              let v3 = acc[2u * pr + 1u][2u * pc + 1u][g];
              pool_store(b * OUT_ROW + (py * PW + px) * COT + cg0 + g, v0, v1, v2, v3, bias);
            }
          }
        }
      } else {
        /* unroll */ for (var r = 0u; r < YB; r++) {
          /* unroll */ for (var c = 0u; c < XB; c++) {
            if (oy0 + r < HO && ox0 + c < WO) {
              var v = acc[r][c][g] + bias;
              if (RELU) { v = max(v, vec4f(0.0)); }
              st(y, b * OUT_ROW + ((oy0 + r) * WO + ox0 + c) * COT + cg0 + g, v);
            }
          }
        }
      }
    }
  }
}

// dX[b, iy, ix, ci] = sum over (ky, kx, co) of dZ[b, iy - ky + PAD, ix - kx + PAD, co] W[ky, kx, ci, co]
// dx is masked by (mask > 0) with MASK_INPUT. Needs CIP a multiple of 4. IYB x IXB input
// positions and ICG input texels per invocation. The image is the fastest-varying lane index, so
// a SIMD group shares its block position and skips the taps that fall outside dZ together
// (without padding, 29% of the rows and of the columns of a 5x5 full convolution at 14x14):
// skipping adds no terms that are not zero, so the sums keep their order and bits.
@compute @workgroup_size(WG)
fn conv2d_backward_input(@builtin(global_invocation_id) gid: vec3u) {
  input_grad_lane(gid.x);
}

// One invocation of the input gradient (lane: its index among them).
fn input_grad_lane(lane: u32) {
  let yblocks = (H + IYB - 1u) / IYB;
  let xblocks = (W + IXB - 1u) / IXB;
  let cblocks = (CIT + ICG - 1u) / ICG;
  if (lane >= B * yblocks * xblocks * cblocks) { return; }
  let b = lane % B;
  let cg0 = ((lane / B) % cblocks) * ICG;
  let xb = (lane / (B * cblocks)) % xblocks;
  let yb = lane / (B * cblocks * xblocks);
  let iy0 = yb * IYB;
  let ix0 = xb * IXB;
  var acc: array<array<array<vec4f, ICG>, IXB>, IYB>;
  for (var ky = 0u; ky < KS; ky++) {
    // output rows oy = iy0 + r + PAD - ky for r in [0, IYB): skip when none is inside dZ
    let oy_lo = i32(iy0 + PAD) - i32(ky);
    if (oy_lo + i32(IYB) <= 0 || oy_lo >= i32(HO)) { continue; }
    for (var ct = 0u; ct < COT; ct++) {
      // output columns ox = ix0 + s - (KS - 1) + PAD for s in [0, IXS): every (c, kx) pair needs s = c - kx + KS - 1
      var dz: array<array<vec4f, IXS>, IYB>;
      /* unroll */ for (var r = 0u; r < IYB; r++) {
        /* unroll */ for (var s = 0u; s < IXS; s++) {
          // (unused when outside dZ with FULL_ROW: the compiler drops those loads)
          dz[r][s] = grad_preact(b, oy_lo + i32(r), i32(ix0 + s + PAD) - i32(KS - 1u), ct);
        }
      }
      /* unroll */ for (var kx = 0u; kx < KS; kx++) {
        /* unroll */ for (var g = 0u; g < ICG; g++) {
          let ci4 = min(cg0 + g, CIT - 1u) * 4u;
          // with all input texels in one invocation (ICG >= CIT) the pad channels past CI are
          // known here and skipped (their gradient stays 0); otherwise all 4 are computed
          let n = select(4u, CI - min(ci4, CI), ICG >= CIT);
          let w0 = ld(w, ((ky * KS + kx) * CIP + ci4) * COT + ct);
          let w1 = ld(w, ((ky * KS + kx) * CIP + ci4 + 1u) * COT + ct);
          let w2 = ld(w, ((ky * KS + kx) * CIP + ci4 + 2u) * COT + ct);
          let w3 = ld(w, ((ky * KS + kx) * CIP + ci4 + 3u) * COT + ct);
          let real = real_lanes(n);
          /* unroll */ for (var r = 0u; r < IYB; r++) {
            /* unroll */ for (var c = 0u; c < IXB; c++) {
              // with FULL_ROW the block starts at column 0: the taps outside dZ are known here
              // (selects, not branches: constant ones fold without growing the compiler's CFG)
              let live = real & vec4<bool>(!FULL_ROW || s_inside(c + KS - 1u - kx));
              acc[r][c][g] = dot_texel(acc[r][c][g], dz[r][c + KS - 1u - kx], w0, w1, w2, w3, live);
            }
          }
        }
      }
    }
  }
  /* unroll */ for (var g = 0u; g < ICG; g++) {
    if (cg0 + g < CIT) {
      /* unroll */ for (var r = 0u; r < IYB; r++) {
        /* unroll */ for (var c = 0u; c < IXB; c++) {
          if (iy0 + r < H && ix0 + c < W) {
            let at = b * IN_ROW + ((iy0 + r) * W + ix0 + c) * CIT + cg0 + g;
            var v = acc[r][c][g];
            if (MASK_INPUT) { v = select(vec4f(0.0), v, ld(mask, at) > vec4f(0.0)); }
            st(dx, at, v);
          }
        }
      }
    }
  }
}

// The 2x2 window (v0 v1 / v2 v3) + bias: its maximum (after ReLU) to y and, with CODES, the index
// of its first maximum (4 when ReLU zeroed it) to code, at texel `at`.
fn pool_store(at: u32, v0: vec4f, v1: vec4f, v2: vec4f, v3: vec4f, bias: vec4f) {
  var m = v0 + bias;
  var arg = vec4f(0.0);
  let u1 = v1 + bias;
  let u2 = v2 + bias;
  let u3 = v3 + bias;
  arg = select(arg, vec4f(1.0), u1 > m);
  m = max(m, u1);
  arg = select(arg, vec4f(2.0), u2 > m);
  m = max(m, u2);
  arg = select(arg, vec4f(3.0), u3 > m);
  m = max(m, u3);
  if (RELU) {
    arg = select(vec4f(4.0), arg, m > vec4f(0.0));
    m = max(m, vec4f(0.0));
  }
  st(y, at, m);
  if (CODES) { st(code, at, arg); }
}

// acc + the products of v's first n channels with their weight texels w0..w3, summed in channel
// order; lanes that are not real keep acc. A function, so the unrolled blocks stay short WGSL
// (the driver inlines it; constant n and real fold as before).
fn fma_texel(
  acc: vec4f, v: vec4f, w0: vec4f, w1: vec4f, w2: vec4f, w3: vec4f, n: u32, real: vec4<bool>,
) -> vec4f {
  var t = v.x * w0;
  t = select(t, t + v.y * w1, n > 1u);
  t = select(t, t + v.z * w2, n > 2u);
  t = select(t, t + v.w * w3, n > 3u);
  return select(acc, acc + t, real);
}

// Which of a texel's 4 channels are real when it holds `n` of them (the rest are padding).
fn real_lanes(n: u32) -> vec4<bool> {
  return vec4<bool>(n > 0u, n > 1u, n > 2u, n > 3u);
}

// acc + d's dot products with the weight texels w0..w3 (one per input channel); lanes that are
// not live keep acc. A function for short unrolled WGSL, as fma_texel.
fn dot_texel(
  acc: vec4f, d: vec4f, w0: vec4f, w1: vec4f, w2: vec4f, w3: vec4f, live: vec4<bool>,
) -> vec4f {
  return select(acc, acc + vec4f(dot(d, w0), dot(d, w1), dot(d, w2), dot(d, w3)), live);
}

// backward_input with FULL_ROW: whether span column s (output column s - (KS - 1) + PAD) is
// inside dZ.
fn s_inside(s: u32) -> bool {
  return s + PAD >= KS - 1u && s + PAD < KS - 1u + WO;
}

const WROWS: u32 = KS * KS * CIP; // rows of W
const PART_ROW: u32 = WROWS * COT + COT; // texels of one partial sum: dW then db

// Partial weight and bias gradients over CHUNK images, in a fixed order:
// dW[ky, kx, ci, co] += X[b, oy + ky - PAD, ox + kx - PAD, ci] dZ[b, oy, ox, co].
// NCHUNK == 1: writes dw and db. Otherwise dw receives the partial sums (NCHUNK rows of PART_ROW).
// One invocation: one chunk, YB kernel rows (KS % YB == 0; more rows reuse each loaded dZ), one
// input texel, CG output texels (more reuse each loaded input row), all KS values of kx. The sums run over (b, oy, ox) in the same
// order for every YB.
@compute @workgroup_size(WG)
fn conv2d_backward_weight(@builtin(global_invocation_id) gid: vec3u) {
  weight_grad_lane(gid.x);
}

// One invocation of the weight gradient (lane: its index among them).
fn weight_grad_lane(lane: u32) {
  let kyblocks = KS / YB;
  let cblocks = (COT + CG - 1u) / CG;
  if (lane >= NCHUNK * kyblocks * CIT * cblocks) { return; }
  let ct0 = (lane % cblocks) * CG;
  let cit = (lane / cblocks) % CIT;
  let ky0 = ((lane / (cblocks * CIT)) % kyblocks) * YB;
  let chunk = lane / (cblocks * CIT * kyblocks);
  // [ky - ky0][kx][output texel - ct0][input channel component] -> 4 output channels
  var acc: array<array<array<array<vec4f, 4>, CG>, KS>, YB>;
  var bsum: array<vec4f, CG>;
  let b_end = min((chunk + 1u) * CHUNK, B);
  for (var b = chunk * CHUNK; b < b_end; b++) {
    for (var oy = 0u; oy < HO; oy++) {
      for (var ox0 = 0u; ox0 < WO; ox0 += XB) {
        var dz: array<array<vec4f, XB>, CG>;
        /* unroll */ for (var g = 0u; g < CG; g++) {
          /* unroll */ for (var c = 0u; c < XB; c++) {
            dz[g][c] = grad_preact(b, i32(oy), i32(ox0 + c), min(ct0 + g, COT - 1u));
            bsum[g] += dz[g][c];
          }
        }
        /* unroll */ for (var r = 0u; r < YB; r++) {
          var xin: array<vec4f, XS>;
          let iy = i32(oy + ky0 + r) - i32(PAD);
          if (ALIGNED_ROWS) {
            xin = input_row_aligned(b, iy, ox0);
          } else {
            /* unroll */ for (var s = 0u; s < XS; s++) {
              xin[s] = load_input(b, iy, i32(ox0 + s) - i32(PAD), cit);
            }
          }
          /* unroll */ for (var kx = 0u; kx < KS; kx++) {
            /* unroll */ for (var g = 0u; g < CG; g++) {
              // real output channels of the texel (single-channel input): as in the forward
              // pass, a half-used texel costs half (a constant when CG >= COT)
              let real = real_lanes(select(4u, CO - min((ct0 + g) * 4u, CO), CIP == 1u));
              /* unroll */ for (var c = 0u; c < XB; c++) {
                acc[r][kx][g] = outer_texel(acc[r][kx][g], xin[c + kx], dz[g][c], real);
              }
            }
          }
        }
      }
    }
  }
  let row0 = select(chunk * PART_ROW, 0u, NCHUNK == 1u);
  /* unroll */ for (var g = 0u; g < CG; g++) {
    let ct = ct0 + g;
    if (ct < COT) {
      /* unroll */ for (var r = 0u; r < YB; r++) {
        /* unroll */ for (var kx = 0u; kx < KS; kx++) {
          let wrow = ((ky0 + r) * KS + kx) * CIP + cit * 4u * u32(CIP > 1u);
          store_dw(row0, wrow, ct, acc[r][kx][g]);
        }
      }
      if (ky0 == 0u && cit == 0u) {
        if (NCHUNK == 1u) {
          st(db, ct, bsum[g]);
        } else {
          st(dw, row0 + WROWS * COT + ct, bsum[g]);
        }
      }
    }
  }
}

// acc[j] + v[j] * d for the input channels j of texel v (only x in the scalar layout); lanes of
// d's output channels that are not real keep acc. A function for short unrolled WGSL.
fn outer_texel(acc: array<vec4f, 4>, v: vec4f, d: vec4f, real: vec4<bool>) -> array<vec4f, 4> {
  var out = acc;
  out[0] = select(acc[0], acc[0] + v.x * d, real);
  if (CIP > 1u) {
    out[1] = acc[1] + v.y * d;
    out[2] = acc[2] + v.z * d;
    out[3] = acc[3] + v.w * d;
  }
  return out;
}

// The dW rows wrow.. of a texel's input channels (4, or 1 in the scalar layout), output texel ct.
fn store_dw(row0: u32, wrow: u32, ct: u32, a: array<vec4f, 4>) {
  /* unroll */ for (var j = 0u; j < 4u; j++) {
    if (j < CIP) { st(dw, row0 + (wrow + j) * COT + ct, a[j]); }
  }
}

// The weight gradient (partial sums, or dW and db with NCHUNK == 1) and the input gradient of one
// layer in one dispatch: both read only dZ, X and W. WEIGHT_GROUPS of the ALL_GROUPS workgroups
// run the weight gradient with its tile (YB, XB, CG), the others the input gradient with its own
// (IYB, IXB, ICG); every sum keeps the order of the separate kernels, hence their bits. The two
// kinds are interleaved evenly (shared_group, in the prelude; one after the other took 1.4x as
// long on a CPU adapter).
@compute @workgroup_size(WG)
fn conv2d_backward_fused(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_index) li: u32,
) {
  let p = shared_group(wid.x, WEIGHT_GROUPS, ALL_GROUPS);
  if (p.first) {
    weight_grad_lane(p.index * WG + li);
  } else {
    input_grad_lane(p.index * WG + li);
  }
}

// Up to 4 layers' weight gradients from their partial sums (partial, partial1..3: NCHUNK rows of
// PART_ROW texels each) in one dispatch: invocation t of a layer sums texel t of its rows in
// order (the partials' order, fixed) into texel t of its dW, or of its db past the WROWS * COT
// texels of dW. Every layer's dW lies in dw's texture and every db in db's (the gradient arena:
// one texture); R<l>_DW / R<l>_DB: their first texels. A layer with R<l>_ROW == 0 is unused.
const R0_ROW: u32 = 0u; // texels of one partial row (PART_ROW of that layer)
const R0_CHUNKS: u32 = 0u; // partial rows (NCHUNK of that layer)
const R0_DWT: u32 = 0u; // texels of dW (WROWS * COT of that layer)
const R0_DW: u32 = 0u;
const R0_DB: u32 = 0u;
const R1_ROW: u32 = 0u;
const R1_CHUNKS: u32 = 0u;
const R1_DWT: u32 = 0u;
const R1_DW: u32 = 0u;
const R1_DB: u32 = 0u;
const R2_ROW: u32 = 0u;
const R2_CHUNKS: u32 = 0u;
const R2_DWT: u32 = 0u;
const R2_DW: u32 = 0u;
const R2_DB: u32 = 0u;
const R3_ROW: u32 = 0u;
const R3_CHUNKS: u32 = 0u;
const R3_DWT: u32 = 0u;
const R3_DW: u32 = 0u;
const R3_DB: u32 = 0u;

@compute @workgroup_size(WG)
fn conv2d_weight_reduce(@builtin(global_invocation_id) gid: vec3u) {
  // (a texture cannot be a function argument on GL backends: one block per layer)
  var t = gid.x;
  if (t < R0_ROW) {
    var s = vec4f(0.0);
    for (var k = 0u; k < R0_CHUNKS; k++) { s += ld(partial, k * R0_ROW + t); }
    store_reduced(t, R0_DWT, R0_DW, R0_DB, s);
    return;
  }
  t -= R0_ROW;
  if (t < R1_ROW) {
    var s = vec4f(0.0);
    for (var k = 0u; k < R1_CHUNKS; k++) { s += ld(partial1, k * R1_ROW + t); }
    store_reduced(t, R1_DWT, R1_DW, R1_DB, s);
    return;
  }
  t -= R1_ROW;
  if (t < R2_ROW) {
    var s = vec4f(0.0);
    for (var k = 0u; k < R2_CHUNKS; k++) { s += ld(partial2, k * R2_ROW + t); }
    store_reduced(t, R2_DWT, R2_DW, R2_DB, s);
    return;
  }
  t -= R2_ROW;
  if (t < R3_ROW) {
    var s = vec4f(0.0);
    for (var k = 0u; k < R3_CHUNKS; k++) { s += ld(partial3, k * R3_ROW + t); }
    store_reduced(t, R3_DWT, R3_DW, R3_DB, s);
  }
}

// Texel t of a layer's reduced row: into dW (first dwt texels, from texel dw0) or db (from db0).
fn store_reduced(t: u32, dwt: u32, dw0: u32, db0: u32, s: vec4f) {
  if (t < dwt) {
    st(dw, dw0 + t, s);
  } else {
    st(db, db0 + t - dwt, s);
  }
}
