/**
 * Run state kept between writes and across replicas:
 * - EntityStateStore: the content hash of each entity's last successful write, so unchanged entities are not re-sent;
 * - RunLedger: which (blueprint, identifier) a resync run produced, so stale deletion knows what is still wanted.
 * Both come in memory (one-shot CLI runs) and Redis (workers sharing a run) flavours.
 */
import type { Redis } from 'ioredis';

export interface HashEntry {
  /** `entityKey()` of the entity: blueprint, NUL, identifier. */
  key: string;
  hash: string;
}

export interface EntityStateStore {
  /** The keys whose stored hash equals the given hash (and is not older than the store's max age). */
  unchanged(entries: HashEntry[]): Promise<Set<string>>;
  /** Records hashes; call only after the catalog accepted the write. */
  remember(entries: HashEntry[]): Promise<void>;
  forget(keys: string[]): Promise<void>;
}

export interface StateStoreOptions {
  /**
   * A remembered hash older than this is treated as changed, so every entity is re-sent at least this often and
   * drift in the catalog (an entity edited or deleted by hand) is repaired. 0 disables expiry. Default 24 h.
   */
  maxAgeSeconds?: number;
  now?: () => number;
}

const DEFAULT_MAX_AGE_SECONDS = 24 * 3600;

function splitKey(key: string): [string, string] {
  const at = key.indexOf('\u0000');
  if (at < 0) throw new Error(`entity state key without a blueprint separator: ${JSON.stringify(key)}`);
  return [key.slice(0, at), key.slice(at + 1)];
}

/** Stored value: `<hash>:<epoch seconds of the write>`. */
function encode(hash: string, nowMs: number): string {
  return `${hash}:${Math.floor(nowMs / 1000)}`;
}

function fresh(stored: string | null | undefined, hash: string, maxAgeSeconds: number, nowMs: number): boolean {
  if (!stored) return false;
  const at = stored.lastIndexOf(':');
  if (at < 0 || stored.slice(0, at) !== hash) return false;
  if (maxAgeSeconds <= 0) return true;
  const writtenAt = Number(stored.slice(at + 1));
  return Number.isFinite(writtenAt) && nowMs / 1000 - writtenAt < maxAgeSeconds;
}

export class MemoryEntityStateStore implements EntityStateStore {
  readonly #hashes = new Map<string, string>();
  readonly #maxAge: number;
  readonly #now: () => number;

  constructor(options: StateStoreOptions = {}) {
    this.#maxAge = options.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#hashes.size;
  }

  async unchanged(entries: HashEntry[]): Promise<Set<string>> {
    const now = this.#now();
    return new Set(entries.filter((e) => fresh(this.#hashes.get(e.key), e.hash, this.#maxAge, now)).map((e) => e.key));
  }

  async remember(entries: HashEntry[]): Promise<void> {
    const now = this.#now();
    for (const e of entries) this.#hashes.set(e.key, encode(e.hash, now));
  }

  async forget(keys: string[]): Promise<void> {
    for (const k of keys) this.#hashes.delete(k);
  }
}

export interface RedisStateOptions extends StateStoreOptions {
  redis: Redis;
  /** Prefix of every key, e.g. `ado-sync:<integrationIdentifier>`. */
  prefix: string;
}

/** One Redis hash per blueprint (`<prefix>:entity-hash:<blueprint>`, field = identifier); pipelined calls. */
export class RedisEntityStateStore implements EntityStateStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #maxAge: number;
  readonly #now: () => number;

  constructor(options: RedisStateOptions) {
    this.#redis = options.redis;
    this.#prefix = options.prefix;
    this.#maxAge = options.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
    this.#now = options.now ?? Date.now;
  }

  #hashKey(blueprint: string): string {
    return `${this.#prefix}:entity-hash:${blueprint}`;
  }

  #group<T extends { key: string }>(entries: T[]): Map<string, Array<[string, T]>> {
    const groups = new Map<string, Array<[string, T]>>();
    for (const e of entries) {
      const [bp, id] = splitKey(e.key);
      (groups.get(bp) ?? groups.set(bp, []).get(bp)!).push([id, e]);
    }
    return groups;
  }

  async unchanged(entries: HashEntry[]): Promise<Set<string>> {
    const out = new Set<string>();
    if (entries.length === 0) return out;
    const groups = [...this.#group(entries)];
    const pipe = this.#redis.pipeline();
    for (const [bp, list] of groups) pipe.hmget(this.#hashKey(bp), ...list.map(([id]) => id));
    const replies = (await pipe.exec()) ?? [];
    const now = this.#now();
    groups.forEach(([, list], g) => {
      const [err, values] = replies[g] ?? [new Error('missing pipeline reply'), null];
      if (err) throw err;
      (values as Array<string | null>).forEach((stored, i) => {
        const entry = list[i]![1];
        if (fresh(stored, entry.hash, this.#maxAge, now)) out.add(entry.key);
      });
    });
    return out;
  }

  async remember(entries: HashEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const now = this.#now();
    const pipe = this.#redis.pipeline();
    for (const [bp, list] of this.#group(entries)) {
      const fields: string[] = [];
      for (const [id, e] of list) fields.push(id, encode(e.hash, now));
      pipe.hset(this.#hashKey(bp), ...fields);
    }
    await execOrThrow(pipe);
  }

  async forget(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const pipe = this.#redis.pipeline();
    for (const [bp, list] of this.#group(keys.map((key) => ({ key })))) pipe.hdel(this.#hashKey(bp), ...list.map(([id]) => id));
    await execOrThrow(pipe);
  }

  /** Deletes every hash under the prefix (SCAN, never FLUSH*). */
  async clear(): Promise<void> {
    await deleteByPattern(this.#redis, `${this.#prefix}:entity-hash:*`);
  }
}

// ---------------------------------------------------------------------------------------------------- run ledger

/** What a resync run produced, by blueprint. Stale deletion deletes owned entities the run did not produce. */
export interface RunLedger {
  markSeen(blueprint: string, identifiers: string[]): Promise<void>;
  seen(blueprint: string, identifier: string): Promise<boolean>;
  /** The identifiers (in input order) the run did not produce. */
  filterUnseen(blueprint: string, identifiers: string[]): Promise<string[]>;
  /** Blueprints with at least one produced entity. */
  blueprints(): Promise<string[]>;
  clear(): Promise<void>;
}

export class MemoryRunLedger implements RunLedger {
  readonly #seen = new Map<string, Set<string>>();

  async markSeen(blueprint: string, identifiers: string[]): Promise<void> {
    if (identifiers.length === 0) return;
    let set = this.#seen.get(blueprint);
    if (!set) this.#seen.set(blueprint, (set = new Set()));
    for (const id of identifiers) set.add(id);
  }

  async seen(blueprint: string, identifier: string): Promise<boolean> {
    return this.#seen.get(blueprint)?.has(identifier) ?? false;
  }

  async filterUnseen(blueprint: string, identifiers: string[]): Promise<string[]> {
    const set = this.#seen.get(blueprint);
    return set ? identifiers.filter((id) => !set.has(id)) : [...identifiers];
  }

  async blueprints(): Promise<string[]> {
    return [...this.#seen.keys()];
  }

  async clear(): Promise<void> {
    this.#seen.clear();
  }
}

export interface RedisRunLedgerOptions {
  redis: Redis;
  prefix: string;
  /** The resync run (e.g. the BullMQ flow's parent job id): every replica working on it shares this ledger. */
  runId: string;
  /** Keys expire after this long even if `clear()` is never called (default 7 days). */
  ttlSeconds?: number;
}

const CHUNK = 1000;

/** One Redis set per blueprint (`<prefix>:run:<runId>:seen:<blueprint>`) plus a set of the blueprints. */
export class RedisRunLedger implements RunLedger {
  readonly #redis: Redis;
  readonly #base: string;
  readonly #ttl: number;

  constructor(options: RedisRunLedgerOptions) {
    this.#redis = options.redis;
    this.#base = `${options.prefix}:run:${options.runId}`;
    this.#ttl = options.ttlSeconds ?? 7 * 24 * 3600;
  }

  #seenKey(blueprint: string): string {
    return `${this.#base}:seen:${blueprint}`;
  }

  get #blueprintsKey(): string {
    return `${this.#base}:blueprints`;
  }

  async markSeen(blueprint: string, identifiers: string[]): Promise<void> {
    if (identifiers.length === 0) return;
    const key = this.#seenKey(blueprint);
    const pipe = this.#redis.pipeline();
    for (let i = 0; i < identifiers.length; i += CHUNK) pipe.sadd(key, ...identifiers.slice(i, i + CHUNK));
    pipe.expire(key, this.#ttl);
    pipe.sadd(this.#blueprintsKey, blueprint);
    pipe.expire(this.#blueprintsKey, this.#ttl);
    await execOrThrow(pipe);
  }

  async seen(blueprint: string, identifier: string): Promise<boolean> {
    return (await this.#redis.sismember(this.#seenKey(blueprint), identifier)) === 1;
  }

  async filterUnseen(blueprint: string, identifiers: string[]): Promise<string[]> {
    if (identifiers.length === 0) return [];
    const key = this.#seenKey(blueprint);
    const pipe = this.#redis.pipeline();
    const chunks: string[][] = [];
    for (let i = 0; i < identifiers.length; i += CHUNK) chunks.push(identifiers.slice(i, i + CHUNK));
    for (const c of chunks) pipe.smismember(key, ...c);
    const replies = await execOrThrow(pipe);
    const out: string[] = [];
    chunks.forEach((c, ci) => {
      const flags = replies[ci] as number[];
      c.forEach((id, i) => {
        if (flags[i] !== 1) out.push(id);
      });
    });
    return out;
  }

  async blueprints(): Promise<string[]> {
    return this.#redis.smembers(this.#blueprintsKey);
  }

  async clear(): Promise<void> {
    const bps = await this.blueprints();
    await this.#redis.del(this.#blueprintsKey, ...bps.map((bp) => this.#seenKey(bp)));
  }
}

async function execOrThrow(pipe: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const replies = (await pipe.exec()) ?? [];
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

async function deleteByPattern(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
