import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { startPortSimulator, type PortSimulator } from '../simulators/port/index.js';
import { defaultBlueprints } from '../simulators/port/fixtures.js';
import { captureLogger, clientFor, repo } from '../simulators/port/testing.js';
import { PortSink } from '../../src/catalog/portSink.js';
import type { Entity, EntityOrigin } from '../../src/catalog/entity.js';
import { RedisEntityStateStore, RedisRunLedger } from '../../src/sync/state.js';
import { deleteStaleEntities, type StaleDeletionOptions } from '../../src/sync/staleDeletion.js';
import { OwnedSnapshot } from '../../src/sync/ownedSnapshot.js';
import { recordProduced } from '../../src/sync/produced.js';

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

/** One resync run as the sync layer drives it: the run's ledger and owned listing, the sink told what Port holds. */
function startRun(sink: PortSink, runId: string) {
  const ledger = new RedisRunLedger({ redis, prefix, runId });
  const snapshot = new OwnedSnapshot(ledger, sink.catalog, captureLogger().log);
  sink.usePresence(snapshot);
  const startedAt = new Date();
  return {
    ledger,
    snapshot,
    startedAt,
    /** Writes a page and records it, as every resource page is. */
    write: async (entities: Entity[]) => {
      const out = await sink.upsert(entities, origin);
      await recordProduced(entities, origin.organization, { ledger, relationTargets: (bp) => sink.catalog.relationTargets(bp) });
      return out;
    },
    finish: (extra: Partial<StaleDeletionOptions> = {}) =>
      deleteStaleEntities({
        blueprints: ['repository', 'project'],
        ledger,
        snapshot,
        catalog: sink.catalog,
        complete: true,
        runStartedAt: startedAt,
        log: captureLogger().log,
        ...extra,
      }),
  };
}

const bulkWrites = () => sim.requests.filter((r) => /\/entities\/bulk$/.test(r.path));

test('an item removed from Azure DevOps is deleted after the next complete resync; other owners are untouched', async () => {
  const state = new RedisEntityStateStore({ redis, prefix });
  const sink = new PortSink({ client: clientFor(sim), state });
  const repos = Array.from({ length: 10 }, (_, i) => repo(`r${i}`, { relations: { project: 'proj' } }));

  const run1 = startRun(sink, 'run-1');
  await run1.write(repos);
  await clientFor(sim, {}, undefined, 'someone-else').upsertEntities('repository', [repo('theirs')], { createMissingRelatedEntities: true, merge: true });
  expect(sim.entity('project', 'proj')).toBeDefined(); // stub created for the relation target

  // Run 2: r9 vanished from Azure DevOps; the rest is unchanged (and Port holds it), so nothing is even sent.
  const run2 = startRun(sink, 'run-2');
  sim.clearRequests();
  const out = await run2.write(structuredClone(repos.slice(0, 9)));
  expect(out).toEqual({ written: 0, unchanged: 9, failed: [] });
  expect(bulkWrites()).toHaveLength(0);

  const state2 = { forget: (keys: string[]) => state.forget(keys) };
  const res = await run2.finish({ state: state2 });
  expect(res).toMatchObject({ deleted: 1, deletedByBlueprint: { repository: 1 }, owned: 11, stale: 1, protected: 1, failed: [] });
  expect(sim.entity('repository', 'r9')).toBeUndefined();
  expect(sim.entity('repository', 'theirs')).toBeDefined();
  expect(sim.entity('project', 'proj')).toBeDefined();
  expect(sim.entities('repository')).toHaveLength(10);
  // Its hash is forgotten: if r9 comes back it is written again.
  const run3 = startRun(sink, 'run-3');
  expect(await run3.write([structuredClone(repos[9]!)])).toEqual({ written: 1, unchanged: 0, failed: [] });
});

test('an unchanged entity that Port lost (deleted by hand, or by a cascade) is written again in the same run', async () => {
  const state = new RedisEntityStateStore({ redis, prefix });
  const sink = new PortSink({ client: clientFor(sim), state });
  const repos = Array.from({ length: 5 }, (_, i) => repo(`r${i}`, { relations: { project: 'proj' } }));
  await startRun(sink, 'run-1').write(repos);
  // Behind the worker's back: one repository deleted by hand, and the project with its dependents (a cascade).
  sim.store.deleteEntities('repository', ['r0'], false);
  sim.store.deleteEntities('project', ['proj'], true);
  expect(sim.entities('repository')).toHaveLength(0);

  const run2 = startRun(sink, 'run-2');
  sim.clearRequests();
  const out = await run2.write(structuredClone(repos));
  // Their hashes are fresh, yet Port no longer holds them: every one is sent again (and the stub project recreated).
  expect(out).toEqual({ written: 5, unchanged: 0, failed: [] });
  expect(sim.entities('repository').map((e) => e.identifier).sort()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  expect(sim.entity('project', 'proj')).toBeDefined();
  expect(await run2.finish()).toMatchObject({ deleted: 0, stale: 0 });
});

test('after the entity hashes are lost (Redis flushed), every entity is rewritten and stale deletion still runs', async () => {
  const state = new RedisEntityStateStore({ redis, prefix });
  const sink = new PortSink({ client: clientFor(sim), state });
  const repos = Array.from({ length: 20 }, (_, i) => repo(`r${i}`));
  await startRun(sink, 'run-1').write(repos);
  await state.clear();

  const run2 = startRun(sink, 'run-2');
  expect(await run2.write(structuredClone(repos.slice(0, 18)))).toEqual({ written: 18, unchanged: 0, failed: [] });
  // 2 of 20 owned entities are stale, whatever the run rewrote: well under the threshold.
  const res = await run2.finish({ threshold: 0.2 });
  expect(res).toMatchObject({ owned: 20, stale: 2, deleted: 2 });
  expect(sim.entities('repository')).toHaveLength(18);
});

test('nothing is deleted when one resource failed, nor when the threshold would be crossed', async () => {
  const sink = new PortSink({ client: clientFor(sim) });
  await startRun(sink, 'run-1').write(Array.from({ length: 10 }, (_, i) => repo(`r${i}`)));
  const run2 = startRun(sink, 'run-2');
  await run2.write([repo('r0')]);
  sim.clearRequests();

  const incomplete = await run2.finish({ complete: false, incompleteReason: 'resource 1 failed' });
  expect(incomplete).toMatchObject({ deleted: 0, skippedReason: 'incomplete' });

  const overThreshold = await run2.finish({ threshold: 0.5 });
  expect(overThreshold).toMatchObject({ deleted: 0, skippedReason: 'threshold', stale: 9, owned: 10 });
  expect(sim.requests.filter((r) => /delete/.test(r.path) || r.method === 'DELETE')).toHaveLength(0);
  expect(sim.entities('repository')).toHaveLength(10);
});

test('entities written after the resync started (e.g. by a webhook) are not deleted', async () => {
  await sim.close();
  let now = Date.parse('2026-03-01T10:00:00Z');
  sim = await startPortSimulator({ blueprints: defaultBlueprints(), now: () => now });
  const sink = new PortSink({ client: clientFor(sim) });
  const run1 = startRun(sink, 'run-1');
  await run1.write([repo('a'), repo('b')]);
  now += 60_000;
  const startedAt = new Date(now);
  const run2 = startRun(sink, 'run-2');
  await run2.write([repo('a'), repo('b')]);
  now += 1_000;
  await sink.upsert([repo('c')], origin); // a webhook during the resync: the run never saw "c"
  const res = await run2.finish({ runStartedAt: startedAt });
  expect(res).toMatchObject({ deleted: 0, owned: 3, stale: 0 });
  expect(sim.entity('repository', 'c')).toBeDefined();
});
