import { AdoError } from '../../ado/errors.js';
import { getList } from '../../ado/paging.js';
import { collect, mergeMap } from '../../util/asyncIter.js';
import type { FetchContext, RawItem } from '../types.js';
import { API } from './api.js';
import { listProjects, type ProjectRef } from './listings.js';
import { listTeams, teamIterations, unlessGone, type TeamRef } from './teams.js';

export interface BoardItem extends RawItem {
  id: string;
  name?: string;
  columns?: Array<RawItem & { name?: string; stateMappings?: Record<string, string> }>;
  __project?: ProjectRef;
}

/**
 * Every board of every team, in full (GET boards/{id} merged over the list entry), with `__project` and `__team`;
 * fetched once per run (board and column share it). A team without iterations has no boards (the service answers 500
 * there), so teams are asked for their iterations first and skipped when they have none.
 */
export function listBoards(ctx: FetchContext): Promise<BoardItem[]> {
  return ctx.cache.memo('work:boards', async () => {
    const [projects, teams] = await Promise.all([listProjects(ctx), listTeams(ctx)]);
    const byId = new Map(projects.map((p) => [p.id, p]));
    const live = teams.filter((t) => byId.has(t.projectId));
    return collect(mergeMap(live, (t) => boardsOfTeam(ctx, t, byId.get(t.projectId) as ProjectRef), 5));
  });
}

async function* boardsOfTeam(ctx: FetchContext, team: TeamRef, project: ProjectRef): AsyncGenerator<BoardItem> {
  const what = `team "${team.name}" (${project.name})`;
  const iterations = await unlessGone(ctx, `${what} iterations`, () => teamIterations(ctx, team), []);
  if (iterations.length === 0) return;
  const base = `${encodeURIComponent(team.projectId)}/${encodeURIComponent(team.id)}/_apis/work/boards`;
  let refs: BoardItem[];
  try {
    refs = await getList<BoardItem>(ctx.client, ctx.client.url(base), { 'api-version': API.ga }, { signal: ctx.signal });
  } catch (err) {
    if (err instanceof AdoError && err.status === 500) {
      ctx.markIncomplete(`${what} boards: HTTP 500 although the team has iterations`);
      return;
    }
    if (err instanceof AdoError && err.status === 404) {
      ctx.markIncomplete(`${what} boards: not found (deleted while syncing?)`);
      return;
    }
    throw err;
  }
  for (const ref of refs) {
    if (typeof ref?.id !== 'string') continue;
    const detail = await unlessGone(
      ctx,
      `${what} board "${String(ref.name)}"`,
      async () => (await ctx.client.get<BoardItem>(ctx.client.url(`${base}/${encodeURIComponent(ref.id)}`), { 'api-version': API.ga }, ctx.signal)).data,
      undefined,
    );
    if (detail) yield { ...ref, ...detail, __project: project, __team: team };
  }
}
