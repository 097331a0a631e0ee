/**
 * One replica's share of cluster mode: the resync workers (trigger, resource and run jobs), an optional webhook-event
 * worker, the scheduler, and graceful shutdown. The jobs call the sync module; nothing here decides what is stale.
 */
import { hostname } from 'node:os';
import { DelayedError, FlowProducer, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { bootstrapBlueprints } from '../catalog/port/index.js';
import type { PortAppConfig } from '../config/appConfig.js';
import type { Settings } from '../config/settings.js';
import { finishRun, organizationFailure, resourceBlueprints } from '../sync/fullResync.js';
import { OwnedSnapshot } from '../sync/ownedSnapshot.js';
import { recordProduced } from '../sync/produced.js';
import { buildPortTarget } from '../sync/portTarget.js';
import { resyncOrganization, type ResourceSummary } from '../sync/resync.js';
import { RedisRunLedger } from '../sync/state.js';
import { buildTargets } from '../sync/targets.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import {
  RESYNC_QUEUE,
  WEBHOOK_QUEUE,
  clusterKeys,
  ensureScheduler,
  producerConnection,
  readLastRun,
  releaseResyncLock,
  requestResync,
  requireRedisUrl,
  workerConnection,
  writeLastRun,
  type ClusterKeys,
  type TriggerResult,
} from './cluster.js';
import { createEventJobs } from './eventJobs.js';
import { Metrics } from './metrics.js';
import { OrgSlots } from './orgSlots.js';
import type { ResourceJobData, RunJobData } from './plan.js';

export type WebhookHandler = (job: Job, token?: string) => Promise<unknown>;

export interface ClusterOptions {
  settings: Settings;
  config: PortAppConfig;
  log: Logger;
  /** Run workers in this process (false: only queue producers, e.g. a server-only replica). */
  workers: boolean;
  /** Handles webhook events; default: the partial sync of sync/liveEvent.ts. */
  webhookHandler?: WebhookHandler;
  /** false: this replica leaves webhook events to others (they wait in the queue, durable). */
  liveEvents?: boolean;
  skipBlueprints?: boolean;
}

export interface ResourceJobResult {
  summary: ResourceSummary;
  worker: string;
  pid: number;
}

export interface Cluster {
  keys: ClusterKeys;
  workerId: string;
  metrics: Metrics;
  /** Fail-fast connection for request handlers. */
  producer: Redis;
  resyncQueue: Queue;
  webhookQueue: Queue;
  triggerResync(reason: string): Promise<TriggerResult>;
  /** Stops taking jobs; running jobs get `graceMs` to finish, then are left to the job lock (another replica retries them). */
  close(graceMs: number): Promise<void>;
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const { settings, config } = o;
  const url = requireRedisUrl(settings);
  const keys = clusterKeys(settings);
  const workerId = `${hostname()}-${process.pid}`;
  const log = o.log.child({ worker: workerId });
  const metrics = new Metrics();
  const producer = producerConnection(url);
  const state = new Redis(url, { maxRetriesPerRequest: 3 });
  const queueConn = workerConnection(url);
  const resyncQueue = new Queue(RESYNC_QUEUE, { connection: queueConn, prefix: keys.bull });
  const webhookQueue = new Queue(WEBHOOK_QUEUE, { connection: producer, prefix: keys.bull });
  const flows = new FlowProducer({ connection: queueConn, prefix: keys.bull });
  // Error events of BullMQ objects are logged, never thrown (an unhandled 'error' would end the process).
  const onError = (err: unknown) => log.warn({ err: errorMessage(err) }, 'queue connection error');
  resyncQueue.on('error', onError);
  webhookQueue.on('error', onError);
  flows.on('error', onError);
  const connections: Redis[] = [];
  const track = (r: Redis) => {
    r.on('error', () => undefined);
    connections.push(r);
    return r;
  };
  for (const r of [producer, state, queueConn]) track(r);

  const organizations = buildTargets(settings, log).map((t) => t.client.org.name);
  const trigger = { redis: state, keys, queue: resyncQueue, flows, config, organizations, attempts: settings.jobAttempts };
  const triggerResync = (reason: string) => requestResync(trigger, reason);

  let blueprints: Promise<void> | undefined;
  const ensureBlueprints = () => {
    if (o.skipBlueprints) return Promise.resolve();
    blueprints ??= (async () => {
      const port = buildPortTarget(settings, config, log, state);
      try {
        await bootstrapBlueprints(port.client, settings.blueprintsDir, log);
      } finally {
        await port.close();
      }
    })().catch((err) => {
      blueprints = undefined;
      throw err;
    });
    return blueprints;
  };

  const slots = new OrgSlots(state, keys.base, settings.orgJobConcurrency, settings.jobLockMs);

  async function resourceJob(job: Job<ResourceJobData>, token: string | undefined): Promise<ResourceJobResult> {
    const d = job.data;
    if (!(await slots.acquire(d.organization, job.id!))) {
      // The organization already runs its share of jobs: come back shortly, without spending an attempt.
      await job.moveToDelayed(Date.now() + 250 + Math.floor(Math.random() * 500), token);
      throw new DelayedError();
    }
    const release = slots.hold(d.organization, job.id!);
    try {
      return await runResource(job);
    } finally {
      await release();
    }
  }

  async function runResource(job: Job<ResourceJobData>): Promise<ResourceJobResult> {
    const d = job.data;
    const jobLog = log.child({ runId: d.runId, org: d.organization, resource: d.index, kind: d.kind, attempt: job.attemptsMade + 1 });
    await ensureBlueprints();
    const target = buildTargets(settings, jobLog).find((t) => t.client.org.name === d.organization);
    if (!target) throw new UnrecoverableError(`organization ${d.organization} is no longer configured`);
    const port = buildPortTarget(settings, config, jobLog, state);
    const ledger = new RedisRunLedger({ redis: state, prefix: keys.base, runId: d.runId });
    // The run's listing of what Port holds, shared by its jobs through Redis: unchanged entities are skipped only if held.
    const snapshot = new OwnedSnapshot(ledger, port.catalog, jobLog);
    port.sink.usePresence(snapshot);
    snapshot.prefetch(resourceBlueprints(config, [d.index]));
    try {
      const [summary] = await resyncOrganization({
        config,
        target,
        sink: port.sink,
        log: jobLog,
        poolSize: settings.jqPoolSize,
        pageSize: settings.pageSize,
        resourceIndexes: [d.index],
        onWritten: (entities) =>
          recordProduced(entities, d.organization, {
            ledger,
            origins: organizations.length > 1 ? port.origins : undefined,
            relationTargets: (bp) => port.catalog.relationTargets(bp),
          }),
      });
      if (!summary) throw new UnrecoverableError(`resources[${d.index}] is not in the config`);
      const flushed = await port.sink.flush();
      if (flushed.failed.length > 0) {
        summary.failedWrites += flushed.failed.length;
        summary.incomplete.push(`${flushed.failed.length} entities could not be written`);
      }
      metrics.recordResource(summary);
      metrics.recordAdo(d.organization, target.client.stats);
      const summaryKey = keys.summaries(d.runId);
      await state.multi().hset(summaryKey, `${d.organization}|${d.index}`, JSON.stringify({ ...summary, worker: workerId })).expire(summaryKey, 7 * 24 * 3600).exec();
      if (summary.status === 'failed') throw new Error(`resources[${d.index}] ${d.kind} (${d.organization}): ${summary.error ?? 'failed'}`);
      return { summary, worker: workerId, pid: process.pid };
    } finally {
      await port.close();
    }
  }

  async function runJob(job: Job<RunJobData>): Promise<unknown> {
    const d = job.data;
    const runLog = log.child({ runId: d.runId });
    const raw = await state.hgetall(keys.summaries(d.runId));
    const summaries = Object.values(raw).map((v) => JSON.parse(v) as ResourceSummary & { worker: string });
    const have = new Set(Object.keys(raw));
    // A child that never reported counts as a failed resource of its organization.
    for (const org of d.organizations) {
      for (const i of d.resourceIndexes) {
        if (!have.has(`${org}|${i}`)) summaries.push({ ...organizationFailure(org, 'did not finish'), index: i, kind: config.resources[i]?.kind ?? '?', worker: '' });
      }
    }
    const counts: Record<string, number> = { resources: summaries.length, rawItems: 0, entities: 0, written: 0, unchanged: 0, failedWrites: 0 };
    for (const s of summaries) for (const k of ['rawItems', 'entities', 'written', 'unchanged', 'failedWrites'] as const) counts[k]! += s[k];
    const ledger = new RedisRunLedger({ redis: state, prefix: keys.base, runId: d.runId });
    const port = buildPortTarget(settings, config, runLog, state);
    let outcome: Awaited<ReturnType<typeof finishRun>>;
    try {
      // Resource jobs flushed their own sinks; refusals are already in their summaries.
      outcome = await finishRun({
        config,
        summaries,
        flushFailures: 0,
        aborted: false,
        organizations: d.organizations.length,
        ledger,
        startedAt: new Date(d.startedAt),
        catalog: port.catalog,
        snapshot: new OwnedSnapshot(ledger, port.catalog, runLog),
        state: port.state,
        origins: port.origins,
        log: runLog,
      });
      if (outcome.deletion && !outcome.deletion.skippedReason) await state.incr(`${keys.base}:stale-deletion-runs`);
    } finally {
      await port.close();
    }
    const { complete, deletion } = outcome;
    const reason = outcome.incompleteReason ?? '';
    if (!complete) runLog.warn({ reason }, 'resync incomplete');
    const previous = await readLastRun(state, keys);
    await writeLastRun(state, keys, {
      runId: d.runId,
      reason: d.reason,
      status: complete ? 'succeeded' : 'incomplete',
      startedAt: previous?.runId === d.runId ? previous.startedAt : d.startedAt,
      finishedAt: new Date().toISOString(),
      counts,
      deletion: deletion && { owned: deletion.owned, stale: deletion.stale, deleted: deletion.deleted, skippedReason: deletion.skippedReason },
      incompleteReason: outcome.incompleteReason,
      workers: [...new Set(summaries.map((s) => s.worker).filter(Boolean))].sort(),
    });
    await releaseResyncLock(state, keys, d.runId);
    if (complete) await ledger.clear();
    if (!complete) throw new UnrecoverableError(`resync incomplete, stale deletion skipped: ${reason}`);
    return { complete, counts, deletion, worker: workerId, pid: process.pid };
  }

  function processResync(job: Job, token: string | undefined): Promise<unknown> {
    switch (job.name) {
      case 'trigger':
        return triggerResync(String((job.data as { reason?: string }).reason ?? 'schedule'));
      case 'resource':
        return resourceJob(job as Job<ResourceJobData>, token);
      case 'run':
        return runJob(job as Job<RunJobData>);
      default:
        throw new UnrecoverableError(`unknown job ${job.name}`);
    }
  }

  /** Jobs this replica is running, so a shutdown past its grace period can hand them back at once. */
  const active = new Map<string, { job: Job; token: string | undefined }>();
  const workers: Worker[] = [];
  const closers: Array<() => Promise<void>> = [];
  if (o.workers) {
    const resyncWorker = new Worker(
      RESYNC_QUEUE,
      async (job: Job, token?: string) => {
        active.set(job.id!, { job, token });
        try {
          return await processResync(job, token);
        } finally {
          active.delete(job.id!);
        }
      },
      {
        connection: track(workerConnection(url)),
        prefix: keys.bull,
        concurrency: settings.workerConcurrency,
        lockDuration: settings.jobLockMs,
        stalledInterval: settings.jobLockMs,
        name: workerId,
      },
    );
    resyncWorker.on('failed', (job, err) => log.warn({ job: job?.id, name: job?.name, attempt: job?.attemptsMade, err: err.message }, 'job failed'));
    resyncWorker.on('error', (err) => log.warn({ err: errorMessage(err) }, 'worker error'));
    workers.push(resyncWorker);
    let handler = o.webhookHandler;
    if (!handler && o.liveEvents !== false) {
      const events = createEventJobs({ settings, config, log, redis: state, keys, metrics, ready: ensureBlueprints });
      closers.push(() => events.close());
      handler = (job, token) => events.process(job, token);
    }
    if (handler) {
      const webhookWorker = new Worker(WEBHOOK_QUEUE, handler, { connection: track(workerConnection(url)), prefix: keys.bull, concurrency: settings.workerConcurrency, lockDuration: settings.jobLockMs, name: workerId });
      webhookWorker.on('error', (err) => log.warn({ err: errorMessage(err) }, 'worker error'));
      webhookWorker.on('failed', (job, err) => {
        if (err.name !== 'DelayedError') log.warn({ eventId: job?.id, eventType: job?.name, attempt: job?.attemptsMade, err: err.message }, 'webhook event failed; it is retried, then kept in the failed set');
      });
      workers.push(webhookWorker);
    }
    const scheduled = await ensureScheduler(resyncQueue, settings);
    if (scheduled) log.info({ interval: settings.resyncIntervalMinutes, cron: settings.resyncCron }, 'periodic resync scheduled');
  }
  if (settings.resyncOnStart) {
    const r = await triggerResync('start');
    log.info({ runId: r.runId, started: r.started }, r.started ? 'resync started' : 'a resync is already running; joined it');
  }

  let closing: Promise<void> | undefined;
  const close = (graceMs: number) =>
    (closing ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const graceful = Promise.all(workers.map((w) => w.close())).then(() => true);
      const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs)));
      const finished = await Promise.race([graceful, timeout]);
      clearTimeout(timer);
      if (!finished) {
        log.warn({ graceMs, jobs: [...active.keys()] }, 'jobs still running at the end of the grace period; handing them back to the queue');
        // Back to waiting, attempt not spent: another replica restarts them now instead of after the lock lapses.
        for (const { job, token } of active.values()) {
          await job.moveToWait(token).catch((err: unknown) => log.warn({ job: job.id, err: errorMessage(err) }, 'could not hand a job back; it is retried once its lock lapses'));
        }
        await Promise.all(workers.map((w) => w.close(true).catch(() => undefined)));
      }
      await Promise.allSettled([resyncQueue.close(), webhookQueue.close(), flows.close(), ...closers.map((c) => c())]);
      for (const r of connections) r.disconnect();
    })());

  return { keys, workerId, metrics, producer, resyncQueue, webhookQueue, triggerResync, close };
}

