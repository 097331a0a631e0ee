import { loadAppConfig } from '../../config/appConfig.js';
import { loadSettings } from '../../config/settings.js';
import { checkJqExpressions } from '../../mapping/check.js';
import { parseCommandArgs } from '../args.js';

export async function validateCommand(argv: string[]): Promise<number> {
  const { flags } = parseCommandArgs(argv, 'validate');
  const settings = loadSettings(flags);
  const loaded = loadAppConfig(settings.configFile);
  await checkJqExpressions(loaded);
  const kinds = loaded.config.resources.map((r) => r.kind).join(', ');
  process.stderr.write(`${loaded.file}: valid, ${loaded.config.resources.length} resources (${kinds})\n`);
  return 0;
}
