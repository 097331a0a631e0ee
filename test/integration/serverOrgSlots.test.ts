import { afterAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { OrgSlots } from '../../src/queue/orgSlots.js';

describe('per-organization job slots (real Redis)', () => {
  const redis = new Redis('redis://127.0.0.1:6379');
  const prefix = `ado-sync:slots-unit-${process.pid}-${Date.now()}`;
  afterAll(async () => {
    await redis.del(`${prefix}:org-slots:a`, `${prefix}:org-slots:b`);
    await redis.quit();
  });

  it('admits up to the limit per organization, re-admits a holder, frees on release or lease expiry', async () => {
    const slots = new OrgSlots(redis, prefix, 2, 1000);
    const now = Date.now();
    expect(await slots.acquire('a', 'j1', now)).toBe(true);
    expect(await slots.acquire('a', 'j2', now)).toBe(true);
    expect(await slots.acquire('a', 'j3', now)).toBe(false);
    expect(await slots.acquire('a', 'j1', now)).toBe(true); // a retried job keeps its slot
    expect(await slots.acquire('b', 'j3', now)).toBe(true); // other organizations are separate
    const release = slots.hold('a', 'j2');
    await release();
    expect(await slots.acquire('a', 'j3', now)).toBe(true);
    // j1's and j3's leases lapse (a crashed replica): the slots come back.
    expect(await slots.acquire('a', 'j4', now + 5000)).toBe(true);
  });
});
