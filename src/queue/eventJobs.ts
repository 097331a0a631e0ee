/**
 * Webhook-event jobs: one queued service-hook event → one partial sync (sync/liveEvent.ts). Events about the same
 * subject (a pull request, a work item, a repository's refs, a run, a release) never run at once anywhere in the
 * cluster: a second one waits in the delayed set until the first is done, so an older refetch cannot overwrite a newer
 * one. A failing event is retried with backoff and then stays in the failed set, never dropped.
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
import type { Logger } from '../util/log.js';
import type { ClusterKeys } from './cluster.js';
import type { Metrics } from './metrics.js';

const SUBJECT_LOCK_MS = 120_000;

/** What an event is about, so events on one subject are handled one at a time. */
export function eventSubject(event: ServiceHookEvent): string {
  const r = event.resource as Record<string, Record<string, unknown> | unknown>;
  const get = (obj: unknown, key: string) => (obj && typeof obj === 'object' ? (obj as Record<string, unknown>)[key] : undefined);
  const id = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
  const t = event.eventType;
  const pick =
    (t.startsWith('git.pullrequest.') && id(r.pullRequestId) && `pr:${id(r.pullRequestId)}`) ||
    (t.startsWith('workitem.') && id(r.workItemId ?? r.id) && `workitem:${id(r.workItemId ?? r.id)}`) ||
    (t.startsWith('git.') && id(get(r.repository, 'id')) && `repo:${id(get(r.repository, 'id'))}`) ||
    (t === 'build.complete' && id(r.id) && `run:${id(r.id)}`) ||
    (id(get(r.run, 'id')) && `run:${id(get(r.run, 'id'))}`) ||
    (id(get(r.release, 'id') ?? get(r.environment, 'releaseId')) && `release:${id(get(r.release, 'id') ?? get(r.environment, 'releaseId'))}`) ||
    `event:${event.id}`;
  return pick.toLowerCase();
}

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

export interface EventJobsOptions {
  settings: Settings;
  config: PortAppConfig;
  log: Logger;
  redis: Redis;
  keys: ClusterKeys;
  metrics?: Metrics;
  /** Blueprints must exist before the first entity is written. */
  ready?: () => Promise<void>;
}

export interface EventJobs {
  process(job: Job, token?: string): Promise<LiveEventResult>;
  close(): Promise<void>;
}

export function createEventJobs(o: EventJobsOptions): EventJobs {
  const port = buildPortTarget(o.settings, o.config, o.log, o.redis);
  const handler = new LiveEventHandler({
    config: o.config,
    targets: buildTargets(o.settings, o.log),
    sink: port.sink,
    catalog: port.catalog,
    state: port.state,
    origins: port.origins,
    log: o.log.child({ component: 'live-events' }),
    pageSize: o.settings.pageSize,
  });

  async function process(job: Job, token?: string): Promise<LiveEventResult> {
    const event = job.data as ServiceHookEvent;
    const lockKey = `${o.keys.base}:event-subject:${eventSubject(event)}`;
    const lockValue = `${job.id}:${randomBytes(4).toString('hex')}`;
    if ((await o.redis.set(lockKey, lockValue, 'PX', SUBJECT_LOCK_MS, 'NX')) !== 'OK') {
      // Another event on the same subject is being handled: come back shortly, without spending an attempt.
      await job.moveToDelayed(Date.now() + 100 + Math.floor(Math.random() * 400), token);
      throw new DelayedError();
    }
    try {
      await o.ready?.();
      const result = await handler.handle(event);
      o.metrics?.inc('ado_sync_webhooks_handled_total', 'Webhook events handled', { eventType: event.eventType, status: result.status });
      o.log.info({ eventId: event.id, eventType: event.eventType, status: result.status, reason: result.reason, resources: result.resources }, 'webhook event handled');
      return result;
    } finally {
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
