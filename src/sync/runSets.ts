/**
 * Named sets of strings that live as long as one resync run: in memory for a one-shot CLI run, in Redis when several
 * workers serve one run (or to keep a large run's bookkeeping out of the worker's heap). The run ledger and the owned
 * snapshot are built on them.
 */
import type { Redis } from 'ioredis';

export interface RunSets {
  add(set: string, members: string[]): Promise<void>;
  /** Several sets at once (one Redis round trip). */
  addAll(entries: Array<[set: string, members: string[]]>): Promise<void>;
  /** For each member, in order, whether the set holds it. */
  has(set: string, members: string[]): Promise<boolean[]>;
  size(set: string): Promise<number>;
  /** Every member of `set` that none of `without` holds, in chunks (bounded memory however large the sets). */
  difference(set: string, without: string[]): AsyncIterable<string[]>;
  /** Every member, in chunks. */
  members(set: string): AsyncIterable<string[]>;
  clear(): Promise<void>;
}

/** Members per Redis command and per yielded chunk. */
const CHUNK = 1000;

export class MemoryRunSets implements RunSets {
  readonly #sets = new Map<string, Set<string>>();

  async add(set: string, members: string[]): Promise<void> {
    if (members.length === 0) return;
    let s = this.#sets.get(set);
    if (!s) this.#sets.set(set, (s = new Set()));
    for (const m of members) s.add(m);
  }

  async addAll(entries: Array<[string, string[]]>): Promise<void> {
    for (const [set, members] of entries) await this.add(set, members);
  }

  async has(set: string, members: string[]): Promise<boolean[]> {
    const s = this.#sets.get(set);
    return members.map((m) => s?.has(m) ?? false);
  }

  async size(set: string): Promise<number> {
    return this.#sets.get(set)?.size ?? 0;
  }

  async *difference(set: string, without: string[]): AsyncGenerator<string[]> {
    const others = without.map((w) => this.#sets.get(w)).filter((s): s is Set<string> => s !== undefined);
    let chunk: string[] = [];
    for (const m of this.#sets.get(set) ?? []) {
      if (others.some((o) => o.has(m))) continue;
      chunk.push(m);
      if (chunk.length >= CHUNK) {
        yield chunk;
        chunk = [];
      }
    }
    if (chunk.length > 0) yield chunk;
  }

  members(set: string): AsyncIterable<string[]> {
    return this.difference(set, []);
  }

  async clear(): Promise<void> {
    this.#sets.clear();
  }
}

export interface RedisRunSetsOptions {
  redis: Redis;
  /** Key prefix of the run, e.g. `ado-sync:<integrationIdentifier>:run:<runId>`. */
  base: string;
  /** Keys expire after this long even if `clear()` is never called. */
  ttlSeconds: number;
}

/** One Redis set per name (`<base>:<name>`), plus `<base>:sets` naming them all so `clear()` finds them. */
export class RedisRunSets implements RunSets {
  readonly #redis: Redis;
  readonly #base: string;
  readonly #ttl: number;

  constructor(o: RedisRunSetsOptions) {
    this.#redis = o.redis;
    this.#base = o.base;
    this.#ttl = o.ttlSeconds;
  }

  #key(set: string): string {
    return `${this.#base}:${set}`;
  }

  get #index(): string {
    return `${this.#base}:sets`;
  }

  add(set: string, members: string[]): Promise<void> {
    return this.addAll([[set, members]]);
  }

  async addAll(entries: Array<[string, string[]]>): Promise<void> {
    const used = entries.filter(([, members]) => members.length > 0);
    if (used.length === 0) return;
    const pipe = this.#redis.pipeline();
    for (const [set, members] of used) {
      const key = this.#key(set);
      for (let i = 0; i < members.length; i += CHUNK) pipe.sadd(key, ...members.slice(i, i + CHUNK));
      pipe.expire(key, this.#ttl);
    }
    pipe.sadd(this.#index, ...used.map(([set]) => set));
    pipe.expire(this.#index, this.#ttl);
    await execOrThrow(pipe);
  }

  async has(set: string, members: string[]): Promise<boolean[]> {
    if (members.length === 0) return [];
    const key = this.#key(set);
    const pipe = this.#redis.pipeline();
    for (let i = 0; i < members.length; i += CHUNK) pipe.smismember(key, ...members.slice(i, i + CHUNK));
    const replies = await execOrThrow(pipe);
    return replies.flatMap((flags) => (flags as number[]).map((f) => f === 1));
  }

  async size(set: string): Promise<number> {
    return this.#redis.scard(this.#key(set));
  }

  /** SDIFFSTORE into a scratch key (one pass inside Redis), then SSCAN it, so no reply holds the whole difference. */
  async *difference(set: string, without: string[]): AsyncGenerator<string[]> {
    const scratch = `${this.#base}:scratch:${Math.random().toString(36).slice(2)}`;
    await this.#redis.pipeline().sdiffstore(scratch, this.#key(set), ...without.map((w) => this.#key(w))).expire(scratch, this.#ttl).exec();
    try {
      yield* this.#scan(scratch);
    } finally {
      await this.#redis.del(scratch);
    }
  }

  members(set: string): AsyncIterable<string[]> {
    return this.#scan(this.#key(set));
  }

  async *#scan(key: string): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const [next, found] = await this.#redis.sscan(key, cursor, 'COUNT', CHUNK);
      cursor = next;
      if (found.length > 0) yield found;
    } while (cursor !== '0');
  }

  async clear(): Promise<void> {
    const names = await this.#redis.smembers(this.#index);
    const keys = [this.#index, ...names.map((n) => this.#key(n))];
    for (let i = 0; i < keys.length; i += CHUNK) await this.#redis.del(...keys.slice(i, i + CHUNK));
  }
}

export async function execOrThrow(pipe: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const replies = (await pipe.exec()) ?? [];
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
