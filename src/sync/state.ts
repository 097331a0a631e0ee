/**
 * Run state kept between writes and across replicas:
 * - EntityStateStore: the content hash of each entity's last successful write, so unchanged entities are not re-sent;
 * - RunLedger: which (blueprint, identifier) a resync run produced and what those entities relate to, so stale deletion
 *   knows what is still wanted.
 * Both come in memory (one-shot CLI runs) and Redis (workers sharing a run) flavours.
 */
import type { Redis } from 'ioredis';
import { execOrThrow, MemoryRunSets, RedisRunSets, type RunSets } from './runSets.js';

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

/** Relation target ids of produced entities, keyed by target blueprint (`*` when the blueprint is not known). */
export type RelationTargets = Map<string, Set<string>>;

/** Any blueprint: a relation whose target blueprint could not be read from the blueprint definition. */
export const ANY_BLUEPRINT = '*';

/**
 * What a resync run produced, by blueprint, and what those entities relate to. Stale deletion deletes owned entities
 * the run did not produce, and never one a produced entity relates to.
 */
export class RunLedger {
  constructor(readonly sets: RunSets) {}

  static seenSet(blueprint: string): string {
    return `seen:${blueprint}`;
  }

  async markSeen(blueprint: string, identifiers: string[]): Promise<void> {
    if (identifiers.length === 0) return;
    await this.sets.addAll([
      [RunLedger.seenSet(blueprint), identifiers],
      ['blueprints', [blueprint]],
    ]);
  }

  /** Relation targets of produced entities, and the blueprints they relate to through search queries (unresolved). */
  async markRelations(targets: RelationTargets, unresolved: Iterable<string> = []): Promise<void> {
    const entries: Array<[string, string[]]> = [...targets].map(([bp, ids]) => [`targets:${bp}`, [...ids]]);
    const open = [...unresolved];
    if (open.length > 0) entries.push(['unresolved-targets', open]);
    await this.sets.addAll(entries);
  }

  async seen(blueprint: string, identifier: string): Promise<boolean> {
    return (await this.sets.has(RunLedger.seenSet(blueprint), [identifier]))[0] === true;
  }

  /** The identifiers (in input order) the run did not produce. */
  async filterUnseen(blueprint: string, identifiers: string[]): Promise<string[]> {
    const flags = await this.sets.has(RunLedger.seenSet(blueprint), identifiers);
    return identifiers.filter((_, i) => !flags[i]);
  }

  /** Those of `identifiers` (of `blueprint`) that a produced entity relates to. */
  async relationTargetsAmong(blueprint: string, identifiers: string[]): Promise<Set<string>> {
    const [exact, any] = await Promise.all([this.sets.has(`targets:${blueprint}`, identifiers), this.sets.has(`targets:${ANY_BLUEPRINT}`, identifiers)]);
    return new Set(identifiers.filter((_, i) => exact[i] || any[i]));
  }

  /** Whether a produced entity may relate to entities of `blueprint` through a search query (its target is unknown here). */
  async mayRelateBySearch(blueprint: string): Promise<boolean> {
    const [exact, any] = await this.sets.has('unresolved-targets', [blueprint, ANY_BLUEPRINT]);
    return exact === true || any === true;
  }

  /** Blueprints with at least one produced entity. */
  async blueprints(): Promise<string[]> {
    const out: string[] = [];
    for await (const chunk of this.sets.members('blueprints')) out.push(...chunk);
    return [...new Set(out)];
  }

  clear(): Promise<void> {
    return this.sets.clear();
  }
}

/** A ledger in this process's memory (a one-shot run without Redis). */
export class MemoryRunLedger extends RunLedger {
  constructor() {
    super(new MemoryRunSets());
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

/** A ledger in Redis (`<prefix>:run:<runId>:seen:<blueprint>`, …), shared by every worker of the run. */
export class RedisRunLedger extends RunLedger {
  constructor(o: RedisRunLedgerOptions) {
    super(new RedisRunSets({ redis: o.redis, base: `${o.prefix}:run:${o.runId}`, ttlSeconds: o.ttlSeconds ?? 7 * 24 * 3600 }));
  }
}

async function deleteByPattern(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
