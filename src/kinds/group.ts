import { graphPages } from './shared/graph.js';
import { fromAuditLog } from './shared/auditIncremental.js';
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
  incremental: fromAuditLog(fetchGroups, {
    reads: 'the audit log since the cursor: a group created, changed or deleted (Group.CreateGroups, Group.UpdateGroups.*) lists the groups whole; otherwise nothing is read',
    concerns: (e) => e.actionId === 'Group.CreateGroups' || e.actionId.startsWith('Group.UpdateGroups.'),
  }),
};
