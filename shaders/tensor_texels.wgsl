// Prelude shared by every kernel: tensors are runs of rgba32float texels in 2D textures that are
// TEX_WIDTH texels wide; linear texel i lives at (i % TEX_WIDTH, i / TEX_WIDTH). A tensor row of
// `pitch` floats (a multiple of 4) is pitch / 4 consecutive texels; padding floats are always 0.

const TEX_WIDTH_LOG2: u32 = 11u;

fn texel_xy(i: u32) -> vec2u {
  return vec2u(i & ((1u << TEX_WIDTH_LOG2) - 1u), i >> TEX_WIDTH_LOG2);
}

// Tensor bindings are declared by name; kernels read texel i of the tensor bound to x with
// ld(x, i) and store with st(y, i, v), i counted from the tensor's first texel. The host turns
// these into per-name helpers with the tensor's base texel (src/gpu/bindings.ts).
