/**
 * The Dockerfile without Docker: static checks of the image's shape, then scripts/docker-build-check.sh replays
 * its build stage (npm ci, npm run build, npm prune --omit=dev) in a temporary directory, assembles the runtime
 * stage's files and starts `ado-sync --help` from them. Slow (a full install and compile): generous timeout.
 */
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const repo = process.cwd();
const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(repo, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

/** Dockerfile instructions with continuation lines joined, each tagged with its stage name. */
function instructions(): { stage: string; ins: string; args: string }[] {
  const joined = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  let stage = '';
  return joined.map((l) => {
    const [ins = '', ...rest] = l.split(/\s+/);
    const args = rest.join(' ');
    if (ins.toUpperCase() === 'FROM') stage = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? '';
    return { stage, ins: ins.toUpperCase(), args };
  });
}

function ignored(path: string): boolean {
  return dockerignore.some((p) => {
    const pattern = p.replace(/^\*\*\//, '').replace(/\/$/, '');
    return path === pattern || path.startsWith(`${pattern}/`);
  });
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: repo, env: { ...process.env, NODE_OPTIONS: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('Dockerfile', () => {
  const all = instructions();

  it('builds in a stage with dev dependencies and runs from a stage with production ones', () => {
    const froms = all.filter((i) => i.ins === 'FROM').map((i) => i.args);
    expect(froms).toEqual(['${NODE_IMAGE} AS build', '${NODE_IMAGE} AS runtime']);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    const buildRuns = all.filter((i) => i.stage === 'build' && i.ins === 'RUN').map((i) => i.args).join(' && ');
    expect(buildRuns).toMatch(/npm ci\b[^&]*&& npm run build:runtime\b.*&& npm prune --omit=dev/);
    // Only the product is compiled into the image: no simulators, demo or benchmarks.
    const buildCopies = all.filter((i) => i.stage === 'build' && i.ins === 'COPY').map((i) => i.args);
    expect(buildCopies.filter((c) => /\b(test|bench)\b/.test(c))).toEqual([]);
    const runtimeCopies = all.filter((i) => i.stage === 'runtime' && i.ins === 'COPY').map((i) => i.args);
    expect(runtimeCopies).toEqual(expect.arrayContaining(['--from=build /app/node_modules ./node_modules', '--from=build /app/dist ./dist', 'mappings ./mappings', 'blueprints ./blueprints', 'port-resources ./port-resources']));
  });

  it('installs Debian jq and tini, runs as a numeric non-root user, forwards signals through tini, serves by default', () => {
    const runtime = all.filter((i) => i.stage === 'runtime');
    expect(runtime.find((i) => i.ins === 'RUN')?.args).toMatch(/apt-get install -y --no-install-recommends jq tini/);
    expect(runtime.find((i) => i.ins === 'ENV')?.args).toMatch(/JQ_PATH=\/usr\/bin\/jq/);
    const user = runtime.find((i) => i.ins === 'USER')?.args ?? '';
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(runtime.find((i) => i.ins === 'ENTRYPOINT')?.args).toBe('["tini", "--", "node", "dist/src/cli/main.js"]');
    expect(runtime.find((i) => i.ins === 'CMD')?.args).toBe('["serve"]');
    expect(all.some((i) => i.ins === 'HEALTHCHECK')).toBe(false);
  });

  it('copies only sources that exist in the repository and that .dockerignore lets through', () => {
    const sources = all
      .filter((i) => i.ins === 'COPY' && !i.args.includes('--from='))
      .flatMap((i) => i.args.split(/\s+/).filter((a) => !a.startsWith('--')).slice(0, -1));
    expect(sources.length).toBeGreaterThan(5);
    expect(sources.filter((s) => !existsSync(join(repo, s)))).toEqual([]);
    expect(sources.filter(ignored)).toEqual([]);
    for (const heavy of ['node_modules', 'dist', '.git']) expect(ignored(heavy)).toBe(true);
  });

  it(
    'its build steps, replayed without Docker, produce a runtime that starts `ado-sync --help`',
    async () => {
      const result = await run('bash', [join(repo, 'scripts', 'docker-build-check.sh')]);
      if (result.code !== 0) throw new Error(`docker-build-check.sh exited ${result.code}\n${result.stderr.slice(-4000)}`);
      expect(result.stderr).toMatch(/build: RUN .*\bci --prefer-offline/);
      expect(result.stdout).toMatch(/^ado-sync \d+\.\d+\.\d+: /m);
      expect(result.stdout).toMatch(/Commands:/);
      // The image's default command must be one the CLI knows.
      const cmd = (JSON.parse(all.find((i) => i.ins === 'CMD')!.args) as string[])[0]!;
      expect(result.stdout).toMatch(new RegExp(`^\\s+(ado-sync\\s+)?${cmd}\\b`, 'm'));
    },
    15 * 60_000,
  );
});
