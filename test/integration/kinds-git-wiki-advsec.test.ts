import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { advancedSecurityAlertKind } from '../../src/kinds/advancedSecurityAlert.js';
import { getKind } from '../../src/kinds/registry.js';
import type { KindDefinition, RawItem } from '../../src/kinds/types.js';
import { wikiKind } from '../../src/kinds/wiki.js';
import { runKind } from '../helpers/kindRun.js';
import { wikisAlerts } from '../simulators/ado/data/wikisAlerts.js';
import { startAdoSimulator, type AdoSimulator, type GitRepository } from '../simulators/ado/index.js';

let sim: AdoSimulator;

beforeAll(async () => {
  sim = await startAdoSimulator({ scale: { projects: 3, reposPerProject: 4, pullRequestsPerRepo: 1, wikiPagesPerWiki: 7, alertsPerRepo: 6 } });
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.setFaults({});
  sim.requests.length = 0;
});

async function run(kind: KindDefinition<never>, selector: Record<string, unknown> = {}, pageSize = 100) {
  return runKind(sim, kind, selector, pageSize);
}

const org = () => sim.dataset.org('acme')!;
const projects = () => [...sim.dataset.projects()];
const repos = () => [...sim.dataset.repositories()];
const calls = (re: RegExp) => sim.requests.filter((r) => re.test(r.path));
const wikiOf = (i: RawItem) => i.__wiki as { id: string; type: string };

describe('kind wiki', () => {
  const expected = (type?: string) =>
    projects().flatMap((p, pi) =>
      wikisAlerts(org())
        .wikis(pi)
        .filter((w) => !type || w.type === type)
        .flatMap((w) => wikisAlerts(org()).pages(pi, w).map((pg) => `${p.id}/${w.id}/${pg.id}`)),
    );

  it('registers', () => {
    expect(getKind('wiki')).toBeDefined();
    expect(getKind('advanced-security-alert')?.serverSupported).toBe(false);
  });

  it('lists every page of every wiki through pagesBatch, with __wiki and __project, no content by default', async () => {
    const { items } = await run(wikiKind as KindDefinition<never>);
    const want = expected();
    expect(items.map((i) => `${(i.__project as { id: string }).id}/${wikiOf(i).id}/${String(i.id)}`).sort()).toEqual(want.sort());
    expect(new Set(items.map((i) => wikiOf(i).type))).toEqual(new Set(['projectWiki', 'codeWiki']));
    expect(items.every((i) => i.content === undefined && typeof i.path === 'string')).toBe(true);
    expect(calls(/\/pages\/\d+$/).length).toBe(0);
    expect(calls(/wiki\/wikis$/).length).toBe(3);
    expect(calls(/pagesbatch$/i).every((r) => r.method === 'POST')).toBe(true);
  });

  it('follows the header token across small pagesBatch pages', async () => {
    const { items } = await run(wikiKind as KindDefinition<never>, {}, 3);
    expect(items.length).toBe(expected().length);
    // 7 pages per project wiki, 8 per code wiki, 3 per batch: 3 batches per wiki.
    const wikis = projects().reduce((n, _p, pi) => n + wikisAlerts(org()).wikis(pi).length, 0);
    expect(calls(/pagesbatch$/i).length).toBe(wikis * 3);
  });

  it('wikiType keeps one kind of wiki; includeContent reads each page', async () => {
    const code = await run(wikiKind as KindDefinition<never>, { wikiType: 'codeWiki', includeContent: true });
    expect(code.items.map((i) => `${(i.__project as { id: string }).id}/${wikiOf(i).id}/${String(i.id)}`).sort()).toEqual(expected('codeWiki').sort());
    expect(code.items.every((i) => typeof i.content === 'string' && (i.content as string).startsWith('# '))).toBe(true);
    expect(code.items[0]).toHaveProperty('gitItemPath');
    expect(calls(/\/pages\/\d+$/).length).toBe(code.items.length);
    expect(calls(/\/pages\/\d+$/).every((r) => r.query.includeContent === 'true')).toBe(true);
  });

  it('sends the configured apiVersion', async () => {
    await run(wikiKind as KindDefinition<never>, { apiVersion: '7.1-preview.1' });
    expect(calls(/wiki/).every((r) => r.query['api-version'] === '7.1-preview.1')).toBe(true);
  });
});

describe('kind advanced-security-alert', () => {
  const healthyWithBranch = () => repos().filter((r) => !r.isDisabled && r.defaultBranch);
  const enabled = () => healthyWithBranch().filter((r) => wikisAlerts(org()).advancedSecurityEnabled(org().repos.findById(r.id)!));

  it('lists alerts of repositories with Advanced Security, skips the others (400) silently, and enriches ids', async () => {
    const { items, incomplete } = await run(advancedSecurityAlertKind as KindDefinition<never>);
    expect(enabled().length).toBeLessThan(healthyWithBranch().length);
    const want = enabled().flatMap((r) => wikisAlerts(org()).alerts(org().repos.findById(r.id)!).map((a) => a.alertId));
    expect(items.map((i) => i.alertId).sort()).toEqual(want.sort());
    const byRepo = new Map(repos().map((r) => [r.id, r] as [string, GitRepository]));
    for (const i of items) {
      const repo = byRepo.get(i.__repositoryId as string)!;
      expect(i.__projectId).toBe(repo.project.id);
      expect(i.repositoryUrl).toBe(repo.webUrl);
    }
    expect(incomplete).toEqual([]);
    expect(calls(/\/alerts$/).length).toBe(healthyWithBranch().length);
    expect(calls(/\/alerts$/).filter((r) => r.status === 400).length).toBe(healthyWithBranch().length - enabled().length);
  });

  it('passes criteria to the service and pages with the header token', async () => {
    const { items } = await run(
      advancedSecurityAlertKind as KindDefinition<never>,
      { criteria: { states: ['active', 'dismissed'], severity: ['critical', 'high', 'error'], alertType: 'dependency' } },
      1,
    );
    const want = enabled().flatMap((r) =>
      wikisAlerts(org())
        .alerts(org().repos.findById(r.id)!)
        .filter((a) => ['active', 'dismissed'].includes(a.state) && ['critical', 'high', 'error'].includes(a.severity) && a.alertType === 'dependency')
        .map((a) => a.alertId),
    );
    expect(want.length).toBeGreaterThan(0);
    expect(items.map((i) => i.alertId).sort()).toEqual(want.sort());
    const first = calls(/\/alerts$/)[0]!;
    expect(first.query).toMatchObject({ 'criteria.states': 'active,dismissed', 'criteria.severities': 'critical,high,error', 'criteria.alertType': 'dependency', top: '1', 'api-version': '7.2-preview.1' });
  });

  it('fails on errors other than 400', async () => {
    sim.setFaults({ failPaths: [{ pattern: '/alerts$', status: 500 }] });
    await expect(run(advancedSecurityAlertKind as KindDefinition<never>)).rejects.toThrow(/500/);
  });
});
