import { AdoNotFoundError } from '../ado/errors.js';
import { mergeMap } from '../util/asyncIter.js';
import { auditField, type AuditEntry } from './shared/auditLog.js';
import { fromAuditLog } from './shared/auditIncremental.js';
import { descriptorOf, graphPages, lookupSubjects, memberships, type GraphMembership, type GraphSubjectRef } from './shared/graph.js';
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

const MEMBERSHIP_CHANGE = /^Group\.UpdateGroupMembership\.(Add|Remove)$/;

/**
 * Memberships added or removed: each group named is read again (its members now), and a member removed that is no
 * longer one is gone. An entry whose group or member cannot be resolved reads every group's members.
 */
async function* membersOfEntries(ctx: FetchContext, selector: Selector, entries: AuditEntry[]): AsyncGenerator<RawItem[]> {
  // Resolved side by side (the client bounds the requests in flight); each storage key once per run.
  const resolved = await Promise.all(
    entries.map(async (e) => {
      const [groupKey, memberKey] = [auditField(e, 'GroupId', 'GroupDescriptor'), auditField(e, 'MemberId', 'MemberDescriptor')];
      const [group, member] = await Promise.all([groupKey && descriptorOf(ctx, groupKey), memberKey && descriptorOf(ctx, memberKey)]);
      return group && member ? { group, member, removed: e.actionId.endsWith('.Remove') } : undefined;
    }),
  );
  const pairs = resolved.filter((p) => p !== undefined);
  const unresolved = pairs.length < resolved.length;
  // Group → its members now, for every group read.
  const current = new Map<string, { members: Set<string>; ref?: RawItem }>();
  const seen = (items: RawItem[]) => {
    for (const m of items) {
      const ref = m.__group as RawItem | undefined;
      const key = String(ref?.descriptor);
      const entry = current.get(key) ?? { members: new Set<string>(), ref };
      entry.members.add(String(m.descriptor));
      current.set(key, entry);
    }
  };
  if (unresolved) {
    ctx.note?.("incremental: a membership entry names a group or member that cannot be resolved; every group's members read");
    for await (const page of fetchGroupMembers(ctx)) {
      seen(page);
      yield page;
    }
  } else {
    for (const group of new Set(pairs.map((p) => p.group))) {
      const outcome = await refetchGroupMembers(ctx, selector, { groupDescriptor: group });
      seen(outcome.upsert);
      if (!current.has(group)) current.set(group, { members: new Set() });
      if (outcome.upsert.length > 0) yield outcome.upsert;
    }
  }
  // A member removed (the newest entry about the pair decides) and not read again is gone.
  const decided = new Set<string>();
  const gone: RawItem[] = [];
  for (const p of pairs) {
    const key = `${p.group}/${p.member}`;
    if (decided.has(key)) continue;
    decided.add(key);
    const now = current.get(p.group);
    if (p.removed && !now?.members.has(p.member)) gone.push({ descriptor: p.member, __group: now?.ref ?? { descriptor: p.group } });
  }
  if (gone.length > 0) ctx.gone?.(gone);
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
  incremental: fromAuditLog(fetchGroupMembers, {
    reads: 'the audit log since the cursor: each group with a membership added or removed (Group.UpdateGroupMembership.*) has its members read again; a member removed and no longer listed is deleted',
    concerns: (e) => MEMBERSHIP_CHANGE.test(e.actionId),
    refetch: membersOfEntries,
  }),
};
