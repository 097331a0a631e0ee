/**
 * Incremental runs in cluster mode (#20), end to end: real Redis, the Azure DevOps and Port simulators over loopback,
 * spawned `ado-sync serve` / `ado-sync worker` processes (run `npm run build` first). An incremental run reads only what
 * changed and deletes nothing; its cursors move only for the resources that completed; both schedulers exist side by
 * side, share the resync lock, and the incremental one goes when its setting is unset. Each test uses its own
 * integration identifier (own BullMQ prefix and keys), removed afterwards.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { INCREMENTAL_SCHEDULER_ID, SCHEDULER_ID } from '../../src/queue/cluster.js';
import { RedisChangeCursors } from '../../src/sync/changeCursors.js';
import { JOURNAL_BEAT_MS, RedisChangeJournal } from '../../src/sync/changeJournal.js';
import type { ResourceSummary } from '../../src/sync/resync.js';
import { listenPort, runCli, startCli, stopClis, until } from '../helpers/cli.js';
import { syncEnv } from '../helpers/env.js';
import { deleteKeys } from '../helpers/redisKeys.js';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';
import { startPortSimulator, type PortSimulator } from '../simulators/port/index.js';

const REDIS = 'redis://127.0.0.1:6379';
const ADMIN = 'admin-token-incremental-1234';
const auth = { authorization: `Bearer ${ADMIN}` };
const resource = (kind: string, blueprint: string, identifier: string) => ({
  kind,
  selector: { query: 'true' },
  port: { entity: { mappings: { identifier, title: identifier, blueprint: `"${blueprint}"` } } },
});
// project is listed whole (one listing; the audit log only proves deletions); work-item reads by WIQL ChangedDate. Distinct literal blueprints and no
// relations: independent resources, one job each.
const CONFIG = join(mkdtempSync(join(tmpdir(), 'ado-sync-cluster-incremental-')), 'config.yml');
writeFileSync(CONFIG, yaml.dump({ resources: [resource('project', 'project', '.id'), resource('work-item', 'workItem', '.id | tostring')] }));

interface LastRun {
  runId: string;
  mode?: string;
  status: string;
  incompleteReason?: string;
  deletion?: { deleted: number; skippedReason?: string };
}

describe('cluster mode: incremental runs', () => {
  let port: PortSimulator;
  let redis: Redis;
  const sims: AdoSimulator[] = [];
  const queues: Queue[] = [];
  const identifiers: string[] = [];

  beforeAll(async () => {
    port = await startPortSimulator({ blueprints: [{ identifier: 'project', title: 'Project', schema: { properties: {} } }, { identifier: 'workItem', title: 'Work item', schema: { properties: {} } }] });
    redis = new Redis(REDIS);
  });
  afterEach(async () => {
    await stopClis();
  });
  afterAll(async () => {
    for (const q of queues) await q.close();
    for (const s of sims) await s.close();
    await port.close();
    for (const id of identifiers) await deleteKeys(redis, `ado-sync:${id}:*`);
    await redis.quit();
  });

  async function setup(name: string, latencyMs = 0) {
    const identifier = `cluster-inc-${name}-${process.pid}-${Date.now()}`;
    identifiers.push(identifier);
    const sim = await startAdoSimulator({ scale: { projects: 3, reposPerProject: 1, workItemsPerProject: 10, pullRequestsPerRepo: 0 }, faults: { latencyMs } });
    sims.push(sim);
    const env = syncEnv(sim, port, {
      INTEGRATION_IDENTIFIER: identifier,
      REDIS_URL: REDIS,
      PORT_APP_CONFIG: CONFIG,
      LOG_LEVEL: 'info',
      JQ_POOL_SIZE: '1',
      SHUTDOWN_GRACE_MS: '3000',
      ADMIN_TOKEN: ADMIN,
    });
    const resync = new Queue('resync', { connection: redis, prefix: `ado-sync:${identifier}:bull` });
    queues.push(resync);
    const lastRun = async () => {
      const raw = await redis.get(`ado-sync:${identifier}:last-run`);
      return raw ? (JSON.parse(raw) as LastRun) : undefined;
    };
    const finished = (runId: string) =>
      until(`run ${runId} to finish`, async () => {
        const r = await lastRun();
        return r && r.runId === runId && r.status !== 'running' ? r : undefined;
      });
    const cursors = async () => Object.fromEntries((await new RedisChangeCursors(redis, `ado-sync:${identifier}`).list()).map((c) => [c.kind, c.at.getTime()]));
    /** The summaries the run's resource jobs returned, by kind. */
    const summaries = async (runId: string) => {
      const jobs = (await resync.getJobs(['completed', 'failed'])) as Array<Job<{ runId: string; kind: string }>>;
      const out: Record<string, ResourceSummary> = {};
      for (const j of jobs.filter((j) => j.name === 'resource' && j.data.runId === runId)) {
        out[j.data.kind] = (j.returnvalue as { summary?: ResourceSummary } | null)?.summary ?? ({ status: 'failed' } as ResourceSummary);
      }
      return out;
    };
    return { identifier, sim, env, resync, lastRun, finished, cursors, summaries };
  }

  it('reads only what changed, deletes nothing, records its mode; the next full run deletes; a failed resource keeps its cursor', async () => {
    const t = await setup('reads');
    const env = { ...t.env, WORKER_CONCURRENCY: '2', JOB_ATTEMPTS: '1', ADO_MAX_ATTEMPTS: '1' };
    const a = startCli(['serve', '--port', '0', '--host', '127.0.0.1', '--skip-blueprints'], env);
    const http = `http://127.0.0.1:${await listenPort(a)}`;
    const trigger = async (query = '') => {
      const r = await fetch(`${http}/admin/resync${query}`, { method: 'POST', headers: auth });
      expect(r.status).toBe(202);
      return (await r.json()) as { runId: string; started: boolean };
    };

    // A full run: every resource read whole, every cursor set to the start of its pass.
    const full = await trigger();
    expect(full.started).toBe(true);
    const fullRun = await t.finished(full.runId);
    if (fullRun.status !== 'succeeded') process.stderr.write(a.stderr());
    expect([fullRun.status, fullRun.mode]).toEqual(['succeeded', 'full']);
    expect(port.entities('workItem')).toHaveLength(30);
    const fullSummaries = await t.summaries(full.runId);
    expect(fullSummaries['work-item']!.rawItems).toBe(30);
    const afterFull = await t.cursors();
    expect(afterFull).toEqual({ project: new Date(fullSummaries.project!.startedAt!).getTime(), 'work-item': new Date(fullSummaries['work-item']!.startedAt!).getTime() });

    // One work item edited, one project no longer listed.
    const gone = t.sim.dataset.org('acme')!.projects.record(2);
    t.sim.patchResponses('/_apis/projects$', (b) => ({ ...b, value: b.value.filter((p: { id: string }) => p.id !== gone.id), count: b.value.length - 1 }));
    t.sim.changes.editWorkItem(4, { fields: { 'System.Title': 'Edited' } });

    const inc = await trigger('?incremental=true');
    expect(inc.started).toBe(true);
    const incRun = await t.finished(inc.runId);
    expect([incRun.status, incRun.mode, incRun.deletion]).toEqual(['succeeded', 'incremental', undefined]);
    const incSummaries = await t.summaries(inc.runId);
    expect(incSummaries['work-item']).toMatchObject({ incremental: true, rawItems: 1, entities: 1 });
    // No server accepted events here: no journal covers the window, so every project is read.
    expect(incSummaries['work-item']!.notes).toEqual([expect.stringMatching(/^incremental: changed since /), 'incremental: every project read (no journal of service-hook events (serve has accepted none))']);
    expect(incSummaries.project).toMatchObject({ incremental: true, rawItems: 2 });
    expect(incSummaries.project!.notes).toEqual([expect.stringMatching(/^incremental: changed since /), 'incremental: no audit log entry about this kind; listed whole (a cheap listing)']);
    // Not read is not proven gone: the hidden project stays, and no stale deletion ran.
    expect(port.entity('project', gone.id)).toBeDefined();
    expect(await redis.get(`ado-sync:${t.identifier}:stale-deletion-runs`)).toBe('1');
    const afterInc = await t.cursors();
    for (const kind of ['project', 'work-item']) {
      expect(afterInc[kind]).toBe(new Date(incSummaries[kind]!.startedAt!).getTime());
      expect(afterInc[kind]!).toBeGreaterThan(afterFull[kind]!);
    }
    const status = await runCli(['status'], { env });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^last resync: ${inc.runId} incremental succeeded \\(admin\\)$`, 'm'));
    expect(status.stdout).toMatch(/^incremental schedule: none$/m);
    // No WEBHOOK_SECRET here: no event accepted, no journal, so incremental passes read every project.
    expect(status.stdout).toMatch(/^journal of service-hook events: none \(serve has accepted no events; incremental passes read every project\)$/m);
    const json = JSON.parse((await runCli(['status', '--json'], { env })).stdout) as { lastRun: LastRun };
    expect(json.lastRun).toMatchObject({ runId: inc.runId, mode: 'incremental' });

    // The next full run deletes the project, and its 10 work items (no longer read either).
    const again = await trigger();
    const againRun = await t.finished(again.runId);
    expect([againRun.status, againRun.mode, againRun.deletion?.deleted]).toEqual(['succeeded', 'full', 11]);
    expect(port.entity('project', gone.id)).toBeUndefined();
    expect(await redis.get(`ado-sync:${t.identifier}:stale-deletion-runs`)).toBe('2');

    // An incremental run whose work-item pass fails: that cursor stays, the project's moves.
    const beforeFail = await t.cursors();
    t.sim.changes.editWorkItem(7);
    t.sim.setFaults({ failPaths: [{ pattern: '/_apis/wit/wiql$', status: 500 }] });
    let failed: LastRun;
    let failedRunId: string;
    try {
      failedRunId = (await trigger('?incremental=true')).runId;
      failed = await t.finished(failedRunId);
    } finally {
      t.sim.setFaults({ failPaths: [] });
    }
    expect([failed.status, failed.mode]).toEqual(['incomplete', 'incremental']);
    expect(failed.incompleteReason).toMatch(/resources\[1\] work-item/);
    const afterFail = await t.cursors();
    expect(afterFail['work-item']).toBe(beforeFail['work-item']);
    expect(afterFail.project!).toBeGreaterThan(beforeFail.project!);
    const runJob = await t.resync.getJob(failedRunId);
    expect(runJob?.failedReason).toMatch(/^incremental resync incomplete: /);

    // The next incremental run reads from the old cursor: it finds the item the failed pass missed.
    const retry = await trigger('?incremental=true');
    expect((await t.finished(retry.runId)).status).toBe('succeeded');
    const retrySummaries = await t.summaries(retry.runId);
    expect(retrySummaries['work-item']!.rawItems).toBeGreaterThanOrEqual(1);
    expect(port.entity('workItem', '7')).toBeDefined();
    expect((await t.cursors())['work-item']!).toBeGreaterThan(beforeFail['work-item']!);

    // A value that is not a boolean is refused.
    expect((await fetch(`${http}/admin/resync?incremental=yes`, { method: 'POST', headers: auth })).status).toBe(400);
  }, 60_000);

  it('serve journals the events it accepts and keeps the journal live; an incremental run then reads only the projects announced', async () => {
    const t = await setup('journal');
    const secret = 'hook-secret-journal-1234';
    const env = { ...t.env, WEBHOOK_SECRET: secret, WORKER_CONCURRENCY: '2' };
    // A server that has been accepting events for 15 minutes (longer than the 10-minute overlap of a pass).
    const prefix = `ado-sync:${t.identifier}`;
    for (let at = Date.now() - 15 * 60_000; at < Date.now(); at += JOURNAL_BEAT_MS) await new RedisChangeJournal(redis, prefix, () => at).beat();
    const a = startCli(['serve', '--port', '0', '--host', '127.0.0.1', '--skip-blueprints'], env);
    const http = `http://127.0.0.1:${await listenPort(a)}`;
    const trigger = async (query = '') => ((await (await fetch(`${http}/admin/resync${query}`, { method: 'POST', headers: auth })).json()) as { runId: string });
    expect((await t.finished((await trigger()).runId)).status).toBe('succeeded');
    // The server's own beat keeps the journal live: the state it found is carried on, not restarted.
    const state = await redis.hgetall(`${prefix}:change-journal`);
    expect(Number(state.since)).toBeLessThan(Date.now() - 14 * 60_000);

    // A work item edited and announced (project 1), another edited without an event (project 2: a lost delivery).
    const p1 = t.sim.dataset.org('acme')!.projects.record(1);
    t.sim.changes.editWorkItem(12, { fields: { 'System.Title': 'Announced' } });
    t.sim.changes.editWorkItem(25, { fields: { 'System.Title': 'Not announced' } });
    const event = { id: 'evt-journal-wi-12', eventType: 'workitem.updated', publisherId: 'tfs', resource: { id: 1, workItemId: 12 }, resourceContainers: { project: { id: p1.id } } };
    const hook = await fetch(`${http}/webhooks/azure-devops`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`port:${secret}`).toString('base64')}` },
      body: JSON.stringify(event),
    });
    expect(hook.status).toBe(202);

    const before = t.sim.requests.length;
    const inc = await trigger('?incremental=true');
    expect((await t.finished(inc.runId)).status).toBe('succeeded');
    const summaries = await t.summaries(inc.runId);
    expect(summaries['work-item']!.notes).toContain('incremental: 1 of 3 projects with work-item events since then (service hooks)');
    // Only the announced project's WIQL ran: it found item 12; item 25 (project 2, not announced) waits for a full run.
    expect(summaries['work-item']).toMatchObject({ rawItems: 1, status: 'ok' });
    const wiql = t.sim.requests.slice(before).filter((r) => r.path.endsWith('/_apis/wit/wiql'));
    const status = await runCli(['status'], { env });
    expect(status.stdout).toMatch(/^journal of service-hook events: live since \S+ \(1[4-9] min\)$/m);
    // (The live event of item 12 may query its project too.)
    expect(new Set(wiql.map((r) => r.path.split('/')[2]))).toEqual(new Set([p1.id]));
  }, 60_000);

  it('keeps both schedulers; an incremental trigger while a full run holds the lock starts nothing; unsetting the setting removes its scheduler', async () => {
    const t = await setup('lock', 1500);
    // The interval's first full run starts at once and, at 1.5 s a request, holds the lock for a while.
    const env = { ...t.env, RESYNC_INTERVAL_MINUTES: '60', RESYNC_INCREMENTAL_MINUTES: '30', WORKER_CONCURRENCY: '4' };
    const a = startCli(['serve', '--port', '0', '--host', '127.0.0.1', '--skip-blueprints'], env);
    const http = `http://127.0.0.1:${await listenPort(a)}`;

    const schedulers = await until('both schedulers', async () => {
      const [full, incremental] = await Promise.all([t.resync.getJobScheduler(SCHEDULER_ID), t.resync.getJobScheduler(INCREMENTAL_SCHEDULER_ID)]);
      return full && incremental ? { full, incremental } : undefined;
    });
    expect(Number(schedulers.full.every)).toBe(60 * 60_000);
    expect(Number(schedulers.incremental.every)).toBe(30 * 60_000);
    // Its first tick is one interval away, not racing the full run's first one.
    expect(schedulers.incremental.next!).toBeGreaterThan(Date.now() + 25 * 60_000);
    expect(await t.resync.getJobSchedulersCount()).toBe(2);

    const running = await until('the full run to hold the lock', async () => {
      const r = await t.lastRun();
      return r?.status === 'running' && (await t.resync.getJobs(['active'])).some((j) => j.name === 'resource') ? r : undefined;
    });
    expect(running.mode).toBe('full');

    // An incremental tick as the scheduler queues it: it starts nothing and names the running full run.
    const tick = await t.resync.add('trigger', { reason: 'schedule', mode: 'incremental' });
    const outcome = await until('the tick to be handled', async () => ((await tick.getState()) === 'completed' ? (await t.resync.getJob(tick.id!))!.returnvalue : undefined));
    expect(outcome).toEqual({ runId: running.runId, started: false, mode: 'full' });
    // The admin trigger answers the same way.
    const admin = await fetch(`${http}/admin/resync?incremental=true`, { method: 'POST', headers: auth });
    expect(await admin.json()).toEqual({ runId: running.runId, started: false });
    await until('the skip logged', () => /incremental resync skipped: a resync is already running/.test(a.stderr()));
    expect((await t.lastRun())?.runId).toBe(running.runId);

    t.sim.setFaults({ latencyMs: 0 });
    const done = await t.finished(running.runId);
    expect([done.status, done.mode]).toEqual(['succeeded', 'full']);
    const runs = (await t.resync.getJobs(['completed', 'failed', 'active', 'waiting', 'waiting-children', 'delayed'])).filter((j) => j.name === 'run');
    expect(runs.map((j) => j.id)).toEqual([running.runId]);

    // A replica started without RESYNC_INCREMENTAL_MINUTES removes the incremental scheduler; the full one stays.
    await stopClis();
    const withoutIncremental: NodeJS.ProcessEnv = { ...env };
    delete withoutIncremental.RESYNC_INCREMENTAL_MINUTES;
    startCli(['worker', '--skip-blueprints'], withoutIncremental);
    await until('the incremental scheduler removed', async () => (await t.resync.getJobScheduler(INCREMENTAL_SCHEDULER_ID)) === undefined);
    expect(Number((await t.resync.getJobScheduler(SCHEDULER_ID))?.every)).toBe(60 * 60_000);
  }, 60_000);
});
