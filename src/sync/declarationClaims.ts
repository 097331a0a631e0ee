import type { Redis } from 'ioredis';
import type { DeclarationClaims } from '../kinds/types.js';

/** In memory: a one-shot run, where no event ever asks. */
export class MemoryDeclarationClaims implements DeclarationClaims {
  readonly #claims = new Map<string, string>();

  async get(keys: string[]): Promise<Array<string | undefined>> {
    return keys.map((k) => this.#claims.get(k));
  }

  async set(entries: Array<[string, string]>): Promise<void> {
    for (const [k, claim] of entries) this.#claims.set(k, claim);
  }

  async forget(keys: string[]): Promise<void> {
    for (const k of keys) this.#claims.delete(k);
  }
}

/** One Redis hash, `<prefix>:declaration-claims`: field entity key, value the claim; shared by resync and event workers. */
export class RedisDeclarationClaims implements DeclarationClaims {
  readonly #key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.#key = `${prefix}:declaration-claims`;
  }

  async get(keys: string[]): Promise<Array<string | undefined>> {
    if (keys.length === 0) return [];
    return (await this.redis.hmget(this.#key, ...keys)).map((v) => v ?? undefined);
  }

  async set(entries: Array<[string, string]>): Promise<void> {
    if (entries.length > 0) await this.redis.hset(this.#key, Object.fromEntries(entries));
  }

  async forget(keys: string[]): Promise<void> {
    if (keys.length > 0) await this.redis.hdel(this.#key, ...keys);
  }
}
