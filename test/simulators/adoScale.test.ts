import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startAdoSimulator, type AdoSimulator } from './ado/index.js';
import { SimulatorState } from './ado/http/pipeline.js';
import { mergeFaults } from './ado/options.js';

const auth = (pat: string) => ({ authorization: `Basic ${Buffer.from(`:${pat}`).toString('base64')}` });

/** Walks a list the way a client must (header token, or $top/$skip to a short page) and counts the requests. */
async function walk(sim: AdoSimulator, path: string, opts: { top: number; mode: 'token' | 'skip' }): Promise<{ requests: number; items: number }> {
  let requests = 0;
  let items = 0;
  let token: string | undefined;
  for (let skip = 0; ; ) {
    const extra = opts.mode === 'skip' ? `&$skip=${skip}` : token !== undefined ? `&continuationToken=${encodeURIComponent(token)}` : '';
    const res = await fetch(`${sim.url}${path}${path.includes('?') ? '&' : '?'}$top=${opts.top}${extra}`, { headers: auth(sim.pat) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { value: unknown[] };
    requests++;
    items += body.value.length;
    skip += body.value.length;
    if (opts.mode === 'skip') {
      if (body.value.length < opts.top) return { requests, items };
    } else {
      token = res.headers.get('x-ms-continuationtoken') ?? undefined;
      if (token === undefined) return { requests, items };
    }
  }
}

describe('ado simulator: minimum requests', () => {
  let sim: AdoSimulator;
  const LIMITS = { projects: 2, pullRequests: 4, builds: 5, pipelines: 2, refs: 3, teams: 2 };
  beforeAll(async () => {
    sim = await startAdoSimulator({
      scale: { projects: 3, reposPerProject: 3, pullRequestsPerRepo: 4, pipelinesPerProject: 3, buildsPerPipeline: 4, workItemsPerProject: 450, teamsPerProject: 3, branchesPerRepo: 5 },
      pageLimits: LIMITS,
    });
  });
  afterAll(() => sim.close());

  it('matches the requests a client needs at the page limits, list by list', async () => {
    const min = sim.minimumRequests(['project', 'repository', 'pull-request', 'build', 'pipeline', 'work-item', 'team', 'branch']);
    const projects = await walk(sim, '/acme/_apis/projects?api-version=7.1', { top: 1000, mode: 'token' });
    expect(projects.items).toBe(3);
    expect(min.shared).toEqual({ projects: projects.requests, repositories: 1 });
    expect(projects.requests).toBe(2); // capped at 2 per page

    const ids = [...sim.dataset.projects()].map((p) => p.id);
    let prs = { requests: 0, items: 0 };
    let builds = { requests: 0, items: 0 };
    let pipelines = { requests: 0, items: 0 };
    for (const id of ids) {
      // A $top/$skip client learns the end only from a short page, so it must ask for at most the cap.
      const pr = await walk(sim, `/acme/${id}/_apis/git/pullrequests?searchCriteria.status=all`, { top: LIMITS.pullRequests, mode: 'skip' });
      prs = { requests: prs.requests + pr.requests, items: prs.items + pr.items };
      const b = await walk(sim, `/acme/${id}/_apis/build/builds?queryOrder=queueTimeDescending`, { top: 1000, mode: 'token' });
      builds = { requests: builds.requests + b.requests, items: builds.items + b.items };
      const pl = await walk(sim, `/acme/${id}/_apis/pipelines`, { top: 1000, mode: 'token' });
      pipelines = { requests: pipelines.requests + pl.requests, items: pipelines.items + pl.items };
    }
    expect(min.byKind['pull-request']).toBe(prs.requests);
    expect(min.items['pull-request']).toBe(prs.items);
    expect(min.items['pull-request']).toBeGreaterThan(0);
    expect(min.byKind.build).toBe(builds.requests);
    expect(min.items.build).toBe(builds.items);
    expect(builds.items).toBe(3 * 3 * 4);
    expect(min.byKind.pipeline).toBe(pipelines.requests);

    const teams = await walk(sim, '/acme/_apis/teams', { top: LIMITS.teams, mode: 'skip' });
    expect(min.byKind.team).toBe(teams.requests);
    expect(min.items.team).toBe(teams.items);

    let refs = { requests: 0, items: 0 };
    for (const repo of sim.dataset.repositories()) {
      if (repo.isDisabled || repo.defaultBranch === undefined) continue;
      const r = await walk(sim, `/acme/${repo.project.id}/_apis/git/repositories/${repo.id}/refs?filter=heads/`, { top: 1000, mode: 'token' });
      refs = { requests: refs.requests + r.requests, items: refs.items + r.items };
    }
    expect(min.byKind.branch).toBe(refs.requests);
    expect(min.items.branch).toBe(refs.items);

    // Work items: one WIQL (450 < 20,000 ids) and ceil(450 / 200) = 3 by-ids batches per project.
    expect(min.byKind['work-item']).toBe(3 * (1 + 3));
    expect(min.items['work-item']).toBe(3 * 450);
    expect(min.total).toBe(2 + 1 + Object.values(min.byKind).reduce((a, b) => a + b, 0));
  });

  it('refuses kinds it does not model', () => {
    expect(() => sim.minimumRequests(['file'])).toThrow(/does not model kind\(s\) file/);
  });
});

describe('ado simulator: rate throttle (maxRequestsPerSecond)', () => {
  let sim: AdoSimulator;
  beforeAll(async () => {
    sim = await startAdoSimulator({ faults: { maxRequestsPerSecond: 2 } });
  });
  afterAll(() => sim.close());

  it('serves a burst of one second’s worth, then answers 429 with a Retry-After', async () => {
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => fetch(`${sim.url}/acme/_apis/projects?api-version=7.1`, { headers: auth(sim.pat) })),
    );
    const statuses = responses.map((r) => r.status).sort();
    // 2 tokens at start; refilling 2/s cannot add another within the burst unless it took over 500 ms.
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(2);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(5);
    for (const r of responses.filter((x) => x.status === 429)) {
      const after = Number(r.headers.get('retry-after'));
      expect(after).toBeGreaterThan(0);
      expect(after).toBeLessThanOrEqual(0.5);
      expect(await r.text()).toContain('TF400733');
    }
    expect(sim.requests.filter((e) => e.fault === 'rate')).toHaveLength(statuses.filter((s) => s === 429).length);
  });

  it('refills at the rate: the bucket math with an explicit clock', () => {
    const state = new SimulatorState(mergeFaults({ maxRequestsPerSecond: 10 }));
    const t0 = 1000;
    for (let i = 0; i < 10; i++) expect(state.takeRateToken(t0)).toBe(0);
    expect(state.takeRateToken(t0)).toBeCloseTo(0.1, 6); // empty: the next token in 1/10 s
    expect(state.takeRateToken(t0 + 50)).toBeCloseTo(0.05, 6); // half a token refilled; a refusal takes none
    expect(state.takeRateToken(t0 + 100)).toBe(0);
    // Over 2 s, 20 more tokens refill but the bucket holds only one second's worth (10).
    let served = 0;
    for (let i = 0; i < 30; i++) if (state.takeRateToken(t0 + 2100) === 0) served++;
    expect(served).toBe(10);
    state.setFaults({ maxRequestsPerSecond: 0 });
    expect(state.takeRateToken(t0 + 2100)).toBe(0);
  });
});
