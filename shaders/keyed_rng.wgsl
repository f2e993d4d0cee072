// Prelude shared by every kernel: keyed random numbers, the counter hash of src/util/rng.ts bit
// for bit. A draw is a function of its key (seed, a, b) only, so it does not depend on batch
// order, batch size or device.

fn hash32(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}

// The 24 key bits of (seed, a, b); integer decisions on them are exact on every device.
fn counter_bits(seed: u32, a: u32, b: u32) -> u32 {
  return hash32(hash32(hash32(seed) + a) + b) >> 8u;
}

// Uniform in (0, 1) keyed by (seed, a, b); mirrors counterUniform() of src/util/rng.ts.
fn counter_uniform(seed: u32, a: u32, b: u32) -> f32 {
  return (f32(counter_bits(seed, a, b)) + 0.5) / 16777216.0;
}

// Standard normal from the uniforms at counters b0 and b1 of (seed, a) (Box-Muller).
fn keyed_normal(seed: u32, a: u32, b0: u32, b1: u32) -> f32 {
  let u1 = counter_uniform(seed, a, b0);
  let u2 = counter_uniform(seed, a, b1);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

// The pixel noise of training and test time: a standard normal for pixel p of image img, from
// counters 2p and 2p + 1.
fn pixel_normal(seed: u32, img: u32, p: u32) -> f32 {
  return keyed_normal(seed, img, 2u * p, 2u * p + 1u);
}
