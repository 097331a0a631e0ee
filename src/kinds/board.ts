import { listBoards } from './shared/boards.js';
import type { FetchContext, KindDefinition, RawItem, Selector } from './types.js';

async function* fetchBoards(ctx: FetchContext): AsyncGenerator<RawItem[]> {
  const boards = await listBoards(ctx);
  for (let i = 0; i < boards.length; i += ctx.pageSize) yield boards.slice(i, i + ctx.pageSize);
}

export const boardKind: KindDefinition<Selector> = {
  kind: 'board',
  description: 'Kanban boards of every team (teams without iterations have none)',
  serverSupported: true,
  docs: {
    endpoints:
      'GET _apis/teams; per team GET {p}/{t}/_apis/work/teamsettings/iterations, GET {p}/{t}/_apis/work/boards and GET .../boards/{id} per board',
    enrichment: ['__project', '__team'],
  },
  selectorSchema: { type: 'object', properties: {} },
  fetch: fetchBoards,
};
