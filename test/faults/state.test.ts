/**
 * Fault suite, the worker's state and cascades (issue 17 items 2 and 3, decision 8): Redis flushed between runs (or no
 * Redis at all), entities deleted by hand in Port while their hashes stay cached, and a cascade that would take
 * entities the run produced. One clean resync must always converge to the reference, and deletion must never remove
 * what the run produced, directly or by cascade.
 *
 * This file has Redis database 8 to itself, so it may FLUSHDB.
 */
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { BLUEPRINTS, FaultRig, PATHS, Verdict, cleanStart, type FaultCase } from './harness.js';

const STALE_PROJECT = 'faults-stale-project';
const STALE_REPOSITORY = 'faults-stale-repository';

describe('fault suite: Redis state, hand deletions and cascades', () => {
  let rig: FaultRig;
  beforeAll(async () => {
    rig = await FaultRig.start({ name: 'state', redisDb: 8 });
  });
  afterAll(async () => {
    await rig?.close();
  });

  /** A clean resync that must exit 0, leave the catalog as the reference, and delete nothing that exists. */
  async function convergesInOneRun(c: FaultCase, v: Verdict, label: string): Promise<void> {
    const run = await c.clean();
    v.exit(label, run, 0).nothingWronglyDeleted(label, c).converged(label, c);
  }

  it('Redis flushed between runs: nothing is lost and a stale entity is still deleted', () =>
    rig.withCase('redis-flushed', async (c) => {
      await cleanStart(c);
      c.plantOwnedEntity(BLUEPRINTS.repository, STALE_REPOSITORY, 'gone from Azure DevOps');
      await rig.redis!.flushdb();
      const v = new Verdict();
      await convergesInOneRun(c, v, 'the resync after FLUSHDB');
      await convergesInOneRun(c, v, 'the next clean resync');
      v.assert();
    }));

  it('no Redis: a stale entity is deleted although every entity is rewritten', () =>
    rig.withCase(
      'no-redis',
      async (c) => {
        await cleanStart(c);
        c.plantOwnedEntity(BLUEPRINTS.repository, STALE_REPOSITORY, 'gone from Azure DevOps');
        const v = new Verdict();
        await convergesInOneRun(c, v, 'the resync without Redis');
        v.assert();
      },
      { env: { REDIS_URL: '' } },
    ));

  it('an entity deleted by hand in Port comes back after one clean resync although its hash is cached', () =>
    rig.withCase('hand-deleted', async (c) => {
      await cleanStart(c);
      const [pr] = rig.referenceIds(BLUEPRINTS.pullRequest);
      c.port.store.deleteEntities(BLUEPRINTS.pullRequest, [pr!], false);
      const v = new Verdict();
      await convergesInOneRun(c, v, 'the clean resync after the hand deletion');
      v.assert();
    }));

  it('a project deleted by hand with its dependents (cascade) comes back whole after one clean resync', () =>
    rig.withCase('hand-cascade', async (c) => {
      await cleanStart(c);
      const project = projectWithPullRequests();
      const gone = c.port.store.deleteEntities(BLUEPRINTS.project, [project], true);
      const v = new Verdict().check(gone.length === 1 && c.snapshot().length < rig.reference.length - 1, 'the cascade removed no dependent');
      await convergesInOneRun(c, v, 'the clean resync after the cascade');
      v.assert();
    }));

  // A repository the run rewrites now relates to a project the catalog holds but Azure DevOps does not list: that
  // project is stale, yet a produced entity depends on it, so it must be kept (a cascade would take the repository
  // and its pull requests with it). The next clean resync moves the repository back and deletes the stale project.
  it('a stale project that a rewritten repository relates to is not deleted with its dependents', () =>
    rig.withCase('run-cascade', async (c) => {
      await cleanStart(c);
      c.plantOwnedEntity(BLUEPRINTS.project, STALE_PROJECT, 'not listed by Azure DevOps');
      const repo = repositoryWithPullRequests();
      const run = await c.fault([
        {
          name: 'moved-repository',
          method: 'GET',
          path: PATHS.repositories,
          action: {
            type: 'json',
            edit: (body) => {
              const o = body as { value: Array<{ id: string; project: Record<string, unknown> }> };
              for (const r of o.value) if (r.id === repo) r.project = { ...r.project, id: STALE_PROJECT };
              return o;
            },
          },
        },
      ]);
      const v = new Verdict()
        .check(rig.proxy.fired('moved-repository') > 0, 'the repository listing was never edited')
        .exit('the run with the moved repository', run, 0)
        .nothingWronglyDeleted('the run with the moved repository', c);
      const moved = c.port.entity(BLUEPRINTS.repository, repo);
      if (moved) v.check(moved.relations.project === STALE_PROJECT, 'the moved repository was not written with its new project');
      await convergesInOneRun(c, v, 'the next clean resync');
      v.assert();
    }));

  /** A project of the reference whose repositories have pull requests (so a cascade from it reaches two levels). */
  function projectWithPullRequests(): string {
    const repo = repositoryWithPullRequests();
    return rig.reference.find((e) => e.blueprint === BLUEPRINTS.repository && e.identifier === repo)!.relations.project as string;
  }

  function repositoryWithPullRequests(): string {
    const withPrs = rig.reference.find((e) => e.blueprint === BLUEPRINTS.pullRequest)!;
    return withPrs.relations.repository as string;
  }
});
