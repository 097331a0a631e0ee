import { mergeMap } from '../util/asyncIter.js';
import { entitlementPages, ENTITLEMENT_FIELDS } from './shared/entitlements.js';
import { graphPages, lookupSubjects, memberships, projectOfGroup, type GraphSubjectRef } from './shared/graph.js';
import { unlessGone } from './shared/teams.js';
import { fromAuditLog } from './shared/auditIncremental.js';
import type { FetchContext, KindDefinition, RawItem, SelectorOf, SelectorSchema } from './types.js';

const selectorSchema = {
  type: 'object',
  properties: {
    source: { type: 'string', enum: ['entitlements', 'graph'], default: 'entitlements', description: 'Entitlements API (licensed users) or graph users' },
    subjectTypes: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'graph only: subject types, e.g. aad, msa, svc' },
    includeGroupMemberships: { type: 'boolean', default: false, description: 'graph only: add __groups and __projects' },
    includeFields: { type: 'array', items: { type: 'string', enum: ENTITLEMENT_FIELDS }, description: 'entitlements only: select= fields' },
    apiVersion: { type: 'string', pattern: '^\\d+\\.\\d+(-preview(\\.\\d+)?)?$', description: 'entitlements only: api-version (below 6.0 pages with top/skip)' },
  },
} as const satisfies SelectorSchema;

type UserSelector = SelectorOf<typeof selectorSchema>;

/**
 * Users from the entitlements API (default: one item per licensed user) or from graph users, the latter optionally
 * with their direct groups (`__groups`) and the projects those groups belong to (`__projects`).
 */
async function* fetchUsers(ctx: FetchContext, selector: UserSelector): AsyncGenerator<RawItem[]> {
  if (selector.source !== 'graph') {
    yield* entitlementPages(ctx, { includeFields: selector.includeFields, apiVersion: selector.apiVersion });
    return;
  }
  const subjectTypes = selector.subjectTypes && selector.subjectTypes.length > 0 ? selector.subjectTypes.join(',') : undefined;
  for await (const page of graphPages(ctx, 'users', { subjectTypes })) {
    if (!selector.includeGroupMemberships) {
      yield page;
      continue;
    }
    yield await withGroups(ctx, page);
  }
}

/** Memberships (Up) per user, 10 at a time; one subject lookup per page of users for all their groups. */
async function withGroups(ctx: FetchContext, users: GraphSubjectRef[]): Promise<RawItem[]> {
  const containers = new Map<string, string[]>();
  const load = async function* (u: GraphSubjectRef): AsyncGenerator<void> {
    if (typeof u?.descriptor !== 'string') return;
    const edges = await unlessGone(ctx, `group memberships of user "${String(u.principalName ?? u.descriptor)}"`, () => memberships(ctx, u.descriptor, 'up'), []);
    containers.set(u.descriptor, edges.map((e) => e.containerDescriptor).filter((d): d is string => typeof d === 'string'));
    yield;
  };
  for await (const _ of mergeMap(users, load, 10)) void _;
  const subjects = await lookupSubjects(ctx, [...containers.values()].flat());
  return users.map((u) => {
    const groups = (containers.get(u?.descriptor) ?? []).map((d) => subjects.get(d)).filter((g): g is GraphSubjectRef => g !== undefined);
    const projects = [...new Set(groups.map(projectOfGroup).filter((p): p is string => p !== undefined))].sort();
    return { ...u, __groups: groups, __projects: projects };
  });
}

export const userKind: KindDefinition<UserSelector> = {
  kind: 'user',
  description: 'Users of the organization, from user entitlements (default) or from the graph',
  serverSupported: false,
  docs: {
    endpoints:
      'entitlements: GET vsaex _apis/userentitlements (body continuation); graph: GET vssps _apis/graph/users (header continuation), with includeGroupMemberships GET graph/memberships/{user}?direction=Up per user and POST graph/subjectlookup (500 per call)',
    enrichment: ['__groups', '__projects'],
  },
  selectorSchema,
  fetch: fetchUsers,
  incremental: fromAuditLog(fetchUsers, {
    reads: 'the audit log since the cursor: a license assigned, changed or removed, or a group membership changed, lists the users whole; otherwise nothing is read',
    concerns: (e) => e.actionId.startsWith('Licensing.') || e.actionId.startsWith('Group.UpdateGroupMembership'),
  }),
};
