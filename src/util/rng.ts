/**
 * Seeded random numbers. `Rng` (xoshiro128**) drives initialization, shuffling and label
 * corruption; `hash32`/`counterUniform` are counter-based and mirrored bit-for-bit in WGSL
 * (`shaders/batch_gather.wgsl`), so image noise does not depend on batch order or device.
 *
 * @module
 */

/** PCG-style 32-bit integer hash (an avalanche permutation of u32). */
export function hash32(x: number): number {
  let s = (Math.imul(x >>> 0, 747796405) + 2891336453) >>> 0;
  const w = Math.imul(((s >>> ((s >>> 28) + 4)) ^ s) >>> 0, 277803737) >>> 0;
  s = ((w >>> 22) ^ w) >>> 0;
  return s;
}

/** Uniform in (0, 1) from a key (seed, a, b); the same function exists in WGSL. */
export function counterUniform(seed: number, a: number, b: number): number {
  const h = hash32((hash32((hash32(seed >>> 0) + (a >>> 0)) >>> 0) + (b >>> 0)) >>> 0);
  // 24 high bits, centred in their bucket: never 0, never 1
  return ((h >>> 8) + 0.5) / 16777216;
}

/** Derives an independent u32 seed for a purpose ("init", "shuffle", ...) and index (epoch, run). */
export function deriveSeed(master: number, purpose: string, index = 0): number {
  let h = hash32(master >>> 0);
  for (let i = 0; i < purpose.length; i++) h = hash32((h + purpose.charCodeAt(i)) >>> 0);
  return hash32((h + (index >>> 0)) >>> 0);
}

/** xoshiro128** generator, seeded through splitmix32. */
export class Rng {
  #s = new Uint32Array(4);
  #spare: number | null = null;

  /** A generator whose whole sequence is determined by `seed` (used as a u32). */
  constructor(seed: number) {
    let z = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b) >>> 0;
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35) >>> 0;
      this.#s[i] = (t ^ (t >>> 16)) >>> 0;
    }
    if ((this.#s[0] | this.#s[1] | this.#s[2] | this.#s[3]) === 0) this.#s[0] = 1;
  }

  /** Next u32. */
  nextU32(): number {
    const s = this.#s;
    const r = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** Uniform in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n > 0) || n > 4294967296) throw new Error(`Rng.int: bad range ${n}`);
    // rejection sampling keeps it unbiased
    const limit = 4294967296 - (4294967296 % n);
    let x: number;
    do x = this.nextU32(); while (x >= limit);
    return x % n;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box-Muller, caching the second value). */
  normal(): number {
    if (this.#spare !== null) {
      const v = this.#spare;
      this.#spare = null;
      return v;
    }
    const u = (this.nextU32() + 0.5) / 4294967296, v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
