/**
 * Cluster mode end to end: real Redis, the Azure DevOps and Port simulators over loopback, and spawned `ado-sync serve`
 * / `ado-sync worker` processes (run `npm run build` first). Each test uses its own integration identifier, hence its
 * own BullMQ prefix and keys, and removes them afterwards.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';
import { startPortSimulator, type PortSimulator } from '../simulators/port/index.js';
import { canConnect, freePort, listenPort, startCli, stopClis, until } from '../helpers/cli.js';
import { syncEnv } from '../helpers/env.js';
import { deleteKeys } from '../helpers/redisKeys.js';

const REDIS = 'redis://127.0.0.1:6379';
const dir = mkdtempSync(join(tmpdir(), 'ado-sync-cluster-'));
const CONFIG = join(dir, 'config.yml');
// Two resources with distinct literal blueprints and no relations: independent, so the flow runs them side by side.
writeFileSync(
  CONFIG,
  `resources:
  - kind: project
    selector: { query: 'true' }
    port: { entity: { mappings: { identifier: .id, title: .name, blueprint: '"azureDevopsProject"', properties: { state: .state } } } }
  - kind: repository
    selector: { query: 'true' }
    port: { entity: { mappings: { identifier: .id, title: .name, blueprint: '"azureDevopsRepository"', properties: { url: .remoteUrl } } } }
`,
);

describe('cluster mode', () => {
  let port: PortSimulator;
  let redis: Redis;
  const sims: AdoSimulator[] = [];
  const identifiers: string[] = [];

  beforeAll(async () => {
    port = await startPortSimulator();
    redis = new Redis(REDIS);
  });
  afterEach(async () => {
    await stopClis();
  });
  afterAll(async () => {
    for (const s of sims) await s.close();
    await port.close();
    for (const id of identifiers) await deleteKeys(redis, `ado-sync:${id}:*`);
    await redis.quit();
  });

  async function setup(name: string, latencyMs = 0, failPaths: Array<{ pattern: string; status: number }> = []) {
    const identifier = `cluster-${name}-${process.pid}-${Date.now()}`;
    identifiers.push(identifier);
    const sim = await startAdoSimulator({ pat: 'cluster-pat-123456', scale: { projects: 3, reposPerProject: 2, pullRequestsPerRepo: 0 }, faults: { latencyMs, failPaths } });
    sims.push(sim);
    const env = syncEnv(sim, port, {
      INTEGRATION_IDENTIFIER: identifier,
      REDIS_URL: REDIS,
      PORT_APP_CONFIG: CONFIG,
      LOG_LEVEL: 'info',
      WORKER_CONCURRENCY: '1',
      JQ_POOL_SIZE: '1',
      SHUTDOWN_GRACE_MS: '3000',
    });
    const prefix = `ado-sync:${identifier}:bull`;
    const resync = new Queue('resync', { connection: redis, prefix });
    const webhooks = new Queue('webhook-events', { connection: redis, prefix });
    const lastRun = async () => {
      const raw = await redis.get(`ado-sync:${identifier}:last-run`);
      return raw ? (JSON.parse(raw) as { runId: string; status: string; incompleteReason?: string; deletion?: { deleted: number }; workers?: string[] }) : undefined;
    };
    return { identifier, sim, env, resync, webhooks, lastRun };
  }

  const workersOnline = (q: Queue, n: number) => until(`${n} workers`, async () => (await q.getWorkers()).length >= n);

  it('spreads one resync over two replicas, coalesces a second trigger, deletes stale entities once, keeps one scheduler', async () => {
    const t = await setup('spread', 40);
    const env = { ...t.env, RESYNC_CRON: '0 0 1 1 *', ADMIN_TOKEN: 'admin-token-abcdef' };
    const a = startCli(['serve', '--port', '0', '--host', '127.0.0.1'], env);
    const b = startCli(['worker'], env);
    const http = `http://127.0.0.1:${await listenPort(a)}`;
    await workersOnline(t.resync, 2);

    const unauth = await fetch(`${http}/admin/resync`, { method: 'POST' });
    expect(unauth.status).toBe(401);
    const auth = { authorization: 'Bearer admin-token-abcdef' };
    const first = (await (await fetch(`${http}/admin/resync`, { method: 'POST', headers: auth })).json()) as { runId: string; started: boolean };
    const second = (await (await fetch(`${http}/admin/resync`, { method: 'POST', headers: auth })).json()) as { runId: string; started: boolean };
    expect(first.started).toBe(true);
    expect(second).toEqual({ runId: first.runId, started: false });

    const run = await until('the run to finish', async () => {
      const r = await t.lastRun();
      return r && r.runId === first.runId && r.status !== 'running' ? r : undefined;
    });
    if (run.status !== 'succeeded') process.stderr.write(a.stderr() + b.stderr());
    expect([run.status, run.incompleteReason]).toEqual(['succeeded', undefined]);
    expect(port.entities('azureDevopsProject').length).toBeGreaterThanOrEqual(3);
    const resourceJobs = (await t.resync.getJobs(['completed'])).filter((j) => j.name === 'resource');
    expect(resourceJobs).toHaveLength(2);
    const workers = new Set(resourceJobs.map((j) => (j.returnvalue as { worker: string }).worker));
    expect(workers.size).toBe(2);
    expect(await redis.get(`ado-sync:${t.identifier}:stale-deletion-runs`)).toBe('1');
    expect(await t.resync.getJobSchedulersCount()).toBe(1);

    const metrics = await (await fetch(`${http}/metrics`)).text();
    expect(metrics).toMatch(/ado_sync_jobs\{queue="resync",state="completed"\} \d+/);
    const status = startCli(['status'], env);
    expect(await status.exited).toBe(0);
  });

  it('a replica killed mid-resync: its job is retried elsewhere, every entity is written, no deletion from the broken attempt', async () => {
    const t = await setup('kill', 400);
    const env = { ...t.env, JOB_LOCK_MS: '1500', WORKER_CONCURRENCY: '2', ADMIN_TOKEN: 'admin-token-abcdef' };
    const a = startCli(['serve', '--port', '0', '--host', '127.0.0.1'], env);
    const b = startCli(['worker'], env);
    const http = `http://127.0.0.1:${await listenPort(a)}`;
    await workersOnline(t.resync, 2);
    expect((await fetch(`${http}/admin/resync`, { method: 'POST', headers: { authorization: 'Bearer admin-token-abcdef' } })).status).toBe(202);
    const active = await until('an active resource job', async () => (await t.resync.getJobs(['active'])).find((j) => j.name === 'resource' && j.processedBy));
    const victim = [a, b].find((p) => active.processedBy!.endsWith(`-${p.child.pid}`));
    expect(victim).toBeDefined();
    victim!.child.kill('SIGKILL');

    const run = await until('the run to finish', async () => {
      const r = await t.lastRun();
      return r && r.status !== 'running' ? r : undefined;
    }, 40_000);
    expect([run.status, run.incompleteReason]).toEqual(['succeeded', undefined]);
    const projects = [...t.sim.dataset.projects()].map((p) => p.id);
    for (const id of projects) expect(port.entity('azureDevopsProject', id)).toBeDefined();
    expect(run.deletion?.deleted).toBe(0);
    expect(await redis.get(`ado-sync:${t.identifier}:stale-deletion-runs`)).toBe('1');
    // The killed replica's job was handed to the survivor when its lock lapsed, and finished there.
    const retried = await t.resync.getJob(active.id!);
    expect(await retried!.getState()).toBe('completed');
    expect((retried!.returnvalue as { pid: number }).pid).not.toBe(victim!.child.pid);
  }, 60_000);

  it('a resource that keeps failing is retried with backoff, stays in the failed set, and the run deletes nothing', async () => {
    const t = await setup('fail', 0, [{ pattern: '/_apis/git/repositories$', status: 500 }]);
    const a = startCli(['worker', '--resync-on-start'], { ...t.env, JOB_ATTEMPTS: '2', ADO_MAX_ATTEMPTS: '1' });
    const run = await until('the run to finish', async () => {
      const r = await t.lastRun();
      return r && r.status !== 'running' ? r : undefined;
    });
    expect(run.status).toBe('incomplete');
    expect(run.incompleteReason).toMatch(/resources\[1\] repository/);
    expect(await redis.get(`ado-sync:${t.identifier}:stale-deletion-runs`)).toBeNull();
    const failed = await t.resync.getJobs(['failed']);
    const resource = failed.find((j) => j.name === 'resource');
    expect(resource?.attemptsMade).toBe(2);
    expect(resource?.failedReason).toMatch(/repository/);
    expect(failed.find((j) => j.name === 'run')?.failedReason).toMatch(/stale deletion skipped/);
    expect(a.stderr()).not.toContain(t.sim.pat);
  });

  it('SIGTERM past the grace period hands the running job back; another replica finishes the run', async () => {
    const t = await setup('term', 400);
    const env = { ...t.env, SHUTDOWN_GRACE_MS: '200', JOB_LOCK_MS: '30000' };
    const a = startCli(['worker', '--resync-on-start'], env);
    const active = await until('an active resource job', async () => (await t.resync.getJobs(['active'])).find((j) => j.name === 'resource'));
    const started = Date.now();
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(a.stderr()).toContain('handing them back');
    startCli(['worker'], env);
    const run = await until('the run to finish', async () => {
      const r = await t.lastRun();
      return r && r.status !== 'running' ? r : undefined;
    });
    expect([run.status, run.incompleteReason]).toEqual(['succeeded', undefined]);
    // Well within the 30 s job lock: the job was handed back, not left to stall.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await (await t.resync.getJob(active.id!))!.getState()).toBe('completed');
  });

  it('SIGTERM while the worker is still starting is a clean shutdown, not the default kill', async () => {
    const t = await setup('term-start');
    // No run to hand back: the shutdown is quick, well inside the grace period's hard limit even on a loaded machine.
    const a = startCli(['worker'], t.env);
    // The first line is written once the signal handlers are in place; Redis, the jq check and the workers come after.
    await until('the worker to begin starting', () => a.stderr().includes('"msg":"starting"'));
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(a.stderr()).toContain('shutting down');
    expect(a.stderr()).not.toContain('shutdown took too long');
  });

  it('queues a webhook delivered twice once, and keeps a 202-accepted event across a restart', async () => {
    const t = await setup('webhook');
    const env = { ...t.env, WEBHOOK_SECRET: 'hook-secret-123456', METRICS_TOKEN: 'metrics-token-7d3e91' };
    const a = startCli(['serve', '--port', '0', '--host', '127.0.0.1'], env);
    const base = `http://127.0.0.1:${await listenPort(a)}`;
    const http = `${base}/webhooks/azure-devops`;
    const event = { id: 'evt-4b1c2d3e-0001', eventType: 'git.push', publisherId: 'tfs', resource: { repository: { id: 'r1' } } };
    const body = JSON.stringify(event);
    const json = { 'content-type': 'application/json' };
    expect((await fetch(http, { method: 'POST', headers: json, body })).status).toBe(401);
    const wrong = { ...json, authorization: `Basic ${Buffer.from('x:nope').toString('base64')}` };
    expect((await fetch(http, { method: 'POST', headers: wrong, body })).status).toBe(401);
    // Credentials are checked before the body is parsed: malformed JSON from an unauthenticated sender is a 401.
    expect((await fetch(http, { method: 'POST', headers: json, body: '{not json' })).status).toBe(401);
    // METRICS_TOKEN guards /metrics.
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer metrics-token-7d3e91' } })).status).toBe(200);
    const ok = { ...json, authorization: `Basic ${Buffer.from('port:hook-secret-123456').toString('base64')}` };
    expect((await fetch(http, { method: 'POST', headers: ok, body: JSON.stringify({ id: 'x' }) })).status).toBe(400);
    const r1 = await fetch(http, { method: 'POST', headers: ok, body });
    const r2 = await fetch(http, { method: 'POST', headers: { ...json, 'x-webhook-secret': 'hook-secret-123456' }, body });
    expect([r1.status, r2.status]).toEqual([202, 202]);
    const counts = await t.webhooks.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed');
    expect(Object.values(counts).reduce((s, n) => s + n, 0)).toBe(1);

    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    const again = startCli(['serve', '--port', '0', '--host', '127.0.0.1'], env);
    await listenPort(again);
    const job = await t.webhooks.getJob(event.id);
    expect(job?.data).toEqual(event);
    expect(a.stderr() + again.stderr()).not.toContain('hook-secret-123456');
    expect(a.stderr() + again.stderr()).not.toContain('metrics-token-7d3e91');
  });

  it('/readyz is 503 while Redis is unreachable and 200 once it is back', async () => {
    const t = await setup('ready');
    const redisPort = await freePort();
    const startRedis = () => spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    let server = startRedis();
    await until('redis-server', () => canConnect(redisPort));
    const a = startCli(['serve', '--port', '0', '--host', '127.0.0.1'], { ...t.env, REDIS_URL: `redis://127.0.0.1:${redisPort}` });
    const url = `http://127.0.0.1:${await listenPort(a)}/readyz`;
    const status = () => fetch(url).then((r) => r.status, () => 0);
    try {
      await until('ready', async () => (await status()) === 200);
      server.kill('SIGKILL');
      await until('not ready', async () => (await status()) === 503);
      expect((await fetch(url.replace('/readyz', '/healthz'))).status).toBe(200);
      server = startRedis();
      await until('ready again', async () => (await status()) === 200);
    } finally {
      server.kill('SIGKILL');
    }
  });
});
