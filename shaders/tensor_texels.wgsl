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

// Two kernels' workgroups in one dispatch, interleaved evenly so that every prefix of the dispatch
// holds its share of each (a CPU adapter hands each thread one contiguous range of workgroups):
// workgroup g of `all_groups` runs the first kernel when floor(g first_groups / all_groups) steps
// up at g + 1. Returns that, and g's index among its own kernel's workgroups. (No overflow while
// both counts are at most 65535, the dispatch limit.)
struct SharedGroup { first: bool, index: u32 }

fn shared_group(g: u32, first_groups: u32, all_groups: u32) -> SharedGroup {
  let before = g * first_groups / all_groups; // first-kernel workgroups before g
  let first = (g + 1u) * first_groups / all_groups > before;
  return SharedGroup(first, select(g - before, before, first));
}
