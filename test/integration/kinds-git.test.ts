import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { branchKind } from '../../src/kinds/branch.js';
import { fileKind } from '../../src/kinds/file.js';
import { folderKind } from '../../src/kinds/folder.js';
import { getKind } from '../../src/kinds/registry.js';
import { repositoryPolicyKind } from '../../src/kinds/repositoryPolicy.js';
import type { KindDefinition } from '../../src/kinds/types.js';
import { runKind, type KindRun } from '../helpers/kindRun.js';
import { gitExtras } from '../simulators/ado/data/gitRefs.js';
import { refMatches } from '../simulators/ado/routes/gitExtras.js';
import { startAdoSimulator, type AdoSimulator, type GitRepository } from '../simulators/ado/index.js';

let sim: AdoSimulator;

beforeAll(async () => {
  sim = await startAdoSimulator({ scale: { projects: 3, reposPerProject: 4, pullRequestsPerRepo: 1, branchesPerRepo: 5 } });
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.setFaults({});
  sim.requests.length = 0;
});

type Run = KindRun;

async function run(kind: KindDefinition<never>, selector: Record<string, unknown> = {}, pageSize = 100): Promise<Run> {
  return runKind(sim, kind, selector, pageSize);
}

const UNHEALTHY = (r: GitRepository) => r.isDisabled;
const repos = () => [...sim.dataset.repositories()];
const orgData = () => sim.dataset.org('acme')!;
const dataRequests = (re: RegExp) => sim.requests.filter((r) => re.test(r.path));

describe('kinds: registration', () => {
  it('registers the git kinds', () => {
    for (const k of ['repository-policy', 'branch', 'file', 'folder']) expect(getKind(k)).toBeDefined();
  });
});

describe('kind repository-policy', () => {
  it('yields every policy once per repository it applies to, with __repository, from one listing per project', async () => {
    const { items } = await run(repositoryPolicyKind as KindDefinition<never>);
    const healthy = repos().filter((r) => !UNHEALTHY(r));
    // Expected: what Ocean's per-repository call (repositoryId + refName = default branch) would return.
    const expected: string[] = [];
    for (const repo of healthy) {
      const p = orgData().projects.find(repo.project.id)!;
      for (const c of gitExtras(orgData()).policies(p)) {
        if (c.settings.scope.some((s) => (s.repositoryId === null || s.repositoryId === repo.id) && refMatches(s, repo.defaultBranch))) {
          expected.push(`${c.id}@${repo.id}`);
        }
      }
    }
    expect(expected.length).toBeGreaterThan(healthy.length);
    expect(items.map((i) => `${String(i.id)}@${(i.__repository as GitRepository).id}`).sort()).toEqual(expected.sort());
    // Enrichment: the full repository; project-wide policies repeat per repository; release/ prefix policies never match.
    const first = items[0]!;
    expect((first.__repository as GitRepository).project.id).toBeDefined();
    expect(items.some((i) => (i.type as { displayName: string }).displayName === 'Build')).toBe(false);
    expect(items.filter((i) => (i.type as { displayName: string }).displayName === 'Comment requirements').length).toBe(healthy.length);
    expect(items.every((i) => (i.__organizationName as string) === 'acme')).toBe(true);
    // One request per project (all projects have healthy repositories), no per-repository calls.
    expect(dataRequests(/policy\/configurations/).length).toBe(3);
    expect(dataRequests(/git\/policy/).length).toBe(0);
  });

  it('follows the continuation header across small pages', async () => {
    const all = await run(repositoryPolicyKind as KindDefinition<never>);
    sim.requests.length = 0;
    const paged = await run(repositoryPolicyKind as KindDefinition<never>, {}, 2);
    expect(paged.items.length).toBe(all.items.length);
    expect(dataRequests(/policy\/configurations/).length).toBeGreaterThan(3);
    expect(dataRequests(/policy\/configurations/).every((r) => r.query.$top === '2')).toBe(true);
  });
});

describe('kind branch', () => {
  it('rebuilds refs into {name, refName, objectId, __repository} for healthy non-empty repositories', async () => {
    const { items, incomplete } = await run(branchKind as KindDefinition<never>);
    const listed = repos().filter((r) => !UNHEALTHY(r) && r.defaultBranch);
    const expected = listed.flatMap((r) => gitExtras(orgData()).branches(orgData().repos.findById(r.id)!).map((b) => `${r.id}:${b.name}`));
    expect(items.map((i) => `${(i.__repository as GitRepository).id}:${String(i.refName)}`).sort()).toEqual(expected.sort());
    expect(items.length).toBe(listed.length * 5);
    const main = items.find((i) => i.refName === (i.__repository as GitRepository).defaultBranch)!;
    expect(Object.keys(main).sort()).toEqual(['__organizationName', '__organizationUrl', '__repository', 'name', 'objectId', 'refName']);
    expect(main.name).toBe(String(main.refName).replace('refs/heads/', ''));
    expect(main.objectId).toMatch(/^[0-9a-f]{40}$/);
    expect(items.some((i) => String(i.name).includes('/'))).toBe(true); // feature/x keeps its slashes
    expect(incomplete).toEqual([]);
    const refCalls = dataRequests(/\/refs$/);
    expect(refCalls.length).toBe(listed.length);
    expect(refCalls.every((r) => r.query.filter === 'heads/')).toBe(true);
  });

  it('pages with the continuation header', async () => {
    const { items } = await run(branchKind as KindDefinition<never>, {}, 2);
    const listed = repos().filter((r) => !UNHEALTHY(r) && r.defaultBranch);
    expect(items.length).toBe(listed.length * 5);
    expect(dataRequests(/\/refs$/).length).toBe(listed.length * 3);
  });

  it('marks the run incomplete when one repository\'s refs fail, and keeps the other repositories', async () => {
    const victim = repos().find((r) => !UNHEALTHY(r) && r.defaultBranch)!;
    sim.setFaults({ failPaths: [{ pattern: `${victim.id}/refs`, status: 500 }] });
    const { items, incomplete } = await run(branchKind as KindDefinition<never>);
    const listed = repos().filter((r) => !UNHEALTHY(r) && r.defaultBranch);
    expect(items.length).toBe((listed.length - 1) * 5);
    expect(items.some((i) => (i.__repository as GitRepository).id === victim.id)).toBe(false);
    expect(incomplete).toHaveLength(1);
    expect(incomplete[0]).toContain(victim.name);
  });
});

describe('kind file', () => {
  it('reads a literal path in every repository that has it, with raw and parsed content', async () => {
    const { items } = await run(fileKind as KindDefinition<never>, { files: { path: 'package.json' } });
    const withPkg = repos().filter((r) => sim.dataset.files(undefined, r.id).some((f) => f.path === '/package.json'));
    expect(withPkg.length).toBeGreaterThan(0);
    expect(items.map((i) => (i.repo as GitRepository).id).sort()).toEqual(withPkg.map((r) => r.id).sort());
    const item = items[0]!;
    const file = item.file as Record<string, unknown>;
    const source = sim.dataset.files(undefined, (item.repo as GitRepository).id).find((f) => f.path === '/package.json')!;
    expect(file).toMatchObject({ path: 'package.json', objectId: source.objectId, isFolder: false, size: Buffer.byteLength(source.content) });
    expect(file.commitId).toMatch(/^[0-9a-f]{40}$/);
    expect((file.content as { raw: string }).raw).toBe(source.content);
    expect((file.content as { parsed: unknown }).parsed).toEqual(JSON.parse(source.content));
    // Literal paths need no listing: one content GET per repository with a default branch, no itemsbatch.
    expect(dataRequests(/itemsbatch/).length).toBe(0);
  });

  it('matches globs through one itemsbatch per repository and parses YAML, falling back to raw text', async () => {
    const { items } = await run(fileKind as KindDefinition<never>, { files: { path: ['services/*/package.json', 'deploy/**/*.yaml'] } });
    const expected = repos().flatMap((r) =>
      sim.dataset
        .files(undefined, r.id)
        .filter((f) => /^\/services\/[^/]+\/package\.json$/.test(f.path) || /^\/deploy\/(.*\/)?[^/]*\.yaml$/.test(f.path))
        .map((f) => `${r.name}:${f.path.slice(1)}`),
    );
    expect(expected.length).toBeGreaterThan(2);
    expect(items.map((i) => `${(i.repo as GitRepository).name}:${(i.file as { path: string }).path}`).sort()).toEqual(expected.sort());
    const values = items.find((i) => (i.file as { path: string }).path === 'deploy/helm/values.yaml')!;
    expect(((values.file as { content: { parsed: { image: { tag: string } } } }).content.parsed).image.tag).toBe('latest');
    const broken = items.find((i) => (i.file as { path: string }).path === 'deploy/broken.yaml')!;
    const content = (broken.file as { content: { raw: string; parsed: unknown } }).content;
    expect(content.parsed).toBe(content.raw);
    const withBranch = repos().filter((r) => r.defaultBranch).length;
    expect(dataRequests(/itemsbatch/).length).toBe(withBranch);
  });

  it('limits to files.repos and skips files over 1 MiB', async () => {
    const first = repos()[0]!;
    const { items } = await run(fileKind as KindDefinition<never>, { files: { path: ['data/huge.json', 'README.md'], repos: [first.name.toUpperCase()] } });
    expect(items.map((i) => (i.file as { path: string }).path)).toEqual(['README.md']);
    expect(items.every((i) => (i.repo as GitRepository).id === first.id)).toBe(true);
  });

  it('includedFiles resolve relative to the file\'s folder, each path read once per repository', async () => {
    const { items } = await run(fileKind as KindDefinition<never>, {
      files: { path: 'services/*/package.json' },
      includedFiles: ['README.md', '/package.json', 'services/api/README.md'],
    });
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) {
      const repo = item.repo as GitRepository;
      const path = (item.file as { path: string }).path;
      const files = sim.dataset.files(undefined, repo.id);
      const read = (p: string) => files.find((f) => f.path === p)?.content ?? null;
      const dir = path.slice(0, path.lastIndexOf('/'));
      expect(item.__includedFiles).toEqual({
        'README.md': read(`/${dir}/README.md`),
        '/package.json': read(`/${dir}/package.json`),
        'services/api/README.md': dir === 'services/api' ? read('/services/api/README.md') : read(`/${dir}/services/api/README.md`),
      });
    }
    const api = items.find((i) => (i.file as { path: string }).path === 'services/api/package.json')!;
    expect((api.__includedFiles as Record<string, string | null>)['README.md']).toMatch(/^# api of /);
    const web = items.find((i) => (i.file as { path: string }).path === 'services/web/package.json')!;
    expect((web.__includedFiles as Record<string, string | null>)['README.md']).toBeNull();
  });

  it('fails rather than yielding nothing when a repository listing fails', async () => {
    sim.setFaults({ failPaths: [{ pattern: 'itemsbatch', status: 500 }] });
    await expect(run(fileKind as KindDefinition<never>, { files: { path: '**/*.json' } })).rejects.toThrow();
  });
});

describe('kind folder', () => {
  it('matches folders by pattern in the named repositories, with __repository, __branch and __pattern', async () => {
    const withServices = repos().find((r) => sim.dataset.files(undefined, r.id).some((f) => f.path.startsWith('/services/')))!;
    const branch = withServices.defaultBranch!.replace('refs/heads/', '');
    const { items } = await run(folderKind as KindDefinition<never>, {
      project_name: withServices.project.name,
      folders: [{ path: 'services/*', repos: [{ name: withServices.name, branch }] }, { path: 'deploy/', repos: [{ name: withServices.name }] }],
    });
    const hasDeploy = sim.dataset.files(undefined, withServices.id).some((f) => f.path.startsWith('/deploy/'));
    const expected = ['/services/api', '/services/web', ...(hasDeploy ? ['/deploy'] : [])];
    expect(items.map((i) => i.path).sort()).toEqual(expected.sort());
    for (const i of items) {
      expect(i).toMatchObject({ gitObjectType: 'tree', __branch: branch });
      expect((i.__repository as GitRepository).id).toBe(withServices.id);
    }
    expect(items.find((i) => i.path === '/services/api')!.__pattern).toBe('services/*');
  });

  it('searches every repository when repos is omitted; a missing folder or branch matches nothing', async () => {
    const { items } = await run(folderKind as KindDefinition<never>, { folders: [{ path: 'services/*' }] });
    const expected = repos().filter((r) => sim.dataset.files(undefined, r.id).some((f) => f.path.startsWith('/services/'))).length * 2;
    expect(items.length).toBe(expected);
    const none = await run(folderKind as KindDefinition<never>, { folders: [{ path: 'services/*', repos: [{ name: repos()[0]!.name, branch: 'no-such-branch' }] }] });
    expect(none.items).toEqual([]);
  });

  it('includedFiles are read relative to each folder on its branch', async () => {
    const { items } = await run(folderKind as KindDefinition<never>, { folders: [{ path: 'services/*' }], includedFiles: ['README.md'] });
    expect(items.length).toBeGreaterThan(0);
    for (const i of items) {
      const content = (i.__includedFiles as Record<string, string | null>)['README.md'];
      if (i.path === '/services/api') expect(content).toMatch(/^# api of /);
      else expect(content).toBeNull();
    }
  });

  it('project_name narrows the repositories searched', async () => {
    const project = repos()[0]!.project;
    await run(folderKind as KindDefinition<never>, { project_name: project.name, folders: [{ path: 'docs' }] });
    const inProject = repos().filter((r) => r.project.id === project.id && r.defaultBranch).map((r) => r.id);
    const called = dataRequests(/\/items$/).map((r) => r.path.split('/repositories/')[1]!.split('/')[0]);
    expect(called.sort()).toEqual(inProject.sort());
  });
});

describe('kind pull-request: the selector window and cap', () => {
  it('yields every active pull request and, per repository and status, the newest maxResults closed within minTimeInDays', async () => {
    const now = new Date();
    const prSim = await startAdoSimulator({ referenceDate: now, scale: { projects: 2, reposPerProject: 3, pullRequestsPerRepo: 40 } });
    try {
      const { pullRequestKind } = await import('../../src/kinds/pullRequest.js');
      const minTimeInDays = 10;
      const maxResults = 3;
      const healthy = new Set([...prSim.dataset.repositories()].filter((r) => !r.isDisabled).map((r) => r.id));
      const since = now.getTime() - minTimeInDays * 86_400_000;
      const expected = new Set<number>();
      for (const pr of prSim.dataset.pullRequests(undefined, { status: 'active' })) if (healthy.has(pr.repository.id)) expected.add(pr.pullRequestId);
      for (const status of ['completed', 'abandoned'] as const) {
        const taken = new Map<string, number>();
        // The list order (newest first) decides which ones the cap keeps.
        for (const pr of prSim.dataset.pullRequests(undefined, { status })) {
          if (!healthy.has(pr.repository.id) || !pr.closedDate || Date.parse(pr.closedDate) < since) continue;
          const n = (taken.get(pr.repository.id) ?? 0) + 1;
          taken.set(pr.repository.id, n);
          if (n <= maxResults) expected.add(pr.pullRequestId);
        }
      }
      const { items } = await runKind(prSim, pullRequestKind as KindDefinition<never>, { minTimeInDays, maxResults });
      const ids = items.map((i) => i.pullRequestId as number);
      expect(ids.length).toBe(new Set(ids).size);
      expect(new Set(ids)).toEqual(expected);
      expect(items.some((i) => i.status === 'completed') && items.some((i) => i.status === 'abandoned')).toBe(true);
      // Two listings per project: active, then everything closed in the window.
      const listings = prSim.requests.filter((r) => /\/_apis\/git\/pullrequests$/i.test(r.path));
      expect(new Set(listings.map((r) => `${r.path}|${r.query['searchCriteria.status']}`)).size).toBe(2 * 2);
    } finally {
      await prSim.close();
    }
  });
});
