/**
 * Standalone Azure DevOps simulator:
 *   node dist/test/simulators/ado/main.js [--port N] [--host H] [--projects N] [--repos N] [--prs N] [--seed N]
 *     [--org NAME]... [--pat TOKEN] [--reference-date ISO] [--throttle-every N] [--unavailable-every N]
 *     [--truncate-every N] [--retry-after S] [--latency MS] [--rate-limit-headers] [--max-rps N]
 * Prints the organization URL(s) and the PAT, then serves until SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { startAdoSimulator, type AdoSimulatorOptions } from './index.js';

const USAGE = `usage: main.js [--port N] [--host H] [--projects N] [--repos N] [--prs N] [--seed N] [--org NAME]...
  [--pat TOKEN] [--reference-date ISO] [--throttle-every N] [--unavailable-every N] [--truncate-every N]
  [--retry-after SECONDS] [--latency MS] [--rate-limit-headers] [--max-rps N]`;

function num(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} expects a non-negative number, got "${value}"`);
  return n;
}

export function optionsFromArgs(argv: string[]): AdoSimulatorOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      projects: { type: 'string' },
      repos: { type: 'string' },
      prs: { type: 'string' },
      seed: { type: 'string' },
      org: { type: 'string', multiple: true },
      pat: { type: 'string' },
      'reference-date': { type: 'string' },
      'throttle-every': { type: 'string' },
      'unavailable-every': { type: 'string' },
      'truncate-every': { type: 'string' },
      'retry-after': { type: 'string' },
      latency: { type: 'string' },
      'rate-limit-headers': { type: 'boolean' },
      'max-rps': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const faults: NonNullable<AdoSimulatorOptions['faults']> = {
    throttleEvery: num('throttle-every', values['throttle-every']),
    unavailableEvery: num('unavailable-every', values['unavailable-every']),
    truncateEvery: num('truncate-every', values['truncate-every']),
    retryAfterSeconds: num('retry-after', values['retry-after']),
    latencyMs: num('latency', values.latency),
    rateLimitHeaders: values['rate-limit-headers'],
    maxRequestsPerSecond: num('max-rps', values['max-rps']),
  };
  return {
    port: num('port', values.port) ?? 0,
    host: values.host,
    seed: num('seed', values.seed),
    pat: values.pat,
    organizations: values.org?.flatMap((o) => o.split(',')).filter(Boolean),
    referenceDate: values['reference-date'],
    scale: {
      projects: num('projects', values.projects),
      reposPerProject: num('repos', values.repos),
      pullRequestsPerRepo: num('prs', values.prs),
    },
    faults,
  };
}

async function main(): Promise<void> {
  let options: AdoSimulatorOptions;
  try {
    options = optionsFromArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    process.exit(2);
  }
  const sim = await startAdoSimulator(options);
  for (const org of sim.dataset.organizations) {
    const c = sim.dataset.counts(org);
    process.stdout.write(`organization URL: ${sim.orgUrl(org)}  (${c.projects} projects, ${c.repositories} repositories, ${c.pullRequests} pull requests)\n`);
  }
  process.stdout.write(`PAT: ${sim.pat}\n`);
  const stop = () => {
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

await main();
