#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../config/appConfig.js';
import { UserInputError, errorMessage } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';
import { VERSION } from '../util/version.js';
import { COMMANDS, command, type CommandName } from './commands.js';
import { commandHelp, mainHelp } from './help.js';

/**
 * How each command runs: its module is imported only then, so `--help`, `validate` and `map` do not load BullMQ,
 * fastify or @azure/identity. The declarations (names, flags, help) are in commands.ts.
 */
const RUNNERS: Record<CommandName, (argv: string[]) => Promise<number>> = {
  'dry-run': async (argv) => (await import('./commands/sync.js')).dryRunCommand(argv),
  resync: async (argv) => (await import('./commands/sync.js')).resyncCommand(argv),
  map: async (argv) => (await import('./commands/map.js')).mapCommand(argv),
  validate: async (argv) => (await import('./commands/validate.js')).validateCommand(argv),
  serve: async (argv) => (await import('./commands/serve.js')).serveCommand(argv),
  worker: async (argv) => (await import('./commands/serve.js')).workerCommand(argv),
  status: async (argv) => (await import('./commands/status.js')).statusCommand(argv),
  webhooks: async (argv) => (await import('./commands/webhooks.js')).webhooksCommand(argv),
  actions: async (argv) => (await import('./commands/actions.js')).actionsCommand(argv),
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    (name ? process.stdout : process.stderr).write(mainHelp(VERSION) + '\n');
    return name ? 0 : 2;
  }
  const spec = command(name);
  if (!spec) {
    process.stderr.write(`unknown command "${name}"${didYouMean(name, COMMANDS.map((c) => c.name))}; commands: ${COMMANDS.map((c) => c.name).join(', ')} (ado-sync --help)\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandHelp(spec) + '\n');
    return 0;
  }
  try {
    return await RUNNERS[spec.name](rest);
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

// Run when executed directly (the image's entry point), not when imported by the bin launcher or by tests.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
