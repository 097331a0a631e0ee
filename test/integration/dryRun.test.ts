import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ado-sync-dryrun-'));
const PR_CONFIG = join(dir, 'prs.yml');
writeFileSync(
  PR_CONFIG,
  `resources:
  - kind: pull-request
    selector: { query: 'true', minTimeInDays: 100000, maxResults: 100000 }
    port:
      entity:
        mappings:
          identifier: .repository.id + "/" + (.pullRequestId | tostring)
          blueprint: '"azureDevopsPullRequest"'
          properties: { status: .status, org: .__organizationName }
`,
);
const PROJECT_CONFIG = join(dir, 'projects.yml');
writeFileSync(
  PROJECT_CONFIG,
  `resources:
  - kind: project
    selector: { query: 'true' }
    port: { entity: { mappings: { identifier: .id, blueprint: '"azureDevopsProject"' } } }
`,
);

describe('dry-run against the Azure DevOps simulator', () => {
  let sim: AdoSimulator;
  let expectedPrs: Set<string>;

  beforeAll(async () => {
    sim = await startAdoSimulator({ pat: 'test-pat-0123456789', scale: { projects: 5, reposPerProject: 5, pullRequestsPerRepo: 100 } });
    const disabled = new Set([...sim.dataset.repositories()].filter((r) => r.isDisabled).map((r) => r.id));
    expectedPrs = new Set(
      [...sim.dataset.pullRequests(undefined, { status: 'all' })].filter((p) => !disabled.has(p.repository.id)).map((p) => `${p.repository.id}/${p.pullRequestId}`),
    );
  });
  afterAll(() => sim.close());

  const env = (pat = sim.pat) => ({ ADO_ORGANIZATION_URL: sim.orgUrl(), ADO_PERSONAL_ACCESS_TOKEN: pat, ADO_FLAVOR: 'services', LOG_LEVEL: 'warn' });
  const identifiers = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).identifier as string);

  it('streams thousands of pull requests across pages, each exactly once', async () => {
    expect(expectedPrs.size).toBeGreaterThan(2000);
    sim.setFaults({});
    const r = await runCli(['dry-run', '--config', PR_CONFIG, '--page-size', '100'], { env: env() });
    expect(r.code).toBe(0);
    const ids = identifiers(r.stdout);
    expect(ids.length).toBe(expectedPrs.size);
    expect(new Set(ids)).toEqual(expectedPrs);
    const prPages = sim.requests.filter((q) => /\/_apis\/git\/pullrequests$/i.test(q.path));
    expect(prPages.length).toBeGreaterThan(expectedPrs.size / 100);
    expect(r.stderr).toMatch(/pull-request\s+ok/);
  });

  it('completes when every third request is throttled, waiting at least Retry-After before retrying', async () => {
    sim.setFaults({ throttleEvery: 3, retryAfterSeconds: 0.3 });
    sim.requests.length = 0;
    const r = await runCli(['dry-run', '--config', PR_CONFIG, '--page-size', '250'], { env: env() });
    sim.setFaults({});
    expect(r.code).toBe(0);
    expect(new Set(identifiers(r.stdout))).toEqual(expectedPrs);
    const log = [...sim.requests];
    const throttled = log.filter((q) => q.status === 429);
    expect(throttled.length).toBeGreaterThan(3);
    for (const t of throttled) {
      const same = (q: (typeof log)[number]) => q.path === t.path && JSON.stringify(q.query) === JSON.stringify(t.query);
      const retry = log.find((q) => q.at > t.at && same(q));
      expect(retry).toBeDefined();
      expect(retry!.at - t.at).toBeGreaterThanOrEqual(290);
    }
    expect(r.stderr).toMatch(/throttled: [1-9]/);
  });

  it('retries a truncated body', async () => {
    sim.setFaults({ truncateEvery: 4 });
    const r = await runCli(['dry-run', '--config', PR_CONFIG, '--page-size', '250'], { env: env() });
    sim.setFaults({});
    expect(r.code).toBe(0);
    expect(new Set(identifiers(r.stdout))).toEqual(expectedPrs);
    expect(r.stderr).toMatch(/retries: [1-9]/);
  });

  it('fails fast on a rejected PAT, naming the org and the missing scope, without retries or the secret', async () => {
    sim.requests.length = 0;
    const r = await runCli(['dry-run', '--config', PROJECT_CONFIG], { env: env('wrong-pat-9876543210') });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Azure DevOps organization "acme"');
    expect(r.stderr).toContain('"Project and Team (Read)" scope');
    expect(sim.requests.length).toBe(1);
    expect(r.stderr).not.toContain('wrong-pat-9876543210');
    expect(r.stderr).not.toContain(Buffer.from(':wrong-pat-9876543210').toString('base64'));
  });

  it('runs the default mapping end to end: every repository relates to a printed project', async () => {
    const r = await runCli(['dry-run'], { env: env() });
    expect(r.code).toBe(0);
    const entities = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const projects = new Set(entities.filter((e) => e.blueprint === 'azureDevopsProject').map((e) => e.identifier));
    // repository-policy resources merge into repository entities, so a repository may print more than once
    const repos = entities.filter((e) => e.blueprint === 'azureDevopsRepository' && e.relations.project !== undefined);
    expect(projects.size).toBe(5);
    expect(new Set(repos.map((e) => e.identifier)).size).toBe(25);
    for (const repo of repos) expect(projects.has(repo.relations.project)).toBe(true);
    const repoIds = new Set(repos.map((e) => e.identifier));
    for (const pr of entities.filter((e) => e.blueprint === 'azureDevopsPullRequest')) expect(repoIds.has(pr.relations.repository)).toBe(true);
    expect(r.stdout).not.toContain(sim.pat);
  });
});

describe('Azure DevOps Server', () => {
  it('skips the kinds its API lacks with one warning, and syncs the rest', async () => {
    const sim = await startAdoSimulator({ pat: 'server-pat-123456' });
    try {
      const r = await runCli(['dry-run', '--config', 'mappings/port-app-config.yml', '--kinds', 'project,work-item,release'], {
        env: { ADO_ORGANIZATION_URL: sim.orgUrl(), ADO_PERSONAL_ACCESS_TOKEN: sim.pat, ADO_FLAVOR: 'server', LOG_LEVEL: 'warn' },
      });
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/project\s+ok\s+3\s+3/);
      expect(r.stderr).toMatch(/work-item\s+skipped/);
      expect(r.stderr).toMatch(/release\s+skipped/);
      expect(r.stderr.match(/is not available on Azure DevOps Server; skipped/g)).toHaveLength(2);
      expect(sim.requests.some((q) => /wiql|release/i.test(q.path))).toBe(false);
    } finally {
      await sim.close();
    }
  });
});
