import { mergeMap } from '../util/asyncIter.js';
import { teamMemberPages, teamPages, type TeamRef } from './shared/teams.js';
import { AdoNotFoundError } from '../ado/errors.js';
import type { FetchContext, KindDefinition, RawItem, Selector } from './types.js';

/** Members of every team (one item per team × member), each with the team's id. */
async function* fetchMembers(ctx: FetchContext): AsyncGenerator<RawItem[]> {
  yield* mergeMap(teamPages(ctx), (page) => mergeMap(page, (t) => membersOf(ctx, t), 5), 1);
}

async function* membersOf(ctx: FetchContext, team: TeamRef): AsyncGenerator<RawItem[]> {
  try {
    for await (const page of teamMemberPages(ctx, team)) yield page.map((m) => Object.assign(m, { __teamId: team.id }));
  } catch (err) {
    if (!(err instanceof AdoNotFoundError)) throw err;
    ctx.markIncomplete(`members of team "${team.name}": not found (deleted while syncing?)`);
  }
}

export const memberKind: KindDefinition<Selector> = {
  kind: 'member',
  description: 'Team members (one item per team and member)',
  serverSupported: true,
  docs: { endpoints: 'GET _apis/teams ($top/$skip), then GET _apis/projects/{p}/teams/{t}/members per team ($top/$skip)', enrichment: ['__teamId'] },
  selectorSchema: { type: 'object', properties: {} },
  fetch: fetchMembers,
};
