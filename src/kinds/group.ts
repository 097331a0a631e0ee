import { graphPages } from './shared/graph.js';
import type { FetchContext, KindDefinition, RawItem, Selector } from './types.js';

async function* fetchGroups(ctx: FetchContext): AsyncGenerator<RawItem[]> {
  yield* graphPages(ctx, 'groups');
}

export const groupKind: KindDefinition<Selector> = {
  kind: 'group',
  description: 'Security groups of the organization (project, collection and Microsoft Entra groups)',
  serverSupported: false,
  docs: { endpoints: 'GET vssps _apis/graph/groups (header continuation)', enrichment: [] },
  selectorSchema: { type: 'object', properties: {} },
  fetch: fetchGroups,
};
