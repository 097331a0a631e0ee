import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ResourceConfig } from '../config/appConfig.js';

/**
 * How far back an incremental pass reads before its cursor: server clock skew, items committed late. The same for the
 * CLI (`resync --incremental`) and cluster mode's incremental runs.
 */
export const INCREMENTAL_OVERLAP_MS = 10 * 60_000;

/**
 * Where the last completed pass of each organization × resource started, for incremental runs. The resource is named
 * by its index, kind and a hash of its whole config, so a changed selector or mapping has no cursor and is read whole.
 */
export interface ChangeCursors {
  get(organization: string, index: number, resource: ResourceConfig): Promise<Date | undefined>;
  /** Only after the resource's pass completed: a failed pass leaves the cursor where it was. */
  set(organization: string, index: number, resource: ResourceConfig, at: Date): Promise<void>;
  /** Every cursor, for `ado-sync status`. */
  list(): Promise<Array<{ organization: string; index: number; kind: string; at: Date }>>;
}

export function cursorField(organization: string, index: number, resource: ResourceConfig): string {
  const hash = createHash('sha1').update(JSON.stringify(resource)).digest('hex').slice(0, 12);
  return [organization, index, resource.kind, hash].join('\u0000');
}

function parseField(field: string, value: string): { organization: string; index: number; kind: string; at: Date } | undefined {
  const [organization, index, kind] = field.split('\u0000');
  const at = new Date(value);
  if (organization === undefined || kind === undefined || Number.isNaN(at.getTime())) return undefined;
  return { organization, index: Number(index), kind, at };
}

export class MemoryChangeCursors implements ChangeCursors {
  readonly #cursors = new Map<string, string>();

  async get(organization: string, index: number, resource: ResourceConfig): Promise<Date | undefined> {
    const v = this.#cursors.get(cursorField(organization, index, resource));
    return v ? new Date(v) : undefined;
  }

  async set(organization: string, index: number, resource: ResourceConfig, at: Date): Promise<void> {
    this.#cursors.set(cursorField(organization, index, resource), at.toISOString());
  }

  async list(): Promise<Array<{ organization: string; index: number; kind: string; at: Date }>> {
    return [...this.#cursors].flatMap(([f, v]) => parseField(f, v) ?? []);
  }
}

/** One Redis hash, `<prefix>:change-cursors`, beside the run ledger. */
export class RedisChangeCursors implements ChangeCursors {
  readonly #key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.#key = `${prefix}:change-cursors`;
  }

  async get(organization: string, index: number, resource: ResourceConfig): Promise<Date | undefined> {
    const v = await this.redis.hget(this.#key, cursorField(organization, index, resource));
    return v ? new Date(v) : undefined;
  }

  async set(organization: string, index: number, resource: ResourceConfig, at: Date): Promise<void> {
    await this.redis.hset(this.#key, cursorField(organization, index, resource), at.toISOString());
  }

  async list(): Promise<Array<{ organization: string; index: number; kind: string; at: Date }>> {
    return Object.entries(await this.redis.hgetall(this.#key)).flatMap(([f, v]) => parseField(f, v) ?? []);
  }
}
