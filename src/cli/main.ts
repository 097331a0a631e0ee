#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../config/appConfig.js';
import { UserInputError, errorMessage } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';
import { VERSION } from '../util/version.js';
import { COMMANDS, command } from './commands.js';
import { commandHelp, mainHelp } from './help.js';

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
    return await spec.run(rest);
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
