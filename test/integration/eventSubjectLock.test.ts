/**
 * The subject lock of webhook events (src/queue/eventJobs.ts) is tied to the holder's BullMQ job lock: a worker that
 * dies holding it holds up the subject only until its job lock lapses, and BullMQ's retry of the same job takes the
 * lock back at once. Real Redis, real BullMQ workers (one really closed with force mid-event), real simulators.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { resolve } from 'node:path';
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { loadAppConfig, type PortAppConfig } from '../../src/config/appConfig.js';
import { loadSettings, type Settings } from '../../src/config/settings.js';
import { bootstrapBlueprints } from '../../src/catalog/port/blueprints.js';
import { clusterKeys, WEBHOOK_QUEUE, workerConnection, type ClusterKeys } from '../../src/queue/cluster.js';
import { createEventJobs, jobLockKey, subjectLockKey, type EventJobs } from '../../src/queue/eventJobs.js';
import { buildPortTarget } from '../../src/sync/portTarget.js';
import type { ServiceHookEvent } from '../../src/kinds/types.js';
import { silentLogger } from '../../src/observability/log.js';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';
import { startPortSimulator, type PortSimulator } from '../simulators/port/index.js';
import { ROOT } from '../helpers/cli.js';
import { syncEnv } from '../helpers/env.js';
import { deleteKeys } from '../helpers/redisKeys.js';
import { sample } from '../helpers/samples.js';

const REDIS = 'redis://127.0.0.1:6379';
/** More trips through the delayed set than this fails a test at once (the old 120 s lock would take ~400). */
const DELAY_BOUND = 20;
/** Job lock of the worker that dies: how long its subject lock may still hold others up. */
const DYING_LOCK_MS = 1000;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- event payloads

interface Runs {
  delays: number;
  starts: number;
  /** BullMQ's attemptsMade when the last run began (a trip through the delayed set must not spend one). */
  attemptsMade?: number;
  result?: Json;
  finishedAt?: number;
}

describe('event subject lock tied to the job lock', () => {
  let sim: AdoSimulator;
  let port: PortSimulator;
  let settings: Settings;
  let config: PortAppConfig;
  let keys: ClusterKeys;
  let redis: Redis;
  let queue: Queue;
  let seq = 0;
  let finishSeq = 0;
  const runs = new Map<string, Runs>();
  const waiters = new Map<string, { resolve: (r: Runs) => void; reject: (e: Error) => void }>();
  const started = new Map<string, () => void>();
  const onDelay = new Map<string, () => void>();
  const current = new AsyncLocalStorage<string>();
  /** Running workers, each with the connection it was handed (BullMQ leaves that one open on close). */
  const workers: Array<{ worker: Worker; connection: Redis }> = [];
  const eventJobs: EventJobs[] = [];
  const connections: Redis[] = [];

  beforeAll(async () => {
    sim = await startAdoSimulator({ pat: 'lock-pat-123456', scale: { projects: 1, reposPerProject: 1, pullRequestsPerRepo: 6, workItemsPerProject: 1, pipelinesPerProject: 0, buildsPerPipeline: 0, releaseDefinitionsPerProject: 0, releasesPerDefinition: 0 } });
    port = await startPortSimulator();
    const env = syncEnv(sim, port, { INTEGRATION_IDENTIFIER: `subject-lock-${process.pid}-${Date.now()}`, REDIS_URL: REDIS, JQ_POOL_SIZE: '1', BLUEPRINTS_DIR: resolve(ROOT, 'blueprints') });
    settings = loadSettings({}, env);
    config = loadAppConfig(resolve(ROOT, 'mappings/port-app-config.yml')).config;
    keys = clusterKeys(settings);
    redis = new Redis(REDIS, { maxRetriesPerRequest: null });
    const target = buildPortTarget(settings, config, silentLogger, redis);
    await bootstrapBlueprints(target.client, settings.blueprintsDir!, silentLogger);
    await target.close();
    const queueConnection = redis.duplicate();
    connections.push(queueConnection);
    queue = new Queue(WEBHOOK_QUEUE, { connection: queueConnection, prefix: keys.bull });
  });

  afterAll(async () => {
    for (const e of eventJobs) await e.close().catch(() => undefined);
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    for (const c of connections) await c.quit();
    await deleteKeys(redis, `${keys.base}:*`);
    await redis.quit();
    await sim.close();
    await port.close();
  });

  /**
   * A worker killed: closed with force and its connection cut, so it neither renews its job locks nor takes another job
   * (a force-closed worker's loop would otherwise still fetch one on the connection it was handed).
   */
  async function kill(worker: Worker): Promise<void> {
    await worker.close(true);
    // QUIT, not disconnect(): Redis runs nothing sent after it, and ioredis keeps no 2 s timer for the socket.
    await workers.find((w) => w.worker === worker)?.connection.quit().catch(() => undefined);
  }

  afterEach(async () => {
    // The others stop as a replica does on SIGTERM (close() on a killed one returns its earlier close).
    await Promise.all(workers.map(async (w) => (await w.worker.close(), await w.connection.quit().catch(() => undefined))));
    workers.splice(0);
  });

  const record = (id: string) => {
    let r = runs.get(id);
    if (!r) runs.set(id, (r = { delays: 0, starts: 0 }));
    return r;
  };

  /**
   * A webhook worker running the real event jobs. `hold(jobId)` may return a promise the run waits for right after
   * taking the subject lock (as a run still refetching would); a promise that never settles is the run a dying worker
   * leaves behind. Only a worker given `stalledInterval` runs BullMQ's stalled-job check (its check also rate-limits
   * everyone else's, cluster-wide).
   */
  function startWorker(o: { lockDuration: number; stalledInterval?: number; hold?: (jobId: string) => Promise<void> | undefined }): Worker {
    const jobs = createEventJobs({
      settings,
      config,
      log: silentLogger,
      redis,
      keys,
      ready: async () => {
        const id = current.getStore()!;
        record(id).starts++;
        started.get(id)?.();
        await o.hold?.(id);
      },
    });
    eventJobs.push(jobs);
    const connection = workerConnection(REDIS);
    const worker = new Worker(
      WEBHOOK_QUEUE,
      (job: Job, token?: string) =>
        current.run(job.id!, async () => {
          const r = record(job.id!);
          r.attemptsMade = job.attemptsMade;
          try {
            const result = (await jobs.process(job, token)) as unknown as Json;
            r.result = result;
            r.finishedAt = ++finishSeq;
            waiters.get(job.id!)?.resolve(r);
            return result;
          } catch (err) {
            if (err instanceof DelayedError) onDelay.get(job.id!)?.();
            if (err instanceof DelayedError && ++r.delays > DELAY_BOUND) waiters.get(job.id!)?.reject(new Error(`${job.id} went through the delayed set more than ${DELAY_BOUND} times`));
            throw err;
          }
        }),
      {
        connection,
        prefix: keys.bull,
        concurrency: 2,
        lockDuration: o.lockDuration,
        ...(o.stalledInterval ? { stalledInterval: o.stalledInterval } : { skipStalledCheck: true }),
      },
    );
    worker.on('error', () => undefined);
    workers.push({ worker, connection });
    return worker;
  }

  /** Resolves when the job's run returns, rejects once it has been delayed more than DELAY_BOUND times. */
  const finished = (id: string) => new Promise<Runs>((resolve, reject) => waiters.set(id, { resolve, reject }));
  const lockTaken = (id: string) => new Promise<void>((resolve) => started.set(id, resolve));
  const wasDelayed = (id: string) => new Promise<void>((resolve) => onDelay.set(id, resolve));

  /** A different pull request (so a different subject) for each test. */
  let prs = 0;
  async function aPullRequest(): Promise<Json> {
    const get = async (path: string) => {
      const res = await fetch(`${sim.orgUrl()}/${path}`, { headers: { authorization: `Basic ${Buffer.from(`:${sim.pat}`).toString('base64')}` } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { value: Json[] }).value;
    };
    const [project] = await get('_apis/projects');
    const pr = (await get(`${project!.id}/_apis/git/pullrequests?searchCriteria.status=active`))[prs++];
    expect(pr).toBeDefined();
    return pr!;
  }

  /** A documented git.pullrequest.updated envelope about that pull request, with a fresh id. */
  function prEvent(pr: Json): ServiceHookEvent {
    const e = sample<Json>('events/git.pullrequest.updated.json');
    e.id = `evt-lock-${process.pid}-${++seq}`;
    e.resource = { ...e.resource, pullRequestId: pr.pullRequestId, repository: pr.repository, url: pr.url };
    e.resourceContainers = { account: { id: 'acct', baseUrl: `${sim.orgUrl()}/` } };
    return e as ServiceHookEvent;
  }

  const add = (e: ServiceHookEvent) => queue.add(e.eventType, e, { jobId: e.id, attempts: 5, backoff: { type: 'exponential', delay: 2000 } });

  /** A worker takes event A's subject lock and is then closed with force mid-event: its job lock is no longer renewed. */
  async function dieHolding(a: ServiceHookEvent): Promise<void> {
    const dying = startWorker({ lockDuration: DYING_LOCK_MS, hold: (id) => (id === a.id ? new Promise<never>(() => undefined) : undefined) });
    const taken = lockTaken(a.id);
    await add(a);
    await taken;
    expect(await redis.get(subjectLockKey(keys, a))).toContain(a.id);
    await kill(dying);
  }

  it('takes the lock a dead holder left (subject lock set, no job lock) without delaying the next event', async () => {
    const pr = await aPullRequest();
    const [dead, next] = [prEvent(pr), prEvent(pr)];
    // What a worker killed mid-event leaves: the subject lock naming its run, its BullMQ job lock gone.
    const deadLock = jobLockKey({ queueQualifiedName: `${keys.bull}:${WEBHOOK_QUEUE}`, id: dead.id });
    await redis.set(subjectLockKey(keys, dead), `${deadLock}\ndead-worker:0`, 'PX', 600_000);
    expect(await redis.exists(deadLock)).toBe(0);
    startWorker({ lockDuration: 5000 });
    const done = finished(next.id);
    await add(next);
    const r = await done;
    expect(r.result?.status).toBe('handled');
    expect(r.delays).toBe(0);
    expect(await redis.exists(subjectLockKey(keys, next))).toBe(0);
  });

  it('a worker closed with force mid-event holds the subject up only until its job lock lapses', async () => {
    const pr = await aPullRequest();
    const [a, b] = [prEvent(pr), prEvent(pr)];
    await dieHolding(a);
    // Its stalled-job check runs only once in this test, so A is not retried meanwhile: the job lock's lapse frees B.
    startWorker({ lockDuration: 5000 });
    const done = finished(b.id);
    await add(b);
    const r = await done;
    expect(r.result?.status).toBe('handled');
    expect(r.delays).toBeLessThanOrEqual(DELAY_BOUND);
    expect(await queue.getJobState(a.id)).toBe('active');
    expect(await redis.exists(subjectLockKey(keys, b))).toBe(0);
    // A's job lock has lapsed (that is what let B go): the job can be removed, so no later stalled check retries it.
    await (await queue.getJob(a.id))!.remove();
  });

  it("BullMQ's retry of the job whose worker died takes the subject lock back at once", async () => {
    const pr = await aPullRequest();
    const a = prEvent(pr);
    await dieHolding(a);
    const value = await redis.get(subjectLockKey(keys, a));
    // The retry is a new run of the same job id: moved back to wait by the stalled-job check once the job lock lapsed.
    startWorker({ lockDuration: 5000, stalledInterval: 200 });
    const done = finished(a.id);
    const r = await done;
    expect(r.result?.status).toBe('handled');
    expect(r.starts).toBe(2);
    expect(r.delays).toBe(0);
    // It still found the dead run's lock (nothing else touched the subject), and released its own.
    expect(value).toContain(a.id);
    expect(await redis.exists(subjectLockKey(keys, a))).toBe(0);
  });

  it('a live holder is still waited for: the second event on the subject goes through the delayed set without spending an attempt, then runs', async () => {
    const pr = await aPullRequest();
    const [a, b] = [prEvent(pr), prEvent(pr)];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    startWorker({ lockDuration: 5000, hold: (id) => (id === a.id ? gate : undefined) });
    const aTaken = lockTaken(a.id);
    const [aDone, bDone] = [finished(a.id), finished(b.id)];
    await add(a);
    await aTaken;
    const bDelayed = wasDelayed(b.id);
    await add(b);
    // B goes through the delayed set while A's live run holds the subject; then A goes on.
    await bDelayed;
    release();
    const [ra, rb] = [await aDone, await bDone];
    expect([ra.result?.status, rb.result?.status]).toEqual(['handled', 'handled']);
    expect(rb.finishedAt).toBeGreaterThan(ra.finishedAt!);
    expect(rb.delays).toBeGreaterThanOrEqual(1);
    expect(rb.starts).toBe(1);
    expect(rb.attemptsMade).toBe(0);
  });
});
