/**
 * Incremental runs (#20) on real parts: the Azure DevOps simulator over loopback, real jq, change cursors in memory
 * (in-process) and in Redis (the CLI), the Port simulator. Each kind's change query, cursors that advance only after a
 * complete pass, the overlap, kinds without a change filter listed whole, nothing deleted, and the refusal without Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { Redis } from 'ioredis';
import { PatAuth } from '../../src/ado/auth.js';
import { AdoClient } from '../../src/ado/client.js';
import { parseOrganizationUrl } from '../../src/ado/orgUrl.js';
import { parseAppConfig, type PortAppConfig } from '../../src/config/appConfig.js';
import { silentLogger } from '../../src/observability/log.js';
import { MemoryChangeCursors } from '../../src/sync/changeCursors.js';
import { runFullResync, type FullResyncResult } from '../../src/sync/fullResync.js';
import { runCli } from '../helpers/cli.js';
import { RecordingSink } from '../helpers/recorders.js';
import { syncEnv } from '../helpers/env.js';
import { deleteKeys } from '../helpers/redisKeys.js';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';
import { startPortSimulator, type PortSimulator } from '../simulators/port/index.js';


const resource = (kind: string, blueprint: string, identifier: string) => ({
  kind,
  selector: { query: 'true' },
  port: { entity: { mappings: { identifier, title: identifier, blueprint: `"${blueprint}"` } } },
});
const CONFIG = yaml.dump({
  resources: [
    resource('project', 'project', '.id'),
    resource('work-item', 'workItem', '.id | tostring'),
    resource('build', 'build', '.id | tostring'),
    resource('pull-request', 'pullRequest', '.pullRequestId | tostring'),
    resource('release-deployment', 'releaseDeployment', '.id | tostring'),
    resource('test-run', 'testRun', '.id | tostring'),
    resource('branch', 'branch', '.__repository.id + "/" + .name'),
  ],
});
const OVERLAP_MS = 10 * 60_000;

describe('incremental runs', () => {
  let sim: AdoSimulator;
  let config: PortAppConfig;
  let client: AdoClient;
  const cursors = new MemoryChangeCursors();
  /** The journal of announced pushes (the server's, in Redis, in production); undefined: none kept. */
  let pushes: Map<string, number> | undefined;
  /** The projects with announced events per kind (serve's journal, in Redis, in production); undefined: none kept. */
  let projectEvents: Record<string, string[]> | undefined;
  const journal = {
    since: async (since: Date) => (pushes ? new Set([...pushes].filter(([, at]) => at >= since.getTime()).map(([id]) => id)) : undefined),
    projects: async (kind: string) =>
      projectEvents ? { projectIds: new Set((projectEvents[kind] ?? []).map((id) => id.toLowerCase())), reason: 'service-hook events' } : { reason: 'no journal of service-hook events (serve has accepted none)' },
  };

  beforeAll(async () => {
    sim = await startAdoSimulator({ scale: { projects: 2, reposPerProject: 2, workItemsPerProject: 40, pipelinesPerProject: 2, buildsPerPipeline: 3, pullRequestsPerRepo: 4 } });
    config = parseAppConfig(CONFIG, 'incremental.yml').config;
    client = new AdoClient(parseOrganizationUrl(sim.orgUrl(), 'services'), new PatAuth(sim.pat), { maxAttempts: 1 });
  });
  afterAll(() => sim.close());

  async function run(incremental: boolean): Promise<{ result: FullResyncResult; sink: RecordingSink; requests: typeof sim.requests }> {
    const sink = new RecordingSink();
    const before = sim.requests.length;
    const result = await runFullResync({ config, targets: [{ client }], sink, log: silentLogger, poolSize: 1, pageSize: 100, cursors, incremental: incremental ? { overlapMs: OVERLAP_MS, journal } : undefined });
    return { result, sink, requests: sim.requests.slice(before) };
  }
  const ids = (sink: RecordingSink, index: number) => sink.written.filter((w) => w.resourceIndex === index).map((w) => w.entity.identifier).sort();
  const cursorOf = (index: number) => cursors.get('acme', index, config.resources[index]!);

  it('a full run sets every cursor; an unchanged incremental run reads only what may have changed, and lists kinds without a filter whole', async () => {
    const full = await run(false);
    expect(full.result.complete).toBe(true);
    for (const i of [0, 1, 2, 3, 4, 5, 6]) expect(await cursorOf(i)).toEqual(new Date(full.result.summaries[i]!.startedAt!));
    const fullWorkItems = ids(full.sink, 1).length;
    expect(fullWorkItems).toBe(80);

    const inc = await run(true);
    expect(inc.result.complete).toBe(true);
    const notes = (i: number) => inc.result.summaries[i]!.notes ?? [];
    // Projects: one listing, read whole; the audit log (empty here) would only prove deletions.
    expect(notes(0)).toEqual([expect.stringMatching(/^incremental: changed since /), 'incremental: no audit log entry about this kind; listed whole (a cheap listing)']);
    // No journal of service-hook events: the per-project kinds read every project, and say why.
    for (const i of [1, 2, 3, 4]) expect(notes(i)).toEqual([expect.stringMatching(/^incremental: changed since /), 'incremental: every project read (no journal of service-hook events (serve has accepted none))']);
    expect(notes(5)).toEqual([expect.stringMatching(/^incremental: changed since /)]);
    // No journal of pushes: every repository's branches are listed, and the summary says why.
    expect(notes(6)).toEqual([expect.stringMatching(/^incremental: changed since /), 'incremental: no journal of pushes covers this window (no serve accepting events, or it was down since); every repository read']);
    expect(ids(inc.sink, 6)).toEqual(ids(full.sink, 6));
    expect(ids(full.sink, 4).length).toBeGreaterThan(0);
    expect(ids(inc.sink, 4)).toEqual([]);
    expect(ids(full.sink, 5).length).toBeGreaterThan(0);
    expect(ids(inc.sink, 5)).toEqual([]);
    for (const r of inc.requests.filter((x) => x.path.endsWith('/_apis/release/deployments'))) expect(r.query.minModifiedTime).toBeDefined();
    // Nothing changed since the cursor: no work item, no finished build; the builds still running and the active pull requests are read again.
    expect(ids(inc.sink, 0)).toEqual(ids(full.sink, 0));
    expect(ids(inc.sink, 1)).toEqual([]);
    const running = full.sink.written.filter((w) => w.resourceIndex === 2).length - inc.sink.written.filter((w) => w.resourceIndex === 2).length;
    expect(running).toBeGreaterThan(0);
    const read = (r: FullResyncResult) => r.summaries.reduce((n, s) => n + s.rawItems, 0);
    expect(read(inc.result)).toBeLessThan(read(full.result) / 2);
    // The work-item change query: ChangedDate since the cursor minus the overlap, with time precision.
    const wiql = inc.requests.filter((r) => r.path.endsWith('/_apis/wit/wiql'));
    expect(wiql.length).toBe(2);
    for (const r of wiql) expect(r.query.timePrecision).toBe('true');
    // Builds: the ones not finished, then the ones finished since.
    const builds = inc.requests.filter((r) => r.path.endsWith('/_apis/build/builds'));
    expect(builds.map((r) => r.query.statusFilter ?? `${r.query.queryOrder} ${r.query.minTime ? 'minTime' : ''}`).sort()).toEqual(
      ['finishTimeDescending minTime', 'finishTimeDescending minTime', 'inProgress,notStarted,cancelling,postponed', 'inProgress,notStarted,cancelling,postponed'],
    );
    // Pull requests: the active ones, then those closed since.
    const prs = inc.requests.filter((r) => r.path.endsWith('/_apis/git/pullrequests'));
    expect(prs.map((r) => `${r.query['searchCriteria.status']} ${r.query['searchCriteria.queryTimeRangeType'] ?? ''}`.trim()).sort()).toEqual(['active', 'active', 'all closed', 'all closed']);
  });

  it('reads what changed since the cursor (a work item edited, a build finished, a stage redeployed, tests rerun), and what changed just before it within the overlap, but not earlier', async () => {
    const cursor = (await cursorOf(1))!;
    sim.changes.editWorkItem(3, { fields: { 'System.Title': 'Edited' } });
    sim.changes.editWorkItem(45, { at: new Date(cursor.getTime() - 5 * 60_000) }); // committed late: inside the overlap
    sim.changes.editWorkItem(7, { at: new Date(cursor.getTime() - 30 * 60_000) }); // long before: the last run had it
    // A finished build run again, finishing now: the finished-since pass reads it.
    const project = sim.dataset.org('acme')!.projects.record(0);
    const res = await fetch(`${sim.orgUrl()}/${project.id}/_apis/build/builds?api-version=7.1`, { headers: { authorization: `Basic ${Buffer.from(`:${sim.pat}`).toString('base64')}` } });
    const finished = ((await res.json()) as { value: Array<{ id: number; status: string }> }).value.find((b) => b.status === 'completed')!;
    sim.changes.setBuild(0, finished.id, { status: 'completed', result: 'failed' });
    sim.changes.redeploy(2);
    // A push announced for one repository: only its branches are listed.
    const repos = sim.dataset.org('acme')!.repos;
    const pushed = repos.record(0).isEmpty ? repos.record(1) : repos.record(0);
    pushes = new Map([[pushed.id.toLowerCase(), Date.now()], ['an-old-push', Date.now() - 3_600_000]]);
    const runs = await fetch(`${sim.orgUrl()}/${project.id}/_apis/test/runs?api-version=7.1`, { headers: { authorization: `Basic ${Buffer.from(`:${sim.pat}`).toString('base64')}` } });
    const testRun = ((await runs.json()) as { value: Array<{ id: number }> }).value[0]!.id;
    sim.changes.rerunTest(testRun);
    const inc = await run(true);
    expect(ids(inc.sink, 4)).toEqual(['2']);
    expect(ids(inc.sink, 5)).toEqual([String(testRun)]);
    expect(inc.result.summaries[6]!.notes).toContain('incremental: branches of 1 repositories with pushes since then');
    expect(new Set(inc.sink.written.filter((w) => w.resourceIndex === 6).map((w) => String(w.entity.identifier).split('/')[0]))).toEqual(new Set([pushed.id]));
    expect(inc.requests.filter((r) => r.path.endsWith('/refs'))).toHaveLength(1);
    expect(ids(inc.sink, 1)).toEqual(['3', '45']);
    expect(ids(inc.sink, 2)).toContain(String(finished.id));
  });

  it('a failed pass leaves its cursor, so the next run still reads what it missed; the passes that completed move theirs', async () => {
    const before = (await cursorOf(1))!;
    const buildsBefore = (await cursorOf(2))!;
    sim.changes.editWorkItem(12);
    sim.setFaults({ failPaths: [{ pattern: '/_apis/wit/wiql$', status: 500 }] });
    let failed: Awaited<ReturnType<typeof run>>;
    try {
      failed = await run(true);
    } finally {
      sim.setFaults({ failPaths: [] });
    }
    expect(failed.result.summaries[1]!.status).toBe('failed');
    expect(await cursorOf(1)).toEqual(before);
    // The other resources completed: their cursors moved.
    expect((await cursorOf(2))!.getTime()).toBeGreaterThan(buildsBefore.getTime());

    // From the old cursor (minus the overlap): the item the failed pass missed, and, harmlessly, ones read before.
    const again = await run(true);
    expect(ids(again.sink, 1)).toContain('12');
    expect(ids(again.sink, 1)).not.toContain('7');
    expect((await cursorOf(1))!.getTime()).toBeGreaterThan(before.getTime());
  });
  it('with a journal of service-hook events covering the window, reads only the projects it names for each kind', async () => {
    const p1 = sim.dataset.org('acme')!.projects.record(1);
    const res = await fetch(`${sim.orgUrl()}/${p1.id}/_apis/build/builds?api-version=7.1`, { headers: { authorization: `Basic ${Buffer.from(`:${sim.pat}`).toString('base64')}` } });
    const finished = ((await res.json()) as { value: Array<{ id: number; status: string }> }).value.find((b) => b.status === 'completed')!;
    sim.changes.setBuild(1, finished.id, { status: 'completed', result: 'failed' });
    // Edited, but no event announced it (a lost delivery): the journal does not name its project, so it is not read
    // here; the next full run reconciles it.
    sim.changes.editWorkItem(5);
    projectEvents = { build: [p1.id.toUpperCase()], 'work-item': [], 'pull-request': [], 'release-deployment': [] };
    let inc: Awaited<ReturnType<typeof run>>;
    try {
      inc = await run(true);
    } finally {
      projectEvents = undefined;
    }
    expect(inc.result.complete).toBe(true);
    expect(ids(inc.sink, 2)).toContain(String(finished.id));
    const builds = inc.requests.filter((r) => r.path.endsWith('/_apis/build/builds'));
    expect(new Set(builds.map((r) => r.path.split('/')[2]))).toEqual(new Set([p1.id]));
    expect(inc.requests.filter((r) => /\/_apis\/(wit\/wiql|git\/pullrequests|release\/deployments)$/.test(r.path))).toEqual([]);
    expect(ids(inc.sink, 1)).toEqual([]);
    expect(inc.result.summaries[2]!.notes).toContain('incremental: 1 of 2 projects with build events since then (service hooks)');
    expect(inc.result.summaries[1]!.notes).toContain('incremental: 0 of 2 projects with work-item events since then (service hooks)');
  });
});

describe('ado-sync resync --incremental', () => {
  let sim: AdoSimulator;
  let port: PortSimulator;
  let redis: Redis;
  const identifier = `incremental-${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    sim = await startAdoSimulator({ scale: { projects: 3, reposPerProject: 1, workItemsPerProject: 20 } });
    port = await startPortSimulator({ blueprints: [{ identifier: 'project', title: 'Project', schema: { properties: {} } }, { identifier: 'workItem', title: 'Work item', schema: { properties: {} } }] });
    redis = new Redis('redis://127.0.0.1:6379');
  });
  afterAll(async () => {
    await deleteKeys(redis, `ado-sync:${identifier}:*`);
    await redis.quit();
    await sim.close();
    await port.close();
  });

  const file = join(mkdtempSync(join(tmpdir(), 'ado-sync-incremental-')), 'config.yml');
  writeFileSync(file, yaml.dump({ resources: [resource('project', 'project', '.id'), resource('work-item', 'workItem', '.id | tostring')] }));

  it('is refused without Redis, naming the setting', async () => {
    const r = await runCli(['resync', '--incremental'], { env: syncEnv(sim, port, { INTEGRATION_IDENTIFIER: identifier, PORT_APP_CONFIG: file }) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('REDIS_URL');
  });

  it('with Redis: after a full run, reads only what changed, writes nothing unchanged and deletes nothing; the next full run does', async () => {
    const env = syncEnv(sim, port, { INTEGRATION_IDENTIFIER: identifier, REDIS_URL: 'redis://127.0.0.1:6379', PORT_APP_CONFIG: file, LOG_LEVEL: 'warn' });
    const full = await runCli(['resync', '--skip-blueprints'], { env });
    expect(full.code).toBe(0);
    expect(port.entities('workItem')).toHaveLength(60);
    const gone = sim.dataset.org('acme')!.projects.record(2);
    // A project no longer listed: an incremental run does not prove it gone, so it stays.
    sim.patchResponses('/_apis/projects$', (b) => ({ ...b, value: b.value.filter((p: { id: string }) => p.id !== gone.id), count: b.value.length - 1 }));
    sim.changes.editWorkItem(2, { fields: { 'System.Title': 'Edited' } });

    // Someone deletes a project entity in Port by hand; the item itself is unchanged.
    const removed = sim.dataset.org('acme')!.projects.record(0);
    const token = ((await (await fetch(`${port.url}/v1/auth/access_token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clientId: port.clientId, clientSecret: port.clientSecret }) })).json()) as { accessToken: string }).accessToken;
    expect((await fetch(`${port.url}/v1/blueprints/project/entities/${removed.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).ok).toBe(true);
    port.clearRequests();

    const inc = await runCli(['resync', '--incremental', '--skip-blueprints'], { env });
    expect(inc.code).toBe(0);
    // It asked Port only about the entities it would skip as unchanged (by identifier), never for every owned entity,
    // and the one Port no longer held was written again.
    const searches = port.requestsTo('POST', /\/entities\/search$/);
    expect(searches.length).toBeGreaterThan(0);
    for (const r of searches) expect(JSON.stringify(r.body)).toContain('"operator":"in"');
    expect(port.entity('project', removed.id)).toBeDefined();
    expect(inc.stderr).toMatch(/acme\s+1\s+work-item\s+ok\s+1\s+1\s/);
    expect(inc.stderr).toContain('resources[0] project: incremental: no audit log entry about this kind; listed whole (a cheap listing)');
    expect(port.entity('project', gone.id)).toBeDefined();

    const again = await runCli(['resync', '--skip-blueprints'], { env });
    expect(again.code).toBe(0);
    expect(port.entity('project', gone.id)).toBeUndefined();

    const status = await runCli(['status'], { env });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^ {2}acme resources\[0\] project: \S+ \(\d+ min ago\)$/m);
    expect(status.stdout).toMatch(/^ {2}acme resources\[1\] work-item: \S+ \(\d+ min ago\)$/m);
  });
});
