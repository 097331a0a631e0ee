import { createReadStream, existsSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parseOrganizationUrl } from '../../ado/orgUrl.js';
import { loadAppConfig } from '../../config/appConfig.js';
import { loadSettings } from '../../config/settings.js';
import { kindNames } from '../../kinds/registry.js';
import type { RawItem } from '../../kinds/types.js';
import { checkJqExpressions } from '../../mapping/check.js';
import { ResourceMapper } from '../../mapping/engine.js';
import type { Entity } from '../../catalog/entity.js';
import { UserInputError } from '../../util/errors.js';
import { didYouMean } from '../../util/suggest.js';
import { parseCommandArgs } from '../args.js';

/**
 * Items per page handed to the jq pool. Small: a parsed payload then dies young, before the next scavenge; pages of
 * 1,000 kept whole payloads alive long enough to be promoted and cost the command a third more time (bench/RESULTS.md).
 */
const PAGE = 50;

/**
 * Offline mapping: develop a port-app-config against saved payloads, without Azure DevOps. The input streams through
 * the same jq pool as a resync (JQ_POOL_SIZE processes per resource), so memory stays flat however large the file.
 */
export async function mapCommand(argv: string[]): Promise<number> {
  const { flags } = parseCommandArgs(argv, 'map');
  const kind = flags.kind as string | undefined;
  if (!kind) throw new UserInputError('map needs --kind KIND (one of the config\'s kinds)');
  const settings = loadSettings(flags);
  const input = (flags.input as string | undefined) ?? '-';
  if (input !== '-' && !(existsSync(input) && statSync(input).isFile())) throw new UserInputError(`--input ${input}: no such file`);
  const org = settings.organizationUrl ? parseOrganizationUrl(settings.organizationUrl, settings.adoFlavor) : undefined;
  const loaded = loadAppConfig(settings.configFile);
  const resources = loaded.config.resources.map((r, i) => ({ r, i })).filter(({ r }) => r.kind === kind);
  if (resources.length === 0) {
    const known = kindNames().includes(kind) ? '' : ` ("${kind}" is not a kind${didYouMean(kind, kindNames())})`;
    const present = [...new Set(loaded.config.resources.map((r) => r.kind))].join(', ');
    throw new UserInputError(`${loaded.file} has no resource of kind "${kind}"${known}; it has: ${present}`);
  }
  await checkJqExpressions(loaded, resources.map(({ i }) => i));

  const source = input === '-' ? 'stdin' : input;
  // Items of a multi-organization export keep their own organization; --org fills it in for the others.
  const enrich = (item: RawItem): RawItem => {
    if (org && item.__organizationName === undefined) Object.assign(item, { __organizationName: org.name, __organizationUrl: org.url });
    return item;
  };
  const pages = readPages(input === '-' ? process.stdin : createReadStream(input), source, enrich);
  const mappers = resources.map(({ r }) => new ResourceMapper(r, { poolSize: settings.jqPoolSize }));
  const write = printer(flags.pretty === true);
  try {
    if (mappers.length === 1) {
      for await (const entities of mappers[0]!.mapPages(pages)) await write(entities);
    } else {
      // Several resources of the kind: each page goes through all of them, printed in config order per page.
      for await (const page of pages) for (const entities of await Promise.all(mappers.map((m) => m.mapItems(page)))) await write(entities);
    }
  } finally {
    await Promise.all(mappers.map((m) => m.close()));
  }
  resources.forEach(({ i }, n) => {
    const report = mappers[n]!.report;
    for (const [field, v] of report.fieldErrors) process.stderr.write(`resources[${i}] ${kind}: field ${field} (${v.expr}) failed ${v.count}x, first error: ${v.firstError}\n`);
    for (const [reason, count] of report.dropReasons) process.stderr.write(`resources[${i}] ${kind}: dropped ${count} entities: ${reason}\n`);
  });
  return 0;
}

/** Pages of parsed items; a line that is not a JSON object (or an array of them) is an input error naming its place. */
async function* readPages(stream: Readable, source: string, enrich: (item: RawItem) => RawItem): AsyncGenerator<RawItem[]> {
  let page: RawItem[] = [];
  let lineNo = 0;
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    lineNo++;
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new UserInputError(`${source}:${lineNo}: not JSON: ${(err as Error).message}`);
    }
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new UserInputError(`${source}:${lineNo}: expected a JSON object`);
      page.push(enrich(v as RawItem));
    }
    if (page.length >= PAGE) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

/** Writes entities to stdout as NDJSON (or indented), waiting when the reader is slower than the mapping. */
function printer(pretty: boolean): (entities: Entity[]) => Promise<void> {
  return async (entities) => {
    if (entities.length === 0) return;
    const text = entities.map((e) => (pretty ? JSON.stringify(e, null, 2) : JSON.stringify(e))).join('\n') + '\n';
    if (!process.stdout.write(text)) await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
  };
}
