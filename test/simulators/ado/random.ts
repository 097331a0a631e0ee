/**
 * Deterministic pseudo-randomness for the simulator. Every generated entity gets its own stream, keyed by
 * (seed, organization, entity kind, index), so an item is the same whichever order or subset is generated.
 */

/** A 32-bit integer finaliser (good avalanche, cheap). */
export function mix32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** FNV-1a over the UTF-16 code units of a string. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Combines integers into one 32-bit key. Order matters. */
export function streamKey(...parts: number[]): number {
  let h = 0x2545f491;
  for (const p of parts) {
    h = mix32((h ^ mix32(p >>> 0)) + 0x9e3779b9);
  }
  return h;
}

/** Entity kinds; each has its own key space. Append new kinds at the end (values must not change). */
export const Stream = {
  project: 1,
  repository: 2,
  pullRequestCore: 3,
  pullRequestDetail: 4,
  identity: 5,
  file: 6,
  commit: 7,
  projectLayout: 8,
} as const;

const HEX = '0123456789abcdef';

/** mulberry32: small, fast, good enough for test data. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  u32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)] as T;
  }

  hex(digits: number): string {
    let out = '';
    while (out.length < digits) {
      let v = this.u32();
      for (let i = 0; i < 8 && out.length < digits; i++) {
        out += HEX[v & 15];
        v >>>= 4;
      }
    }
    return out;
  }

  /** A version-4 shaped UUID. */
  guid(): string {
    const h = this.hex(32).split('');
    h[12] = '4';
    h[16] = HEX[(parseInt(h[16] as string, 16) & 0x3) | 0x8] as string;
    const s = h.join('');
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  }

  /** A git object id (40 hex digits). */
  sha(): string {
    return this.hex(40);
  }
}

export function rngFor(...parts: number[]): Rng {
  return new Rng(streamKey(...parts));
}

/**
 * Azure DevOps writes timestamps with seven fractional digits ("2016-11-01T16:30:31.6655471Z"). The extra four
 * digits come from the entity's stream so they are stable; comparisons use the millisecond value.
 */
export function adoDate(ms: number, rng?: Rng): string {
  const iso = new Date(ms).toISOString();
  const extra = rng ? String(rng.int(0, 9999)).padStart(4, '0') : '0000';
  return `${iso.slice(0, 23)}${extra}Z`;
}

export const DAY_MS = 86_400_000;
