/**
 * Seeded pseudo-random numbers for reproducible data pipelines. Written here because Math.random
 * cannot be seeded and no seeded PRNG package is installed; xoshiro128** is small, fast and has
 * good statistical quality for augmentation and noise (not for cryptography).
 */

/** 32-bit hash of a seed and any number of keys (murmur3-style mixing); used to derive sub-seeds. */
export function deriveSeed(seed: number | string, ...keys: (number | string)[]): number {
  let h = 0x9e3779b9 ^ 0;
  const mix = (word: number) => {
    let k = Math.imul(word, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  };
  const mixValue = (value: number | string) => {
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new RangeError(`seed key must be finite, got ${value}`);
      // Integers up to 2^53 keep both halves; fractional values are rare but still mix deterministically.
      const low = value >>> 0;
      const high = Math.floor(value / 4294967296) >>> 0;
      mix(0x6e756d00);
      mix(low);
      mix(high);
    } else {
      mix(0x73747200);
      mix(value.length);
      for (let i = 0; i < value.length; i++) mix(value.charCodeAt(i));
    }
  };
  mixValue(seed);
  for (const key of keys) mixValue(key);
  // murmur3 finaliser
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const logFactorialTable = [0, 0];
for (let k = 2; k < 64; k++) logFactorialTable.push(logFactorialTable[k - 1]! + Math.log(k));

/** log(k!) exactly from a table for small k, Stirling series beyond (error < 1e-12 for k >= 64). */
export function logFactorial(k: number): number {
  if (k < 64) return logFactorialTable[k]!;
  const n = k + 1;
  return (n - 0.5) * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * n) - 1 / (360 * n * n * n);
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** Same seed (and keys), same sequence, on every platform. */
  constructor(seed: number | string, ...keys: (number | string)[]) {
    // splitmix32 expands the 32-bit seed into the 128-bit state (never all zero).
    let x = deriveSeed(seed, ...keys);
    const next = () => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Uniform 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) {
      throw new RangeError(`invalid integer range [${min}, ${max}]`);
    }
    return min + Math.floor(this.next() * (max - min + 1));
  }

  bool(probability = 0.5): boolean {
    return this.next() < probability;
  }

  /** Standard normal sample (Box-Muller, two uniforms per sample so the stream stays simple). */
  normal(mean = 0, std = 1): number {
    const u = 1 - this.next(); // (0, 1]
    const v = this.next();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Poisson sample: inversion for small means, PTRS (Hörmann 1993) for mean >= 10. */
  poisson(mean: number): number {
    if (!(mean >= 0) || !Number.isFinite(mean)) throw new RangeError(`invalid Poisson mean ${mean}`);
    if (mean === 0) return 0;
    if (mean < 10) {
      const limit = Math.exp(-mean);
      let k = 0;
      let p = this.next();
      while (p > limit) {
        k++;
        p *= this.next();
      }
      return k;
    }
    const sqrtMean = Math.sqrt(mean);
    const logMean = Math.log(mean);
    const b = 0.931 + 2.53 * sqrtMean;
    const a = -0.059 + 0.02483 * b;
    const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = this.next() - 0.5;
      const v = this.next();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + mean + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (
        Math.log(v) + Math.log(invAlpha) - Math.log(a / (us * us) + b) <=
        -mean + k * logMean - logFactorial(k)
      ) {
        return k;
      }
    }
  }

  /** Shuffles in place (Fisher-Yates) and returns the array. */
  shuffle<T>(array: T[]): T[] {
    for (let i = array.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = array[i]!;
      array[i] = array[j]!;
      array[j] = tmp;
    }
    return array;
  }

  pick<T>(array: readonly T[]): T {
    if (array.length === 0) throw new RangeError('cannot pick from an empty array');
    return array[Math.floor(this.next() * array.length)]!;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
