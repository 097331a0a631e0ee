import { AdoNotFoundError } from '../../ado/errors.js';
import { getList, pagesByTopSkip } from '../../ado/paging.js';
import { collect, items } from '../../util/asyncIter.js';
import type { FetchContext, RawItem } from '../types.js';
import { API } from './api.js';

export interface TeamRef extends RawItem {
  id: string;
  name: string;
  projectId: string;
  projectName?: string;
}

/** The teams endpoints document no `$top` cap; 1000 keeps one page per request for all but huge orgs. */
export const MAX_TEAMS_PAGE = 1000;

/** Every team of the organization from the org-level listing (`$top/$skip`), streamed page by page. */
export function teamPages(ctx: FetchContext): AsyncIterable<TeamRef[]> {
  return pagesByTopSkip<TeamRef>(ctx.client, ctx.client.url('_apis/teams'), {
    query: { 'api-version': API.teams },
    top: Math.min(ctx.pageSize, MAX_TEAMS_PAGE),
    signal: ctx.signal,
  });
}

/** All teams, fetched once per run and shared by board, column and iteration. */
export function listTeams(ctx: FetchContext): Promise<TeamRef[]> {
  return ctx.cache.memo('work:teams', () => collect(items(teamPages(ctx))));
}

/** Pages of a team's members (`$top/$skip`). */
export function teamMemberPages(ctx: FetchContext, team: TeamRef): AsyncIterable<RawItem[]> {
  const url = ctx.client.url(`_apis/projects/${encodeURIComponent(team.projectId)}/teams/${encodeURIComponent(team.id)}/members`);
  return pagesByTopSkip<RawItem>(ctx.client, url, {
    query: { 'api-version': API.ga },
    top: Math.min(ctx.pageSize, MAX_TEAMS_PAGE),
    idOf: (m) => (m as { identity?: { id?: unknown } } | null)?.identity?.id,
    signal: ctx.signal,
  });
}

/** A team's iterations, once per run (board uses them to know whether the team has boards at all). */
export function teamIterations(ctx: FetchContext, team: TeamRef): Promise<RawItem[]> {
  return ctx.cache.memo(`work:iterations:${team.id}`, () => {
    const url = ctx.client.url(`${encodeURIComponent(team.projectId)}/${encodeURIComponent(team.id)}/_apis/work/teamsettings/iterations`);
    return getList<RawItem>(ctx.client, url, { 'api-version': API.ga }, { signal: ctx.signal });
  });
}

/**
 * Runs `load` for a child listing of a parent that may have been deleted since it was listed: a 404 marks the run
 * incomplete and yields `fallback`; any other failure propagates.
 */
export async function unlessGone<T>(ctx: FetchContext, what: string, load: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if (!(err instanceof AdoNotFoundError)) throw err;
    ctx.markIncomplete(`${what}: not found (deleted while syncing?)`);
    return fallback;
  }
}
