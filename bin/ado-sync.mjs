#!/usr/bin/env node
/* global process, URL */
// The `ado-sync` command: runs the compiled CLI, or says how to build it instead of failing with a module error.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('ado-sync is not built yet: run `npm run build` in its folder (see README, "Install the command")\n');
  process.exit(2);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
