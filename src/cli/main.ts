#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../config/appConfig.js';
import { UserInputError, errorMessage } from '../util/errors.js';
import { dryRunCommand, dryRunHelp, resyncCommand, resyncHelp } from './commands/sync.js';
import { mapCommand, mapHelp } from './commands/map.js';
import { validateCommand, validateHelp } from './commands/validate.js';
import { serveCommand, serveHelp, workerCommand, workerHelp } from './commands/serve.js';
import { statusCommand, statusHelp } from './commands/status.js';
import { webhooksCommand, webhooksHelp } from './commands/webhooks.js';
import { SETTINGS } from '../config/settings.js';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  'dry-run': { run: dryRunCommand, help: dryRunHelp },
  resync: { run: resyncCommand, help: resyncHelp },
  map: { run: mapCommand, help: mapHelp },
  validate: { run: validateCommand, help: validateHelp },
  serve: { run: serveCommand, help: serveHelp },
  worker: { run: workerCommand, help: workerHelp },
  status: { run: statusCommand, help: statusHelp },
  webhooks: { run: webhooksCommand, help: webhooksHelp },
};

function usage(): string {
  const settings = SETTINGS.map((s) => `  --${s.flag.padEnd(24)} ${s.env[0]!.padEnd(34)} ${s.description}`).join('\n');
  return [
    'ado-sync: ingest Azure DevOps into a software catalog',
    '',
    'Commands:',
    ...Object.values(COMMANDS).map((c) => `  ${c.help}`),
    '',
    'Settings (flag, environment variable, meaning):',
    settings,
    '',
    'Exit codes: 0 success, 1 sync failure, 2 bad input.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help + '\n');
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`invalid port-app-config:\n${err.message}\n`);
      return 2;
    }
    if (err instanceof UserInputError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    return 1;
  }
}

// Run when executed as the bin, not when imported by tests.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
