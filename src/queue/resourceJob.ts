/**
 * The resource job of a resync flow: one organization × one resource, synced to the catalog, its summary stored for the
 * run job. At most `orgJobConcurrency` of an organization's resource jobs run at once across the cluster. In an
 * incremental run, a kind with a change filter reads only what changed since its cursor (minus the overlap); the
 * summary's `startedAt` is where the run job moves the cursor once the pass proved complete (both modes).
 */
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { runPresence } from '../sync/ownedSnapshot.js';
import { recordProduced } from '../sync/produced.js';
import { buildPortTarget } from '../sync/portTarget.js';
import { resyncOrganization, type ResourceSummary } from '../sync/resync.js';
import { INCREMENTAL_OVERLAP_MS } from '../sync/changeCursors.js';
import { resourceBlueprints } from '../sync/fullResync.js';
import { RedisRunLedger } from '../sync/state.js';
import { buildTargets } from '../sync/targets.js';
import type { ClusterContext } from './context.js';
import { OrgSlots } from './orgSlots.js';
import type { ResourceJobData } from './plan.js';

export interface ResourceJobResult {
  summary: ResourceSummary;
  worker: string;
  pid: number;
}

/** The handler of `resource` jobs. */
export function resourceJob(ctx: ClusterContext): (job: Job<ResourceJobData>, token: string | undefined) => Promise<ResourceJobResult> {
  const { settings, state, keys } = ctx;
  const slots = new OrgSlots(state, keys.base, settings.orgJobConcurrency, settings.jobLockMs);
  return async (job, token) => {
    const d = job.data;
    if (!(await slots.acquire(d.organization, job.id!))) {
      // The organization already runs its share of jobs: come back shortly, without spending an attempt.
      await job.moveToDelayed(Date.now() + 250 + Math.floor(Math.random() * 500), token);
      throw new DelayedError();
    }
    const release = slots.hold(d.organization, job.id!);
    try {
      return await runResource(ctx, job);
    } finally {
      await release();
    }
  };
}

async function runResource(ctx: ClusterContext, job: Job<ResourceJobData>): Promise<ResourceJobResult> {
  const { settings, config, state, keys, metrics, workerId, organizations } = ctx;
  const d = job.data;
  const incremental = d.mode === 'incremental';
  const jobLog = ctx.log.child({ runId: d.runId, org: d.organization, resource: d.index, kind: d.kind, mode: incremental ? 'incremental' : 'full', attempt: job.attemptsMade + 1 });
  await ctx.ensureBlueprints();
  const target = buildTargets(settings, jobLog).find((t) => t.client.org.name === d.organization);
  if (!target) throw new UnrecoverableError(`organization ${d.organization} is no longer configured`);
  const port = buildPortTarget(settings, config, jobLog, state);
  const ledger = new RedisRunLedger({ redis: state, prefix: keys.base, runId: d.runId });
  // Unchanged entities are skipped only if Port holds them; a full run's listing is shared by its jobs through Redis.
  port.sink.usePresence(runPresence({ incremental, ledger, catalog: port.catalog, log: jobLog, blueprints: resourceBlueprints(config, [d.index]) }).presence);
  try {
    const [summary] = await resyncOrganization({
      config,
      target,
      sink: port.sink,
      log: jobLog,
      poolSize: settings.jqPoolSize,
      pageSize: settings.pageSize,
      resourceIndexes: [d.index],
      claims: port.claims,
      // The port target has the cluster's Redis (state), hence cursors.
      incremental: incremental
        ? {
            cursors: port.cursors!,
            overlapMs: INCREMENTAL_OVERLAP_MS,
            journal: port.journal,
            deletions: { sink: port.sink, catalog: port.catalog, state: port.state, origins: organizations.length > 1 ? port.origins : undefined },
          }
        : undefined,
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
    metrics.recordPort(port.client.stats);
    const summaryKey = keys.summaries(d.runId);
    await state.multi().hset(summaryKey, `${d.organization}|${d.index}`, JSON.stringify({ ...summary, worker: workerId })).expire(summaryKey, 7 * 24 * 3600).exec();
    if (summary.status === 'failed') throw new Error(`resources[${d.index}] ${d.kind} (${d.organization}): ${summary.error ?? 'failed'}`);
    return { summary, worker: workerId, pid: process.pid };
  } finally {
    await port.close();
  }
}
