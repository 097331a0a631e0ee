import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startAdoSimulator, type AdoSimulator, type GitPullRequest, type TeamProjectReference } from './ado/index.js';

const DAY = 86_400_000;

function basic(pat: string, user = ''): string {
  return `Basic ${Buffer.from(`${user}:${pat}`).toString('base64')}`;
}

function get(sim: AdoSimulator, path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${sim.url}${path}`, { headers: { authorization: basic(sim.pat), ...headers } });
}

async function getJson<T = Record<string, unknown>>(sim: AdoSimulator, path: string): Promise<{ status: number; headers: Headers; body: T }> {
  const res = await get(sim, path);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as T };
}

interface List<T> {
  count: number;
  value: T[];
}

/** Every page of a project-level pull request list, by $top/$skip until a short page. */
async function allPullRequests(sim: AdoSimulator, base: string, top: number): Promise<GitPullRequest[]> {
  const out: GitPullRequest[] = [];
  for (let skip = 0; ; skip += top) {
    const { status, body } = await getJson<List<GitPullRequest>>(sim, `${base}${base.includes('?') ? '&' : '?'}$top=${top}&$skip=${skip}`);
    expect(status).toBe(200);
    expect(body.count).toBe(body.value.length);
    out.push(...body.value);
    if (body.value.length < top) return out;
  }
}

describe('ado simulator: defaults, auth, routing', () => {
  let sim: AdoSimulator;
  beforeAll(async () => {
    sim = await startAdoSimulator();
  });
  afterAll(() => sim.close());

  it('accepts the right PAT with any user name', async () => {
    const res = await fetch(`${sim.url}/acme/_apis/projects?api-version=7.1`, { headers: { authorization: basic('sim-pat', 'someone') } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await res.json()) as List<TeamProjectReference>;
    expect(body.count).toBe(3);
    expect(body.value.map((p) => p.name)).toContain('Fabrikam Fiber');
    expect(sim.orgUrl()).toBe(`${sim.url}/acme`);
  });

  it('answers a bad PAT with 401 JSON when X-TFS-FedAuthRedirect: Suppress is sent', async () => {
    const res = await fetch(`${sim.url}/acme/_apis/projects`, {
      headers: { authorization: basic('wrong'), 'X-TFS-FedAuthRedirect': 'Suppress' },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBeTruthy();
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ $id: '1', innerException: null, typeKey: 'UnauthorizedRequestException', errorCode: 0, eventId: 3000 });
    expect(String(body.message)).toMatch(/^TF400813: /);
    expect(String(body.typeName)).toContain('UnauthorizedRequestException');
  });

  it('answers missing or bad credentials with a 203 HTML sign-in page otherwise', async () => {
    const variants: Array<Record<string, string>> = [{}, { authorization: basic('wrong') }, { authorization: 'Bearer sim-pat' }];
    for (const headers of variants) {
      const res = await fetch(`${sim.url}/acme/_apis/projects`, { headers });
      expect(res.status).toBe(203);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(await res.text()).toMatch(/<html/i);
    }
  });

  it('answers an unknown organization with a 404 JSON error', async () => {
    const res = await get(sim, '/nope/_apis/projects');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { message: string }).message).toMatch(/nope/);
  });

  it('routes case-insensitively and validates api-version', async () => {
    expect((await get(sim, '/ACME/_APIS/Projects?API-VERSION=7.1')).status).toBe(200);
    for (const v of ['7.0', '7.1', '7.1-preview', '7.1-preview.3', '7.2-preview.1']) {
      expect((await get(sim, `/acme/_apis/projects?api-version=${v}`)).status).toBe(200);
    }
    for (const v of ['latest', '7', '7.1-beta', '7.1-preview.x']) {
      const res = await get(sim, `/acme/_apis/projects?api-version=${v}`);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { typeKey: string }).typeKey).toBeTruthy();
    }
    expect((await get(sim, '/acme/_apis/projects', { accept: 'application/json;api-version=nope' })).status).toBe(400);
    const missing = await get(sim, '/acme/_apis/nothing/here');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/application\/json/);
  });

  it('serves a project by name or id, with capabilities on request', async () => {
    const [first] = [...sim.dataset.projects()];
    const byId = await getJson<Record<string, unknown>>(sim, `/acme/_apis/projects/${first!.id}`);
    expect(byId.status).toBe(200);
    expect(byId.body).toMatchObject({ id: first!.id, name: first!.name, defaultTeam: { name: `${first!.name} Team` } });
    expect(byId.body._links).toBeDefined();
    expect(byId.body.capabilities).toBeUndefined();
    const byName = await getJson<Record<string, unknown>>(sim, '/acme/_apis/projects/fabrikam%20fiber?includeCapabilities=true');
    expect(byName.body).toMatchObject({ name: 'Fabrikam Fiber', capabilities: { versioncontrol: { sourceControlType: 'Git' } } });
    const missing = await get(sim, '/acme/_apis/projects/NoSuchProject');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { message: string }).message).toMatch(/^TF200016/);
  });

  it('lists repositories org-wide and per project, including a disabled and an empty one', async () => {
    const all = await getJson<List<Record<string, unknown>>>(sim, '/acme/_apis/git/repositories?api-version=7.1');
    expect(all.status).toBe(200);
    expect(all.body.count).toBe(12);
    expect(all.headers.get('x-ms-continuationtoken')).toBeNull();
    expect(all.body.value.filter((r) => r.isDisabled === true)).toHaveLength(1);
    const empty = all.body.value.filter((r) => r.defaultBranch === undefined);
    expect(empty).toHaveLength(1);
    expect(empty[0]!.size).toBe(0);
    for (const r of all.body.value) {
      for (const key of ['id', 'name', 'url', 'project', 'size', 'remoteUrl', 'sshUrl', 'webUrl', 'isDisabled']) expect(r).toHaveProperty(key);
      expect(r).not.toHaveProperty('_links');
    }
    expect(all.body.value).toEqual([...sim.dataset.repositories()]);

    const fabrikam = await getJson<List<{ name: string; project: { name: string } }>>(sim, '/acme/Fabrikam%20Fiber/_apis/git/repositories');
    expect(fabrikam.body.count).toBe(4);
    expect(fabrikam.body.value.every((r) => r.project.name === 'Fabrikam Fiber')).toBe(true);
    expect(fabrikam.body.value[0]!.name).toBe('Fabrikam Fiber');

    const one = all.body.value[5]!;
    const project = (one.project as { id: string; name: string });
    const byName = await getJson<Record<string, unknown>>(sim, `/acme/${encodeURIComponent(project.name)}/_apis/git/repositories/${encodeURIComponent(String(one.name).toUpperCase())}`);
    expect(byName.body.id).toBe(one.id);
    expect(byName.body._links).toBeDefined();
    expect((await getJson(sim, `/acme/_apis/git/repositories/${String(one.id)}`)).body.name).toBe(one.name);
    expect((await getJson(sim, `/acme/${project.id}/_apis/git/repositories/${String(one.id)}`)).status).toBe(200);
    // A name needs the project segment; a repository of another project is not found.
    expect((await get(sim, `/acme/_apis/git/repositories/${encodeURIComponent(String(one.name))}`)).status).toBe(404);
    expect((await get(sim, `/acme/Platform/_apis/git/repositories/${String(one.id)}`)).status).toBe(404);
  });

  it('serves file content raw or as a GitItem, and 404 for missing files', async () => {
    const repos = [...sim.dataset.repositories()];
    const withReadme = repos.find((r) => sim.dataset.files(undefined, r.id).some((f) => f.path === '/README.md'))!;
    const withCodeowners = repos.find((r) => sim.dataset.files(undefined, r.id).some((f) => f.path === '/CODEOWNERS'));
    const withNothing = repos.find((r) => r.defaultBranch !== undefined && sim.dataset.files(undefined, r.id).length === 0);
    expect(withCodeowners).toBeDefined();
    expect(withNothing).toBeDefined();
    const readme = sim.dataset.files(undefined, withReadme.id).find((f) => f.path === '/README.md')!;
    const branch = withReadme.defaultBranch!.replace('refs/heads/', '');
    const base = `/acme/${encodeURIComponent(withReadme.project.name)}/_apis/git/repositories/${encodeURIComponent(withReadme.name)}/items`;

    const raw = await get(sim, `${base}?path=/README.md&versionType=Branch&version=${branch}&api-version=7.1`);
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toMatch(/text\/plain/);
    expect(await raw.text()).toBe(readme.content);

    const meta = await get(sim, `${base}?path=/README.md&versionDescriptor.versionType=branch&versionDescriptor.version=${branch}`, { accept: 'application/json' });
    const item = (await meta.json()) as Record<string, unknown>;
    expect(item).toMatchObject({ objectId: readme.objectId, gitObjectType: 'blob', path: '/README.md' });
    expect(item.commitId).toMatch(/^[0-9a-f]{40}$/);
    expect(item.content).toBeUndefined();
    const withContent = await getJson<Record<string, unknown>>(sim, `${base}?path=README.md&includeContent=true`);
    expect(withContent.body.content).toBe(readme.content);

    const missing = await get(sim, `${base}?path=/nope.txt`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { message: string }).message).toMatch(/^TF401174/);
    expect((await get(sim, `${base}?path=/README.md&versionType=Branch&version=no-such-branch`)).status).toBe(404);

    const none = `/acme/${encodeURIComponent(withNothing!.project.name)}/_apis/git/repositories/${withNothing!.id}/items?path=/README.md`;
    expect((await get(sim, none)).status).toBe(404);
    const emptyRepo = repos.find((r) => r.defaultBranch === undefined)!;
    expect((await get(sim, `/acme/_apis/git/repositories/${emptyRepo.id}/items?path=/README.md`)).status).toBe(404);
  });
});

describe('ado simulator: paging', () => {
  let sim: AdoSimulator;
  beforeAll(async () => {
    sim = await startAdoSimulator({ scale: { projects: 25, reposPerProject: 5, pullRequestsPerRepo: 100 }, seed: 7 });
  });
  afterAll(() => sim.close());

  it('pages projects with the x-ms-continuationtoken header, each project once', async () => {
    const seen: string[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const q: string = token === null ? '' : `&continuationToken=${token}`;
      const { body, headers } = await getJson<List<TeamProjectReference>>(sim, `/acme/_apis/projects?$top=7${q}`);
      pages++;
      expect(body.count).toBe(body.value.length);
      seen.push(...body.value.map((p) => p.id));
      token = headers.get('x-ms-continuationtoken');
    } while (token !== null);
    expect(pages).toBe(4);
    expect(new Set(seen).size).toBe(25);
    expect(seen).toEqual([...sim.dataset.projects()].map((p) => p.id));
    // $skip works too; an exact last page carries no token.
    const last = await getJson<List<TeamProjectReference>>(sim, '/acme/_apis/projects?$top=5&$skip=20');
    expect(last.body.count).toBe(5);
    expect(last.headers.get('x-ms-continuationtoken')).toBeNull();
    // Other states: none of the generated projects is in them.
    expect((await getJson<List<unknown>>(sim, '/acme/_apis/projects?stateFilter=deleted')).body.count).toBe(0);
    expect((await getJson<List<unknown>>(sim, '/acme/_apis/projects?stateFilter=All&$top=100')).body.count).toBe(25);
  });

  it('returns every pull request once over $top/$skip, newest first', async () => {
    const counts = sim.dataset.counts();
    expect(counts.pullRequests).toBeGreaterThan(2000);
    const ids: number[] = [];
    for (const p of sim.dataset.projects()) {
      const prs = await allPullRequests(sim, `/acme/${encodeURIComponent(p.name)}/_apis/git/pullrequests?searchCriteria.status=all&api-version=7.1`, 333);
      expect(prs.every((pr) => pr.repository.project.id === p.id)).toBe(true);
      const pIds = prs.map((pr) => pr.pullRequestId);
      expect(pIds).toEqual([...pIds].sort((a, b) => b - a));
      ids.push(...pIds);
    }
    expect(ids).toHaveLength(counts.pullRequests);
    expect(new Set(ids).size).toBe(counts.pullRequests);

    const repo = [...sim.dataset.repositories()][1]!;
    const byRepo = await allPullRequests(
      sim,
      `/acme/${encodeURIComponent(repo.project.name)}/_apis/git/repositories/${repo.id}/pullrequests?searchCriteria.status=all`,
      30,
    );
    expect(byRepo).toHaveLength(100);
    expect(byRepo.every((pr) => pr.repository.id === repo.id)).toBe(true);
    const filtered = await allPullRequests(
      sim,
      `/acme/${encodeURIComponent(repo.project.name)}/_apis/git/pullrequests?searchCriteria.status=all&searchCriteria.repositoryId=${repo.id}`,
      1000,
    );
    expect(filtered.map((p) => p.pullRequestId)).toEqual(byRepo.map((p) => p.pullRequestId));
  });

  it('defaults to 101 items and caps $top at the page limit', async () => {
    const p = [...sim.dataset.projects()][0]!;
    const def = await getJson<List<unknown>>(sim, `/acme/${p.id}/_apis/git/pullrequests?searchCriteria.status=all`);
    expect(def.body.count).toBe(101);
    const capped = await startAdoSimulator({ scale: { projects: 1, reposPerProject: 2, pullRequestsPerRepo: 100 }, pageLimits: { pullRequests: 50, projects: 2 } });
    try {
      const prs = await getJson<List<unknown>>(capped, '/acme/Platform/_apis/git/pullrequests?searchCriteria.status=all&$top=1000');
      expect(prs.body.count).toBe(50);
      const projects = await getJson<List<unknown>>(capped, '/acme/_apis/projects?$top=1000');
      expect(projects.body.count).toBe(1);
    } finally {
      await capped.close();
    }
  });

  it('matches the dataset iterator page for page', async () => {
    const fromDataset = [...sim.dataset.pullRequests(undefined, { status: 'completed', project: 'Fabrikam Fiber' })];
    const served = await allPullRequests(sim, '/acme/Fabrikam%20Fiber/_apis/git/pullrequests?searchCriteria.status=completed', 250);
    expect(served).toEqual(fromDataset);
  });
});

describe('ado simulator: pull request filters', () => {
  let sim: AdoSimulator;
  let all: GitPullRequest[];
  const project = 'Fabrikam Fiber';
  const base = `/acme/${encodeURIComponent(project)}/_apis/git/pullrequests`;
  beforeAll(async () => {
    sim = await startAdoSimulator({ scale: { projects: 2, reposPerProject: 6, pullRequestsPerRepo: 60 } });
    all = await allPullRequests(sim, `${base}?searchCriteria.status=all`, 1000);
  });
  afterAll(() => sim.close());

  it('splits by status, active by default, with closed dates in the 30 days before the reference date', async () => {
    const ref = sim.dataset.referenceDate.getTime();
    const byStatus: Record<string, number> = {};
    for (const status of ['active', 'completed', 'abandoned']) {
      const prs = await allPullRequests(sim, `${base}?searchCriteria.status=${status}`, 1000);
      expect(prs.every((p) => p.status === status)).toBe(true);
      byStatus[status] = prs.length;
      for (const pr of prs) {
        const created = Date.parse(pr.creationDate);
        expect(created).toBeLessThan(ref);
        if (status === 'active') {
          expect(pr.closedDate).toBeUndefined();
        } else {
          const closed = Date.parse(pr.closedDate!);
          expect(closed).toBeGreaterThanOrEqual(Math.max(created, ref - 30 * DAY));
          expect(closed).toBeLessThanOrEqual(ref);
        }
      }
    }
    expect(byStatus.active! + byStatus.completed! + byStatus.abandoned!).toBe(all.length);
    expect(byStatus.active! / all.length).toBeGreaterThan(0.35);
    expect(byStatus.active! / all.length).toBeLessThan(0.65);
    expect(byStatus.completed).toBeGreaterThan(0);
    expect(byStatus.abandoned).toBeGreaterThan(0);
    const dflt = await allPullRequests(sim, base, 1000);
    expect(dflt.map((p) => p.pullRequestId)).toEqual(all.filter((p) => p.status === 'active').map((p) => p.pullRequestId));
    expect((await get(sim, `${base}?searchCriteria.status=bogus`)).status).toBe(400);
  });

  it('filters by minTime/maxTime on creation or closing', async () => {
    const ref = sim.dataset.referenceDate.getTime();
    const min = new Date(ref - 10 * DAY).toISOString();
    const closed = await allPullRequests(sim, `${base}?searchCriteria.status=all&searchCriteria.queryTimeRangeType=closed&searchCriteria.minTime=${min}`, 1000);
    const expected = all.filter((p) => p.closedDate !== undefined && Date.parse(p.closedDate) >= Date.parse(min));
    expect(closed.map((p) => p.pullRequestId)).toEqual(expected.map((p) => p.pullRequestId));
    expect(closed.length).toBeGreaterThan(0);
    expect(closed.length).toBeLessThan(all.length);

    const max = new Date(ref - 90 * DAY).toISOString();
    const created = await allPullRequests(sim, `${base}?searchCriteria.status=all&searchCriteria.minTime=${new Date(ref - 120 * DAY).toISOString()}&searchCriteria.maxTime=${max}`, 1000);
    const expectedCreated = all.filter((p) => Date.parse(p.creationDate) >= ref - 120 * DAY && Date.parse(p.creationDate) <= Date.parse(max));
    expect(created.map((p) => p.pullRequestId)).toEqual(expectedCreated.map((p) => p.pullRequestId));
    expect(created.length).toBeGreaterThan(0);
    expect((await get(sim, `${base}?searchCriteria.minTime=yesterday`)).status).toBe(400);
  });

  it('filters by creator and target branch', async () => {
    const creator = all[0]!.createdBy.id;
    const mine = await allPullRequests(sim, `${base}?searchCriteria.status=all&searchCriteria.creatorId=${creator}`, 1000);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.map((p) => p.pullRequestId)).toEqual(all.filter((p) => p.createdBy.id === creator).map((p) => p.pullRequestId));
    const develop = await allPullRequests(sim, `${base}?searchCriteria.status=all&searchCriteria.targetRefName=refs/heads/develop`, 1000);
    expect(develop.map((p) => p.pullRequestId)).toEqual(all.filter((p) => p.targetRefName === 'refs/heads/develop').map((p) => p.pullRequestId));
  });

  it('serves one pull request with or without the project, full description', async () => {
    const listed = all.find((p) => p.description.length === 400) ?? all[0]!;
    const one = await getJson<GitPullRequest>(sim, `/acme/_apis/git/pullrequests/${listed.pullRequestId}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(sim.dataset.pullRequest(undefined, listed.pullRequestId));
    expect(one.body.description.startsWith(listed.description)).toBe(true);
    expect((await get(sim, `${base}/${listed.pullRequestId}`)).status).toBe(200);
    expect((await get(sim, `/acme/Platform/_apis/git/pullrequests/${listed.pullRequestId}`)).status).toBe(404);
    const missing = await get(sim, '/acme/_apis/git/pullrequests/999999');
    expect(missing.status).toBe(404);
    const completed = all.find((p) => p.status === 'completed')!;
    expect(completed.reviewers.some((r) => r.vote === 10)).toBe(true);
    expect(completed.lastMergeCommit?.commitId).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe('ado simulator: faults', () => {
  let sim: AdoSimulator;
  beforeAll(async () => {
    sim = await startAdoSimulator();
  });
  afterAll(() => sim.close());

  it('throttles every Nth data request with 429, Retry-After and TF400733', async () => {
    sim.setFaults({ throttleEvery: 3, retryAfterSeconds: 0.2 });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await get(sim, '/acme/_apis/projects');
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get('retry-after')).toBe('0.2');
        const body = (await res.json()) as { message: string; typeKey: string };
        expect(body.typeKey).toBe('RequestBlockedException');
        expect(body.message).toMatch(/^TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource/);
      } else {
        await res.arrayBuffer();
      }
    }
    expect(statuses).toEqual([200, 200, 429, 200, 200, 429]);
    expect(sim.requests.slice(-6).map((r) => r.fault)).toEqual([undefined, undefined, 'throttle', undefined, undefined, 'throttle']);
    expect(sim.requests.at(-1)).toMatchObject({ method: 'GET', org: 'acme', path: '/acme/_apis/projects', status: 429 });
  });

  it('answers every Nth data request with 503 (Retry-After only when configured)', async () => {
    sim.setFaults({ unavailableEvery: 2, retryAfterSeconds: 0 });
    expect((await get(sim, '/acme/_apis/git/repositories')).status).toBe(200);
    const res = await get(sim, '/acme/_apis/git/repositories');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBeNull();
    sim.setFaults({ unavailableEvery: 1, retryAfterSeconds: 2 });
    const again = await get(sim, '/acme/_apis/git/repositories');
    expect(again.status).toBe(503);
    expect(again.headers.get('retry-after')).toBe('2');
  });

  it('truncates every Nth body so JSON.parse fails', async () => {
    sim.setFaults({ truncateEvery: 2 });
    const whole = await get(sim, '/acme/_apis/git/repositories');
    const wholeText = await whole.text();
    const cut = await get(sim, '/acme/_apis/git/repositories');
    expect(cut.status).toBe(200);
    expect(cut.headers.get('content-type')).toMatch(/application\/json/);
    const text = await cut.text();
    expect(text.length).toBe(Math.floor(wholeText.length / 2));
    expect(wholeText.startsWith(text)).toBe(true);
    expect(() => JSON.parse(text)).toThrow();
    expect(sim.requests.at(-1)!.fault).toBe('truncate');
  });

  it('fails matching paths with the configured status, case-insensitively', async () => {
    sim.setFaults({ failPaths: [{ pattern: '/PullRequests', status: 500 }] });
    expect((await get(sim, '/acme/Platform/_apis/git/pullrequests')).status).toBe(500);
    expect((await get(sim, '/acme/_apis/git/pullrequests/1')).status).toBe(500);
    expect((await get(sim, '/acme/_apis/projects')).status).toBe(200);
    expect(sim.requests.at(-2)!.fault).toBe('failPath');
  });

  it('adds latency to data responses only', async () => {
    sim.setFaults({ latencyMs: 150 });
    const t0 = Date.now();
    expect((await get(sim, '/acme/_apis/projects')).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    const entry = sim.requests.at(-1)!;
    expect(entry.status).toBe(200);
    expect(entry.at).toBeGreaterThanOrEqual(t0 + 140);
    sim.setFaults({});
    const t1 = Date.now();
    await get(sim, '/acme/_apis/projects');
    expect(Date.now() - t1).toBeLessThan(140);
  });

  it('emits rate-limit headers, counting down to the next throttled request', async () => {
    sim.setFaults({ rateLimitHeaders: true, throttleEvery: 4, retryAfterSeconds: 1 });
    const remaining: Array<string | null> = [];
    for (let i = 0; i < 4; i++) {
      const res = await get(sim, '/acme/_apis/projects');
      await res.arrayBuffer();
      expect(res.headers.get('x-ratelimit-limit')).toBe('200');
      expect(res.headers.get('x-ratelimit-resource')).toBeTruthy();
      expect(Number(res.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
      remaining.push(res.headers.get('x-ratelimit-remaining'));
    }
    expect(remaining).toEqual(['100', '50', '1', '0']);
    sim.setFaults({});
    expect((await get(sim, '/acme/_apis/projects')).headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('does not fault authentication failures or count them', async () => {
    sim.setFaults({ throttleEvery: 1 });
    const res = await fetch(`${sim.url}/acme/_apis/projects`, { headers: { 'x-tfs-fedauthredirect': 'Suppress' } });
    expect(res.status).toBe(401);
    expect(sim.requests.at(-1)!.fault).toBeUndefined();
    expect((await get(sim, '/acme/_apis/projects')).status).toBe(429);
    sim.setFaults({});
  });
});

describe('ado simulator: determinism and scale', () => {
  it('serves identical pages from two simulators with the same seed', async () => {
    const opts = { seed: 42, organizations: ['acme', 'Contoso'], scale: { projects: 4, reposPerProject: 3, pullRequestsPerRepo: 20 } };
    const a = await startAdoSimulator(opts);
    const b = await startAdoSimulator(opts);
    const c = await startAdoSimulator({ ...opts, seed: 43 });
    try {
      const paths = [
        '/acme/_apis/projects',
        '/contoso/_apis/projects',
        '/acme/_apis/git/repositories',
        '/acme/Platform/_apis/git/pullrequests?searchCriteria.status=all&$top=50&$skip=10',
        '/Contoso/Fabrikam%20Fiber/_apis/git/pullrequests?searchCriteria.status=completed',
      ];
      for (const path of paths) {
        const [ta, tb, tc] = await Promise.all([a, b, c].map(async (s) => (await (await get(s, path)).text()).split(new URL(s.url).host).join('<host>')));
        expect(ta).toBe(tb);
        expect(ta).not.toBe(tc);
      }
      expect(a.dataset.referenceDate.toISOString()).toBe(b.dataset.referenceDate.toISOString());
      // Organizations do not share data.
      const acmeIds = [...a.dataset.projects('acme')].map((p) => p.id);
      const contosoIds = [...a.dataset.projects('contoso')].map((p) => p.id);
      expect(acmeIds.some((id) => contosoIds.includes(id))).toBe(false);
      expect(a.orgUrl('contoso')).toBe(`${a.url}/Contoso`);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('serves deep pages of 200,000 pull requests without materialising them', async () => {
    const sim = await startAdoSimulator({ scale: { projects: 10, reposPerProject: 20, pullRequestsPerRepo: 1000 } });
    try {
      const counts = sim.dataset.counts();
      expect(counts.pullRequests).toBeGreaterThan(180_000);
      const p = [...sim.dataset.projects()][3]!;
      const t0 = Date.now();
      const first = await getJson<List<GitPullRequest>>(sim, `/acme/${p.id}/_apis/git/pullrequests?searchCriteria.status=all&$top=1000&$skip=15000`);
      expect(first.body.count).toBe(1000);
      const next = await getJson<List<GitPullRequest>>(sim, `/acme/${p.id}/_apis/git/pullrequests?searchCriteria.status=all&$top=1000&$skip=16000`);
      expect(next.body.value[0]!.pullRequestId).toBeLessThan(first.body.value[999]!.pullRequestId);
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      await sim.close();
    }
  });
});
