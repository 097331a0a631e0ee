/**
 * One replica's share of cluster mode: its connections and queues, the workers (workers.ts: resource jobs, run jobs,
 * webhook events), the schedulers (full and incremental), and graceful shutdown. The jobs call the sync module;
 * nothing here decides what is stale.
 */
import { hostname } from 'node:os';
import { FlowProducer, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { PortAppConfig } from '../config/appConfig.js';
import type { Settings } from '../config/settings.js';
import { buildTargets } from '../sync/targets.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../observability/log.js';
import { blueprintGate } from './blueprintGate.js';
import type { ToolkitFactory } from './actionJobs.js';
import {
  ACTION_QUEUE,
  RESYNC_QUEUE,
  WEBHOOK_QUEUE,
  clusterKeys,
  ensureIncrementalScheduler,
  ensureScheduler,
  producerConnection,
  requestResync,
  requireRedisUrl,
  workerConnection,
  type ClusterKeys,
  type ResyncMode,
  type TriggerResult,
} from './cluster.js';
import type { ClusterContext } from './context.js';
import { SyncMetrics } from '../observability/metrics.js';
import { NO_WORKERS, startWorkers, type WebhookHandler } from './workers.js';

export type { WebhookHandler } from './workers.js';
export type { ResourceJobResult } from './resourceJob.js';

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
  /** The installation's actions (actions/toolkit.ts); with ACTIONS_ENABLED set, the action-run queue and worker exist. */
  actionToolkit?: ToolkitFactory;
}

export interface Cluster {
  keys: ClusterKeys;
  workerId: string;
  metrics: SyncMetrics;
  /** Fail-fast connection for request handlers. */
  producer: Redis;
  resyncQueue: Queue;
  webhookQueue: Queue;
  /** Port action runs; only when actions are enabled (ACTIONS_ENABLED). */
  actionQueue?: Queue;
  /**
   * Starts a resync of this mode (default full) unless one of either mode runs anywhere in the cluster; then it starts
   * nothing and answers with the running one (`started: false`).
   */
  triggerResync(reason: string, mode?: ResyncMode): Promise<TriggerResult>;
  /** Stops taking jobs; running jobs get `graceMs` to finish, then are left to the job lock (another replica retries them). */
  close(graceMs: number): Promise<void>;
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const { settings, config } = o;
  const url = requireRedisUrl(settings);
  const keys = clusterKeys(settings);
  const workerId = `${hostname()}-${process.pid}`;
  const log = o.log.child({ worker: workerId });
  const metrics = new SyncMetrics();
  const producer = producerConnection(url);
  const state = new Redis(url, { maxRetriesPerRequest: 3 });
  const queueConn = workerConnection(url);
  const resyncQueue = new Queue(RESYNC_QUEUE, { connection: queueConn, prefix: keys.bull });
  const webhookQueue = new Queue(WEBHOOK_QUEUE, { connection: producer, prefix: keys.bull });
  const actionQueue = settings.actionsEnabled.length > 0 ? new Queue(ACTION_QUEUE, { connection: producer, prefix: keys.bull }) : undefined;
  const flows = new FlowProducer({ connection: queueConn, prefix: keys.bull });
  // Error events of BullMQ objects are logged, never thrown (an unhandled 'error' would end the process).
  const onError = (err: unknown) => log.warn({ err: errorMessage(err) }, 'queue connection error');
  resyncQueue.on('error', onError);
  webhookQueue.on('error', onError);
  actionQueue?.on('error', onError);
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
  // Full and incremental runs share one lock: a trigger of either mode while a run of either mode holds it starts
  // nothing (a full trigger joins the running run as it always did; an incremental tick is skipped).
  const triggerResync = async (reason: string, mode: ResyncMode = 'full'): Promise<TriggerResult> => {
    const r = await requestResync(trigger, reason, mode);
    if (!r.started) {
      log.info(
        { reason, mode, running: r.runId, runningMode: r.mode },
        mode === 'incremental' ? 'incremental resync skipped: a resync is already running' : 'a resync is already running; joined it',
      );
    }
    return r;
  };
  const ensureBlueprints = blueprintGate({ settings, config, log, state, skip: o.skipBlueprints });
  const ctx: ClusterContext = { settings, config, log, state, keys, workerId, metrics, organizations, ensureBlueprints };

  let workers = NO_WORKERS;
  if (o.workers) {
    workers = startWorkers(ctx, {
      connection: () => track(workerConnection(url)),
      triggerResync,
      webhookHandler: o.webhookHandler,
      liveEvents: o.liveEvents,
      actionToolkit: o.actionToolkit,
    });
    const scheduled = await ensureScheduler(resyncQueue, settings);
    if (scheduled) log.info({ interval: settings.resyncIntervalMinutes, cron: settings.resyncCron }, 'periodic resync scheduled');
    const incremental = await ensureIncrementalScheduler(resyncQueue, settings);
    if (incremental) log.info({ intervalMinutes: incremental }, 'periodic incremental resync scheduled (first run one interval from when the schedule was created)');
  }
  if (settings.resyncOnStart) {
    const r = await triggerResync('start');
    if (r.started) log.info({ runId: r.runId }, 'resync started');
  }

  let closing: Promise<void> | undefined;
  const close = (graceMs: number) =>
    (closing ??= (async () => {
      await workers.stop(graceMs);
      await Promise.allSettled([resyncQueue.close(), webhookQueue.close(), actionQueue?.close(), flows.close(), ...workers.closeHandlers()]);
      for (const r of connections) r.disconnect();
    })());

  return { keys, workerId, metrics, producer, resyncQueue, webhookQueue, actionQueue, triggerResync, close };
}
