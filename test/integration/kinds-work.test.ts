import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { listProjects } from '../../src/kinds/shared/listings.js';
import { splitOrderBy, wiqlString } from '../../src/kinds/workItem.js';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';
import { workOf } from '../simulators/ado/data/work.js';
import { capturingLogger, harness } from './kinds-work.harness.js';

describe('work-item kind', () => {
  let sim: AdoSimulator;
  beforeAll(async () => {
    sim = await startAdoSimulator({ scale: { projects: 3, workItemsPerProject: 25 } });
  });
  afterAll(() => sim.close());

  const work = () => workOf(sim.dataset.org('acme')!);
  const since = () => sim.requests.length;

  it('fetches every work item of every project with $expand=All and the project enrichment', async () => {
    const start = since();
    const items = await harness(sim).run('work-item', { expand: 'All' });
    expect(items).toHaveLength(3 * 25);
    expect(new Set(items.map((i) => i.id)).size).toBe(75);
    const projects = [...sim.dataset.projects()];
    for (const item of items) {
      const p = projects[work().projectOfWorkItem(item.id as number)!]!;
      expect(item.__projectId).toBe(p.id);
      expect((item.__project as { name: string }).name).toBe(p.name);
      expect((item.fields as Record<string, unknown>)['System.TeamProject']).toBe(p.name);
      expect(item.relations).toBeDefined();
      expect(item._links).toBeDefined();
      expect(item.__organizationName).toBe('acme');
    }
    const reqs = sim.requests.slice(start);
    const wiql = reqs.filter((r) => r.method === 'POST' && r.path.endsWith('/_apis/wit/wiql'));
    expect(wiql).toHaveLength(3);
    for (const r of wiql) expect(r.query).toMatchObject({ $top: '19999', 'api-version': '7.1' });
    const batches = reqs.filter((r) => r.method === 'GET' && r.path.endsWith('/_apis/wit/workitems'));
    expect(batches).toHaveLength(3);
    for (const b of batches) expect(b.query).toMatchObject({ $expand: 'All', errorPolicy: 'Omit' });
  });

  it('work items gone since the WIQL come back as null with errorPolicy=omit (the kind skips nulls), and 404 without it', async () => {
    const h = harness(sim);
    const [project] = await listProjects(h.ctx);
    const url = `${sim.orgUrl()}/${project!.id}/_apis/wit/workitems`;
    const res = await h.ctx.client.get<{ value: unknown[] }>(url, { ids: '1,999999', errorPolicy: 'Omit', 'api-version': '7.1' });
    expect(res.data.value).toHaveLength(2);
    expect(res.data.value[1]).toBeNull();
    await expect(h.ctx.client.get(url, { ids: '1,999999', 'api-version': '7.1' })).rejects.toThrow(/404/);
  });

  it('ANDs the selector wiql to the project filter and honours expand', async () => {
    const expected = [];
    for (let id = 1; id <= work().workItemCount; id++) if (work().workItemRecord(id).fields['System.WorkItemType'] === 'Bug') expected.push(id);
    expect(expected.length).toBeGreaterThan(0);
    const items = await harness(sim).run('work-item', { wiql: "[System.WorkItemType] = 'Bug'", expand: 'None' });
    expect(items.map((i) => i.id).sort((a, b) => Number(a) - Number(b))).toEqual(expected);
    for (const item of items) {
      expect(item.relations).toBeUndefined();
      expect(item._links).toBeUndefined();
    }
  });

  it('runs a wiql with its own ORDER BY once per project, with a warning', async () => {
    const lines: string[] = [];
    const start = since();
    const items = await harness(sim, { log: capturingLogger(lines) }).run('work-item', {
      wiql: "[System.State] <> 'Closed' ORDER BY [System.ChangedDate] DESC",
    });
    const open = [];
    for (let id = 1; id <= work().workItemCount; id++) if (work().workItemRecord(id).fields['System.State'] !== 'Closed') open.push(id);
    expect(items.map((i) => i.id).sort((a, b) => Number(a) - Number(b))).toEqual(open);
    expect(sim.requests.slice(start).filter((r) => r.method === 'POST')).toHaveLength(3);
    expect(lines.join('')).toContain('ORDER BY');
  });

  it('escapes quotes in WIQL literals and splits a trailing ORDER BY', () => {
    expect(wiqlString("O'Brien's")).toBe("'O''Brien''s'");
    expect(splitOrderBy("[System.State] = 'New' order by [System.Id]")).toEqual({ where: "[System.State] = 'New'", orderBy: 'order by [System.Id]' });
  });

  it('retries a read-only WIQL POST that failed with 503', async () => {
    const h = harness(sim);
    await listProjects(h.ctx);
    sim.setFaults({ unavailableEvery: 2, retryAfterSeconds: 0 });
    try {
      const start = since();
      await h.ctx.client.get(sim.orgUrl() + '/_apis/projects'); // request 1
      const items = await h.run('work-item', { expand: 'None' });
      expect(items).toHaveLength(75);
      const posts = sim.requests.slice(start).filter((r) => r.method === 'POST');
      expect(posts.some((r) => r.status === 503)).toBe(true);
    } finally {
      sim.setFaults({});
    }
  });

  it('fails the kind when a work item batch is malformed JSON', async () => {
    const one = await startAdoSimulator({ scale: { projects: 1, workItemsPerProject: 5 } });
    try {
      const h = harness(one, { client: { maxAttempts: 1 } });
      await listProjects(h.ctx);
      one.setFaults({ truncateEvery: 2 }); // the WIQL (1st request) is whole, the batch (2nd) is cut in half
      await expect(h.run('work-item')).rejects.toThrow(/GET \S+\/_apis\/wit\/workitems.*invalid JSON/);
      expect(one.requests.at(-1)).toMatchObject({ method: 'GET', fault: 'truncate' });
    } finally {
      await one.close();
    }
  });
});

describe('work-item id paging beyond one WIQL page', () => {
  let sim: AdoSimulator;
  beforeAll(async () => {
    sim = await startAdoSimulator({ scale: { projects: 1, workItemsPerProject: 20_050 } });
  });
  afterAll(() => sim.close());

  it('continues after the last id while a WIQL page is full', async () => {
    const items = await harness(sim).run('work-item', { expand: 'None' });
    expect(items).toHaveLength(20_050);
    expect(new Set(items.map((i) => i.id)).size).toBe(20_050);
    const wiql = sim.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/wit/wiql'));
    expect(wiql).toHaveLength(2);
    const batches = sim.requests.filter((r) => r.path.endsWith('/wit/workitems'));
    expect(batches).toHaveLength(Math.ceil(19_999 / 200) + 1);
    for (const b of batches) expect(b.query.ids!.split(',').length).toBeLessThanOrEqual(200);
  }, 120_000);
});

describe('team and member kinds', () => {
  let sim: AdoSimulator;
  beforeAll(async () => {
    sim = await startAdoSimulator({ scale: { projects: 3, teamsPerProject: 3 } });
  });
  afterAll(() => sim.close());

  const work = () => workOf(sim.dataset.org('acme')!);
  const allTeams = () => [...work().allTeams()];

  it('lists every team of the organization, paging with $top/$skip, without per-team calls by default', async () => {
    const start = sim.requests.length;
    const items = await harness(sim, { pageSize: 4 }).run('team');
    expect(items.map((t) => t.id)).toEqual(allTeams().map((t) => t.id));
    for (const t of items) {
      expect(t.projectId).toBeDefined();
      expect(t.__members).toBeUndefined();
      expect(t.__areaPaths).toBeUndefined();
    }
    const reqs = sim.requests.slice(start);
    expect(reqs.every((r) => r.path.endsWith('/_apis/teams'))).toBe(true);
    expect(reqs.map((r) => r.query.$skip)).toEqual(['0', '4', '8']);
    expect(reqs[0]!.query['api-version']).toBe('7.1-preview.3');
  });

  it('adds __members and __areaPaths when asked', async () => {
    const start = sim.requests.length;
    const items = await harness(sim).run('team', { includeMembers: true, includeAreaPaths: true });
    expect(items).toHaveLength(9);
    const projects = [...sim.dataset.projects()];
    for (const t of items) {
      const p = projects.findIndex((x) => x.id === t.projectId);
      const ti = work().findTeam(p, t.id as string)!;
      const members = t.__members as Array<{ identity: { id: string } }>;
      expect(members.map((m) => m.identity.id)).toEqual(work().members(p, ti).map((m) => m.identity.id));
      expect((t.__areaPaths as { defaultValue: string }).defaultValue).toBe(work().teamFieldValues(p, ti).defaultValue);
    }
    const reqs = sim.requests.slice(start);
    expect(reqs.filter((r) => r.path.endsWith('/members'))).toHaveLength(9);
    expect(reqs.filter((r) => r.path.endsWith('/teamfieldvalues'))).toHaveLength(9);
  });

  it('member yields one item per team member with __teamId', async () => {
    const items = await harness(sim, { pageSize: 2 }).run('member');
    const expected = allTeams().flatMap((team, i) => work().members(Math.floor(i / 3), i % 3).map((m) => `${team.id}/${m.identity.id}`));
    expect(items.map((m) => `${String(m.__teamId)}/${(m.identity as { id: string }).id}`).sort()).toEqual(expected.sort());
  });

  it('a team deleted mid-run marks the run incomplete instead of failing or passing silently', async () => {
    sim.setFaults({ failPaths: [{ pattern: '/members$', status: 404 }] });
    try {
      const h = harness(sim);
      const items = await h.run('member');
      expect(items).toHaveLength(0);
      expect(h.incomplete).toHaveLength(9);
    } finally {
      sim.setFaults({});
    }
  });
});
