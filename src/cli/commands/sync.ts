import { randomUUID } from 'node:crypto';
import { bootstrapBlueprints } from '../../catalog/port/index.js';
import { DryRunSink } from '../../catalog/dryRun.js';
import type { CatalogSink } from '../../catalog/sink.js';
import { loadAppConfig, type LoadedAppConfig } from '../../config/appConfig.js';
import { howToSet, loadSettings, type Settings } from '../../config/settings.js';
import { checkJqExpressions } from '../../mapping/check.js';
import { INCREMENTAL_OVERLAP_MS } from '../../sync/changeCursors.js';
import { runFullResync, type FullResyncOptions } from '../../sync/fullResync.js';
import { buildPortTarget } from '../../sync/portTarget.js';
import { RedisRunLedger } from '../../sync/state.js';
import { buildTargets } from '../../sync/targets.js';
import { ProgressBoard } from '../../sync/progress.js';
import type { OrgTarget } from '../../sync/resync.js';
import { statusLine } from '../../observability/statusLine.js';
import { UserInputError } from '../../util/errors.js';
import { didYouMean } from '../../util/suggest.js';
import { commandLogger, type Logger } from '../../observability/log.js';
import { parseCommandArgs } from '../args.js';
import { formatDeletion, formatSummary } from '../summary.js';

interface Prepared {
  settings: Settings;
  log: Logger;
  loaded: LoadedAppConfig;
  indexes: number[] | undefined;
  flags: Record<string, string | boolean | undefined>;
}

async function prepare(argv: string[], command: 'dry-run' | 'resync'): Promise<Prepared> {
  const { flags } = parseCommandArgs(argv, command);
  const settings = loadSettings(flags);
  const log = commandLogger(settings);
  const loaded = loadAppConfig(settings.configFile);
  await checkJqExpressions(loaded);
  const indexes = selectResources(loaded.config.resources.map((r) => r.kind), flags.kinds as string | undefined);
  return { settings, log, loaded, indexes, flags };
}

async function runAndReport(p: Prepared, sink: CatalogSink, extra: Partial<FullResyncOptions> = {}): Promise<number> {
  const targets = buildTargets(p.settings, p.log);
  const progress = new ProgressBoard();
  const stopProgress = showProgress(progress, targets);
  const result = await runFullResync({
    config: p.loaded.config,
    targets,
    sink,
    log: p.log,
    poolSize: p.settings.jqPoolSize,
    pageSize: p.settings.pageSize,
    resourceIndexes: p.indexes,
    maxConcurrentOrganizations: p.settings.maxConcurrentOrganizations,
    maxConcurrentResources: p.settings.maxConcurrentResources,
    progress,
    ...extra,
  }).finally(stopProgress);
  process.stderr.write('\n' + formatSummary(result.summaries, sink.name));
  for (const t of targets) {
    const s = t.client.stats;
    process.stderr.write(`azure devops ${t.client.org.name}: requests ${s.requests}, retries: ${s.retries}, throttled: ${s.throttled}\n`);
  }
  if (result.flushFailures) process.stderr.write(`${result.flushFailures} entities could not be written\n`);
  if (result.deletion) {
    process.stderr.write(formatDeletion(result.deletion, result.incompleteReason) + '\n');
  } else if (extra.catalog && p.indexes) process.stderr.write('stale deletion: not run (--kinds syncs part of the config)\n');
  return result.complete ? 0 : 1;
}

/**
 * On a terminal, a live line under the log: per running resource its items, entities and writes, then the requests
 * and the rate of items. Returns the function that removes it.
 */
function showProgress(board: ProgressBoard, targets: OrgTarget[]): () => void {
  if (!process.stderr.isTTY) return () => undefined;
  const started = Date.now();
  const n = (x: number) => x.toLocaleString('en-US');
  let stopped = false;
  const draw = () => {
    if (stopped) return;
    const running = board.now();
    const items = board.items();
    const requests = targets.reduce((a, t) => a + t.client.stats.requests, 0);
    const rate = items / Math.max(1, (Date.now() - started) / 1000);
    const parts = running.map((r) => `${targets.length > 1 ? `${r.organization}/` : ''}${r.kind}: ${n(r.rawItems)} items, ${n(r.entities)} entities, ${n(r.written)} written`);
    statusLine.set(`… ${parts.join(' | ') || 'starting'} · ${n(requests)} requests · ${n(Math.round(rate))} items/s`);
  };
  board.onStart(draw);
  const timer = setInterval(draw, 500);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
    statusLine.set('');
  };
}

export async function dryRunCommand(argv: string[]): Promise<number> {
  const p = await prepare(argv, 'dry-run');
  const sink = new DryRunSink(process.stdout, p.flags.pretty === true);
  try {
    // One resource at a time, so the printed entities come grouped by resource.
    return await runAndReport(p, sink, { maxConcurrentResources: 1 });
  } finally {
    await sink.close();
  }
}

export async function resyncCommand(argv: string[]): Promise<number> {
  const p = await prepare(argv, 'resync');
  const incremental = p.flags.incremental === true;
  // A cursor kept only in this process would be gone by the next run: every run would read everything, yet say incremental.
  if (incremental && !p.settings.redisUrl) {
    throw new UserInputError(`--incremental keeps change cursors between runs in Redis: ${howToSet('redisUrl')} (a one-shot run without Redis reads everything: leave --incremental out)`);
  }
  const port = buildPortTarget(p.settings, p.loaded.config, p.log);
  try {
    if (p.flags['skip-blueprints'] !== true) {
      const { created, kept } = await bootstrapBlueprints(port.client, p.settings.blueprintsDir, p.log);
      process.stderr.write(`blueprints: created ${created.length}, kept ${kept.length}\n`);
    }
    // With Redis, what the run produced (every identifier, for stale deletion) is kept there, not in the worker's heap,
    // so the worker's memory does not grow with the organization.
    const ledger = port.redis
      ? new RedisRunLedger({ redis: port.redis, prefix: `ado-sync:${p.settings.integrationIdentifier}`, runId: `cli-${randomUUID()}`, ttlSeconds: 24 * 3600 })
      : undefined;
    try {
      return await runAndReport(p, port.sink, {
        catalog: port.catalog,
        state: port.state,
        origins: port.origins,
        claims: port.claims,
        ledger,
        // A full run with Redis resets the cursors of what it completed; an incremental one reads from them.
        cursors: port.cursors,
        incremental: incremental
          ? {
              overlapMs: INCREMENTAL_OVERLAP_MS,
              journal: port.journal,
              deletions: { sink: port.sink, catalog: port.catalog, state: port.state, origins: port.origins },
            }
          : undefined,
      });
    } finally {
      await ledger?.clear().catch(() => undefined);
    }
  } finally {
    await port.close();
  }
}

/** `--kinds a,b` keeps only resources of those kinds; an empty list or a kind not in the config is an input error. */
export function selectResources(kinds: string[], filter: string | undefined): number[] | undefined {
  if (filter === undefined) return undefined;
  const wanted = filter.split(',').map((s) => s.trim()).filter(Boolean);
  const present = [...new Set(kinds)];
  if (wanted.length === 0) throw new UserInputError(`--kinds is empty: name one or more kinds of the config (${present.join(', ')}), or leave the flag out to sync them all`);
  const missing = wanted.filter((k) => !kinds.includes(k));
  if (missing.length > 0) {
    const hints = missing.map((k) => `"${k}"${didYouMean(k, present)}`).join(', ');
    throw new UserInputError(`--kinds: no resource of kind ${hints} in the config (it has: ${present.join(', ')})`);
  }
  return kinds.map((k, i) => (wanted.includes(k) ? i : -1)).filter((i) => i >= 0);
}
