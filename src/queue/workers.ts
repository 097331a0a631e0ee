/**
 * One replica's workers: the resync worker (trigger, resource and run jobs), the webhook-event worker and, when actions
 * are enabled, the action-run worker; and their shutdown: running jobs get a grace period, then go back to the queue
 * for another replica.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { errorMessage } from '../util/errors.js';
import { createActionJobs, type ToolkitFactory } from './actionJobs.js';
import { ACTION_QUEUE, RESYNC_QUEUE, WEBHOOK_QUEUE, type ResyncMode, type TriggerJobData, type TriggerResult } from './cluster.js';
import type { ClusterContext } from './context.js';
import { createEventJobs } from './eventJobs.js';
import type { ResourceJobData, RunJobData } from './plan.js';
import { resourceJob } from './resourceJob.js';
import { runJob } from './runJob.js';

export type WebhookHandler = (job: Job, token?: string) => Promise<unknown>;

export interface WorkerOptions {
  /** A new BullMQ worker connection (the caller closes it with the others). */
  connection: () => Redis;
  /** Starts a run of this mode unless one (of either mode) is running; a trigger that starts nothing is logged there. */
  triggerResync(reason: string, mode?: ResyncMode): Promise<TriggerResult>;
  /** Handles webhook events; default: the partial sync of sync/liveEvent.ts. */
  webhookHandler?: WebhookHandler;
  /** false: this replica leaves webhook events to others (they wait in the queue, durable). */
  liveEvents?: boolean;
  /** Builds the actions the action-run worker executes; the worker runs only with it and ACTIONS_ENABLED set. */
  actionToolkit?: ToolkitFactory;
}

export interface Workers {
  /** Stops taking jobs; running jobs get `graceMs` to finish, then are handed back to the queue. */
  stop(graceMs: number): Promise<void>;
  /** Closes what the job handlers hold (the live-event handler), once stopped. */
  closeHandlers(): Array<Promise<void>>;
}

export const NO_WORKERS: Workers = { stop: async () => undefined, closeHandlers: () => [] };

export function startWorkers(ctx: ClusterContext, o: WorkerOptions): Workers {
  const { settings, config, log, state, keys, metrics, workerId } = ctx;
  const resource = resourceJob(ctx);
  const run = runJob(ctx);
  function processResync(job: Job, token: string | undefined): Promise<unknown> {
    switch (job.name) {
      case 'trigger': {
        // A scheduler's tick: the full scheduler's, or the incremental one's (ensureIncrementalScheduler).
        const data = job.data as TriggerJobData;
        return o.triggerResync(String(data.reason ?? 'schedule'), data.mode === 'incremental' ? 'incremental' : 'full');
      }
      case 'resource':
        return resource(job as Job<ResourceJobData>, token);
      case 'run':
        return run(job as Job<RunJobData>);
      default:
        throw new UnrecoverableError(`unknown job ${job.name}`);
    }
  }

  /** Jobs this replica is running, so a shutdown past its grace period can hand them back at once. */
  const active = new Map<string, { job: Job; token: string | undefined }>();
  const workers: Worker[] = [];
  const closers: Array<() => Promise<void>> = [];
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
      connection: o.connection(),
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
    const events = createEventJobs({ settings, config, log, redis: state, keys, metrics, ready: ctx.ensureBlueprints });
    closers.push(() => events.close());
    handler = (job, token) => events.process(job, token);
  }
  if (handler) {
    // Sized for I/O (WEBHOOK_CONCURRENCY), not like the CPU-bound resync jobs (WORKER_CONCURRENCY).
    const webhookWorker = new Worker(WEBHOOK_QUEUE, handler, { connection: o.connection(), prefix: keys.bull, concurrency: settings.webhookConcurrency, lockDuration: settings.jobLockMs, name: workerId });
    webhookWorker.on('error', (err) => log.warn({ err: errorMessage(err) }, 'worker error'));
    webhookWorker.on('failed', (job, err) => {
      if (err.name !== 'DelayedError') log.warn({ eventId: job?.id, eventType: job?.name, attempt: job?.attemptsMade, err: err.message }, 'webhook event failed; it is retried, then kept in the failed set');
    });
    workers.push(webhookWorker);
  }
  if (o.actionToolkit && settings.actionsEnabled.length > 0) {
    const actions = createActionJobs({ settings, config, log, redis: state, metrics, ready: ctx.ensureBlueprints, toolkit: o.actionToolkit });
    closers.push(() => actions.close());
    // A FAILURE outcome is the job's result, not an error: only a report that could not reach Port fails the job.
    const actionWorker = new Worker(ACTION_QUEUE, (job) => actions.process(job), { connection: o.connection(), prefix: keys.bull, concurrency: settings.workerConcurrency, lockDuration: settings.jobLockMs, name: workerId });
    actionWorker.on('error', (err) => log.warn({ err: errorMessage(err) }, 'worker error'));
    actionWorker.on('failed', (job, err) => log.warn({ runId: job?.id, action: job?.name, attempt: job?.attemptsMade, err: err.message }, 'could not report an action run to Port; it is tried again, then kept in the failed set'));
    workers.push(actionWorker);
  }

  return {
    async stop(graceMs) {
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
    },
    closeHandlers: () => closers.map((c) => c()),
  };
}
