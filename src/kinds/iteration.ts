import { mergeMap } from '../util/asyncIter.js';
import { listProjects, type ProjectRef } from './shared/listings.js';
import { listTeams, teamIterations, unlessGone, type TeamRef } from './shared/teams.js';
import type { FetchContext, KindDefinition, RawItem, Selector } from './types.js';

/** Iterations of every team (the same iteration repeats for each team that selected it), with `__project`, `__team`. */
async function* fetchIterations(ctx: FetchContext): AsyncGenerator<RawItem[]> {
  const [projects, teams] = await Promise.all([listProjects(ctx), listTeams(ctx)]);
  const byId = new Map(projects.map((p) => [p.id, p]));
  const live = teams.filter((t) => byId.has(t.projectId));
  yield* mergeMap(live, (t) => iterationsOf(ctx, t, byId.get(t.projectId) as ProjectRef), 5);
}

async function* iterationsOf(ctx: FetchContext, team: TeamRef, project: ProjectRef): AsyncGenerator<RawItem[]> {
  const list = await unlessGone(ctx, `iterations of team "${team.name}" (${project.name})`, () => teamIterations(ctx, team), []);
  if (list.length > 0) yield list.map((it) => ({ ...it, __project: project, __team: team }));
}

export const iterationKind: KindDefinition<Selector> = {
  kind: 'iteration',
  description: 'Iterations (sprints) selected by each team',
  serverSupported: true,
  docs: { endpoints: 'GET _apis/teams; per team GET {p}/{t}/_apis/work/teamsettings/iterations', enrichment: ['__project', '__team'] },
  selectorSchema: { type: 'object', properties: {} },
  fetch: fetchIterations,
};
