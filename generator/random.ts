/**
 * Seeded randomness for the generator. Every draw comes from an `Rng` derived from the run's
 * `--seed` and a label (e.g. "day", 17), so a given day's output depends only on the seed and
 * the world, never on how many draws earlier days made. No `Math.random` anywhere.
 */
import { flat } from './world/flat.ts';

/** 32-bit string/number hash (cyrb-style), used to derive independent streams from labels. */
export function hash32(...parts: (string | number)[]): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  const text = parts.join('\u0001');
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h1 ^ h2) >>> 0;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** 32-bit draws a UUID takes from a stream. */
const UUID_WORDS = 4;

/** sfc32: small, fast, passes PractRand; plenty for simulation. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number, ...labels: (string | number)[]) {
    this.#a = hash32(seed, 'a', ...labels);
    this.#b = hash32(seed, 'b', ...labels);
    this.#c = hash32(seed, 'c', ...labels);
    this.#d = 1;
    for (let i = 0; i < 12; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform float in [min, max). */
  float(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Standard normal (Box-Muller; one value per call keeps the stream simple to reason about). */
  normal(mean = 0, sd = 1): number {
    const u = 1 - this.next();
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  logNormal(mu: number, sigma: number): number {
    return Math.exp(this.normal(mu, sigma));
  }

  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Poisson count; normal approximation above 50 keeps big days cheap. */
  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 50) return Math.max(0, Math.round(this.normal(lambda, Math.sqrt(lambda))));
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** Rounds x up or down at random so that the expected value is x. */
  stochasticRound(x: number): number {
    const floor = Math.floor(x);
    return floor + (this.next() < x - floor ? 1 : 0);
  }

  /** Moves the stream on as uuid() would, without making the string. */
  skipUuid(): void {
    for (let i = 0; i < UUID_WORDS; i++) this.uint32();
  }

  /** Random RFC 4122 version-4 UUID from this stream (UUID_WORDS draws). */
  uuid(): string {
    const a = this.uint32();
    const b = this.uint32();
    const c = this.uint32();
    const d = this.uint32();
    const b2 = ((b >>> 16) & 0x0fff) | 0x4000;
    const c1 = ((c >>> 16) & 0x3fff) | 0x8000;
    return flat(
      HEX[a >>> 24]! +
        HEX[(a >>> 16) & 255]! +
        HEX[(a >>> 8) & 255]! +
        HEX[a & 255]! +
        '-' +
        HEX[(b >>> 8) & 255]! +
        HEX[b & 255]! +
        '-' +
        HEX[b2 >>> 8]! +
        HEX[b2 & 255]! +
        '-' +
        HEX[c1 >>> 8]! +
        HEX[c1 & 255]! +
        '-' +
        HEX[(c >>> 8) & 255]! +
        HEX[c & 255]! +
        HEX[d >>> 24]! +
        HEX[(d >>> 16) & 255]! +
        HEX[(d >>> 8) & 255]! +
        HEX[d & 255]!,
    );
  }

  /** `bytes` random bytes as lowercase hex. */
  hex(bytes: number): string {
    let out = '';
    for (let i = 0; i < bytes; i++) out += HEX[this.uint32() & 255]!;
    return flat(out);
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }
}

/** Weighted choice over a fixed list, O(log n) per draw. */
export class WeightedPicker<T> {
  readonly #items: readonly T[];
  readonly #cumulative: Float64Array;

  constructor(entries: readonly (readonly [T, number])[]) {
    if (entries.length === 0) throw new RangeError('WeightedPicker needs at least one entry');
    this.#items = entries.map(([item]) => item);
    this.#cumulative = new Float64Array(entries.length);
    let total = 0;
    entries.forEach(([, weight], i) => {
      if (!(weight >= 0)) throw new RangeError(`weight must be >= 0, got ${weight}`);
      total += weight;
      this.#cumulative[i] = total;
    });
    if (total <= 0) throw new RangeError('WeightedPicker needs a positive total weight');
  }

  get size(): number {
    return this.#items.length;
  }

  pick(rng: Rng): T {
    return this.#items[this.pickIndex(rng)]!;
  }

  pickIndex(rng: Rng): number {
    const total = this.#cumulative[this.#cumulative.length - 1]!;
    return upperBound(this.#cumulative, rng.next() * total);
  }
}

/** First index whose cumulative value is > x (binary search). */
export function upperBound(cumulative: Float64Array, x: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
