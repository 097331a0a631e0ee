import type { Redis } from 'ioredis';

/** Deletes every key matching the pattern (SCAN, so a shared Redis is not blocked), e.g. `ado-sync:<id>:*`. */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}
