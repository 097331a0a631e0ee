/**
 * Stale deletion against the Port simulator: the run's owned listing (OwnedSnapshot), the ledger of what it produced
 * (recordProduced, as the resync records every page) and PortCatalog's deletes.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { startPortSimulator, type PortSimulator } from '../simulators/port/index.js';
import { defaultBlueprints } from '../simulators/port/fixtures.js';
import { captureLogger, clientFor, project, repo, service } from '../simulators/port/testing.js';
import { PortCatalog } from '../../src/catalog/port/catalog.js';
import type { Entity } from '../../src/catalog/entity.js';
import { deleteStaleEntities, deletionWaves, type OwnedEntityRef, type StaleDeletionOptions } from '../../src/sync/staleDeletion.js';
import { OwnedSnapshot } from '../../src/sync/ownedSnapshot.js';
import { recordProduced } from '../../src/sync/produced.js';
import { MemoryEntityStateStore, MemoryRunLedger } from '../../src/sync/state.js';
import { userAgent } from '../../src/catalog/port/ownership.js';

const ID = 'test-instance';
const flags = { createMissingRelatedEntities: true, merge: true };
let now = Date.parse('2026-03-01T10:00:00Z');
let sim: PortSimulator;

beforeEach(async () => {
  now = Date.parse('2026-03-01T10:00:00Z');
  sim = await startPortSimulator({ blueprints: defaultBlueprints(), now: () => now });
});
afterEach(async () => {
  await sim.close();
});

/** Writes entities as this installation (through the real client), or as another writer's user agent. */
async function write(entities: Entity[], as: string = userAgent(ID, '1.0.0')): Promise<void> {
  for (const e of entities) sim.store.upsertEntity(e.blueprint, structuredClone(e), { ...flags, upsert: true, validationOnly: false }, as);
}

/** One resync's bookkeeping: the entities it produced are recorded in its ledger as the resync records every page. */
async function runLedger(produced: Entity[], catalog: PortCatalog) {
  const ledger = new MemoryRunLedger();
  await recordProduced(produced, 'org', { ledger, relationTargets: (bp) => catalog.relationTargets(bp) });
  return ledger;
}

function setup(opts: { adopt?: string; deleteDependentEntities?: boolean; id?: string } = {}) {
  const catalog = new PortCatalog(clientFor(sim, {}, undefined, opts.id ?? ID), { pageSize: 50, adoptOceanIdentifier: opts.adopt, deleteDependentEntities: opts.deleteDependentEntities });
  const logs = captureLogger('debug');
  const run = async (produced: Entity[], extra: Partial<StaleDeletionOptions> = {}) => {
    // The run starts after everything written so far.
    now += 1000;
    const ledger = await runLedger(produced, catalog);
    const snapshot = new OwnedSnapshot(ledger, catalog, logs.log);
    return deleteStaleEntities({
      blueprints: ['repository', 'project', 'service'],
      ledger,
      snapshot,
      catalog,
      complete: true,
      runStartedAt: new Date(now),
      deleteDependentEntities: opts.deleteDependentEntities,
      log: logs.log,
      ...extra,
    });
  };
  return { catalog, logs, run };
}

const ids = (bp: string) => sim.entities(bp).map((e) => e.identifier).sort();
const deletes = () => sim.requests.filter((r) => r.method === 'DELETE' || /\/bulk\/entities\/delete$/.test(r.path));

describe('deleteStaleEntities', () => {
  test('deletes owned entities of the synced blueprints that the run did not produce, says why and forgets their hashes', async () => {
    await write([repo('r1'), repo('r2'), repo('gone'), project('p1'), project('old-project')]);
    await write([repo('theirs')], userAgent('someone-else', '1.0.0'));
    const { run, logs } = setup();
    const state = new MemoryEntityStateStore();
    await state.remember([{ key: 'repository\u0000gone', hash: 'h' }]);
    const res = await run([repo('r1'), repo('r2'), project('p1')], { state });
    expect(res).toMatchObject({ deleted: 2, deletedByBlueprint: { repository: 1, project: 1 }, owned: 5, stale: 2, protected: 0, failed: [] });
    expect(res.skippedReason).toBeUndefined();
    expect(ids('repository')).toEqual(['r1', 'r2', 'theirs']);
    expect(ids('project')).toEqual(['p1']);
    expect(await state.unchanged([{ key: 'repository\u0000gone', hash: 'h' }])).toEqual(new Set());
    expect(logs.records()).toContainEqual(expect.objectContaining({ msg: 'deleted stale entities', blueprint: 'repository', deleted: 1 }));
    expect(logs.records()).toContainEqual(expect.objectContaining({ level: 'debug', identifiers: ['gone'] }));
  });

  test('does nothing when the run was incomplete, and logs why', async () => {
    await write([repo('r1'), repo('gone')]);
    const { run, logs } = setup();
    sim.clearRequests();
    const res = await run([repo('r1')], { complete: false, incompleteReason: 'resource 2 (pull-request) of org "acme" failed' });
    expect(res).toMatchObject({ deleted: 0, skippedReason: 'incomplete' });
    expect(sim.requests).toEqual([]);
    expect(logs.text()).toContain('resync was incomplete');
    expect(logs.text()).toContain('pull-request');
  });

  test('stops when the share to delete exceeds the threshold, and logs share and threshold', async () => {
    await write(Array.from({ length: 10 }, (_, i) => repo(`r${i}`)));
    const { run, logs } = setup();
    // 1 of 10 produced: 90 % to delete > 0.5.
    const res = await run([repo('r0')], { threshold: 0.5 });
    expect(res).toMatchObject({ deleted: 0, skippedReason: 'threshold', stale: 9, owned: 10 });
    expect(deletes()).toEqual([]);
    expect(logs.records()).toContainEqual(expect.objectContaining({ share: 0.9, threshold: 0.5 }));
    // An empty run (every item vanished, or a silent fetch bug) is stopped by the default threshold of 0.9.
    expect((await run([])).skippedReason).toBe('threshold');
    // Exactly at the threshold is allowed.
    expect(await run([repo('r0')], { threshold: 0.9 })).toMatchObject({ deleted: 9 });
  });

  test('the threshold counts every owned entity, also those the run rewrote (a Redis flush rewrites everything)', async () => {
    const all = Array.from({ length: 20 }, (_, i) => repo(`r${i}`));
    await write(all);
    const { run } = setup();
    // The run rewrote 18 of them (their $updatedAt is now after the run started) and no longer has 2.
    now += 1000;
    const started = new Date(now);
    now += 1000;
    await write(all.slice(0, 18));
    const res = await run(all.slice(0, 18), { runStartedAt: started, threshold: 0.2 });
    expect(res).toMatchObject({ owned: 20, stale: 2, deleted: 2 });
    expect(ids('repository')).toHaveLength(18);
  });

  test('keeps relation targets of produced entities, even when those were written during the run', async () => {
    await write([project('stub-project'), project('unrelated'), project('old-project'), repo('old', { relations: { project: 'old-project' } })]);
    now += 1000;
    const started = new Date(now);
    now += 1000;
    // Written in this run, after it started: a listing of entities older than the run would not see these relations.
    const produced = Array.from({ length: 10 }, (_, i) => repo(`r${i}`, { relations: { project: 'stub-project' } }));
    await write(produced);
    const { run } = setup();
    const res = await run(produced, { runStartedAt: started, threshold: 1 });
    expect(res.protected).toBe(1);
    expect(ids('project')).toEqual(['stub-project']);
    expect(ids('repository')).toEqual(produced.map((e) => e.identifier).sort());
  });

  test('a cascade never reaches a produced entity that relates to a stale one through a search query', async () => {
    await write([repo('stale-repo'), repo('kept')]);
    // The produced service names its repository by a search query; Port resolved it to "stale-repo".
    const byQuery: Entity = { ...service('svc', []), relations: { repositories: { combinator: 'and', rules: [{ property: '$identifier', operator: '=', value: 'stale-repo' }] } } };
    await write([{ ...service('svc', ['stale-repo']) }]);
    const { run } = setup({ deleteDependentEntities: true });
    const res = await run([byQuery, repo('kept')], { threshold: 1 });
    // Without a cascade Port refuses: the repository stays, the produced service too.
    expect(res).toMatchObject({ deleted: 0, stale: 1 });
    expect(res.failed).toEqual([expect.objectContaining({ blueprint: 'repository', identifier: 'stale-repo' })]);
    expect(ids('service')).toEqual(['svc']);
    const del = deletes();
    expect(del.length).toBeGreaterThan(0);
    for (const d of del) expect(d.query.delete_dependents).toBe('false');
  });

  test('with deleteDependentEntities and only identifier relations, stale entities are deleted with their dependents', async () => {
    await write([project('p-old'), repo('r-old', { relations: { project: 'p-old' } }), repo('keep')]);
    const { run } = setup({ deleteDependentEntities: true });
    const res = await run([repo('keep')], { threshold: 1 });
    expect(res.deleted).toBeGreaterThanOrEqual(1);
    expect(ids('project')).toEqual([]);
    expect(ids('repository')).toEqual(['keep']);
    expect(deletes().some((d) => d.query.delete_dependents === 'true')).toBe(true);
  });

  test('without deleteDependentEntities, referrers are deleted before what they relate to', async () => {
    await write([project('p-old'), repo('r-old', { relations: { project: 'p-old' } }), service('s-old', ['r-old']), repo('keep')]);
    const { run } = setup({ deleteDependentEntities: false });
    const res = await run([repo('keep')], { threshold: 1 });
    expect(res).toMatchObject({ deleted: 3, failed: [] });
    expect(deletes().map((d) => d.path.split('/')[3])).toEqual(['service', 'repository', 'project']);
  });

  test('an owned entity updated after the run started (a webhook) is kept', async () => {
    await write([repo('a'), repo('b')]);
    const started = new Date(now);
    now += 1000;
    await write([repo('c')]); // a webhook during the resync: the run never saw "c"
    const { run } = setup();
    const res = await run([repo('a'), repo('b')], { runStartedAt: started });
    expect(res).toMatchObject({ deleted: 0, owned: 3, stale: 0, protected: 1 });
    expect(ids('repository')).toEqual(['a', 'b', 'c']);
  });

  test("ownership is this worker's user agent exactly: an Ocean installation named like us is not ours", async () => {
    // The default identifier: Ocean's user agent then contains both "ado-catalog-sync/" and "/ado-catalog-sync/exporter".
    const id = 'ado-catalog-sync';
    await write([repo('ours-stale'), repo('ours')], userAgent(id, '0.1.0'));
    await write([repo('ocean')], `port-ocean/azure-devops/0.3.1/${id}/exporter`);
    await write([repo('other-instance')], `ado-catalog-sync/0.1.0/staging-${id}/exporter`);
    const { run } = setup({ id });
    const res = await run([repo('ours')], { threshold: 1 });
    expect(res).toMatchObject({ owned: 2, deleted: 1 });
    expect(ids('repository')).toEqual(['ocean', 'other-instance', 'ours']);
  });

  test('--adopt-ocean-entities counts the named Ocean installation\'s entities as owned', async () => {
    await write([repo('ours')]);
    await write([repo('ocean-kept'), repo('ocean-stale')], 'port-ocean/azure-devops/0.3.1/my-ocean/exporter');
    await write([repo('other-ocean')], 'port-ocean/azure-devops/0.3.1/other/exporter');
    await write([repo('other-type')], 'port-ocean/gitlab/0.3.1/my-ocean/exporter');
    const { run } = setup({ adopt: 'my-ocean' });
    const res = await run([repo('ours'), repo('ocean-kept')], { threshold: 1 });
    expect(res).toMatchObject({ owned: 3, stale: 1, deleted: 1 });
    expect(ids('repository')).toEqual(['ocean-kept', 'other-ocean', 'other-type', 'ours']);
  });

  test('a failed owned listing skips deletion as incomplete instead of reading "nothing owned"', async () => {
    await write([repo('r1'), repo('gone')]);
    const { run } = setup();
    sim.setFaults({ serverErrorEvery: 1 });
    const res = await run([repo('r1')], { threshold: 1 });
    sim.setFaults({ serverErrorEvery: 0 });
    expect(res).toMatchObject({ deleted: 0, skippedReason: 'incomplete' });
    expect(res.error).toMatch(/listing the owned entities failed/);
    expect(ids('repository')).toEqual(['gone', 'r1']);
  });

  test('deletionWaves puts a cycle in one last wave', () => {
    const ref = (identifier: string, relations: Record<string, unknown>): OwnedEntityRef => ({ blueprint: 'a', identifier, relations });
    const waves = deletionWaves([ref('x', { r: 'y' }), ref('y', { r: 'x' }), ref('z', { r: 'x' })]);
    expect(waves.map((w) => w.map((e) => e.identifier))).toEqual([['z'], ['x', 'y']]);
  });
});
