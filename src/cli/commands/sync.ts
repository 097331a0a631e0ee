import { randomUUID } from 'node:crypto';
import { bootstrapBlueprints } from '../../catalog/port/index.js';
import { DryRunSink } from '../../catalog/dryRun.js';
import type { CatalogSink } from '../../catalog/sink.js';
import { loadAppConfig, type LoadedAppConfig } from '../../config/appConfig.js';
import { loadSettings, type Settings } from '../../config/settings.js';
import { checkJqExpressions } from '../../mapping/check.js';
import { runFullResync, type FullResyncOptions } from '../../sync/fullResync.js';
import { buildPortTarget } from '../../sync/portTarget.js';
import { RedisRunLedger } from '../../sync/state.js';
import { buildTargets } from '../../sync/targets.js';
import { UserInputError } from '../../util/errors.js';
import { createLogger, type Logger } from '../../util/log.js';
import { parseCommandArgs } from '../args.js';
import { formatSummary } from '../summary.js';

export const dryRunHelp =
  'ado-sync dry-run [--config FILE] [--org URL] [--kinds a,b] [--pretty]   fetch and map, print entities (NDJSON on stdout, summary on stderr)';
export const resyncHelp =
  'ado-sync resync [--config FILE] [--org URL] [--kinds a,b] [--skip-blueprints]   one full sync to Port, then stale-entity deletion';

interface Prepared {
  settings: Settings;
  log: Logger;
  loaded: LoadedAppConfig;
  indexes: number[] | undefined;
  flags: Record<string, string | boolean | undefined>;
}

async function prepare(argv: string[], extra: Parameters<typeof parseCommandArgs>[1]): Promise<Prepared> {
  const { flags } = parseCommandArgs(argv, { kinds: { type: 'string' }, ...extra });
  const settings = loadSettings(flags);
  const log = createLogger(settings.logLevel);
  const loaded = loadAppConfig(settings.configFile);
  await checkJqExpressions(loaded);
  const indexes = selectResources(loaded.config.resources.map((r) => r.kind), flags.kinds as string | undefined);
  return { settings, log, loaded, indexes, flags };
}

async function runAndReport(p: Prepared, sink: CatalogSink, extra: Partial<FullResyncOptions> = {}): Promise<number> {
  const targets = buildTargets(p.settings, p.log);
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
    ...extra,
  });
  process.stderr.write('\n' + formatSummary(result.summaries, sink.name));
  for (const t of targets) {
    const s = t.client.stats;
    process.stderr.write(`azure devops ${t.client.org.name}: requests ${s.requests}, retries: ${s.retries}, throttled: ${s.throttled}\n`);
  }
  if (result.flushFailures) process.stderr.write(`${result.flushFailures} entities could not be written\n`);
  if (result.deletion) {
    const d = result.deletion;
    const why = d.skippedReason === 'incomplete' ? ` (skipped: ${result.incompleteReason})` : d.skippedReason === 'threshold' ? ' (skipped: over entityDeletionThreshold)' : '';
    process.stderr.write(`stale deletion: owned ${d.owned}, stale ${d.stale}, deleted ${d.deleted}${why}\n`);
  } else if (extra.catalog && p.indexes) process.stderr.write('stale deletion: not run (--kinds syncs part of the config)\n');
  return result.complete ? 0 : 1;
}

export async function dryRunCommand(argv: string[]): Promise<number> {
  const p = await prepare(argv, { pretty: { type: 'boolean' } });
  const sink = new DryRunSink(process.stdout, p.flags.pretty === true);
  try {
    // One resource at a time, so the printed entities come grouped by resource.
    return await runAndReport(p, sink, { maxConcurrentResources: 1 });
  } finally {
    await sink.close();
  }
}

export async function resyncCommand(argv: string[]): Promise<number> {
  const p = await prepare(argv, { 'skip-blueprints': { type: 'boolean' } });
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
      return await runAndReport(p, port.sink, { catalog: port.catalog, state: port.state, origins: port.origins, ledger });
    } finally {
      await ledger?.clear().catch(() => undefined);
    }
  } finally {
    await port.close();
  }
}

/** `--kinds a,b` keeps only resources of those kinds; a kind not in the config is an input error. */
export function selectResources(kinds: string[], filter: string | undefined): number[] | undefined {
  if (!filter) return undefined;
  const wanted = filter.split(',').map((s) => s.trim()).filter(Boolean);
  const missing = wanted.filter((k) => !kinds.includes(k));
  if (missing.length > 0) throw new UserInputError(`--kinds: no resource of kind ${missing.join(', ')} in the config (it has: ${[...new Set(kinds)].join(', ')})`);
  return kinds.map((k, i) => (wanted.includes(k) ? i : -1)).filter((i) => i >= 0);
}
