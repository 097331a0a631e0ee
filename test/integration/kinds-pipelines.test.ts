import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { PatAuth } from '../../src/ado/auth.js';
import { loadAppConfig, parseAppConfig } from '../../src/config/appConfig.js';
import { AdoClient, type AdoClientOptions } from '../../src/ado/client.js';
import { parseOrganizationUrl } from '../../src/ado/orgUrl.js';
import { buildKind } from '../../src/kinds/build.js';
import { environmentKind } from '../../src/kinds/environment.js';
import { pipelineKind } from '../../src/kinds/pipeline.js';
import { pipelineDeploymentKind } from '../../src/kinds/pipelineDeployment.js';
import { pipelineRunKind } from '../../src/kinds/pipelineRun.js';
import { pipelineStageKind } from '../../src/kinds/pipelineStage.js';
import { fetchKind, getKind } from '../../src/kinds/registry.js';
import { releaseKind } from '../../src/kinds/release.js';
import { releaseDefinitionKind } from '../../src/kinds/releaseDefinition.js';
import { releaseDeploymentKind } from '../../src/kinds/releaseDeployment.js';
import { createFetchContext } from '../../src/kinds/fetchContext.js';
import { testRunKind } from '../../src/kinds/testRun.js';
import type { KindDefinition, RawItem, Selector } from '../../src/kinds/types.js';
import { runKind, type KindRun } from '../helpers/kindRun.js';
import { PipelinesData, pipelinesOf } from '../simulators/ado/data/pipelines.js';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';

let sim: AdoSimulator;
let data: PipelinesData;

beforeAll(async () => {
  sim = await startAdoSimulator({
    scale: {
      projects: 3,
      reposPerProject: 2,
      pullRequestsPerRepo: 0,
      pipelinesPerProject: 2,
      buildsPerPipeline: 4,
      environmentsPerProject: 2,
      releaseDefinitionsPerProject: 2,
      releasesPerDefinition: 4,
      testRunsPerProject: 5,
    },
  });
  data = pipelinesOf(sim.dataset.org('acme')!);
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.setFaults({});
  sim.requests.length = 0;
});

type Run = KindRun;

async function run(
  kind: KindDefinition<never>,
  selector: Record<string, unknown> = {},
  pageSize = 100,
  clientOptions: Partial<AdoClientOptions> = { maxAttempts: 1 },
): Promise<Run> {
  return runKind(sim, kind, selector, pageSize, clientOptions);
}

const requests = (re: RegExp) => sim.requests.filter((r) => re.test(r.path));
const projects = () => [...sim.dataset.projects()];
const projectIdOf = (index: number) => projects()[index]!.id;
const ids = (items: RawItem[]) => items.map((i) => i.id as number).sort((a, b) => a - b);
const K = <S extends Selector>(k: KindDefinition<S>) => k as unknown as KindDefinition<never>;

describe('kinds: pipelines area registration', () => {
  it('registers every pipelines kind; the classic release kinds are cloud-only', () => {
    for (const k of ['pipeline', 'build', 'pipeline-run', 'pipeline-stage', 'environment', 'pipeline-deployment', 'release', 'release-definition', 'release-deployment', 'test-run']) {
      expect(getKind(k)).toBeDefined();
    }
    expect([releaseKind, releaseDefinitionKind, releaseDeploymentKind].map((k) => k.serverSupported)).toEqual([false, false, false]);
    expect([pipelineKind, buildKind, pipelineRunKind, pipelineStageKind, environmentKind, pipelineDeploymentKind, testRunKind].every((k) => k.serverSupported)).toBe(true);
  });
});

describe('pipelines area: selector options in port-app-config', () => {
  it('the example mapping validates and gets the documented defaults', () => {
    const { config } = loadAppConfig('mappings/examples/pipelines.yml');
    expect(config.resources.map((r) => r.kind)).toEqual([
      'pipeline', 'build', 'pipeline-run', 'pipeline-stage', 'environment', 'pipeline-deployment', 'release-definition', 'release', 'release-deployment', 'test-run',
    ]);
    const testRun = config.resources.find((r) => r.kind === 'test-run')!.selector;
    expect(testRun.includeResults).toBe(true);
    expect(testRun.codeCoverage).toEqual({ flags: 1 });
  });

  it('applies defaults, accepts Ocean’s defaultTeam and rejects unknown values', () => {
    const yaml = (kind: string, selector: string) =>
      `resources:\n  - kind: ${kind}\n    selector:\n      query: 'true'\n${selector}    port:\n      entity:\n        mappings:\n          identifier: .id | tostring\n          blueprint: '"x"'\n`;
    const sel = (kind: string, selector = '') => parseAppConfig(yaml(kind, selector), 'inline.yml').config.resources[0]!.selector;
    expect(sel('release-definition').expand).toBe('environments');
    expect(sel('test-run').includeResults).toBe(true);
    expect(sel('build').enrichWithFirstCommit).toBe(false);
    expect(sel('pipeline').includeRepo).toBe(false);
    expect(sel('pipeline-stage', '      defaultTeam: true\n').defaultTeam).toBe(true);
    expect(sel('release-deployment', '      includeRelease: true\n').includeRelease).toBe(true);
    expect(sel('release', '      tagFilter: [a, b]\n      statusFilter: active\n').tagFilter).toEqual(['a', 'b']);
    expect(() => sel('release', '      statusFilter: bogus\n')).toThrow();
    expect(() => sel('release-definition', '      expand: everything\n')).toThrow();
    expect(() => sel('test-run', '      codeCoverage: { flag: 1 }\n')).toThrow();
  });
});

describe('kind: pipeline', () => {
  it('lists every project’s pipelines with __projectId, and no definition calls without includeRepo', async () => {
    const { items, incomplete } = await run(K(pipelineKind));
    expect(ids(items)).toEqual(data.pipelines.map((p) => p.id).sort((a, b) => a - b));
    for (const item of items) {
      const rec = data.pipelines.find((p) => p.id === item.id)!;
      expect(item.__projectId).toBe(projectIdOf(rec.projectIndex));
      expect(item.__repository).toBeUndefined();
      expect(item.__organizationName).toBe('acme');
    }
    expect(requests(/build\/definitions/)).toHaveLength(0);
    expect(requests(/_apis\/pipelines$/).every((r) => r.query.$top === '100')).toBe(true);
    expect(incomplete).toEqual([]);
  });

  it('includeRepo adds __repository (the definition repository with its project)', async () => {
    const { items } = await run(K(pipelineKind), { includeRepo: true });
    expect(items).toHaveLength(data.pipelines.length);
    expect(requests(/build\/definitions\/\d+$/)).toHaveLength(data.pipelines.length);
    for (const item of items) {
      const rec = data.pipelines.find((p) => p.id === item.id)!;
      const repo = item.__repository as { id: string; type: string; project: { id: string } };
      expect(repo.id).toBe(sim.dataset.org('acme')!.repos.record(rec.repoIndex).id);
      expect(repo.type).toBe('TfsGit');
      expect(repo.project.id).toBe(projectIdOf(rec.projectIndex));
    }
  });
});

describe('kind: build', () => {
  it('streams builds per project, newest queued first, with __projectId and __project', async () => {
    const { items } = await run(K(buildKind));
    expect(ids(items)).toEqual(data.builds.map((b) => b.id).sort((a, b) => a - b));
    for (const item of items) {
      const project = item.__project as { id: string; name: string };
      expect(item.__projectId).toBe(project.id);
      expect((item.project as { id: string }).id).toBe(project.id);
      expect(item.__firstCommit).toBeUndefined();
    }
    for (let p = 0; p < 3; p++) {
      const mine = items.filter((i) => i.__projectId === projectIdOf(p)).map((i) => Date.parse(i.queueTime as string));
      expect(mine).toEqual([...mine].sort((a, b) => b - a));
    }
    const listCalls = requests(/build\/builds$/);
    expect(listCalls).toHaveLength(3);
    expect(listCalls.every((r) => r.query.queryOrder === 'queueTimeDescending' && r.query.$top === '100')).toBe(true);
    expect(requests(/changes$/)).toHaveLength(0);
  });

  it('follows the header continuation token across small pages', async () => {
    const { items } = await run(K(buildKind), {}, 3);
    expect(items).toHaveLength(data.builds.length);
    expect(new Set(items.map((i) => i.id)).size).toBe(data.builds.length);
    const withToken = requests(/build\/builds$/).filter((r) => r.query.continuationToken !== undefined);
    expect(withToken.length).toBeGreaterThan(0);
  });

  it('enrichWithFirstCommit adds the earliest change with __sha, __timestamp, __commitCount', async () => {
    const { items, incomplete } = await run(K(buildKind), { enrichWithFirstCommit: true });
    expect(incomplete).toEqual([]);
    expect(requests(/build\/builds\/\d+\/changes$/)).toHaveLength(data.builds.length);
    const fallbacks = data.builds.filter((b) => PipelinesData.hasNoChanges(b));
    expect(fallbacks.length).toBeGreaterThan(0);
    expect(requests(/git\/repositories\/[^/]+\/commits\/[0-9a-f]{40}$/)).toHaveLength(fallbacks.length);
    for (const item of items) {
      const rec = data.builds.find((b) => b.id === item.id)!;
      const first = item.__firstCommit as Record<string, unknown>;
      if (PipelinesData.hasNoChanges(rec)) {
        // No changes listed: the build's source commit, counted as one.
        expect(first.__sha).toBe(rec.sourceVersion);
        expect(first.commitId).toBe(rec.sourceVersion);
        expect(Date.parse(first.__timestamp as string)).toBe(rec.changes[rec.changes.length - 1]!.ms);
        expect(first.__commitCount).toBe(1);
        continue;
      }
      const earliest = [...rec.changes].sort((a, b) => a.ms - b.ms)[0]!;
      expect(first.__sha).toBe(earliest.sha);
      expect(first.id).toBe(earliest.sha);
      expect(Date.parse(first.__timestamp as string)).toBe(earliest.ms);
      expect(first.__commitCount).toBe(rec.changes.length);
    }
  });

  it('a failed changes listing marks the run incomplete and keeps the build', async () => {
    const victim = data.builds[0]!;
    sim.setFaults({ failPaths: [{ pattern: `/builds/${victim.id}/changes$`, status: 500 }] });
    const { items, incomplete } = await run(K(buildKind), { enrichWithFirstCommit: true });
    expect(items).toHaveLength(data.builds.length);
    expect(items.find((i) => i.id === victim.id)!.__firstCommit).toBeUndefined();
    expect(incomplete).toHaveLength(1);
    expect(incomplete[0]).toContain(String(victim.id));
  });

  it('a failed build listing fails the kind (never an empty project)', async () => {
    sim.setFaults({ failPaths: [{ pattern: '/build/builds$', status: 404 }] });
    await expect(run(K(buildKind))).rejects.toThrow();
  });
});

describe('kind: pipeline-run', () => {
  it('lists the runs of every pipeline with __project and __pipeline', async () => {
    const { items } = await run(K(pipelineRunKind));
    expect(ids(items)).toEqual(data.builds.map((b) => b.id).sort((a, b) => a - b));
    expect(requests(/pipelines\/\d+\/runs$/)).toHaveLength(data.pipelines.length);
    for (const item of items) {
      const rec = data.builds.find((b) => b.id === item.id)!;
      expect((item.__pipeline as { id: number }).id).toBe(rec.pipelineId);
      expect((item.pipeline as { id: number }).id).toBe(rec.pipelineId);
      expect((item.__project as { id: string }).id).toBe(projectIdOf(rec.projectIndex));
      expect(item.state).toBe(rec.status === 'completed' ? 'completed' : 'inProgress');
    }
  });
});

describe('kind: pipeline-stage', () => {
  it('keeps the Stage records of every build timeline, with __project and __build', async () => {
    const { items } = await run(K(pipelineStageKind));
    const expected = data.builds.reduce((n, b) => n + b.stages.length, 0);
    expect(items).toHaveLength(expected);
    expect(items.every((i) => i.type === 'Stage')).toBe(true);
    expect(requests(/build\/builds\/\d+\/timeline$/)).toHaveLength(data.builds.length);
    for (const b of data.builds) {
      const mine = items.filter((i) => (i.__build as { id: number }).id === b.id);
      expect(mine.map((i) => i.name)).toEqual(b.stages);
      expect(mine.every((i) => (i.__project as { id: string }).id === projectIdOf(b.projectIndex))).toBe(true);
    }
  });

  it('streams: timelines are fetched while the build list is still paging', async () => {
    const { items } = await run(K(pipelineStageKind), {}, 2);
    expect(items).toHaveLength(data.builds.reduce((n, b) => n + b.stages.length, 0));
    const project = projectIdOf(0);
    const log = sim.requests.filter((r) => r.path.includes(project));
    const lastListPage = log.map((r) => /build\/builds$/.test(r.path)).lastIndexOf(true);
    const firstTimeline = log.findIndex((r) => /timeline$/.test(r.path));
    expect(firstTimeline).toBeGreaterThanOrEqual(0);
    expect(firstTimeline).toBeLessThan(lastListPage);
  });

  it('a failed timeline fails the kind', async () => {
    sim.setFaults({ failPaths: [{ pattern: `/builds/${data.builds[2]!.id}/timeline$`, status: 500 }] });
    await expect(run(K(pipelineStageKind))).rejects.toThrow();
  });
});

describe('kind: environment and pipeline-deployment', () => {
  it('lists environments of every project', async () => {
    const { items } = await run(K(environmentKind));
    expect(ids(items)).toEqual(data.environments.map((e) => e.id));
    for (const item of items) {
      const rec = data.environments.find((e) => e.id === item.id)!;
      expect((item.project as { id: string }).id).toBe(projectIdOf(rec.projectIndex));
    }
  });

  it('lists deployment records of every environment with `top` paging and __project', async () => {
    const { items } = await run(K(pipelineDeploymentKind), {}, 2);
    expect(ids(items)).toEqual(data.deploymentRecords.map((r) => r.id));
    const recordCalls = requests(/environmentdeploymentrecords$/);
    expect(recordCalls.every((r) => r.query.top === '2' && r.query.$top === undefined)).toBe(true);
    expect(recordCalls.some((r) => r.query.continuationToken !== undefined)).toBe(true);
    for (const item of items) {
      const env = data.environments.find((e) => e.id === item.environmentId)!;
      expect((item.__project as { id: string }).id).toBe(projectIdOf(env.projectIndex));
    }
  });

  it('the environment listing is shared within a run', async () => {
    const org = parseOrganizationUrl(sim.orgUrl(), 'services');
    const ctx = createFetchContext({ client: new AdoClient(org, new PatAuth(sim.pat)), pageSize: 100 });
    for await (const _ of fetchKind(pipelineDeploymentKind, ctx, { query: 'true' }, org)) void _;
    for await (const _ of fetchKind(pipelineDeploymentKind, ctx, { query: 'true' }, org)) void _;
    expect(requests(/distributedtask\/environments$/)).toHaveLength(3);
  });
});

describe('kind: release', () => {
  it('lists every release, following the int continuation token', async () => {
    const { items } = await run(K(releaseKind), {}, 2);
    expect(ids(items)).toEqual(data.releases.map((r) => r.id).sort((a, b) => a - b));
    const calls = requests(/release\/releases$/);
    const tokens = calls.map((r) => r.query.continuationToken).filter((t): t is string => t !== undefined);
    expect(tokens.length).toBeGreaterThan(0);
    expect(tokens.every((t) => /^\d+$/.test(t))).toBe(true);
    expect(items.every((i) => (i.projectReference as { id?: string }).id !== undefined)).toBe(true);
    expect(items.every((i) => i.environments === undefined)).toBe(true);
  });

  it('passes statusFilter, tagFilter, sourceBranchFilter, min/maxCreatedTime and expand to the API', async () => {
    const active = await run(K(releaseKind), { statusFilter: 'active' });
    expect(ids(active.items)).toEqual(data.releases.filter((r) => r.status === 'active').map((r) => r.id).sort((a, b) => a - b));
    expect(requests(/release\/releases$/).every((r) => r.query.statusFilter === 'active')).toBe(true);

    const tagged = await run(K(releaseKind), { tagFilter: ['hotfix'] });
    expect(ids(tagged.items)).toEqual(data.releases.filter((r) => r.tags.includes('hotfix')).map((r) => r.id).sort((a, b) => a - b));
    expect(tagged.items.length).toBeGreaterThan(0);

    const branch = await run(K(releaseKind), { sourceBranchFilter: 'refs/heads/release/1.0' });
    expect(ids(branch.items)).toEqual(data.releases.filter((r) => r.sourceBranch === 'refs/heads/release/1.0').map((r) => r.id).sort((a, b) => a - b));

    const sorted = [...data.releases].sort((a, b) => a.createdMs - b.createdMs);
    const cut = sorted[Math.floor(sorted.length / 2)]!.createdMs;
    const recent = await run(K(releaseKind), { minCreatedTime: new Date(cut).toISOString() });
    expect(ids(recent.items)).toEqual(data.releases.filter((r) => r.createdMs >= cut).map((r) => r.id).sort((a, b) => a - b));
    const older = await run(K(releaseKind), { maxCreatedTime: new Date(cut).toISOString() });
    expect(recent.items.length + older.items.length).toBe(data.releases.length);

    const expanded = await run(K(releaseKind), { expand: 'environments' });
    expect(expanded.items.every((i) => Array.isArray(i.environments))).toBe(true);
    expect(requests(/release\/releases$/).some((r) => r.query.$expand === 'environments')).toBe(true);
  });
});

describe('kind: release-definition', () => {
  it('expands environments by default and stamps __project', async () => {
    const { items } = await run(K(releaseDefinitionKind), { expand: 'environments' });
    expect(ids(items)).toEqual(data.releaseDefinitions.map((d) => d.id));
    for (const item of items) {
      const rec = data.releaseDefinitions.find((d) => d.id === item.id)!;
      expect((item.__project as { id: string }).id).toBe(projectIdOf(rec.projectIndex));
      expect((item.environments as unknown[]).length).toBe(rec.environments.length);
    }
    // The fetcher applies the default itself when the selector was not normalised.
    await run(K(releaseDefinitionKind));
    expect(requests(/release\/definitions$/).every((r) => r.query.$expand === 'environments')).toBe(true);
  });

  it('expand and tagFilter change what is fetched', async () => {
    const last = await run(K(releaseDefinitionKind), { expand: 'lastRelease' });
    expect(last.items.every((i) => i.environments === undefined)).toBe(true);
    const critical = await run(K(releaseDefinitionKind), { tagFilter: ['critical'] });
    expect(ids(critical.items)).toEqual(data.releaseDefinitions.filter((d) => d.tags.includes('critical')).map((d) => d.id));
    expect(critical.items.length).toBeLessThan(data.releaseDefinitions.length);
  });
});

describe('kind: release-deployment', () => {
  it('lists every deployment of every project', async () => {
    const { items } = await run(K(releaseDeploymentKind), {}, 3);
    expect(ids(items)).toEqual(data.releaseDeployments.map((d) => d.id).sort((a, b) => a - b));
    expect(items.every((i) => typeof (i.release as { id?: number }).id === 'number')).toBe(true);
  });
});

describe('kind: test-run', () => {
  it('includes results by default and no coverage without codeCoverage', async () => {
    const { items } = await run(K(testRunKind));
    expect(ids(items)).toEqual(data.testRuns.map((t) => t.id));
    for (const item of items) {
      const rec = data.testRuns.find((t) => t.id === item.id)!;
      expect((item.__testResults as unknown[]).length).toBe(rec.total);
      expect(item.__codeCoverage).toEqual({});
      expect(item.totalTests).toBe(rec.total);
    }
    expect(requests(/test\/runs$/).every((r) => r.query.includeRunDetails === 'true')).toBe(true);
    expect(requests(/test\/runs\/\d+\/results$/)).toHaveLength(data.testRuns.length);
    expect(requests(/test\/codecoverage$/)).toHaveLength(0);
  });

  it('includeResults: false skips the results calls', async () => {
    const { items } = await run(K(testRunKind), { includeResults: false });
    expect(items.every((i) => Array.isArray(i.__testResults) && (i.__testResults as unknown[]).length === 0)).toBe(true);
    expect(requests(/results$/)).toHaveLength(0);
  });

  it('codeCoverage fetches each build’s coverage once, with the flags', async () => {
    const { items } = await run(K(testRunKind), { includeResults: false, codeCoverage: { flags: 3 } }, 2);
    expect(items).toHaveLength(data.testRuns.length);
    const builds = new Set(data.testRuns.filter((t) => t.build).map((t) => t.build!.id));
    const calls = requests(/test\/codecoverage$/);
    expect(calls).toHaveLength(builds.size);
    expect(calls.every((r) => r.query.flags === '3')).toBe(true);
    for (const item of items) {
      const rec = data.testRuns.find((t) => t.id === item.id)!;
      const cov = item.__codeCoverage as { value?: Array<{ modules: Array<{ functions: unknown[] }> }> };
      if (!rec.build) expect(cov).toEqual({});
      else expect(cov.value?.[0]?.modules[0]?.functions.length).toBe(1);
    }
  });
});

describe('pipelines area under throttling and 503s', () => {
  it('every kind still yields exactly its items (retries resume paging without loss or duplicates)', async () => {
    // Faults hit every Nth request org-wide; with requests in flight side by side one request can draw several in a row.
    const retrying: Partial<AdoClientOptions> = { maxAttempts: 20, backoffBaseMs: 1, backoffMaxMs: 5 };
    const expected: Array<[KindDefinition<never>, number]> = [
      [K(buildKind), data.builds.length],
      [K(pipelineStageKind), data.builds.reduce((n, b) => n + b.stages.length, 0)],
      [K(pipelineDeploymentKind), data.deploymentRecords.length],
      [K(releaseKind), data.releases.length],
      [K(releaseDeploymentKind), data.releaseDeployments.length],
      [K(testRunKind), data.testRuns.length],
    ];
    for (const [kind, count] of expected) {
      sim.setFaults({ throttleEvery: 4, unavailableEvery: 7, retryAfterSeconds: 0 });
      const { items, incomplete } = await run(kind, {}, 2, retrying);
      const keys = items.map((i) => `${String((i.__build as { id?: number } | undefined)?.id ?? '')}:${String(i.id)}`);
      expect({ kind: kind.kind, n: items.length, unique: new Set(keys).size }).toEqual({ kind: kind.kind, n: count, unique: count });
      expect(incomplete).toEqual([]);
    }
    expect(sim.requests.some((r) => r.fault === 'throttle')).toBe(true);
  });
});
