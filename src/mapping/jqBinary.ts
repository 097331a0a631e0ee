import { existsSync } from 'node:fs';
import { envSetting } from '../config/settings.js';

/**
 * The jq binary: JQ_PATH, else Debian's /usr/bin/jq, else whatever is on PATH. node-jq reads JQ_PATH too, so the
 * choice is written back to it. Read from the environment (config/settingsTable.ts declares it) where jq starts.
 */
export function jqPath(): string {
  const configured = envSetting('jqPath');
  if (configured) return configured;
  const path = existsSync('/usr/bin/jq') ? '/usr/bin/jq' : 'jq';
  process.env.JQ_PATH = path;
  return path;
}

/**
 * Environment for jq processes. Mappings can read `env`/`$ENV`; the worker's own environment holds credentials, so jq
 * gets only the variables JQ_ALLOWED_ENV lists (comma-separated names) plus locale settings.
 */
export function jqEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { LC_ALL: 'C.UTF-8' };
  for (const name of envSetting('jqAllowedEnv') ?? []) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  return env;
}
