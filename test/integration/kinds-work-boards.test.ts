import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { normalizePath } from '../../src/kinds/areaPath.js';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';
import { BOARD_NAMES, SPRINTS, workOf } from '../simulators/ado/data/work.js';
import { harness } from './kinds-work.harness.js';

describe('board, column, iteration and area-path kinds', () => {
  let sim: AdoSimulator;
  beforeAll(async () => {
    sim = await startAdoSimulator({ scale: { projects: 3, teamsPerProject: 2 } });
  });
  afterAll(() => sim.close());

  const work = () => workOf(sim.dataset.org('acme')!);
  const since = () => sim.requests.length;
  const projects = () => [...sim.dataset.projects()];
  /** [project, team] of the teams that have iterations (and therefore boards). */
  const teamsWithBoards = () => {
    const out: Array<[number, number]> = [];
    for (let p = 0; p < 3; p++) for (let t = 0; t < 2; t++) if (work().hasIterations(p, t)) out.push([p, t]);
    return out;
  };

  it('board: every board of every team with iterations, in full, with __project; never asks a team without iterations', async () => {
    const start = since();
    const h = harness(sim);
    const boards = await h.run('board');
    const expected = teamsWithBoards().flatMap(([p, t]) => BOARD_NAMES.map((_, b) => work().boardId(p, t, b)));
    expect(teamsWithBoards().length).toBeLessThan(6); // the data has teams without iterations
    expect(boards.map((b) => b.id).sort()).toEqual(expected.sort());
    for (const b of boards) {
      expect(Array.isArray(b.columns)).toBe(true);
      expect(b.url).toBeDefined();
      const proj = b.__project as { id: string };
      expect(projects().some((p) => p.id === proj.id)).toBe(true);
    }
    const reqs = sim.requests.slice(start);
    expect(reqs.filter((r) => r.status >= 400)).toEqual([]);
    expect(h.incomplete).toEqual([]);
    // The team list is the org-level one (a single request here).
    expect(reqs.filter((r) => r.path.endsWith('/_apis/teams'))).toHaveLength(1);
  });

  it('board: a 500 on a team that has iterations marks the run incomplete', async () => {
    sim.setFaults({ failPaths: [{ pattern: '/_apis/work/boards$', status: 500 }] });
    try {
      const h = harness(sim, { client: { maxAttempts: 2 } });
      const boards = await h.run('board');
      expect(boards).toEqual([]);
      expect(h.incomplete).toHaveLength(teamsWithBoards().length);
    } finally {
      sim.setFaults({});
    }
  });

  it('column: one item per column and state mapping, with __board, __stateType and __stateName; shares the board listing', async () => {
    const h = harness(sim);
    const boards = await h.run('board');
    const start = since();
    const columns = await h.run('column');
    expect(sim.requests.length).toBe(start); // served from the run's board listing
    let expected = 0;
    for (const b of boards) for (const c of b.columns as Array<{ stateMappings: Record<string, string> }>) expected += Object.keys(c.stateMappings).length;
    expect(columns).toHaveLength(expected);
    for (const c of columns) {
      const board = c.__board as { id: string; __project: { id: string } };
      expect(board.__project.id).toBeDefined();
      expect((c.stateMappings as Record<string, string>)[c.__stateType as string]).toBe(c.__stateName);
    }
    const stories = columns.filter((c) => (c.__board as { name: string }).name === 'Stories' && c.name === 'Active');
    expect(new Set(stories.map((c) => c.__stateType))).toEqual(new Set(['User Story', 'Bug']));
  });

  it('iteration: the iterations of every team with __project and __team', async () => {
    const items = await harness(sim).run('iteration');
    expect(items).toHaveLength(teamsWithBoards().length * SPRINTS);
    for (const it of items) {
      const team = it.__team as { id: string; projectId: string };
      expect((it.__project as { id: string }).id).toBe(team.projectId);
      expect(it.path).toMatch(/\\Sprint \d$/);
      expect((it.attributes as { timeFrame: string }).timeFrame).toMatch(/past|current|future/);
    }
  });

  it('area-path: the root only without depth, the flattened tree with depth, with __parentIdentifier and __normalizedPath', async () => {
    let start = since();
    const roots = await harness(sim).run('area-path');
    expect(roots).toHaveLength(3);
    for (const r of roots) {
      expect(r.__parentIdentifier).toBeNull();
      expect(r.__normalizedPath).toBe((r.__project as { name: string }).name);
    }
    expect(sim.requests.slice(start).every((r) => r.query.$depth === undefined)).toBe(true);

    start = since();
    const nodes = await harness(sim).run('area-path', { depth: 5 });
    expect(nodes).toHaveLength(3 * work().areaCount());
    const areaReqs = sim.requests.slice(start).filter((r) => r.path.includes('/classificationnodes/'));
    expect(areaReqs).toHaveLength(3);
    expect(areaReqs.every((r) => r.query.$depth === '5')).toBe(true);
    for (const n of nodes) {
      expect(n.children).toBeUndefined();
      expect(n.structureType).toBe('area');
      if (n.__parentIdentifier !== null) expect(nodes.some((x) => x.identifier === n.__parentIdentifier)).toBe(true);
    }
    const frontend = nodes.find((n) => n.name === 'Frontend' && (n.__project as { name: string }).name === projects()[0]!.name)!;
    expect(frontend.__normalizedPath).toBe(`${projects()[0]!.name}\\Web\\Frontend`);
    expect(normalizePath('\\Proj\\Area\\A\\B')).toBe('Proj\\A\\B');
  });
});
