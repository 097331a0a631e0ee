import { AdoNotFoundError } from '../ado/errors.js';
import { mergeMap } from '../util/asyncIter.js';
import { graphPages, lookupSubjects, memberships, type GraphSubjectRef } from './shared/graph.js';
import type { FetchContext, KindDefinition, RawItem, Selector } from './types.js';

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
  const descriptors = edges.map((e) => e.memberDescriptor).filter((d): d is string => typeof d === 'string');
  if (descriptors.length === 0) return;
  const subjects = await lookupSubjects(ctx, descriptors);
  const unresolved = descriptors.filter((d) => !subjects.has(d));
  if (unresolved.length > 0) {
    ctx.log.debug({ group: group.principalName, unresolved: unresolved.length }, 'group members the subject lookup did not return (skipped)');
  }
  const members = descriptors.flatMap((d) => {
    const s = subjects.get(d);
    return s ? [{ ...s, __group: group }] : [];
  });
  if (members.length > 0) yield members;
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
};
