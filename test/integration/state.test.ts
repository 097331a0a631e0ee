import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  MemoryEntityStateStore,
  MemoryRunLedger,
  RedisEntityStateStore,
  RedisRunLedger,
  type EntityStateStore,
  type RunLedger,
} from '../../src/sync/state.js';
import { entityKey, type Entity } from '../../src/catalog/entity.js';
import { entityText } from '../../src/catalog/port/index.js';
import { textHash } from '../../src/catalog/port/hash.js';

let redis: Redis;
const prefixes: string[] = [];
const newPrefix = () => {
  const p = `test:state:${randomBytes(6).toString('hex')}`;
  prefixes.push(p);
  return p;
};

beforeAll(() => {
  redis = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  for (const p of prefixes) {
    const keys = await redis.keys(`${p}:*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  await redis.quit();
});

const k = (bp: string, id: string) => entityKey({ blueprint: bp, identifier: id })!;

describe('entity text and hash', () => {
  test('the text is the bulk item as sent: no blueprint, undefined fields left out, key order kept', () => {
    const e = { identifier: 'x', title: undefined, blueprint: 'b', properties: { z: 1, a: [2, 1] }, relations: { p: 'q' } };
    expect(entityText(e)).toBe('{"identifier":"x","properties":{"z":1,"a":[2,1]},"relations":{"p":"q"}}');
  });

  test('the hash follows the text: equal for equal content, different for any changed value', () => {
    const e = { identifier: 'x', blueprint: 'b', properties: { a: 1, b: 2 }, relations: {} };
    const h = (x: Entity) => textHash(entityText(x));
    expect(h(e)).toBe(h({ identifier: 'x', blueprint: 'b', properties: { a: 1, b: 2 }, relations: {} }));
    expect(h(e)).not.toBe(h({ ...e, properties: { a: 1, b: 3 } }));
    expect(h(e)).not.toBe(h({ ...e, properties: { a: 1, b: 2, c: null } }));
    expect(h(e)).toMatch(/^[0-9a-f]{40}$/);
  });

  test('the hash is the hex SHA-1 of the text, so hashes stored by earlier versions still match', () => {
    // FIPS 180 test vectors: "abc" and the empty message.
    expect(textHash('abc')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(textHash('')).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
    // Non-ASCII text is hashed as UTF-8, as createHash().update(text) did.
    expect(textHash('é')).toBe(createHash('sha1').update(Buffer.from('é', 'utf8')).digest('hex'));
  });
});

const stores: Array<[string, (now: () => number) => EntityStateStore]> = [
  ['memory', (now) => new MemoryEntityStateStore({ now, maxAgeSeconds: 3600 })],
  ['redis', (now) => new RedisEntityStateStore({ redis, prefix: newPrefix(), now, maxAgeSeconds: 3600 })],
];

describe.each(stores)('%s EntityStateStore', (_name, make) => {
  test('unchanged / remember / forget, across blueprints', async () => {
    let now = 1_700_000_000_000;
    const store = make(() => now);
    const a = { key: k('repo', 'a'), hash: 'h1' };
    const b = { key: k('project', 'b'), hash: 'h2' };
    expect(await store.unchanged([a, b])).toEqual(new Set());
    await store.remember([a, b]);
    expect(await store.unchanged([a, b, { key: k('repo', 'c'), hash: 'h3' }])).toEqual(new Set([a.key, b.key]));
    expect(await store.unchanged([{ ...a, hash: 'other' }])).toEqual(new Set());
    await store.forget([a.key]);
    expect(await store.unchanged([a, b])).toEqual(new Set([b.key]));
    // Identifiers may contain ':' and '/'; blueprints are kept apart.
    const odd = { key: k('repo', 'org/proj:repo'), hash: 'h4' };
    await store.remember([odd]);
    expect(await store.unchanged([odd, { key: k('project', 'org/proj:repo'), hash: 'h4' }])).toEqual(new Set([odd.key]));
    // Older than maxAge: treated as changed, so the entity is sent again.
    now += 3601 * 1000;
    expect(await store.unchanged([b, odd])).toEqual(new Set());
  });
});

const ledgers: Array<[string, () => RunLedger]> = [
  ['memory', () => new MemoryRunLedger()],
  ['redis', () => new RedisRunLedger({ redis, prefix: newPrefix(), runId: 'run-1' })],
];

describe.each(ledgers)('%s RunLedger', (_name, make) => {
  test('records what a run produced, per blueprint', async () => {
    const ledger = make();
    expect(await ledger.blueprints()).toEqual([]);
    expect(await ledger.filterUnseen('repo', ['a', 'b'])).toEqual(['a', 'b']);
    await ledger.markSeen('repo', ['a', 'c']);
    await ledger.markSeen('repo', ['c', 'd']);
    await ledger.markSeen('project', ['a']);
    await ledger.markSeen('empty', []);
    expect(await ledger.seen('repo', 'a')).toBe(true);
    expect(await ledger.seen('repo', 'b')).toBe(false);
    expect(await ledger.seen('project', 'c')).toBe(false);
    expect(await ledger.filterUnseen('repo', ['a', 'b', 'c', 'd', 'e'])).toEqual(['b', 'e']);
    expect((await ledger.blueprints()).sort()).toEqual(['project', 'repo']);
    await ledger.clear();
    expect(await ledger.blueprints()).toEqual([]);
    expect(await ledger.seen('repo', 'a')).toBe(false);
  });

  test('handles more identifiers than one pipeline chunk', async () => {
    const ledger = make();
    const ids = Array.from({ length: 2500 }, (_, i) => `id-${i}`);
    await ledger.markSeen('repo', ids.filter((_, i) => i % 2 === 0));
    const unseen = await ledger.filterUnseen('repo', ids);
    expect(unseen).toHaveLength(1250);
    expect(unseen[0]).toBe('id-1');
    await ledger.clear();
  });
});

test('Redis ledgers of different runs are independent and expire', async () => {
  const prefix = newPrefix();
  const run1 = new RedisRunLedger({ redis, prefix, runId: 'r1', ttlSeconds: 120 });
  const run2 = new RedisRunLedger({ redis, prefix, runId: 'r2' });
  await run1.markSeen('repo', ['a']);
  expect(await run2.seen('repo', 'a')).toBe(false);
  const ttl = await redis.ttl(`${prefix}:run:r1:seen:repo`);
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(120);
  await run1.clear();
});
