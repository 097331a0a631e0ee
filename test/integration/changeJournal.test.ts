/**
 * The journal of announced changes (src/sync/changeJournal.ts) on real Redis, with a clock the test moves: an
 * incremental pass trusts it only over a window a live server covered, and reads everything otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { JOURNAL_BEAT_MS, RedisChangeJournal, journalMarks } from '../../src/sync/changeJournal.js';
import { deleteKeys } from '../helpers/redisKeys.js';

const prefix = `ado-sync:journal-test-${process.pid}`;
const MIN = 60_000;

describe('change journal', () => {
  let redis: Redis;
  let now = Date.parse('2026-12-05T10:00:00Z');
  let journal: RedisChangeJournal;

  beforeAll(() => {
    redis = new Redis('redis://127.0.0.1:6379');
    journal = new RedisChangeJournal(redis, prefix, () => now);
  });
  afterAll(async () => {
    await deleteKeys(redis, `${prefix}:*`);
    await redis.quit();
  });

  it('covers a window only while a server beats, from when its serving began; a gap starts a new coverage', async () => {
    const t0 = now;
    expect((await journal.projects('build', new Date(t0))).reason).toMatch(/no journal/);
    await journal.beat();
    // Beats every 30 s keep it live; a window from its start on is covered, one from before it is not.
    for (let i = 0; i < 20; i++) {
      now += JOURNAL_BEAT_MS;
      await journal.beat();
    }
    await journal.mark({ projects: [{ kind: 'build', projectId: 'P-ONE' }], repositoryIds: ['R-ONE'] });
    expect((await journal.projects('build', new Date(t0))).projectIds).toEqual(new Set(['p-one']));
    expect(await journal.since(new Date(t0))).toEqual(new Set(['r-one']));
    expect((await journal.projects('build', new Date(t0 - 1))).reason).toMatch(/begins at 2026-12-05T10:00:00.000Z, after the cursor/);
    expect(await journal.since(new Date(t0 - 1))).toBeUndefined();
    // Marks are per kind: another kind's window is covered and empty.
    expect((await journal.projects('work-item', new Date(t0))).projectIds).toEqual(new Set());

    // The server stops: two minutes without a beat and the journal is not live (events may go unheard).
    now += 2 * MIN + 1;
    expect((await journal.projects('build', new Date(t0))).reason).toMatch(/not live/);
    expect(await journal.since(new Date(t0))).toBeUndefined();
    // It comes back: coverage starts again then, so a window reaching into the gap is not covered.
    const back = now;
    await journal.beat();
    expect((await journal.projects('build', new Date(t0))).reason).toMatch(/after the cursor/);
    expect((await journal.projects('build', new Date(back))).projectIds).toEqual(new Set());
  });

  it('an event marks its repository (pushes, repository events) and its project for each kind subscribed to its type', () => {
    const project = { project: { id: 'PROJ-1' } };
    const push = journalMarks({ eventType: 'git.push', resource: { repository: { id: 'REPO-1' } }, resourceContainers: project });
    expect(push.repositoryIds).toEqual(['REPO-1']);
    expect(push.projects).toContainEqual({ kind: 'branch', projectId: 'PROJ-1' });
    expect(push.projects).not.toContainEqual(expect.objectContaining({ kind: 'build' }));
    expect(journalMarks({ eventType: 'build.complete', resource: { id: 7 }, resourceContainers: project }).projects).toEqual([{ kind: 'build', projectId: 'PROJ-1' }]);
    expect(journalMarks({ eventType: 'workitem.updated', resource: { id: 7 }, resourceContainers: project }).projects.map((p) => p.kind)).toContain('work-item');
    // No project named: nothing by project.
    expect(journalMarks({ eventType: 'build.complete', resource: { id: 7 } })).toEqual({ repositoryIds: [], projects: [] });
  });
});
