/**
 * Webhook-event jobs: one queued service-hook event → one partial sync (sync/liveEvent.ts). Events about the same
 * subject (a pull request, a work item, a repository's refs, a run, a release) never run at once anywhere in the
 * cluster: a second one waits in the delayed set until the first is done, so an older refetch cannot overwrite a newer
 * one. A failing event is retried with backoff and then stays in the failed set, never dropped.
 *
 * The subject lock is tied to the holder's own BullMQ job lock, so a replica that dies holding it does not hold up the
 * subject: see TAKE below.
 */
import { randomBytes } from 'node:crypto';
import { DelayedError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { PortAppConfig } from '../config/appConfig.js';
import type { Settings } from '../config/settings.js';
import type { ServiceHookEvent } from '../kinds/types.js';
import { LiveEventHandler, type LiveEventResult } from '../sync/liveEvent.js';
import { buildPortTarget } from '../sync/portTarget.js';
import { buildTargets } from '../sync/targets.js';
import type { Logger } from '../observability/log.js';
import type { SyncMetrics } from '../observability/metrics.js';
import type { ClusterKeys } from './cluster.js';
import { eventSubject, handsOver, mergeCovered } from './eventSubject.js';

/**
 * Safety net only: what frees a crashed holder's subject lock is its BullMQ job lock lapsing (TAKE below). This TTL just
 * keeps a lock key from outliving every job, and bounds a holder whose handler runs longer than this.
 */
const SUBJECT_LOCK_MS = 10 * 60_000;

/** What an event is about (eventSubject.ts), so events on one subject are handled one at a time. */
export { eventSubject };

/**
 * Take the subject lock for one run of a job, atomically. The lock's value names the holder: its BullMQ job lock key
 * (`<prefix>:<queue>:<jobId>:lock`) and the token of that run (the value BullMQ keeps in the job lock while the run is
 * alive), separated by a newline. The lock is taken when
 * - it is free;
 * - it names this same job: BullMQ is running the job again after the worker that held it died (a stalled job moved
 *   back to wait), so the earlier run is gone;
 * - the holder's job lock no longer holds the holder's token: its worker stopped renewing it (died, or lost the job
 *   to the stalled-job check), so BullMQ itself no longer counts that run as alive.
 * A value without a newline (an older release's lock) is left to its own TTL.
 *
 *   KEYS[1] subject lock   KEYS[2] this job's BullMQ lock key
 *   ARGV[1] this run's token   ARGV[2] safety TTL (ms)
 * Returns 1 when taken, 0 when another live run holds it.
 */
const TAKE = `
local held = redis.call('get', KEYS[1])
if held then
  local nl = string.find(held, '\\n', 1, true)
  if not nl then return 0 end
  local holderLock = string.sub(held, 1, nl - 1)
  if holderLock ~= KEYS[2] and redis.call('get', holderLock) == string.sub(held, nl + 1) then return 0 end
end
redis.call('set', KEYS[1], KEYS[2] .. '\\n' .. ARGV[1], 'PX', ARGV[2])
return 1
`;

/** Release only this run's lock: after a takeover the lock belongs to someone else. */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

/** BullMQ's lock key of a job (see bullmq's prepareJobForProcessing: `jobKey .. ':lock'`). */
export function jobLockKey(job: Pick<Job, 'queueQualifiedName' | 'id'>): string {
  return `${job.queueQualifiedName}:${job.id}:lock`;
}

/** The Redis key of the lock of one event subject. */
export function subjectLockKey(keys: Pick<ClusterKeys, 'base'>, event: ServiceHookEvent): string {
  return `${keys.base}:event-subject:${eventSubject(event)}`;
}

export interface EventJobsOptions {
  settings: Settings;
  config: PortAppConfig;
  log: Logger;
  redis: Redis;
  keys: ClusterKeys;
  metrics?: SyncMetrics;
  /** Blueprints must exist before the first entity is written. */
  ready?: () => Promise<void>;
}

export interface EventJobs {
  process(job: Job, token?: string): Promise<LiveEventResult>;
  close(): Promise<void>;
}

export function createEventJobs(o: EventJobsOptions): EventJobs {
  const port = buildPortTarget(o.settings, o.config, o.log, o.redis);
  // As many Azure DevOps requests in flight as events: an event is a few requests, and waits on them.
  const targets = buildTargets({ ...o.settings, orgConcurrency: Math.max(o.settings.orgConcurrency, o.settings.webhookConcurrency) }, o.log);
  const handler = new LiveEventHandler({
    config: o.config,
    targets,
    sink: port.sink,
    catalog: port.catalog,
    state: port.state,
    origins: port.origins,
    claims: port.claims,
    log: o.log.child({ component: 'live-events' }),
    pageSize: o.settings.pageSize,
  });

  async function process(job: Job, token?: string): Promise<LiveEventResult> {
    let event = job.data as ServiceHookEvent;
    const lockKey = subjectLockKey(o.keys, event);
    const ownLock = jobLockKey(job);
    // A BullMQ worker always passes the run's token. A direct call without one has no job lock vouching for it, so its
    // lock (named by a random token) holds other events off only until one of them checks it.
    const runToken = token ?? `direct:${randomBytes(8).toString('hex')}`;
    const lockValue = `${ownLock}\n${runToken}`;
    if ((await o.redis.eval(TAKE, 2, lockKey, ownLock, runToken, SUBJECT_LOCK_MS)) !== 1) {
      // Another live run on the same subject is being handled: come back shortly, without spending an attempt.
      await job.moveToDelayed(Date.now() + 100 + Math.floor(Math.random() * 400), token);
      throw new DelayedError();
    }
    // What the events this job covers handed over (their pushes' refs): nothing is added while the job runs. Only
    // event types that hand something over have such a list: the others cost no Redis call here.
    const coveredKey = handsOver(event.eventType) ? o.keys.eventCovered(job.id!) : undefined;
    try {
      await o.ready?.();
      if (coveredKey) event = mergeCovered(event, await o.redis.lrange(coveredKey, 0, -1));
      const result = await handler.handle(event);
      if (coveredKey) await o.redis.del(coveredKey);
      o.metrics?.webhookHandled(event.eventType, result.status);
      o.log.info({ eventId: event.id, eventType: event.eventType, status: result.status, reason: result.reason, resources: result.resources }, 'webhook event handled');
      return result;
    } finally {
      for (const t of targets) o.metrics?.recordAdo(t.client.org.name, t.client.stats);
      o.metrics?.recordPort(port.client.stats);
      await o.redis.eval(RELEASE, 1, lockKey, lockValue).catch(() => undefined);
    }
  }

  return {
    process,
    close: async () => {
      await handler.close();
      await port.close();
    },
  };
}
