import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { startPortSimulator, type PortSimulator } from '../simulators/port/index.js';
import { defaultBlueprints } from '../simulators/port/fixtures.js';
import { captureLogger, clientFor, repo } from '../simulators/port/testing.js';
import { PortSink } from '../../src/catalog/portSink.js';
import type { Entity, EntityOrigin } from '../../src/catalog/entity.js';
import { RedisEntityStateStore, RedisRunLedger, type RunLedger } from '../../src/sync/state.js';
import { deleteStaleEntities, type StaleDeletionCatalog } from '../../src/sync/staleDeletion.js';

const origin: EntityOrigin = { organization: 'org', resourceIndex: 0, kind: 'repository' };
let sim: PortSimulator;
let redis: Redis;
let prefix: string;

beforeAll(() => {
  redis = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  await redis.quit();
});
beforeEach(async () => {
  sim = await startPortSimulator({ blueprints: defaultBlueprints() });
  prefix = `test:stale:${randomBytes(6).toString('hex')}`;
});
afterEach(async () => {
  await sim.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
});

/** What the sync layer does per page: write, then record the produced entities in the run ledger. */
async function run(sink: PortSink, ledger: RunLedger, entities: Entity[]) {
  const out = await sink.upsert(entities, origin);
  await ledger.markSeen('repository', entities.map((e) => e.identifier as string));
  return out;
}

test('an item removed from Azure DevOps is deleted after the next complete resync; other owners are untouched', async () => {
  const state = new RedisEntityStateStore({ redis, prefix });
  const sink = new PortSink({ client: clientFor(sim), state });
  const catalog: StaleDeletionCatalog = sink.catalog;
  const repos = Array.from({ length: 10 }, (_, i) => repo(`r${i}`, { relations: { project: 'proj' } }));

  const run1 = new RedisRunLedger({ redis, prefix, runId: 'run-1' });
  await run(sink, run1, repos);
  await clientFor(sim, {}, undefined, 'someone-else').upsertEntities('repository', [repo('theirs')], { createMissingRelatedEntities: true, merge: true });
  expect(sim.entity('project', 'proj')).toBeDefined(); // stub created for the relation target

  // Run 2: r9 vanished from Azure DevOps; the rest is unchanged, so nothing is even sent.
  const run2 = new RedisRunLedger({ redis, prefix, runId: 'run-2' });
  const startedAt = new Date();
  sim.clearRequests();
  const out = await run(sink, run2, structuredClone(repos.slice(0, 9)));
  expect(out).toEqual({ written: 0, unchanged: 9, failed: [] });
  expect(sim.requests.filter((r) => /\/entities\/bulk$/.test(r.path))).toHaveLength(0);

  const logs = captureLogger('debug');
  const res = await deleteStaleEntities({
    blueprints: ['repository', 'project'],
    ledger: run2,
    catalog,
    complete: true,
    runStartedAt: startedAt,
    state,
    log: logs.log,
  });
  expect(res).toMatchObject({ deleted: 1, deletedByBlueprint: { repository: 1 }, owned: 11, stale: 1, protected: 1, failed: [] });
  expect(sim.entity('repository', 'r9')).toBeUndefined();
  expect(sim.entity('repository', 'theirs')).toBeDefined();
  expect(sim.entity('project', 'proj')).toBeDefined();
  expect(sim.entities('repository')).toHaveLength(10);
  expect(logs.records()).toContainEqual(expect.objectContaining({ level: 20, blueprint: 'repository', identifiers: ['r9'] }));
  // Its hash is forgotten: if r9 comes back it is written again.
  const run3 = new RedisRunLedger({ redis, prefix, runId: 'run-3' });
  expect(await run(sink, run3, [structuredClone(repos[9]!)])).toEqual({ written: 1, unchanged: 0, failed: [] });
});

test('nothing is deleted when one resource failed, nor when the threshold would be crossed', async () => {
  const sink = new PortSink({ client: clientFor(sim) });
  const run1 = new RedisRunLedger({ redis, prefix, runId: 'run-1' });
  await run(sink, run1, Array.from({ length: 10 }, (_, i) => repo(`r${i}`)));
  const run2 = new RedisRunLedger({ redis, prefix, runId: 'run-2' });
  await run(sink, run2, [repo('r0')]);
  sim.clearRequests();

  const incomplete = await deleteStaleEntities({
    blueprints: ['repository'],
    ledger: run2,
    catalog: sink.catalog,
    complete: false,
    incompleteReason: 'resource 1 failed',
    log: captureLogger().log,
  });
  expect(incomplete).toMatchObject({ deleted: 0, skippedReason: 'incomplete' });

  const overThreshold = await deleteStaleEntities({ blueprints: ['repository'], ledger: run2, catalog: sink.catalog, complete: true, threshold: 0.5, log: captureLogger().log });
  expect(overThreshold).toMatchObject({ deleted: 0, skippedReason: 'threshold', stale: 9, owned: 10 });
  expect(sim.requests.filter((r) => /delete/.test(r.path) || r.method === 'DELETE')).toHaveLength(0);
  expect(sim.entities('repository')).toHaveLength(10);
});

test('entities written after the resync started (e.g. by a webhook) are not deleted', async () => {
  await sim.close();
  let now = Date.parse('2026-03-01T10:00:00Z');
  sim = await startPortSimulator({ blueprints: defaultBlueprints(), now: () => now });
  const sink = new PortSink({ client: clientFor(sim) });
  const ledger = new RedisRunLedger({ redis, prefix, runId: 'run-1' });
  await run(sink, ledger, [repo('a'), repo('b')]);
  now += 60_000;
  const startedAt = new Date(now);
  now += 1_000;
  await sink.upsert([repo('c')], origin); // a webhook during the resync: the run never saw "c"
  const res = await deleteStaleEntities({ blueprints: ['repository'], ledger, catalog: sink.catalog, complete: true, runStartedAt: startedAt, log: captureLogger().log });
  expect(res).toMatchObject({ deleted: 0, owned: 2 });
  expect(sim.entity('repository', 'c')).toBeDefined();
  expect(sim.requestsTo('POST', '/v1/blueprints/repository/entities/search')[0]!.body).toMatchObject({
    query: { rules: expect.arrayContaining([{ property: '$updatedAt', operator: '<', value: '2026-03-01T10:01:00.000Z' }]) },
  });
});
