/**
 * What a new user meets in the first minutes, through the built command as a user runs it: the command itself, its
 * version and help, one clear line and exit code 2 per mistake, readable logs, `map` on saved payloads, `status`
 * without Redis, and the npm tarball.
 */
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, ROOT, runCli } from '../helpers/cli.js';
import { startAdoSimulator } from '../simulators/ado/index.js';
import { pullRequestPayload } from '../../bench/prPayloads.js';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'ado-sync-first-steps-'));
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('the ado-sync command', () => {
  it('runs through npx in the project folder after the install line, and says --version', async () => {
    // A cache of its own, as on a fresh machine: npx links the folder's bin into it.
    const env = { ...process.env, NODE_OPTIONS: '', npm_config_cache: mkdtempSync(join(tmpdir(), 'ado-sync-npx-')) };
    const { stdout } = await exec('npx', ['--no', '--', 'ado-sync', '--version'], { cwd: ROOT, env });
    expect(stdout.trim()).toBe(version);
  });

  it('is on the PATH after `npm link` (a global install of the folder; here into a prefix of the test)', async () => {
    const prefix = mkdtempSync(join(tmpdir(), 'ado-sync-link-'));
    await exec('npm', ['install', '-g', '--prefix', prefix, '--ignore-scripts', '--offline', '--no-audit', '--no-fund', ROOT], { env: { ...process.env, NODE_OPTIONS: '' } });
    const { stdout } = await exec(join(prefix, 'bin', 'ado-sync'), ['--version']);
    expect(stdout.trim()).toBe(version);
  });

  it('lists each command, and per command its own flags and settings in aligned columns', async () => {
    const main = await runCli(['--help']);
    expect(main.code).toBe(0);
    for (const c of ['dry-run', 'resync', 'map', 'validate', 'serve', 'worker', 'status', 'webhooks']) expect(main.stdout).toMatch(new RegExp(`^  ${c} +\\S`, 'm'));
    const help = await runCli(['resync', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: ado-sync resync /);
    expect(help.stdout).toMatch(/^ {2}--kinds a,b +only the resources/m);
    // Settings rows: the variable column starts at one offset for every row, however long the flag.
    const rows = help.stdout.split('\n').filter((l) => /^ {2}--\S+ +[A-Z][A-Z0-9_]+ /.test(l));
    expect(rows.length).toBeGreaterThan(15);
    expect(rows.some((l) => l.startsWith('  --max-concurrent-organizations '))).toBe(true);
    expect(new Set(rows.map((l) => l.search(/ [A-Z][A-Z0-9_]+ /))).size).toBe(1);
    expect(help.stdout).toContain('PORT_CLIENT_SECRET');
    expect(help.stdout).not.toContain('WEBHOOK_SECRET');
    const validate = await runCli(['validate', '--help']);
    expect(validate.stdout).toContain('PORT_APP_CONFIG');
    expect(validate.stdout).not.toContain('ADO_PERSONAL_ACCESS_TOKEN');
  });

  it('suggests the command meant', async () => {
    const r = await runCli(['dryrun']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "dryrun" (did you mean "dry-run"?)');
  });
});

describe('one line and exit code 2 per mistake', () => {
  const sim = { ADO_ORGANIZATION_URL: 'http://127.0.0.1:9/acme', ADO_FLAVOR: 'services', ADO_PERSONAL_ACCESS_TOKEN: 'x-pat-1234' };
  const cases: Array<[string, string[], NodeJS.ProcessEnv, RegExp]> = [
    ['an unknown log level (dry-run)', ['dry-run', '--log-level', 'loud'], sim, /^error: --log-level: "loud" is not a log level \(trace, debug, info, warn, error, fatal, silent\)$/],
    ['an unknown log level (validate)', ['validate', '--log-level', 'loud'], {}, /^error: --log-level: "loud" is not a log level/],
    ['an unknown log level in LOG_LEVEL', ['validate'], { LOG_LEVEL: 'loud' }, /^error: LOG_LEVEL: "loud" is not a log level/],
    ['an unknown log format', ['validate', '--log-format', 'yaml'], {}, /^error: --log-format: "yaml" is not a log format \(pretty or json\)$/],
    ['a missing --input file', ['map', '--kind', 'repository', '--input', 'missing.ndjson'], {}, /^error: --input missing.ndjson: no such file$/],
    ['an empty --kinds', ['dry-run', '--kinds', ''], sim, /^error: --kinds is empty: name one or more kinds of the config \(project, repository/],
    ['a misspelled kind in --kinds', ['dry-run', '--kinds', 'pull-requests'], sim, /^error: --kinds: no resource of kind "pull-requests" \(did you mean "pull-request"\?\) in the config/],
    ['a misspelled kind in map', ['map', '--kind', 'repositry'], {}, /has no resource of kind "repositry" \("repositry" is not a kind \(did you mean "repository"\?\)\)/],
    ['http:// for dev.azure.com', ['dry-run'], { ADO_ORGANIZATION_URL: 'http://dev.azure.com/acme', ADO_PERSONAL_ACCESS_TOKEN: 'x-pat-1234' }, /must use https: Azure DevOps Services answers https only \(https:\/\/dev\.azure\.com\/acme\)/],
    ['no PAT', ['dry-run'], { ADO_ORGANIZATION_URL: 'https://dev.azure.com/acme' }, /no personal access token: pass --pat or set ADO_PERSONAL_ACCESS_TOKEN/],
    ['an unknown flag', ['dry-run', '--prety'], sim, /^error: Unknown option '--prety'.*; see ado-sync dry-run --help$/],
  ];
  it.each(cases)('%s', async (_name, args, env, message) => {
    const r = await runCli(args, { env });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });
});

describe('logs', () => {
  it('are JSON with ISO times and no repeated keys by default off a terminal, and one readable line each with LOG_FORMAT=pretty', async () => {
    const env = { ADO_ORGANIZATION_URL: 'http://127.0.0.1:9/acme', ADO_FLAVOR: 'services', ADO_PERSONAL_ACCESS_TOKEN: 'x-pat-1234' };
    const json = await runCli(['dry-run', '--kinds', 'project'], { env });
    const first = json.stderr.split('\n')[0]!;
    const rec = JSON.parse(first) as Record<string, unknown>;
    expect(rec).toMatchObject({ level: 'error', org: 'acme', msg: 'organization failed' });
    expect(rec.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(first.match(/"org":/g)).toHaveLength(1);
    const pretty = await runCli(['dry-run', '--kinds', 'project', '--log-format', 'pretty'], { env });
    expect(pretty.stderr.split('\n')[0]).toMatch(/^\d\d:\d\d:\d\d ERROR organization failed {2}org=acme err="Azure DevOps organization/);
  });
});

describe('on a terminal', () => {
  it('logs read as one line per event and a long run shows a live progress line', async () => {
    // script(1) gives the command a terminal. The line is drawn as each resource starts, so even a run faster than the
    // half-second refresh shows it: no latency is needed to see it.
    const sim = await startAdoSimulator();
    try {
      const command = `stty cols 200; ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} dry-run --kinds pull-request > /dev/null`;
      const r = await exec('script', ['-qfec', command, '/dev/null'], {
        env: { PATH: process.env.PATH, JQ_PATH: process.env.JQ_PATH ?? '/usr/bin/jq', ADO_ORGANIZATION_URL: sim.orgUrl(), ADO_PERSONAL_ACCESS_TOKEN: sim.pat, ADO_FLAVOR: 'services', COLUMNS: '160' },
      });
      expect(r.stdout).toMatch(/… pull-request: [\d,]+ items, [\d,]+ entities, [\d,]+ written · [\d,]+ requests · [\d,]+ items\/s/);
      // The line is cleared before the summary, which stays.
      const clear = '\r\u001b[K';
      expect(r.stdout.indexOf(clear)).toBeGreaterThan(-1);
      expect(r.stdout.lastIndexOf(clear)).toBeLessThan(r.stdout.search(/org +# +kind +status/));
      expect(r.stdout).not.toMatch(/^\{"level"/m);
    } finally {
      await sim.close();
    }
  });
});

describe('map', () => {
  it('streams payloads through the pool and fills in the organization from --org', async () => {
    const input = join(dir, 'prs.ndjson');
    const n = 2500;
    const bare = (i: number) => {
      const { __organizationName: _n, __organizationUrl: _u, ...pr } = pullRequestPayload(i);
      return pr;
    };
    writeFileSync(input, Array.from({ length: n }, (_, i) => JSON.stringify(bare(i))).join('\n') + '\n');
    const r = await runCli(['map', '--kind', 'pull-request', '--input', input, '--org', 'https://dev.azure.com/acme', '--jq-pool-size', '2']);
    expect(r.code).toBe(0);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { identifier: string; properties: { link?: string } });
    expect(out).toHaveLength(n);
    expect(out[0]!.properties.link).toMatch(/^https:\/\/dev\.azure\.com\/acme\/.+\/_git\/.+\/pullrequest\/\d+$/);
    // Items of a multi-organization export keep their own organization.
    const own = JSON.stringify({ ...pullRequestPayload(1), __organizationName: 'other', __organizationUrl: 'https://dev.azure.com/other' });
    const mixed = await runCli(['map', '--kind', 'pull-request', '--org', 'https://dev.azure.com/acme'], { input: own });
    expect((JSON.parse(mixed.stdout) as { properties: { link: string } }).properties.link).toMatch(/^https:\/\/dev\.azure\.com\/other\//);
  });
});

describe('status', () => {
  it('says in one line that Redis at that URL is unreachable, without its password', async () => {
    const r = await runCli(['status'], { env: { REDIS_URL: 'redis://:s3cret-pw@127.0.0.1:9' } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      'error: Redis at redis://:***@127.0.0.1:9 is unreachable (connect ECONNREFUSED 127.0.0.1:9): check REDIS_URL / --redis-url and that Redis is running',
    ]);
  });
});

describe('the build', () => {
  it('does nothing when nothing changed, so the demo starts at once', async () => {
    const out = join(ROOT, 'dist', 'src', 'cli', 'main.js');
    const before = statSync(out).mtimeMs;
    await exec('npm', ['run', 'build', '--silent'], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
    expect(statSync(out).mtimeMs).toBe(before);
  });
});

describe('the npm tarball', () => {
  it('holds the command, the compiled product, mappings and blueprints, and no test, simulator or bench code', async () => {
    const { stdout } = await exec('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
    const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['bin/ado-sync.mjs', 'dist/src/cli/main.js', 'mappings/port-app-config.yml', 'package.json']));
    expect(files.filter((f) => /^(test|bench|src)\/|^dist\/(test|bench)\//.test(f))).toEqual([]);
    expect(files.some((f) => f.startsWith('blueprints/'))).toBe(true);
  });

  it('unpacked beside its dependencies, its bin runs', async () => {
    const { stdout } = await exec('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
    const tarball = join(dir, stdout.trim().split('\n').at(-1)!);
    await exec('tar', ['-xzf', tarball, '-C', dir]);
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'package', 'node_modules'));
    const r = await exec(process.execPath, [join(dir, 'package', 'bin', 'ado-sync.mjs'), '--version']);
    expect(r.stdout.trim()).toBe(version);
    const help = await exec(process.execPath, [join(dir, 'package', 'bin', 'ado-sync.mjs'), 'validate', '--config', join(dir, 'package', 'mappings', 'port-app-config.yml')], {
      env: { PATH: process.env.PATH, JQ_PATH: process.env.JQ_PATH ?? '/usr/bin/jq' },
    });
    expect(help.stderr).toMatch(/port-app-config.yml: valid, \d+ resources/);
  });

  it('says how to build when the compiled CLI is missing', async () => {
    const bare = mkdtempSync(join(tmpdir(), 'ado-sync-bare-'));
    writeFileSync(join(bare, 'ado-sync.mjs'), readFileSync(join(ROOT, 'bin', 'ado-sync.mjs')));
    const r = await exec(process.execPath, [join(bare, 'ado-sync.mjs'), '--help']).catch((e: { code: number; stderr: string }) => e);
    expect(r).toMatchObject({ code: 2 });
    expect((r as { stderr: string }).stderr).toContain('ado-sync is not built yet: run `npm run build`');
  });
});
