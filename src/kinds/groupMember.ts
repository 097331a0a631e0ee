import { AdoNotFoundError } from '../ado/errors.js';
import { mergeMap } from '../util/asyncIter.js';
import { graphPages, lookupSubjects, memberships, type GraphMembership, type GraphSubjectRef } from './shared/graph.js';
import type { EventOutcome, FetchContext, KindDefinition, RawItem, RefetchHint, Selector } from './types.js';

/** Direct members of every group (users, groups — Entra ones included — and service principals), each with `__group`. */
async function* fetchGroupMembers(ctx: FetchContext): AsyncGenerator<RawItem[]> {
  yield* mergeMap(graphPages(ctx, 'groups'), (page) => mergeMap(page, (g) => membersOf(ctx, g), 5), 1);
}

async function* membersOf(ctx: FetchContext, group: GraphSubjectRef): AsyncGenerator<RawItem[]> {
  if (typeof group?.descriptor !== 'string') return;
  let edges;
  try {
    edges = await memberships(ctx, group.descriptor, 'down');
  } catch (err) {
    if (!(err instanceof AdoNotFoundError)) throw err;
    ctx.markIncomplete(`members of group "${String(group.principalName ?? group.descriptor)}": not found (deleted while syncing?)`);
    return;
  }
  const descriptors = memberDescriptors(edges);
  if (descriptors.length === 0) return;
  const members = withGroup(ctx, group, descriptors, await lookupSubjects(ctx, descriptors));
  if (members.length > 0) yield members;
}

function memberDescriptors(edges: GraphMembership[]): string[] {
  return edges.map((e) => e.memberDescriptor).filter((d): d is string => typeof d === 'string');
}

/** The members the subject lookup resolved, each with `__group`, in the order of the memberships listing. */
function withGroup(ctx: FetchContext, group: GraphSubjectRef, descriptors: string[], subjects: Map<string, GraphSubjectRef>): RawItem[] {
  const unresolved = descriptors.filter((d) => !subjects.has(d));
  if (unresolved.length > 0) {
    ctx.log.debug({ group: group.principalName, unresolved: unresolved.length }, 'group members the subject lookup did not return (skipped)');
  }
  return descriptors.flatMap((d) => {
    const s = subjects.get(d);
    return s ? [{ ...s, __group: group }] : [];
  });
}

/**
 * A group's members after a change (hint `{groupDescriptor, memberDescriptor?}`): every current member, and the hinted
 * member as deleted when it is no longer one (or the group is gone).
 */
async function refetchGroupMembers(ctx: FetchContext, _selector: Selector, hint: RefetchHint): Promise<EventOutcome> {
  const groupDescriptor = typeof hint.groupDescriptor === 'string' && hint.groupDescriptor !== '' ? hint.groupDescriptor : undefined;
  if (!groupDescriptor) throw new Error('group-member refetch: the hint has no groupDescriptor');
  const memberDescriptor = typeof hint.memberDescriptor === 'string' && hint.memberDescriptor !== '' ? hint.memberDescriptor : undefined;
  let edges: GraphMembership[] = [];
  try {
    edges = await memberships(ctx, groupDescriptor, 'down');
  } catch (err) {
    if (!(err instanceof AdoNotFoundError)) throw err;
  }
  const descriptors = memberDescriptors(edges);
  const subjects = await lookupSubjects(ctx, [groupDescriptor, ...descriptors, ...(memberDescriptor ? [memberDescriptor] : [])]);
  const group = subjects.get(groupDescriptor) ?? { descriptor: groupDescriptor };
  const upsert = withGroup(ctx, group, descriptors, subjects);
  if (!memberDescriptor || descriptors.includes(memberDescriptor)) return { upsert, deleted: [] };
  return { upsert, deleted: [{ ...(subjects.get(memberDescriptor) ?? { descriptor: memberDescriptor }), __group: group }] };
}

export const groupMemberKind: KindDefinition<Selector> = {
  kind: 'group-member',
  description: 'Direct members of every group, resolved to users, groups or service principals',
  serverSupported: false,
  docs: {
    endpoints: 'GET vssps _apis/graph/groups, then per group GET graph/memberships/{group}?direction=Down and POST graph/subjectlookup (500 per call)',
    enrichment: ['__group'],
  },
  selectorSchema: { type: 'object', properties: {} },
  fetch: fetchGroupMembers,
  refetch: refetchGroupMembers,
};
