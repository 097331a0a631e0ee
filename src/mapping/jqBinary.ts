import { existsSync } from 'node:fs';

/** The jq binary: JQ_PATH, else Debian's /usr/bin/jq, else whatever is on PATH. node-jq reads JQ_PATH too. */
export function jqPath(): string {
  const configured = process.env.JQ_PATH;
  if (configured) return configured;
  const path = existsSync('/usr/bin/jq') ? '/usr/bin/jq' : 'jq';
  process.env.JQ_PATH = path;
  return path;
}

/**
 * Environment for jq processes. Mappings can read `env`/`$ENV`; the worker's own environment holds credentials, so jq
 * gets only what is listed in JQ_ALLOWED_ENV (comma-separated names) plus locale settings.
 */
export function jqEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { LC_ALL: 'C.UTF-8' };
  for (const name of (process.env.JQ_ALLOWED_ENV ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  return env;
}
