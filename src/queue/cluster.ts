/**
 * Cluster mode on BullMQ: the queues, their Redis keys, the single-resync lock (shared by full and incremental runs),
 * the periodic schedulers (full and incremental), the webhook event queue and the last-run record. No sync logic here:
 * workers.ts runs the jobs with the sync module.
 */
import { randomBytes } from 'node:crypto';
import { FlowProducer, Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { PortAppConfig } from '../config/appConfig.js';
import type { Settings } from '../config/settings.js';
import type { ActionInvocation } from '../actions/types.js';
import { UserInputError } from '../util/errors.js';
import { coalesceKey, coveredPart, eventSubject } from './eventSubject.js';
import { planResyncFlow, type ResyncMode } from './plan.js';

export type { ResyncMode } from './plan.js';

export const RESYNC_QUEUE = 'resync';
export const WEBHOOK_QUEUE = 'webhook-events';
/** Port action runs (actionJobs.ts), one job per run id. */
export const ACTION_QUEUE = 'action-runs';
export const SCHEDULER_ID = 'periodic-resync';
/** The incremental runs' scheduler (RESYNC_INCREMENTAL_MINUTES), beside the full one. */
export const INCREMENTAL_SCHEDULER_ID = 'periodic-incremental-resync';
/** A lock whose run never showed up as a job is taken over after this long. */
const ORPHAN_LOCK_MS = 60_000;
const LOCK_TTL_MS = 24 * 3600_000;

export interface ClusterKeys {
  /** BullMQ prefix of every queue key. */
  bull: string;
  /** Prefix of our own keys (entity hashes, run ledgers, lock, last run). */
  base: string;
  lock: string;
  lastRun: string;
  summaries(runId: string): string;
  /** The webhook job that covers the events of one subject (eventSubject.ts) until it starts (see enqueueWebhookEvent). */
  eventCover(subject: string): string;
  /** What the events a webhook job covers hand over to it (eventSubject.ts coveredPart), oldest first. */
  eventCovered(jobId: string): string;
}

export function clusterKeys(settings: Pick<Settings, 'integrationIdentifier'>): ClusterKeys {
  const base = `ado-sync:${settings.integrationIdentifier}`;
  return {
    bull: `${base}:bull`,
    base,
    lock: `${base}:resync-lock`,
    lastRun: `${base}:last-run`,
    summaries: (runId) => `${base}:run:${runId}:summaries`,
    eventCover: (subject) => `${base}:event-cover:${subject}`,
    eventCovered: (jobId) => `${base}:event-covered:${jobId}`,
  };
}

export function requireRedisUrl(settings: Settings): string {
  if (!settings.redisUrl) throw new UserInputError('cluster mode needs Redis: set REDIS_URL (e.g. redis://127.0.0.1:6379) or pass --redis-url');
  return settings.redisUrl;
}

/** Connection for workers (blocking commands: no per-request retry limit, as BullMQ requires). */
export function workerConnection(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, ...extra });
}

/** Connection for producers and request handlers: fail fast while Redis is away instead of queueing commands. */
export function producerConnection(url: string, overrides: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000, ...overrides });
}

export interface LastRun {
  runId: string;
  reason: string;
  status: 'running' | 'succeeded' | 'incomplete' | 'failed';
  /** What the run read: everything (then stale deletion), or only what changed (nothing deleted). Absent: full. */
  mode?: ResyncMode;
  startedAt: string;
  finishedAt?: string;
  /** Totals over all resources of all organizations. */
  counts?: Record<string, number>;
  deletion?: { owned: number; stale: number; deleted: number; skippedReason?: string };
  incompleteReason?: string;
  workers?: string[];
}

export async function readLastRun(redis: Redis, keys: ClusterKeys): Promise<LastRun | undefined> {
  const raw = await redis.get(keys.lastRun);
  return raw ? (JSON.parse(raw) as LastRun) : undefined;
}

export async function writeLastRun(redis: Redis, keys: ClusterKeys, run: LastRun): Promise<void> {
  await redis.set(keys.lastRun, JSON.stringify(run));
}

/** Deletes the lock only if it still names this run (`<runId>|...`). */
const RELEASE = `local v = redis.call('get', KEYS[1])
if v and string.sub(v, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. '|' then return redis.call('del', KEYS[1]) end
return 0`;

export async function releaseResyncLock(redis: Redis, keys: ClusterKeys, runIdOrLockValue: string): Promise<void> {
  await redis.eval(RELEASE, 1, keys.lock, runIdOrLockValue.split('|')[0]!);
}

export interface TriggerResult {
  runId: string;
  /** False when a run was already going: this trigger joined it instead of stacking another. */
  started: boolean;
  /** The mode of the run started, or of the one already going (which may differ from the trigger's). */
  mode?: ResyncMode;
}

export interface ResyncTrigger {
  redis: Redis;
  keys: ClusterKeys;
  queue: Queue;
  flows: FlowProducer;
  config: PortAppConfig;
  organizations: string[];
  attempts: number;
  backoffMs?: number;
}

/**
 * Starts a resync (full, or incremental: only what changed, nothing deleted) unless one is running anywhere in the
 * cluster. Both modes take the same lock, so they never overlap: a trigger of either mode during a run of either mode
 * starts nothing and answers with the running run (`started: false`, its runId and mode). The lock (`SET NX`) holds
 * `<runId>|<epoch ms>|<mode>`; a lock whose run has finished (completed or failed) or never appeared is taken over, so
 * a crashed trigger or a run that failed outright cannot block resyncs forever.
 */
export async function requestResync(t: ResyncTrigger, reason: string, mode: ResyncMode = 'full'): Promise<TriggerResult> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const runId = `run-${Date.now()}-${randomBytes(3).toString('hex')}`;
    const lockValue = `${runId}|${Date.now()}|${mode}`;
    const ok = await t.redis.set(t.keys.lock, lockValue, 'PX', LOCK_TTL_MS, 'NX');
    if (ok === 'OK') {
      try {
        await writeLastRun(t.redis, t.keys, { runId, reason, mode, status: 'running', startedAt: new Date().toISOString() });
        await t.flows.add(
          planResyncFlow({ queueName: t.queue.name, runId, mode, config: t.config, organizations: t.organizations, reason, attempts: t.attempts, backoffMs: t.backoffMs ?? 1000 }),
        );
      } catch (err) {
        await writeLastRun(t.redis, t.keys, { runId, reason, mode, status: 'failed', startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(), incompleteReason: 'the run could not be queued' }).catch(() => undefined);
        await releaseResyncLock(t.redis, t.keys, lockValue).catch(() => undefined);
        throw err;
      }
      return { runId, started: true, mode };
    }
    const held = await t.redis.get(t.keys.lock);
    if (!held) continue;
    const [heldRun = '', at = '0', heldMode] = held.split('|');
    const state = await t.queue.getJobState(heldRun);
    const finished = state === 'completed' || state === 'failed' || (state === 'unknown' && Date.now() - Number(at) > ORPHAN_LOCK_MS);
    // A lock written before runs had modes names a full run.
    if (!finished) return { runId: heldRun, started: false, mode: heldMode === 'incremental' ? 'incremental' : 'full' };
    await releaseResyncLock(t.redis, t.keys, held);
  }
  throw new Error('could not take the resync lock');
}

/** The data of a `trigger` job (the schedulers' ticks): the run's reason and mode (absent: full). */
export interface TriggerJobData {
  reason?: string;
  mode?: ResyncMode;
}

/** The periodic full resync, created once in Redis however many replicas call this (upsert by a fixed scheduler id). */
export async function ensureScheduler(queue: Queue, settings: Settings): Promise<'interval' | 'cron' | undefined> {
  const data: TriggerJobData = { reason: 'schedule', mode: 'full' };
  const template = { name: 'trigger', data, opts: { removeOnComplete: 50, removeOnFail: 50 } };
  if (settings.resyncCron) {
    await queue.upsertJobScheduler(SCHEDULER_ID, { pattern: settings.resyncCron }, template);
    return 'cron';
  }
  if (settings.resyncIntervalMinutes) {
    if (settings.resyncIntervalMinutes < 1) throw new UserInputError('resyncIntervalMinutes must be at least 1');
    await queue.upsertJobScheduler(SCHEDULER_ID, { every: settings.resyncIntervalMinutes * 60_000 }, template);
    return 'interval';
  }
  return undefined;
}

/**
 * The periodic incremental resync (RESYNC_INCREMENTAL_MINUTES), a second scheduler beside the full one, created once
 * however many replicas call this; removed when the setting is unset, so turning it off takes one restart. Its first
 * tick comes one interval after it is created (the full interval's first run starts at once: the two would race for
 * the lock, and an incremental run reads everything anyway until a first pass has set the cursors). An upsert by a
 * replica starting later keeps the scheduled tick (same interval: BullMQ keeps its next time). Each tick asks for an
 * incremental run through the same lock as a full one (requestResync): a tick while any resync runs is skipped.
 * Returns the interval in minutes, or undefined when off.
 */
export async function ensureIncrementalScheduler(queue: Queue, settings: Settings): Promise<number | undefined> {
  const minutes = settings.resyncIncrementalMinutes;
  if (!minutes) {
    await queue.removeJobScheduler(INCREMENTAL_SCHEDULER_ID);
    return undefined;
  }
  if (minutes < 1) throw new UserInputError('resyncIncrementalMinutes must be at least 1');
  const every = minutes * 60_000;
  const data: TriggerJobData = { reason: 'schedule', mode: 'incremental' };
  await queue.upsertJobScheduler(INCREMENTAL_SCHEDULER_ID, { every, startDate: Date.now() + every }, { name: 'trigger', data, opts: { removeOnComplete: 50, removeOnFail: 50 } });
  return minutes;
}

export interface WebhookEnvelope {
  id: string;
  eventType: string;
  publisherId: string;
  resource: Record<string, unknown>;
  [k: string]: unknown;
}

/** The options every webhook-event job is queued with. */
const WEBHOOK_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 24 * 3600 },
  removeOnFail: false,
} as const;

/**
 * How long a subject's cover pointer lives without a new event. Its lapse only ends coalescing for the subject (the
 * next event gets a job of its own); it never hides an event.
 */
const COVER_TTL_MS = 3600_000;

/**
 * Coalescing of webhook events, one atomic step per event. The subject's pointer (`KEYS[1]`) holds the coalescing key
 * (eventSubject.ts coalesceKey: the event type's group, its organization) and the id of the last job queued for the
 * subject. An event is covered by that job when the keys are equal and the job will still start a run: it exists, it
 * is not in the active list (a running handler may have read Azure DevOps already) and it has not finished (no
 * `finishedOn`, which BullMQ's moveToFinished sets; a job retried by hand has it removed). A waiting or delayed job —
 * queued, retrying after a failed attempt, or sent back by the subject lock — runs its handler later, and every run
 * refetches the subject's current state, so it reads whatever the covered event reported. BullMQ moves a job to
 * active in one script too, so the check cannot interleave with a start.
 * Otherwise the pointer is set to this event (unless a job with its id exists already: a redelivery, answered by
 * BullMQ's jobId check) and the caller queues its job. Since the pointer only names the subject's last event, an event
 * never joins a job queued before an event of another group (a `workitem.deleted` between two updates keeps its place).
 * A crash between this step and the add leaves a pointer to a job that does not exist, which covers nothing, and no
 * 202 was sent, so Azure DevOps delivers the event again.
 *
 * An event whose handling reads more than its subject (a push: the refs it moved) hands that part to the covering job,
 * appended in the same step to the job's list (`ARGV[6]` + job id); the job merges the list when it runs, and since a
 * running job covers nothing, nothing is appended while it reads the list.
 *
 *   KEYS[1] the subject's pointer   KEYS[2] the queue's active list
 *   ARGV[1] job key prefix (`<prefix>:<queue>:`)   ARGV[2] this event's id   ARGV[3] pointer TTL (ms)   ARGV[4] coalescing key
 *   ARGV[5] the part handed over ('' for none)   ARGV[6] prefix of the covering job's list
 * Returns the covering job's id, or false: queue this event's own job.
 */
const COVER = `
local v = redis.call('get', KEYS[1])
if v then
  local nl = string.find(v, '\\n', 1, true)
  local j = nl and string.sub(v, nl + 1)
  if j and j ~= ARGV[2] and string.sub(v, 1, nl - 1) == ARGV[4] then
    local jk = ARGV[1] .. j
    if redis.call('exists', jk) == 1 and redis.call('hexists', jk, 'finishedOn') == 0 and not redis.call('lpos', KEYS[2], j) then
      redis.call('pexpire', KEYS[1], ARGV[3])
      if ARGV[5] ~= '' then
        redis.call('rpush', ARGV[6] .. j, ARGV[5])
        redis.call('pexpire', ARGV[6] .. j, ARGV[3])
      end
      return j
    end
  end
end
if redis.call('exists', ARGV[1] .. ARGV[2]) == 0 then
  redis.call('set', KEYS[1], ARGV[4] .. '\\n' .. ARGV[2], 'PX', ARGV[3])
end
return false
`;

export interface EnqueuedEvent {
  /** The job that handles the event: its own (its event id), or the queued job of its subject that covers it. */
  jobId: string;
  /** True when a queued, not yet started job of the same subject covers the event, so it got no job of its own. */
  coalesced: boolean;
}

export interface CoalesceOptions {
  /** Runs the coalescing step; the queue's own Redis (a fail-fast producer connection in the server). */
  redis: Redis;
  keys: Pick<ClusterKeys, 'eventCover' | 'eventCovered'>;
  /** Counts coalesced events (`ado_sync_webhooks_coalesced_total`). */
  metrics?: { webhookCoalesced(eventType: string): void };
  log?: { debug(obj: object, msg: string): void };
}

/**
 * Queues an event under its own id: a redelivered event finds its job and is not queued again. With `coalesce`, an
 * event whose subject (eventSubject.ts) already has a job that has not started yet gets no job of its own: that job
 * refetches the subject's current state when it runs (see COVER). An event arriving while its subject's job runs is
 * always queued, and the subject lock (eventJobs.ts) runs it after.
 */
export async function enqueueWebhookEvent(queue: Queue, event: WebhookEnvelope, coalesce?: CoalesceOptions): Promise<EnqueuedEvent> {
  if (coalesce) {
    const subject = eventSubject(event);
    const jobPrefix = `${queue.qualifiedName}:`;
    const part = coveredPart(event) ?? '';
    const coveredPrefix = coalesce.keys.eventCovered('');
    const covering = (await coalesce.redis.eval(COVER, 2, coalesce.keys.eventCover(subject), queue.toKey('active'), jobPrefix, event.id, COVER_TTL_MS, coalesceKey(event), part, coveredPrefix)) as string | null;
    if (covering) {
      coalesce.metrics?.webhookCoalesced(event.eventType);
      coalesce.log?.debug({ eventId: event.id, eventType: event.eventType, subject, coveredBy: covering }, 'webhook event coalesced into the queued job of its subject');
      return { jobId: covering, coalesced: true };
    }
  }
  const job = await queue.add(event.eventType, event, { jobId: event.id, ...WEBHOOK_JOB_OPTIONS });
  return { jobId: job.id ?? event.id, coalesced: false };
}

/** A queued action run: the invocation as Port sent it and, once the action ended, its outcome (see actionJobs.ts). */
export interface ActionJobData {
  run: ActionInvocation;
  /** Set when an attempt started running the action. */
  startedAt?: string;
  /** Set once the action ended: a later attempt only reports it. */
  outcome?: { status: 'SUCCESS' | 'FAILURE'; message: string; links?: string[] };
}

/**
 * Queues a run under its run id: Port redelivering the same run finds its job and does not queue it again (completed
 * runs are kept a week for that). Attempts after the first only report the outcome again (actionJobs.ts); failed jobs
 * stay in the failed set.
 */
export async function enqueueActionRun(queue: Queue, run: ActionInvocation, attempts = 5): Promise<{ jobId: string }> {
  const runId = run.port_context.runId;
  const data: ActionJobData = { run };
  const job = await queue.add(run.action, data, {
    jobId: runId,
    attempts,
    backoff: { type: 'exponential', delay: 2000 },
    removeOnComplete: { age: 7 * 24 * 3600 },
    removeOnFail: false,
  });
  return { jobId: job.id ?? runId };
}
