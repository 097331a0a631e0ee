/**
 * Per-organization cap on resource jobs running at once across the cluster: a Redis sorted set of holders
 * (member = job id, score = lease expiry). A holder refreshes its lease while it runs; a crashed replica's lease lapses,
 * so its slot comes back without anyone releasing it.
 */
import type { Redis } from 'ioredis';

const ACQUIRE = `redis.call('zremrangebyscore', KEYS[1], '-inf', ARGV[1])
if redis.call('zscore', KEYS[1], ARGV[3]) or redis.call('zcard', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('zadd', KEYS[1], ARGV[2], ARGV[3])
  redis.call('pexpire', KEYS[1], ARGV[5])
  return 1
end
return 0`;

export class OrgSlots {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limit: number,
    private readonly leaseMs: number,
  ) {}

  #key(org: string): string {
    return `${this.prefix}:org-slots:${org}`;
  }

  async acquire(org: string, holder: string, now = Date.now()): Promise<boolean> {
    const r = await this.redis.eval(ACQUIRE, 1, this.#key(org), now, now + this.leaseMs, holder, this.limit, this.leaseMs * 2);
    return r === 1;
  }

  /** Holds the slot until the returned function is called (refreshing the lease meanwhile). */
  hold(org: string, holder: string): () => Promise<void> {
    const timer = setInterval(() => {
      this.redis.zadd(this.#key(org), Date.now() + this.leaseMs, holder).catch(() => undefined);
    }, Math.max(100, Math.floor(this.leaseMs / 3)));
    timer.unref();
    return async () => {
      clearInterval(timer);
      await this.redis.zrem(this.#key(org), holder).catch(() => undefined);
    };
  }
}
