import type { Redis } from 'ioredis';
import type { RepositoryChanges } from '../kinds/types.js';

/** How long a push is remembered: far longer than any gap between incremental runs. */
const KEEP_MS = 30 * 86_400_000;

/**
 * The repositories Azure DevOps announced a push (or a repository event) for, with when: a Redis sorted set,
 * `<prefix>:changed-repositories`, member the repository id (a GUID, unique across organizations), score the time the
 * event was accepted. The server writes it as it accepts events; incremental runs read it to refresh only those
 * repositories' per-repository listings (branches).
 */
export class RedisRepositoryChanges implements RepositoryChanges {
  readonly #key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.#key = `${prefix}:changed-repositories`;
  }

  async mark(repositoryIds: string[], at = new Date()): Promise<void> {
    if (repositoryIds.length === 0) return;
    const pipe = this.redis.multi();
    pipe.zadd(this.#key, ...repositoryIds.flatMap((id) => [at.getTime(), id.toLowerCase()]));
    pipe.zremrangebyscore(this.#key, '-inf', at.getTime() - KEEP_MS);
    await pipe.exec();
  }

  async since(since: Date): Promise<Set<string> | undefined> {
    // No journal at all: this installation has never accepted a push, so it cannot say what did not change.
    if ((await this.redis.exists(this.#key)) === 0) return undefined;
    return new Set(await this.redis.zrangebyscore(this.#key, since.getTime(), '+inf'));
  }
}
