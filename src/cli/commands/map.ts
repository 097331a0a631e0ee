import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { loadAppConfig } from '../../config/appConfig.js';
import { loadSettings } from '../../config/settings.js';
import { checkJqExpressions } from '../../mapping/check.js';
import { ResourceMapper } from '../../mapping/engine.js';
import type { RawItem } from '../../kinds/types.js';
import { UserInputError } from '../../util/errors.js';
import { parseCommandArgs } from '../args.js';

export const mapHelp =
  'ado-sync map --config FILE --kind KIND [--input FILE|-] [--pretty]   map raw payloads offline (one JSON object or array per line) with every resource of that kind';

/** Offline mapping: develop a port-app-config against saved payloads, without Azure DevOps. */
export async function mapCommand(argv: string[]): Promise<number> {
  const { flags } = parseCommandArgs(argv, { kind: { type: 'string' }, input: { type: 'string' }, pretty: { type: 'boolean' } });
  const kind = flags.kind as string | undefined;
  if (!kind) throw new UserInputError('map needs --kind KIND');
  const settings = loadSettings(flags);
  const loaded = loadAppConfig(settings.configFile);
  await checkJqExpressions(loaded);
  const resources = loaded.config.resources.map((r, i) => ({ r, i })).filter(({ r }) => r.kind === kind);
  if (resources.length === 0) throw new UserInputError(`${loaded.file} has no resource of kind "${kind}"`);

  const input = (flags.input as string | undefined) ?? '-';
  const stream = input === '-' ? process.stdin : createReadStream(input);
  const items: RawItem[] = [];
  let lineNo = 0;
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    lineNo++;
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new UserInputError(`${input === '-' ? 'stdin' : input}:${lineNo}: not JSON: ${(err as Error).message}`);
    }
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new UserInputError(`${input === '-' ? 'stdin' : input}:${lineNo}: expected a JSON object`);
      items.push(v as RawItem);
    }
  }
  const pretty = flags.pretty === true;
  for (const { r, i } of resources) {
    const mapper = new ResourceMapper(r, { poolSize: 1 });
    try {
      for (const e of await mapper.mapItems(items)) process.stdout.write((pretty ? JSON.stringify(e, null, 2) : JSON.stringify(e)) + '\n');
      for (const [field, v] of mapper.report.fieldErrors) {
        process.stderr.write(`resources[${i}] ${kind}: field ${field} (${v.expr}) failed ${v.count}x, first error: ${v.firstError}\n`);
      }
      for (const [reason, n] of mapper.report.dropReasons) process.stderr.write(`resources[${i}] ${kind}: dropped ${n} entities: ${reason}\n`);
    } finally {
      await mapper.close();
    }
  }
  return 0;
}
