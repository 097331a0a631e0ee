import { mergeMap, collect, items } from '../util/asyncIter.js';
import { API } from './shared/api.js';
import { teamMemberPages, teamPages, unlessGone, type TeamRef } from './shared/teams.js';
import type { FetchContext, KindDefinition, RawItem, SelectorOf, SelectorSchema } from './types.js';

const selectorSchema = {
  type: 'object',
  properties: {
    includeMembers: { type: 'boolean', default: false, description: 'Add the team members as __members' },
    includeAreaPaths: { type: 'boolean', default: false, description: 'Add the team field values (area paths) as __areaPaths' },
  },
} as const satisfies SelectorSchema;

type TeamSelector = SelectorOf<typeof selectorSchema>;

/** Teams from the org-level listing; members and area paths (team field values) fetched per team when asked. */
async function* fetchTeams(ctx: FetchContext, selector: TeamSelector): AsyncGenerator<RawItem[]> {
  for await (const page of teamPages(ctx)) {
    if (!selector.includeMembers && !selector.includeAreaPaths) {
      yield page;
      continue;
    }
    const enriched: RawItem[] = [];
    for await (const team of mergeMap(page, (t) => enrich(ctx, t, selector), 5)) enriched.push(team);
    yield enriched;
  }
}

async function* enrich(ctx: FetchContext, team: TeamRef, selector: TeamSelector): AsyncGenerator<RawItem> {
  const out: RawItem = { ...team };
  const what = `team "${team.name}" (${team.projectName ?? team.projectId})`;
  if (selector.includeMembers) {
    out.__members = await unlessGone(ctx, `${what} members`, () => collect(items(teamMemberPages(ctx, team))), []);
  }
  if (selector.includeAreaPaths) {
    out.__areaPaths = await unlessGone(ctx, `${what} area paths`, () => teamFieldValues(ctx, team), null);
  }
  yield out;
}

async function teamFieldValues(ctx: FetchContext, team: TeamRef): Promise<RawItem | null> {
  const url = ctx.client.url(`${encodeURIComponent(team.projectId)}/${encodeURIComponent(team.id)}/_apis/work/teamsettings/teamfieldvalues`);
  const res = await ctx.client.get<RawItem>(url, { 'api-version': API.ga }, ctx.signal);
  return res.data ?? null;
}

export const teamKind: KindDefinition<TeamSelector> = {
  kind: 'team',
  description: 'Teams of every project, optionally with their members and area paths',
  serverSupported: true,
  docs: {
    endpoints:
      'GET _apis/teams ($top/$skip); includeMembers: GET _apis/projects/{p}/teams/{t}/members per team; includeAreaPaths: GET {p}/{t}/_apis/work/teamsettings/teamfieldvalues per team',
    enrichment: ['__members', '__areaPaths'],
  },
  selectorSchema,
  fetch: fetchTeams,
};
