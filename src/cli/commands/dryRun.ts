import { loadAppConfig } from '../../config/appConfig.js';
import { loadSettings } from '../../config/settings.js';
import { DryRunSink } from '../../catalog/dryRun.js';
import { checkJqExpressions } from '../../mapping/check.js';
import { isComplete, resyncOrganization } from '../../sync/resync.js';
import { buildTargets } from '../../sync/targets.js';
import { UserInputError } from '../../util/errors.js';
import { createLogger } from '../../util/log.js';
import { parseCommandArgs } from '../args.js';
import { formatSummary } from '../summary.js';

export const dryRunHelp =
  'ado-sync dry-run [--config FILE] [--org URL] [--kinds a,b] [--pretty]   fetch and map, print entities (NDJSON on stdout, summary on stderr)';

export async function dryRunCommand(argv: string[]): Promise<number> {
  const { flags } = parseCommandArgs(argv, { kinds: { type: 'string' }, pretty: { type: 'boolean' } });
  const settings = loadSettings(flags);
  const log = createLogger(settings.logLevel);
  const loaded = loadAppConfig(settings.configFile);
  await checkJqExpressions(loaded);
  const indexes = selectResources(loaded.config.resources.map((r) => r.kind), flags.kinds as string | undefined);
  const sink = new DryRunSink(process.stdout, flags.pretty === true);
  let ok = true;
  for (const target of buildTargets(settings, log)) {
    const summaries = await resyncOrganization({
      config: loaded.config,
      target,
      sink,
      log,
      poolSize: settings.jqPoolSize,
      pageSize: settings.pageSize,
      resourceIndexes: indexes,
    });
    process.stderr.write('\n' + formatSummary(summaries, sink.name));
    const stats = target.client.stats;
    process.stderr.write(`azure devops requests: ${stats.requests}, retries: ${stats.retries}, throttled: ${stats.throttled}\n`);
    ok &&= summaries.every(isComplete);
  }
  await sink.close();
  return ok ? 0 : 1;
}

/** `--kinds a,b` keeps only resources of those kinds; a kind not in the config is an input error. */
export function selectResources(kinds: string[], filter: string | undefined): number[] | undefined {
  if (!filter) return undefined;
  const wanted = filter.split(',').map((s) => s.trim()).filter(Boolean);
  const missing = wanted.filter((k) => !kinds.includes(k));
  if (missing.length > 0) throw new UserInputError(`--kinds: no resource of kind ${missing.join(', ')} in the config (it has: ${[...new Set(kinds)].join(', ')})`);
  return kinds.map((k, i) => (wanted.includes(k) ? i : -1)).filter((i) => i >= 0);
}
