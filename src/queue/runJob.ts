/**
 * The run job of a resync flow, after all its resource jobs: gathers their summaries (a child that never reported
 * counts as failed), moves the change cursors of the resources that completed, finishes the run (stale deletion only
 * in a full run and only when every resource succeeded; an incremental run deletes nothing), records the last run with
 * its mode and frees the resync lock.
 */
import { UnrecoverableError, type Job } from 'bullmq';
import { advanceCursors, finishRun, organizationFailure } from '../sync/fullResync.js';
import { OwnedSnapshot } from '../sync/ownedSnapshot.js';
import { buildPortTarget } from '../sync/portTarget.js';
import type { ResourceSummary } from '../sync/resync.js';
import { RedisRunLedger } from '../sync/state.js';
import { readLastRun, releaseResyncLock, writeLastRun } from './cluster.js';
import type { ClusterContext } from './context.js';
import type { RunJobData } from './plan.js';

/** The handler of `run` jobs. */
export function runJob(ctx: ClusterContext): (job: Job<RunJobData>) => Promise<unknown> {
  const { settings, config, state, keys, workerId } = ctx;
  return async (job) => {
    const d = job.data;
    const mode = d.mode ?? 'full';
    const incremental = mode === 'incremental';
    const runLog = ctx.log.child({ runId: d.runId, mode });
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
      // Each resource job flushed its own sink and counted its refusals in its summary (failedWrites), so a resource
      // whose summary is complete had every entity written: its cursor moves to the start of its pass (both modes: a
      // full run resets the cursors of what it completed). A failed or missing resource keeps its cursor.
      if (port.cursors) await advanceCursors(port.cursors, config, summaries, runLog);
      outcome = await finishRun({
        config,
        summaries,
        flushFailures: 0,
        aborted: false,
        organizations: d.organizations.length,
        ledger,
        startedAt: new Date(d.startedAt),
        // An incremental run read part of the items: an item it did not read is not proven gone, so nothing is deleted.
        catalog: incremental ? undefined : port.catalog,
        snapshot: incremental ? undefined : new OwnedSnapshot(ledger, port.catalog, runLog),
        state: port.state,
        origins: port.origins,
        log: runLog,
      });
      if (outcome.deletion && !outcome.deletion.skippedReason) await state.incr(`${keys.base}:stale-deletion-runs`);
    } finally {
      ctx.metrics.recordPort(port.client.stats);
      await port.close();
    }
    const { complete, deletion } = outcome;
    const reason = outcome.incompleteReason ?? '';
    if (!complete) runLog.warn({ reason }, incremental ? 'incremental resync incomplete' : 'resync incomplete');
    const previous = await readLastRun(state, keys);
    await writeLastRun(state, keys, {
      runId: d.runId,
      reason: d.reason,
      mode,
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
    if (!complete) throw new UnrecoverableError(incremental ? `incremental resync incomplete: ${reason}` : `resync incomplete, stale deletion skipped: ${reason}`);
    return { complete, mode, counts, deletion, worker: workerId, pid: process.pid };
  };
}
