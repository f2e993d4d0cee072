// Prelude shared by every kernel: tensors are runs of rgba32float texels in 2D textures that are
// TEX_WIDTH texels wide; linear texel i lives at (i % TEX_WIDTH, i / TEX_WIDTH). A tensor row of
// `pitch` floats (a multiple of 4) is pitch / 4 consecutive texels; padding floats are always 0.

const TEX_WIDTH_LOG2: u32 = 11u;

fn texel_xy(i: u32) -> vec2u {
  return vec2u(i & ((1u << TEX_WIDTH_LOG2) - 1u), i >> TEX_WIDTH_LOG2);
}

// Reads: kernels write ld(t0, i) for texel i of binding t0, and ld1(t0, base, e) for scalar
// element e of the tensor starting at texel base. The host rewrites these calls into per-binding
// helpers (ld_t0(i), ld1_t0(base, e)): GL backends reject textures as function arguments.
