import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadSettings } from '../../config/settings.js';
import { INCREMENTAL_SCHEDULER_ID, RESYNC_QUEUE, SCHEDULER_ID, WEBHOOK_QUEUE, clusterKeys, readLastRun, requireRedisUrl } from '../../queue/cluster.js';
import { RedisChangeCursors } from '../../sync/changeCursors.js';
import { RedisChangeJournal } from '../../sync/changeJournal.js';
import { errorMessage } from '../../util/errors.js';
import { parseCommandArgs } from '../args.js';
import { formatDeletion } from '../summary.js';

export async function statusCommand(argv: string[]): Promise<number> {
  const { flags } = parseCommandArgs(argv, 'status');
  const settings = loadSettings(flags);
  const keys = clusterKeys(settings);
  const url = requireRedisUrl(settings);
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: (n) => (n > 3 ? null : 200) });
  // ioredis reports the cause (ECONNREFUSED, ENOTFOUND) as an event; connect() only says the connection closed.
  let cause: unknown;
  redis.on('error', (err) => (cause ??= err));
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new Error(`Redis at ${withoutPassword(url)} is unreachable (${errorMessage(cause ?? err)}): check REDIS_URL / --redis-url and that Redis is running`);
  }
  const queues = [RESYNC_QUEUE, WEBHOOK_QUEUE].map((name) => new Queue(name, { connection: redis, prefix: keys.bull }));
  try {
    const lastRun = await readLastRun(redis, keys);
    const scheduler = await queues[0]!.getJobScheduler(SCHEDULER_ID);
    const incrementalScheduler = await queues[0]!.getJobScheduler(INCREMENTAL_SCHEDULER_ID);
    const jobs: Record<string, Record<string, number>> = {};
    for (const q of queues) jobs[q.name] = await q.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'waiting-children');
    // `<runId>|<epoch ms>|<mode>` (a lock without a mode names a full run).
    const lock = await redis.get(keys.lock);
    const schedule = (s: typeof scheduler) => (s ? { every: s.every ?? null, pattern: s.pattern ?? null, next: s.next ? new Date(s.next).toISOString() : null } : null);
    const cursors = (await new RedisChangeCursors(redis, keys.base).list()).sort((a, b) => a.organization.localeCompare(b.organization) || a.index - b.index);
    const journal = await new RedisChangeJournal(redis, keys.base).state();
    const out = {
      // A record written before runs had modes is a full run's.
      lastRun: lastRun ? { ...lastRun, mode: lastRun.mode ?? 'full' } : null,
      runningRun: lock ? lock.split('|')[0] : null,
      runningMode: lock ? (lock.split('|')[2] === 'incremental' ? 'incremental' : 'full') : null,
      schedule: schedule(scheduler),
      incrementalSchedule: schedule(incrementalScheduler),
      jobs,
      changeCursors: cursors.map((c) => ({ organization: c.organization, resource: c.index, kind: c.kind, at: c.at.toISOString() })),
      changeJournal: journal ? { since: journal.since.toISOString(), lastBeat: journal.lastBeat.toISOString(), live: journal.live } : null,
    };
    if (flags.json === true) {
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      return 0;
    }
    const lines: string[] = [];
    if (lastRun) {
      lines.push(`last resync: ${lastRun.runId} ${lastRun.mode ?? 'full'} ${lastRun.status} (${lastRun.reason})`, `  started ${lastRun.startedAt}${lastRun.finishedAt ? `, finished ${lastRun.finishedAt}` : ''}`);
      if (lastRun.counts) lines.push(`  ${Object.entries(lastRun.counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      if (lastRun.deletion) lines.push(`  ${formatDeletion(lastRun.deletion)}`);
      if (lastRun.incompleteReason) lines.push(`  incomplete: ${lastRun.incompleteReason}`);
    } else lines.push('last resync: none');
    lines.push(`running: ${out.runningRun ? `${out.runningRun} ${out.runningMode}` : 'none'}`);
    const when = (s: ReturnType<typeof schedule>) => (s ? (s.pattern ?? `every ${Number(s.every) / 60000} min`) + `, next ${s.next}` : 'none');
    lines.push(`schedule: ${when(out.schedule)}`);
    lines.push(`incremental schedule: ${when(out.incrementalSchedule)}`);
    for (const [name, counts] of Object.entries(jobs)) lines.push(`${name}: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    // Several cursors of one resource are its configs over time; a resource's current one is the newest.
    lines.push(cursors.length === 0 ? 'change cursors: none (no completed run with Redis yet)' : 'change cursors (where the next incremental pass reads from):');
    for (const c of cursors) lines.push(`  ${c.organization} resources[${c.index}] ${c.kind}: ${c.at.toISOString()} (${age(Date.now() - c.at.getTime())} ago)`);
    // Incremental passes trust the journal only over windows it covers (see the README's Incremental runs).
    lines.push(
      !journal
        ? 'journal of service-hook events: none (serve has accepted no events; incremental passes read every project)'
        : journal.live
          ? `journal of service-hook events: live since ${journal.since.toISOString()} (${age(Date.now() - journal.since.getTime())})`
          : `journal of service-hook events: not live (last heard ${journal.lastBeat.toISOString()}, ${age(Date.now() - journal.lastBeat.getTime())} ago; incremental passes read every project)`,
    );
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  } finally {
    await Promise.allSettled(queues.map((q) => q.close()));
    redis.disconnect();
  }
}

function age(ms: number): string {
  const min = Math.max(0, Math.round(ms / 60_000));
  return min < 120 ? `${min} min` : min < 48 * 60 ? `${Math.round(min / 60)} h` : `${Math.round(min / 1440)} d`;
}

/** The URL as it may be shown: a password in it is never printed. */
function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'REDIS_URL';
  }
}
