/**
 * Live-event throughput (issue 20): webhook events are coalesced at enqueue while their subject's job has not started
 * (src/queue/cluster.ts enqueueWebhookEvent), never while it runs; the webhook worker runs WEBHOOK_CONCURRENCY events
 * at once (src/queue/workers.ts) and the subject lock (src/queue/eventJobs.ts) still runs one event per subject at a
 * time. Real Redis, real BullMQ workers, the real HTTP server, the simulators; no sleeps: tests wait on recorded events.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { AsyncLocalStorage } from 'node:async_hooks';
import { resolve } from 'node:path';
import { DelayedError, Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { loadAppConfig, type PortAppConfig } from '../../src/config/appConfig.js';
import { loadSettings, type Settings } from '../../src/config/settings.js';
import { bootstrapBlueprints } from '../../src/catalog/port/blueprints.js';
import { clusterKeys, producerConnection, WEBHOOK_QUEUE, workerConnection, type ClusterKeys } from '../../src/queue/cluster.js';
import { createEventJobs, subjectLockKey, type EventJobs } from '../../src/queue/eventJobs.js';
import { startCluster } from '../../src/queue/runtime.js';
import { buildServer } from '../../src/server/app.js';
import { buildPortTarget } from '../../src/sync/portTarget.js';
import { SyncMetrics } from '../../src/observability/metrics.js';
import { silentLogger } from '../../src/observability/log.js';
import type { ServiceHookEvent } from '../../src/kinds/types.js';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';
import { startPortSimulator, type PortSimulator } from '../simulators/port/index.js';
import { ROOT } from '../helpers/cli.js';
import { syncEnv } from '../helpers/env.js';
import { deleteKeys } from '../helpers/redisKeys.js';
import { sample } from '../helpers/samples.js';

const REDIS = 'redis://127.0.0.1:6379';
const SECRET = 'coalesce-hook-secret-4711';
/** More trips through the delayed set than this fails a test at once. */
const DELAY_BOUND = 40;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- event payloads

describe('webhook events: coalescing, concurrency, subject lock', () => {
  let sim: AdoSimulator;
  let port: PortSimulator;
  let settings: Settings;
  let config: PortAppConfig;
  let keys: ClusterKeys;
  let redis: Redis;
  let producer: Redis;
  let queue: Queue;
  let app: FastifyInstance;
  let hookUrl: string;
  let metrics: SyncMetrics;
  let seq = 0;
  let finishSeq = 0;
  const identifier = `coalesce-${process.pid}-${Date.now()}`;
  /** Connections handed to BullMQ (it leaves them open on close) and our own: quit in afterAll. */
  const connections: Redis[] = [];
  const workers: Array<{ worker: Worker; connection: Redis }> = [];
  const eventJobs: EventJobs[] = [];
  const current = new AsyncLocalStorage<string>();
  const finishedAt = new Map<string, number>();
  const results = new Map<string, Json>();
  const delays = new Map<string, number>();
  const waiters = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  const started = new Map<string, () => void>();
  const delayed = new Map<string, () => void>();

  beforeAll(async () => {
    sim = await startAdoSimulator({ pat: 'coalesce-pat-123456', scale: { projects: 1, reposPerProject: 2, pullRequestsPerRepo: 6, workItemsPerProject: 4, pipelinesPerProject: 0, buildsPerPipeline: 0, releaseDefinitionsPerProject: 0, releasesPerDefinition: 0 } });
    port = await startPortSimulator();
    const env = syncEnv(sim, port, { INTEGRATION_IDENTIFIER: identifier, REDIS_URL: REDIS, JQ_POOL_SIZE: '1', BLUEPRINTS_DIR: resolve(ROOT, 'blueprints'), WEBHOOK_SECRET: SECRET });
    settings = loadSettings({}, env);
    config = loadAppConfig(resolve(ROOT, 'mappings/port-app-config.yml')).config;
    keys = clusterKeys(settings);
    redis = new Redis(REDIS, { maxRetriesPerRequest: null });
    const target = buildPortTarget(settings, config, silentLogger, redis);
    await bootstrapBlueprints(target.client, settings.blueprintsDir!, silentLogger);
    await target.close();
    const queueConnection = redis.duplicate();
    producer = producerConnection(REDIS);
    connections.push(queueConnection, producer);
    queue = new Queue(WEBHOOK_QUEUE, { connection: queueConnection, prefix: keys.bull });
    metrics = new SyncMetrics();
    app = buildServer({ log: silentLogger, redis: producer, webhookQueue: queue, coalesceKeys: keys, queues: [queue], metrics, webhookSecret: SECRET });
    await app.listen({ port: 0, host: '127.0.0.1' });
    hookUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/webhooks/azure-devops`;
  });

  afterEach(async () => {
    await Promise.all(workers.map(async (w) => (await w.worker.close(), await w.connection.quit().catch(() => undefined))));
    workers.splice(0);
    // What a test left queued is not for the next one.
    await queue.drain(true);
  });

  afterAll(async () => {
    await app.close();
    for (const e of eventJobs) await e.close().catch(() => undefined);
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    for (const c of connections) await c.quit().catch(() => undefined);
    await deleteKeys(redis, `${keys.base}:*`);
    await redis.quit();
    await sim.close();
    await port.close();
  });

  /** The webhook worker running the real event jobs; `hold(jobId)` is awaited right after the subject lock is taken. */
  function startWorker(o: { concurrency: number; hold?: (jobId: string) => Promise<void> | undefined; inside?: (jobId: string) => Promise<void> }): Worker {
    const jobs = createEventJobs({
      settings,
      config,
      log: silentLogger,
      redis,
      keys,
      ready: async () => {
        const id = current.getStore()!;
        started.get(id)?.();
        await o.inside?.(id);
        await o.hold?.(id);
      },
    });
    eventJobs.push(jobs);
    const connection = workerConnection(REDIS);
    const worker = new Worker(
      WEBHOOK_QUEUE,
      (job: Job, token?: string) =>
        current.run(job.id!, async () => {
          try {
            const result = (await jobs.process(job, token)) as unknown as Json;
            results.set(job.id!, result);
            finishedAt.set(job.id!, ++finishSeq);
            waiters.get(job.id!)?.resolve();
            return result;
          } catch (err) {
            if (err instanceof DelayedError) {
              delayed.get(job.id!)?.();
              const n = (delays.get(job.id!) ?? 0) + 1;
              delays.set(job.id!, n);
              if (n > DELAY_BOUND) waiters.get(job.id!)?.reject(new Error(`${job.id} went through the delayed set more than ${DELAY_BOUND} times`));
            }
            throw err;
          }
        }),
      { connection, prefix: keys.bull, concurrency: o.concurrency, lockDuration: 5000, skipStalledCheck: true },
    );
    worker.on('error', () => undefined);
    workers.push({ worker, connection });
    return worker;
  }

  const finished = (id: string) => new Promise<void>((resolve, reject) => waiters.set(id, { resolve, reject }));
  const lockTaken = (id: string) => new Promise<void>((resolve) => started.set(id, resolve));
  const wasDelayed = (id: string) => new Promise<void>((resolve) => delayed.set(id, resolve));

  async function ado(path: string): Promise<Json[]> {
    const res = await fetch(`${sim.orgUrl()}/${path}`, { headers: { authorization: `Basic ${Buffer.from(`:${sim.pat}`).toString('base64')}` } });
    expect(res.status).toBe(200);
    return ((await res.json()) as { value: Json[] }).value;
  }

  let prs = 0;
  /** A different pull request (a different subject) each call. */
  async function aPullRequest(): Promise<Json> {
    const [project] = await ado('_apis/projects');
    const pr = (await ado(`${project!.id}/_apis/git/pullrequests?searchCriteria.status=active`))[prs++];
    expect(pr).toBeDefined();
    return pr!;
  }

  /** A documented envelope with a fresh id, pointed at the simulated organization. */
  function event(name: string, resource: (r: Json) => Json, containers: Json = { account: { id: 'acct', baseUrl: `${sim.orgUrl()}/` } }): ServiceHookEvent {
    const e = sample<Json>(`events/${name}.json`);
    e.id = `evt-coalesce-${process.pid}-${++seq}`;
    e.resource = resource(e.resource);
    e.resourceContainers = containers;
    return e as ServiceHookEvent;
  }
  const prEvent = (pr: Json, type = 'git.pullrequest.updated') => event(type, (r) => ({ ...r, pullRequestId: pr.pullRequestId, repository: pr.repository, url: pr.url }));
  const workItemEvent = (type: string, id: number) =>
    event(type, (r) => (type === 'workitem.updated' ? { ...r, workItemId: id, revision: { ...r.revision, id } } : { ...r, id }), { account: { id: 'acct', baseUrl: `${sim.orgUrl()}/` }, project: { id: 'p1', baseUrl: `${sim.orgUrl()}/` } });

  /** POSTs the event; returns the 202 body ({accepted, id, coalesced?}). */
  async function deliver(e: ServiceHookEvent): Promise<Json> {
    const res = await fetch(hookUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': SECRET }, body: JSON.stringify(e) });
    expect(res.status).toBe(202);
    return (await res.json()) as Json;
  }

  const coalescedCount = async () => {
    const text = await metrics.registry.getSingleMetricAsString('ado_sync_webhooks_coalesced_total');
    return text
      .split('\n')
      .filter((l) => l.startsWith('ado_sync_webhooks_coalesced_total'))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  };

  it('coalesces events on a subject whose job waits: N events, one job, every one acknowledged', async () => {
    const pr = await aPullRequest();
    const events = [prEvent(pr, 'git.pullrequest.created'), prEvent(pr), prEvent(pr), prEvent(pr, 'git.pullrequest.merged'), prEvent(pr)];
    const before = await coalescedCount();
    const replies = [];
    for (const e of events) replies.push(await deliver(e));
    expect(replies.map((r) => r.id)).toEqual(events.map(() => events[0]!.id));
    expect(replies.map((r) => r.coalesced === true)).toEqual([false, true, true, true, true]);
    expect(await coalescedCount()).toBe(before + 4);
    expect(await queue.getJobCounts('waiting', 'delayed', 'active')).toEqual({ waiting: 1, delayed: 0, active: 0 });
    // The one job handles them all: the pull request as Azure DevOps has it now.
    const unpatch = sim.patchResponses(`pullrequests/${pr.pullRequestId}$`, (b) => ({ ...b, title: 'title after the last event' }));
    const done = finished(events[0]!.id);
    startWorker({ concurrency: 4 });
    await done;
    unpatch();
    expect(results.get(events[0]!.id)?.status).toBe('handled');
    const entityId = `${pr.repository.project.name}/${pr.repository.name}/${pr.pullRequestId}`.replace(/ /g, '');
    expect(port.entity('azureDevopsPullRequest', entityId)?.title).toBe('title after the last event');
    // A finished job covers nothing: the next event gets a job of its own.
    const after = prEvent(pr);
    const afterDone = finished(after.id);
    expect(await deliver(after)).toEqual({ accepted: true, id: after.id });
    await afterDone;
  });

  it('never coalesces into a running job: an event arriving meanwhile gets its own job and runs after it', async () => {
    const pr = await aPullRequest();
    const [a, b, c] = [prEvent(pr), prEvent(pr), prEvent(pr)];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    startWorker({ concurrency: 8, hold: (id) => (id === a.id ? gate : undefined) });
    const aRunning = lockTaken(a.id);
    const [aDone, bDone] = [finished(a.id), finished(b.id)];
    expect((await deliver(a)).id).toBe(a.id);
    await aRunning;
    // A is active (it may have read Azure DevOps already): B is queued, not folded into A.
    const bDelayed = wasDelayed(b.id);
    expect(await deliver(b)).toEqual({ accepted: true, id: b.id });
    // B waits for the subject lock in the delayed set, not started: C is covered by B, or, if B was just being tried
    // again at that instant, C gets its own job. Either way nothing is dropped.
    await bDelayed;
    const rc = await deliver(c);
    const cDone = rc.id === c.id ? finished(c.id) : undefined;
    if (rc.id !== c.id) expect(rc).toEqual({ accepted: true, id: b.id, coalesced: true });
    release();
    await Promise.all([aDone, bDone, cDone]);
    expect(results.get(b.id)?.status).toBe('handled');
    expect(finishedAt.get(b.id)!).toBeGreaterThan(finishedAt.get(a.id)!);
    if (cDone) expect(finishedAt.get(c.id)!).toBeGreaterThan(finishedAt.get(a.id)!);
  });

  it('never coalesces across subjects, organizations or event groups', async () => {
    const [p1, p2] = [await aPullRequest(), await aPullRequest()];
    const ids = async (events: ServiceHookEvent[]) => {
      const out = [];
      for (const e of events) out.push((await deliver(e)).id as string);
      return out;
    };
    // Two pull requests: two jobs.
    const two = [prEvent(p1), prEvent(p2)];
    expect(await ids(two)).toEqual(two.map((e) => e.id));
    // The same pull request id in another organization (its containers and URL name another one).
    const other = event('git.pullrequest.updated', (r) => ({ ...r, pullRequestId: p1.pullRequestId, repository: p1.repository, url: 'https://dev.azure.com/other-org/_apis/git/pullrequests/1' }), {
      account: { id: 'other', baseUrl: 'https://dev.azure.com/other-org/' },
    });
    expect(await ids([other])).toEqual([other.id]);
    // Pushes to one repository whose job has not started: one job, to which the later ones hand the refs they moved.
    const push = () => event('git.push', (r) => ({ ...r, repository: { ...r.repository, id: p1.repository.id } }));
    const pushes = [push(), push(), push()];
    expect(await ids(pushes)).toEqual(pushes.map(() => pushes[0]!.id));
    expect(await redis.lrange(keys.eventCovered(pushes[0]!.id), 0, -1)).toEqual(pushes.slice(1).map((e) => JSON.stringify(e.resource.refUpdates)));
    // A deletion between two updates keeps its place: the second update is not folded into the first (which runs
    // before the deletion); the third joins the second.
    const wi = 900_000 + seq;
    const [u1, d, u2, u3] = [workItemEvent('workitem.updated', wi), workItemEvent('workitem.deleted', wi), workItemEvent('workitem.created', wi), workItemEvent('workitem.updated', wi)];
    expect(await ids([u1, d, u2, u3])).toEqual([u1.id, d.id, u2.id, u2.id]);
    // Redelivered: the last one finds its own job, as before; the first is covered by the later job of its group.
    expect(await deliver(u2)).toEqual({ accepted: true, id: u2.id });
    expect(await deliver(u1)).toEqual({ accepted: true, id: u2.id, coalesced: true });
  });

  it('a push job that covers later pushes handles every ref they moved, then drops what they handed over', async () => {
    const [project] = await ado('_apis/projects');
    const repo = (await ado(`${project!.id}/_apis/git/repositories`)).find((r) => r.defaultBranch)!;
    const heads = await ado(`${project!.id}/_apis/git/repositories/${repo.id}/refs?filter=heads/`);
    expect(heads.length).toBeGreaterThanOrEqual(2);
    const [a, b] = [heads[0]!, heads[1]!];
    const pushOf = (ref: Json) =>
      event('git.push', (r) => ({ ...r, repository: { ...r.repository, id: repo.id, name: repo.name, project: { id: project!.id } }, refUpdates: [{ name: ref.name, oldObjectId: 'f'.repeat(40), newObjectId: ref.objectId }] }), {
        account: { id: 'acct', baseUrl: `${sim.orgUrl()}/` },
        project: { id: project!.id, baseUrl: `${sim.orgUrl()}/` },
      });
    const [first, second] = [pushOf(a), pushOf(b)];
    expect((await deliver(first)).id).toBe(first.id);
    expect(await deliver(second)).toEqual({ accepted: true, id: first.id, coalesced: true });
    // The job runs with a config that syncs branches: both branches are written, though its own event named one.
    const branches = loadAppConfig(resolve(ROOT, 'mappings/examples/all-kinds.yml')).config.resources.filter((r) => r.kind === 'branch');
    const jobs = createEventJobs({ settings, config: { ...config, resources: branches }, log: silentLogger, redis, keys });
    eventJobs.push(jobs);
    const result = (await jobs.process((await queue.getJob(first.id))!)) as unknown as Json;
    expect(result.status).toBe('handled');
    const name = (ref: Json) => String(ref.name).replace('refs/heads/', '');
    for (const ref of [a, b]) expect(port.entity('azureDevopsBranch', `${repo.id}/${name(ref)}`)?.properties.commit).toBe(ref.objectId);
    expect(await redis.exists(keys.eventCovered(first.id))).toBe(0);
  });

  it('WEBHOOK_CONCURRENCY reaches the webhook worker (not WORKER_CONCURRENCY)', async () => {
    const env = syncEnv(sim, port, { INTEGRATION_IDENTIFIER: `${identifier}-conc`, REDIS_URL: REDIS, JQ_POOL_SIZE: '1', WORKER_CONCURRENCY: '1', WEBHOOK_CONCURRENCY: '5' });
    const s = loadSettings({}, env);
    expect([s.webhookConcurrency, loadSettings({}, syncEnv(sim, port, { REDIS_URL: REDIS })).webhookConcurrency]).toEqual([5, 32]);
    let running = 0;
    let most = 0;
    let fifth!: () => void;
    const fiveRunning = new Promise<void>((r) => (fifth = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const cluster = await startCluster({
      settings: s,
      config,
      log: silentLogger,
      workers: true,
      skipBlueprints: true,
      webhookHandler: async () => {
        most = Math.max(most, ++running);
        if (running === 5) fifth();
        await gate;
        running--;
        return { status: 'handled' };
      },
    });
    try {
      const jobs = await Promise.all(Array.from({ length: 8 }, (_, i) => cluster.webhookQueue.add('x', { i }, { jobId: `conc-${i}` })));
      await fiveRunning;
      expect(await cluster.webhookQueue.getActiveCount()).toBe(5);
      release();
      const eventsConnection = workerConnection(REDIS);
      const events = new QueueEvents(WEBHOOK_QUEUE, { connection: eventsConnection, prefix: cluster.keys.bull });
      try {
        await events.waitUntilReady();
        await Promise.all(jobs.map((j) => j.waitUntilFinished(events, 30_000)));
      } finally {
        await events.close();
        await eventsConnection.quit();
      }
      expect(most).toBe(5);
    } finally {
      await cluster.webhookQueue.obliterate({ force: true }).catch(() => undefined);
      await cluster.close(1000);
      await deleteKeys(redis, `${cluster.keys.base}:*`);
    }
  });

  it('at WEBHOOK_CONCURRENCY the subject lock still runs one event per subject at a time, without spinning', async () => {
    const pr = await aPullRequest();
    // Queued directly (no coalescing), so that many jobs of one subject meet the lock at once.
    const events = Array.from({ length: 8 }, () => prEvent(pr));
    let inside: string | undefined;
    let overlaps = 0;
    startWorker({
      concurrency: settings.webhookConcurrency,
      inside: async (id) => {
        if (!events.some((e) => e.id === id)) return;
        if (inside !== undefined) overlaps++;
        inside = id;
        // Let every other run of the worker go on meanwhile (a Redis round trip), then check the lock still names this run.
        const held = await redis.get(subjectLockKey(keys, events[0]!));
        if (!held?.includes(id)) overlaps++;
        inside = undefined;
      },
    });
    const done = events.map((e) => finished(e.id));
    await Promise.all(events.map((e) => queue.add(e.eventType, e, { jobId: e.id, attempts: 5 })));
    await Promise.all(done);
    expect(overlaps).toBe(0);
    expect(events.map((e) => results.get(e.id)?.status)).toEqual(events.map(() => 'handled'));
    // Each run waits in the delayed set (100-500 ms per trip) while others hold the subject: a bounded number of trips.
    expect(Math.max(...events.map((e) => delays.get(e.id) ?? 0))).toBeLessThanOrEqual(DELAY_BOUND);
  });
});
