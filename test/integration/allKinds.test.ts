import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';
import { startPortSimulator } from '../simulators/port/index.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { syncEnv } from '../helpers/env.js';
import { kindNames } from '../../src/kinds/registry.js';

interface Printed {
  identifier: string;
  blueprint: string;
  relations: Record<string, unknown>;
  properties: Record<string, unknown>;
}

const blueprints = Object.fromEntries(
  readdirSync(join(ROOT, 'blueprints')).map((f) => {
    const b = JSON.parse(readFileSync(join(ROOT, 'blueprints', f), 'utf8')) as { identifier: string; relations?: Record<string, { target: string }> };
    return [b.identifier, b];
  }),
);

/** A team's port.yml on its repository's default branch, for the gitops resource: the repository's tier and Slack channel. */
function declareRepository(sim: AdoSimulator): void {
  const repos = sim.dataset.org('acme')!.repos;
  let i = 0;
  while (repos.record(i).isEmpty || repos.record(i).isDisabled) i++;
  const repo = repos.record(i);
  sim.git.commit(repo.id, { '/port.yml': `identifier: ${repo.id}\nblueprint: azureDevopsRepository\nproperties:\n  tier: Customer Facing\n  slack: https://acme.slack.com/archives/${repo.name}\n` });
}

describe('dry-run of every kind (mappings/examples/all-kinds.yml)', () => {
  let sim: AdoSimulator;
  let entities: Printed[];
  let stderr: string;
  let code: number | null;

  beforeAll(async () => {
    sim = await startAdoSimulator({ referenceDate: new Date() });
    declareRepository(sim);
    const r = await runCli(['dry-run', '--config', 'mappings/examples/all-kinds.yml'], {
      env: { ADO_ORGANIZATION_URL: sim.orgUrl(), ADO_PERSONAL_ACCESS_TOKEN: sim.pat, ADO_FLAVOR: 'services', LOG_LEVEL: 'error' },
    });
    code = r.code;
    stderr = r.stderr;
    entities = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Printed);
  });
  afterAll(() => sim.close());

  it('runs every registered kind to completion, each producing entities', () => {
    expect(code).toBe(0);
    for (const kind of kindNames()) expect([kind, new RegExp(`\\d+\\s+${kind}\\s+ok\\s+\\d+\\s+[1-9]`).test(stderr)]).toEqual([kind, true]);
  });

  it('matches the simulator’s seeded counts for the parent kinds', () => {
    // Distinct identifiers: repository-policy resources merge into repository entities.
    const count = (bp: string) => new Set(entities.filter((e) => e.blueprint === bp).map((e) => e.identifier)).size;
    const counts = sim.dataset.counts();
    expect(count('azureDevopsProject')).toBe(counts.projects);
    expect(count('azureDevopsRepository')).toBe(counts.repositories);
  });

  it('gives every relation a target that was itself synced', () => {
    const ids = new Map<string, Set<string>>();
    for (const e of entities) {
      if (!ids.has(e.blueprint)) ids.set(e.blueprint, new Set());
      ids.get(e.blueprint)!.add(e.identifier);
    }
    const dangling: string[] = [];
    let checked = 0;
    for (const e of entities) {
      for (const [rel, value] of Object.entries(e.relations)) {
        const target = blueprints[e.blueprint]?.relations?.[rel]?.target;
        expect([e.blueprint, rel, target !== undefined]).toEqual([e.blueprint, rel, true]);
        for (const v of [value].flat()) {
          if (v === null || v === undefined) continue;
          checked++;
          if (!ids.get(target!)?.has(v as string)) dangling.push(`${e.blueprint}.${rel} -> ${target}:${String(v)}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(500);
    expect(dangling).toEqual([]);
  });

  it('relates every pull request to a repository and every build to a project', () => {
    const repos = new Set(entities.filter((e) => e.blueprint === 'azureDevopsRepository').map((e) => e.identifier));
    const projects = new Set(entities.filter((e) => e.blueprint === 'azureDevopsProject').map((e) => e.identifier));
    const prs = entities.filter((e) => e.blueprint === 'azureDevopsPullRequest');
    const builds = entities.filter((e) => e.blueprint === 'azureDevopsBuild');
    expect(prs.length).toBeGreaterThan(0);
    expect(builds.length).toBeGreaterThan(0);
    for (const pr of prs) expect(repos.has(pr.relations.repository as string)).toBe(true);
    for (const b of builds) expect(projects.has(b.relations.project as string)).toBe(true);
  });
});

describe('a malformed item', () => {
  it('is reported while the rest of the kind still maps', async () => {
    const good = { id: 'a1', name: 'repo', project: { id: 'p1' }, remoteUrl: 'https://dev.azure.com/x/_git/repo' };
    const input = [good, { id: null, name: 42, project: 'not-an-object' }, { ...good, id: 'a2' }].map((x) => JSON.stringify(x)).join('\n');
    const r = await runCli(['map', '--kind', 'repository'], { input });
    expect(r.code).toBe(0);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(out.map((e) => e.identifier)).toEqual(['a1', 'a2']);
    expect(r.stderr).toContain('relations.project');
    expect(r.stderr).toMatch(/dropped 1 .*identifier is empty/);
  });
});

describe('resync of every kind into a schema-checking catalog', () => {
  it('the bundled blueprints accept every entity the shipped mappings produce', async () => {
    const sim = await startAdoSimulator({ referenceDate: new Date() });
    declareRepository(sim);
    const port = await startPortSimulator();
    try {
      for (const config of ['mappings/port-app-config.yml', 'mappings/examples/all-kinds.yml']) {
        const r = await runCli(['resync', '--config', config], {
          env: syncEnv(sim, port, { INTEGRATION_IDENTIFIER: `all-kinds-${process.pid}`, LOG_LEVEL: 'warn' }),
        });
        // Every summary row ends "... written unchanged failed misconf time": no failed write in any resource.
        const rows = r.stderr.split('\n').filter((l) => /^\S+\s+\d+\s+\S+\s+ok\s/.test(l));
        expect([config, r.code, rows.length > 0]).toEqual([config, 0, true]);
        for (const row of rows) expect([config, row.trim().split(/\s+/).at(-3)]).toEqual([config, '0']);
        expect(r.stderr).not.toMatch(/catalog refused an entity/);
      }
      expect(port.entities('azureDevopsPipelineRun').length).toBeGreaterThan(0);
    } finally {
      await sim.close();
      await port.close();
    }
  });
});
