import { describe, expect, test } from '@jest/globals';
import { deleteStaleEntities, deletionWaves, type OwnedEntityRef, type StaleDeletionCatalog } from '../../src/sync/staleDeletion.js';
import { MemoryEntityStateStore, MemoryRunLedger } from '../../src/sync/state.js';
import { captureLogger } from '../simulators/port/testing.js';

/** An in-memory owned catalog recording delete calls. */
class FakeCatalog implements StaleDeletionCatalog {
  calls: Array<{ blueprint: string; ids: string[] }> = [];
  listed: Array<{ blueprint: string; updatedBefore?: Date }> = [];
  constructor(
    public owned: OwnedEntityRef[],
    private targets: Record<string, Record<string, string>> = {},
  ) {}
  async *listOwned(blueprint: string, opts?: { updatedBefore?: Date }) {
    this.listed.push({ blueprint, updatedBefore: opts?.updatedBefore });
    for (const e of this.owned) if (e.blueprint === blueprint) yield e;
  }
  async delete(blueprint: string, ids: string[]) {
    this.calls.push({ blueprint, ids });
    this.owned = this.owned.filter((e) => !(e.blueprint === blueprint && ids.includes(e.identifier)));
    return { deleted: ids, failed: [] };
  }
  async relationTargets(blueprint: string) {
    return this.targets[blueprint] ?? {};
  }
}

const ref = (blueprint: string, identifier: string, relations: Record<string, unknown> = {}): OwnedEntityRef => ({ blueprint, identifier, relations });

async function ledgerWith(seen: Record<string, string[]>) {
  const ledger = new MemoryRunLedger();
  for (const [bp, ids] of Object.entries(seen)) await ledger.markSeen(bp, ids);
  return ledger;
}

describe('deleteStaleEntities', () => {
  test('deletes owned entities of the synced blueprints that the run did not produce, and says why', async () => {
    const catalog = new FakeCatalog([
      ref('repo', 'r1'),
      ref('repo', 'r2'),
      ref('repo', 'gone'),
      ref('project', 'p1'),
      ref('project', 'old-project'),
      ref('other', 'not-synced'),
    ]);
    const ledger = await ledgerWith({ repo: ['r1', 'r2'], project: ['p1'] });
    const logs = captureLogger('debug');
    const state = new MemoryEntityStateStore();
    await state.remember([{ key: 'repo\u0000gone', hash: 'h' }]);
    const started = new Date('2026-01-01T00:00:00Z');
    const res = await deleteStaleEntities({ blueprints: ['repo', 'project'], ledger, catalog, complete: true, log: logs.log, state, runStartedAt: started });
    expect(res).toMatchObject({ deleted: 2, deletedByBlueprint: { repo: 1, project: 1 }, owned: 5, stale: 2, protected: 0, failed: [] });
    expect(res.skippedReason).toBeUndefined();
    expect(catalog.calls).toEqual([
      { blueprint: 'repo', ids: ['gone'] },
      { blueprint: 'project', ids: ['old-project'] },
    ]);
    expect(catalog.listed.every((l) => l.updatedBefore === started)).toBe(true);
    expect(await state.unchanged([{ key: 'repo\u0000gone', hash: 'h' }])).toEqual(new Set());
    const records = logs.records();
    expect(records).toContainEqual(expect.objectContaining({ msg: 'deleted stale entities', blueprint: 'repo', deleted: 1 }));
    expect(records).toContainEqual(expect.objectContaining({ level: 20, identifiers: ['gone'] }));
  });

  test('does nothing when the run was incomplete, and logs why', async () => {
    const catalog = new FakeCatalog([ref('repo', 'r1'), ref('repo', 'gone')]);
    const logs = captureLogger();
    const res = await deleteStaleEntities({
      blueprints: ['repo'],
      ledger: await ledgerWith({ repo: ['r1'] }),
      catalog,
      complete: false,
      incompleteReason: 'resource 2 (pull-request) of org "acme" failed',
      log: logs.log,
    });
    expect(res).toMatchObject({ deleted: 0, skippedReason: 'incomplete' });
    expect(catalog.listed).toEqual([]);
    expect(catalog.calls).toEqual([]);
    expect(logs.text()).toContain('resync was incomplete');
    expect(logs.text()).toContain('pull-request');
  });

  test('stops when the share to delete exceeds the threshold, and logs share and threshold', async () => {
    const owned = Array.from({ length: 10 }, (_, i) => ref('repo', `r${i}`));
    const logs = captureLogger();
    const catalog = new FakeCatalog(owned);
    // 1 of 10 produced: 90 % to delete > 0.5.
    const res = await deleteStaleEntities({ blueprints: ['repo'], ledger: await ledgerWith({ repo: ['r0'] }), catalog, complete: true, threshold: 0.5, log: logs.log });
    expect(res).toMatchObject({ deleted: 0, skippedReason: 'threshold', stale: 9, owned: 10 });
    expect(catalog.calls).toEqual([]);
    expect(logs.records()).toContainEqual(expect.objectContaining({ share: 0.9, threshold: 0.5 }));

    // An empty run (every item vanished, or a silent fetch bug) is stopped by the default threshold of 0.9.
    const empty = await deleteStaleEntities({ blueprints: ['repo'], ledger: new MemoryRunLedger(), catalog, complete: true, log: logs.log });
    expect(empty.skippedReason).toBe('threshold');

    // Exactly at the threshold is allowed.
    const atLimit = await deleteStaleEntities({ blueprints: ['repo'], ledger: await ledgerWith({ repo: ['r0'] }), catalog, complete: true, threshold: 0.9, log: logs.log });
    expect(atLimit).toMatchObject({ deleted: 9 });
  });

  test('keeps relation targets of produced entities (e.g. stubs made by createMissingRelatedEntities)', async () => {
    const catalog = new FakeCatalog(
      [
        ref('repo', 'r1', { project: 'stub-project', teams: ['t1', 't2'] }),
        ref('project', 'stub-project'),
        ref('project', 'unrelated'),
        ref('repo', 'old', { project: 'old-project' }),
        ref('project', 'old-project'),
        ref('team', 't1'),
        ref('team', 't3'),
      ],
      { repo: { project: 'project', teams: 'team' } },
    );
    const res = await deleteStaleEntities({
      blueprints: ['repo', 'project', 'team'],
      ledger: await ledgerWith({ repo: ['r1'] }),
      catalog,
      complete: true,
      log: captureLogger().log,
    });
    expect(res.protected).toBe(2);
    const deleted = catalog.calls.flatMap((c) => c.ids.map((id) => `${c.blueprint}/${id}`)).sort();
    expect(deleted).toEqual(['project/old-project', 'project/unrelated', 'repo/old', 'team/t3']);
  });

  test('without deleteDependentEntities, referrers are deleted before what they relate to', async () => {
    const catalog = new FakeCatalog([
      ref('project', 'p-old'),
      ref('repo', 'r-old', { project: 'p-old' }),
      ref('service', 's-old', { repositories: ['r-old'] }),
      ref('repo', 'keep'),
    ]);
    await deleteStaleEntities({
      blueprints: ['project', 'repo', 'service'],
      ledger: await ledgerWith({ repo: ['keep'] }),
      catalog,
      complete: true,
      threshold: 1,
      deleteDependentEntities: false,
      log: captureLogger().log,
    });
    expect(catalog.calls).toEqual([
      { blueprint: 'service', ids: ['s-old'] },
      { blueprint: 'repo', ids: ['r-old'] },
      { blueprint: 'project', ids: ['p-old'] },
    ]);
  });

  test('a listing failure is thrown, never read as "nothing owned"', async () => {
    const catalog: StaleDeletionCatalog = {
      // eslint-disable-next-line require-yield
      async *listOwned() {
        throw new Error('HTTP 503 from search');
      },
      delete: async () => ({ deleted: [], failed: [] }),
    };
    await expect(
      deleteStaleEntities({ blueprints: ['repo'], ledger: new MemoryRunLedger(), catalog, complete: true, log: captureLogger().log }),
    ).rejects.toThrow('HTTP 503');
  });

  test('deletionWaves puts a cycle in one last wave', () => {
    const waves = deletionWaves([ref('a', 'x', { r: 'y' }), ref('a', 'y', { r: 'x' }), ref('a', 'z', { r: 'x' })]);
    expect(waves.map((w) => w.map((e) => e.identifier))).toEqual([['z'], ['x', 'y']]);
  });
});
