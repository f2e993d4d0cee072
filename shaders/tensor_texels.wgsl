// Prelude shared by every kernel: tensors are runs of rgba32float texels in 2D textures that are
// TEX_WIDTH texels wide; linear texel i lives at (i % TEX_WIDTH, i / TEX_WIDTH). A tensor row of
// `pitch` floats (a multiple of 4) is pitch / 4 consecutive texels; padding floats are always 0.

const TEX_WIDTH_LOG2: u32 = 11u;

fn texel_xy(i: u32) -> vec2u {
  return vec2u(i & ((1u << TEX_WIDTH_LOG2) - 1u), i >> TEX_WIDTH_LOG2);
}

fn ld(t: texture_storage_2d<rgba32float, read>, i: u32) -> vec4f {
  return textureLoad(t, texel_xy(i));
}

// (Writes call textureStore(t, texel_xy(i), v) directly: naga rejects storage-texture writes
// through function parameters.)

// Scalar element e of a tensor whose first texel is `base`.
fn ld1(t: texture_storage_2d<rgba32float, read>, base: u32, e: u32) -> f32 {
  return ld(t, base + (e >> 2u))[e & 3u];
}
