import type { Redis } from 'ioredis';

/**
 * Which organization last produced each entity, kept across runs. When one organization fails, stale deletion can then
 * still clean up after the others while holding back everything that organization (or an unknown one) produced.
 */
export interface EntityOrigins {
  record(organization: string, blueprint: string, identifiers: string[]): Promise<void>;
  /** The organization of each identifier, undefined when never recorded. */
  lookup(blueprint: string, identifiers: string[]): Promise<Array<string | undefined>>;
}

export class MemoryEntityOrigins implements EntityOrigins {
  readonly #orgs = new Map<string, Map<string, string>>();

  async record(organization: string, blueprint: string, identifiers: string[]): Promise<void> {
    let m = this.#orgs.get(blueprint);
    if (!m) this.#orgs.set(blueprint, (m = new Map()));
    for (const id of identifiers) m.set(id, organization);
  }

  async lookup(blueprint: string, identifiers: string[]): Promise<Array<string | undefined>> {
    const m = this.#orgs.get(blueprint);
    return identifiers.map((id) => m?.get(id));
  }
}

/** One Redis hash per blueprint: `<prefix>:entity-org:<blueprint>`, field identifier, value organization name. */
export class RedisEntityOrigins implements EntityOrigins {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  #key(blueprint: string): string {
    return `${this.prefix}:entity-org:${blueprint}`;
  }

  async record(organization: string, blueprint: string, identifiers: string[]): Promise<void> {
    if (identifiers.length === 0) return;
    const pipe = this.redis.pipeline();
    for (let i = 0; i < identifiers.length; i += 1000) {
      pipe.hset(this.#key(blueprint), Object.fromEntries(identifiers.slice(i, i + 1000).map((id) => [id, organization])));
    }
    const results = (await pipe.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
  }

  async lookup(blueprint: string, identifiers: string[]): Promise<Array<string | undefined>> {
    if (identifiers.length === 0) return [];
    const values = await this.redis.hmget(this.#key(blueprint), ...identifiers);
    return values.map((v) => v ?? undefined);
  }
}
