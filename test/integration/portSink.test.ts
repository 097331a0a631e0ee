import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { startPortSimulator, type PortSimulator } from '../simulators/port/index.js';
import { defaultBlueprints } from '../simulators/port/fixtures.js';
import { captureLogger, clientFor, project, repo, service } from '../simulators/port/testing.js';
import { PortSink, dependencyLevels } from '../../src/catalog/portSink.js';
import { MemoryEntityStateStore, MemoryRunLedger, RedisEntityStateStore } from '../../src/sync/state.js';
import { OwnedSnapshot } from '../../src/sync/ownedSnapshot.js';
import type { EntityOrigin } from '../../src/catalog/entity.js';
import type { CatalogSink } from '../../src/catalog/sink.js';

const origin: EntityOrigin = { organization: 'org', resourceIndex: 0, kind: 'repository' };
const upserts = (sim: PortSimulator) => sim.requests.filter((r) => r.method === 'POST' && /\/entities(\/bulk)?$/.test(r.path));
const sentIds = (sim: PortSimulator) =>
  upserts(sim).flatMap((r) => ((r.body as { entities?: Array<{ identifier: string }> }).entities ?? [r.body as { identifier: string }]).map((e) => e.identifier));

let sim: PortSimulator;
let redis: Redis;

beforeAll(() => {
  redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: false, maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  await redis.quit();
});
beforeEach(async () => {
  sim = await startPortSimulator({ blueprints: defaultBlueprints() });
});
afterEach(async () => {
  await sim.close();
});

/** What a resync gives its sink: the run's listing of the entities Port holds as this instance's. */
const heldBy = (sink: PortSink) => new OwnedSnapshot(new MemoryRunLedger(), sink.catalog, captureLogger().log);

describe('PortSink', () => {
  test('satisfies CatalogSink and writes entities with relations (stubs for missing targets by default)', async () => {
    const sink: CatalogSink = new PortSink({ client: clientFor(sim) });
    const out = await sink.upsert([repo('r1', { relations: { project: 'p-not-yet' } }), repo('r2')], origin);
    expect(out).toEqual({ written: 2, unchanged: 0, failed: [] });
    expect(sim.entity('project', 'p-not-yet')).toMatchObject({ identifier: 'p-not-yet', properties: {} });
    expect(upserts(sim)[0]!.query).toMatchObject({ create_missing_related_entities: 'true', merge: 'true', upsert: 'true' });
    expect(await sink.flush()).toEqual({ written: 0, unchanged: 0, failed: [] });
  });

  test('enableMergeEntity keeps properties written by an earlier resource; off replaces the entity', async () => {
    const merging = new PortSink({ client: clientFor(sim) });
    await merging.upsert([project('p1', { properties: { state: 'wellFormed', visibility: 'private' } })], origin);
    await merging.upsert([project('p1', { properties: { revision: 7 } })], origin);
    expect(sim.entity('project', 'p1')!.properties).toEqual({ state: 'wellFormed', visibility: 'private', revision: 7 });

    const replacing = new PortSink({ client: clientFor(sim), enableMergeEntity: false });
    await replacing.upsert([project('p1', { properties: { revision: 8 } })], origin);
    expect(sim.entity('project', 'p1')!.properties).toEqual({ revision: 8 });
  });

  test('an entity whose relation target is missing is retried at flush, after the target was written', async () => {
    const sink = new PortSink({ client: clientFor(sim), createMissingRelatedEntities: false });
    const first = await sink.upsert([repo('r1', { relations: { project: 'p1' } }), repo('r2')], origin);
    expect(first).toEqual({ written: 1, unchanged: 0, failed: [] });
    expect(sink.pendingCount).toBe(1);
    expect(sim.entity('repository', 'r1')).toBeUndefined();

    expect((await sink.upsert([project('p1')], { ...origin, kind: 'project' })).written).toBe(1);
    const flushed = await sink.flush();
    expect(flushed).toEqual({ written: 1, unchanged: 0, failed: [] });
    expect(sim.entity('repository', 'r1')).toMatchObject({ relations: { project: 'p1' } });
    expect(sink.pendingCount).toBe(0);
  });

  test('waiting entities are retried in dependency order; a target that never comes is reported failed', async () => {
    const sink = new PortSink({ client: clientFor(sim), createMissingRelatedEntities: false });
    // service → repository → project, all written before their targets exist.
    const out = await sink.upsert(
      [service('svc', ['r1']), repo('r1', { relations: { project: 'p1' } }), repo('orphan', { relations: { project: 'never' } })],
      origin,
    );
    expect(out.written).toBe(0);
    expect(sink.pendingCount).toBe(3);
    await sink.upsert([project('p1')], origin);
    sim.clearRequests();

    const flushed = await sink.flush();
    expect(flushed.written).toBe(2);
    expect(flushed.failed).toHaveLength(1);
    expect(flushed.failed[0]!.entity.identifier).toBe('orphan');
    expect(flushed.failed[0]!.error).toMatch(/relation target still missing.*never/);
    // r1 goes out (with the orphan) before svc, so nothing is refused twice apart from the orphan.
    const order = sentIds(sim);
    expect(order.indexOf('r1')).toBeLessThan(order.indexOf('svc'));
    // The orphan is refused in pass 1 (which made progress) and pass 2 (which did not, so retries stop there).
    expect(sim.requests.filter((r) => r.status === 207)).toHaveLength(2);
    expect(sim.entity('service', 'svc')).toMatchObject({ relations: { repositories: ['r1'] } });
  });

  test('dependency levels: chains ordered, cycles fall back to one unordered level', () => {
    const items = [service('s', ['r']), repo('r', { relations: { project: 'p' } }), project('p')].map((entity) => ({ entity }));
    expect(dependencyLevels(items).map((l) => l.map((i) => i.entity.identifier))).toEqual([['p'], ['r'], ['s']]);
    const cycle = [repo('a', { relations: { project: 'b' } }), project('b', { relations: { x: 'a' } }), project('c')].map((entity) => ({ entity }));
    expect(dependencyLevels(cycle).map((l) => l.map((i) => i.entity.identifier))).toEqual([['c'], ['a', 'b']]);
  });

  test('other refusals are reported at once, not retried', async () => {
    const sink = new PortSink({ client: clientFor(sim) });
    const out = await sink.upsert([repo('bad', { properties: { url: 'https://x.example', size: 'huge' } }), repo('good')], origin);
    expect(out.written).toBe(1);
    expect(out.failed).toEqual([{ entity: expect.objectContaining({ identifier: 'bad' }), error: expect.stringMatching(/HTTP 422 invalid_request/) }]);
    expect(sink.pendingCount).toBe(0);
  });

  test('with a memory state store a second write of unchanged entities sends zero upserts', async () => {
    const state = new MemoryEntityStateStore();
    const sink = new PortSink({ client: clientFor(sim), state });
    const batch = Array.from({ length: 30 }, (_, i) => repo(`r${i}`));
    expect(await sink.upsert(batch, origin)).toEqual({ written: 30, unchanged: 0, failed: [] });
    // Without knowing what Port holds (a live event), nothing is skipped.
    expect(await sink.upsert(structuredClone(batch), origin)).toEqual({ written: 30, unchanged: 0, failed: [] });
    sink.usePresence(heldBy(sink));
    const before = upserts(sim).length;
    expect(await sink.upsert(structuredClone(batch), origin)).toEqual({ written: 0, unchanged: 30, failed: [] });
    expect(upserts(sim).length).toBe(before);

    // Key order does not matter; a real change is sent.
    const reordered = batch.map((e) => ({ relations: e.relations, properties: { ...e.properties }, title: e.title, blueprint: e.blueprint, identifier: e.identifier }));
    reordered[3]!.properties.size = 99;
    expect(await sink.upsert(reordered, origin)).toEqual({ written: 1, unchanged: 29, failed: [] });
    expect(sentIds(sim).slice(-1)).toEqual(['r3']);
  });

  test('a failed write is not remembered, so it is sent again', async () => {
    const state = new MemoryEntityStateStore();
    const sink = new PortSink({ client: clientFor(sim), state, createMissingRelatedEntities: false });
    const e = repo('r1', { relations: { project: 'p1' } });
    await sink.upsert([e], origin);
    expect((await sink.flush()).failed).toHaveLength(1);
    expect(state.size).toBe(0);
    await sink.upsert([project('p1')], origin);
    expect(await sink.upsert([structuredClone(e)], origin)).toEqual({ written: 1, unchanged: 0, failed: [] });
  });

  test('with a Redis state store a second sink (another replica or run) skips unchanged entities', async () => {
    const prefix = `test:portsink:${randomBytes(6).toString('hex')}`;
    const state = new RedisEntityStateStore({ redis, prefix });
    try {
      const batch = Array.from({ length: 25 }, (_, i) => repo(`r${i}`));
      await new PortSink({ client: clientFor(sim), state }).upsert(batch, origin);
      sim.clearRequests();
      const second = new PortSink({ client: clientFor(sim), state });
      second.usePresence(heldBy(second));
      const again = await second.upsert(structuredClone(batch), origin);
      expect(again).toEqual({ written: 0, unchanged: 25, failed: [] });
      expect(upserts(sim)).toHaveLength(0);
    } finally {
      await state.clear();
    }
    expect(await redis.keys(`${prefix}:*`)).toEqual([]);
  });

  test('a token expiring and a 429 storm during a run lose nothing', async () => {
    sim.setFaults({ throttleEvery: 2, retryAfterSeconds: 0 });
    const client = clientFor(sim, { concurrency: 3 });
    const sink = new PortSink({ client, createMissingRelatedEntities: false });
    const projects = Array.from({ length: 50 }, (_, i) => project(`p${i}`));
    const repos = Array.from({ length: 100 }, (_, i) => repo(`r${i}`, { relations: { project: `p${i % 50}` } }));
    const a = await sink.upsert(repos.slice(0, 50), origin); // all wait: no project yet
    sim.expireTokens();
    const b = await sink.upsert(projects, origin);
    sim.expireTokens();
    const c = await sink.upsert(repos.slice(50), origin);
    const f = await sink.flush();
    expect(a.written + b.written + c.written + f.written).toBe(150);
    expect([...a.failed, ...b.failed, ...c.failed, ...f.failed]).toEqual([]);
    expect(sim.entities('repository')).toHaveLength(100);
    expect(sim.entities('project')).toHaveLength(50);
    expect(client.stats.throttled).toBeGreaterThan(0);
    expect(client.stats.tokenRefreshesAfter401).toBeGreaterThanOrEqual(1);
  });
});
