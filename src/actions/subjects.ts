/**
 * Finding the Azure DevOps graph subjects an action names: a user by principal name (sign-in address) or descriptor, a
 * group by descriptor or name (`[Project]\Group`, or a display name narrowed by a project). Names go through graph
 * subject query (`POST vssps _apis/graph/subjectquery`, at most 100 results); when its answer is full and holds no exact
 * match, the graph listing is read to be sure.
 */
import { postList } from '../ado/paging.js';
import { API } from '../kinds/shared/api.js';
import { graphPages, lookupSubjects, type GraphSubjectRef } from '../kinds/shared/graph.js';
import type { FetchContext } from '../kinds/types.js';
import { ActionFailure } from './types.js';

export interface GraphSubject extends GraphSubjectRef {
  subjectKind?: string;
  displayName?: string;
  mailAddress?: string;
  /** `aad` for Entra-sourced subjects, `vsts` for Azure DevOps's own, `msa` for Microsoft accounts. */
  origin?: string;
  /** For `aad` subjects: the Entra object id. */
  originId?: string;
}

/** Subject query answers at most this many subjects ("a batch with no more than 100 graph subjects"). */
const SUBJECT_QUERY_MAX = 100;

/** Descriptor prefixes (subject types) of users, service principals and groups. */
const DESCRIPTOR = /^(aad|msa|svc|imp|bnd|win|ghb|unauth|aadsp|s2s|vssgp|aadgp)\.[A-Za-z0-9_=-]+$/i;

export function isDescriptor(s: string): boolean {
  return DESCRIPTOR.test(s);
}

/** An Entra-sourced group: its members are Entra's to change (Microsoft Graph), not Azure DevOps's. */
export function isEntraGroup(group: GraphSubject): boolean {
  return group.descriptor.toLowerCase().startsWith('aadgp.') || group.origin?.toLowerCase() === 'aad';
}

export function describeSubject(s: GraphSubject): string {
  return s.principalName && s.principalName !== s.displayName ? `${s.displayName ?? s.descriptor} (${s.principalName})` : (s.displayName ?? s.descriptor);
}

async function byDescriptor(ctx: FetchContext, descriptor: string, what: string, org: string): Promise<GraphSubject> {
  const found = (await lookupSubjects(ctx, [descriptor])).get(descriptor) as GraphSubject | undefined;
  if (!found) throw new ActionFailure(`no ${what} with descriptor ${descriptor} in ${org}`);
  return found;
}

/** Subjects whose names may match `query`, then the exact matches; the full listing when the answer may be cut. */
async function search(ctx: FetchContext, query: string, kind: 'User' | 'Group', exact: (s: GraphSubject) => boolean): Promise<GraphSubject[]> {
  const url = ctx.client.url('_apis/graph/subjectquery', 'vssps');
  const found = await postList<GraphSubject>(ctx.client, url, { query, subjectKind: [kind] }, { query: { 'api-version': API.graph }, idOf: (s) => s?.descriptor, signal: ctx.signal });
  const matches = found.filter((s) => typeof s?.descriptor === 'string' && exact(s));
  if (matches.length > 0 || found.length < SUBJECT_QUERY_MAX) return matches;
  const all: GraphSubject[] = [];
  for await (const page of graphPages<GraphSubject>(ctx, kind === 'User' ? 'users' : 'groups')) all.push(...page.filter(exact));
  return all;
}

const same = (a: unknown, b: string) => typeof a === 'string' && a.toLowerCase() === b.toLowerCase();

/** A user by descriptor or principal name (the sign-in address; the mail address is accepted too). */
export async function resolveUser(ctx: FetchContext, user: string, org: string): Promise<GraphSubject> {
  if (isDescriptor(user)) return byDescriptor(ctx, user, 'user or group', org);
  const matches = await search(ctx, user, 'User', (s) => same(s.principalName, user) || same(s.mailAddress, user));
  if (matches.length === 0) throw new ActionFailure(`no user "${user}" in ${org} (the principal name is the sign-in address, e.g. jane@contoso.com; add a new user with ado_add_user first)`);
  return matches.find((s) => same(s.principalName, user)) ?? (matches[0] as GraphSubject);
}

/**
 * A group by descriptor, by `[Scope]\Name` (its principal name), or by display name, narrowed to a project when given.
 * Several groups of one name (every project has its Contributors) is a failure listing them.
 */
export async function resolveGroup(ctx: FetchContext, group: string, project: string | undefined, org: string): Promise<GraphSubject> {
  if (isDescriptor(group)) {
    const found = await byDescriptor(ctx, group, 'group', org);
    if (found.subjectKind && found.subjectKind.toLowerCase() !== 'group') throw new ActionFailure(`${group} is a ${found.subjectKind}, not a group`);
    return found;
  }
  const scoped = /^\[([^\]]+)\]\\(.+)$/.exec(group);
  const name = scoped ? (scoped[2] as string) : group;
  const scope = scoped?.[1] ?? project;
  const matches = await search(ctx, name, 'Group', (s) => {
    if (!same(s.displayName, name)) return false;
    return scope === undefined || (s.principalName ?? '').toLowerCase().startsWith(`[${scope.toLowerCase()}]\\`);
  });
  if (matches.length === 1) return matches[0] as GraphSubject;
  const where = scope ? ` of "${scope}"` : '';
  if (matches.length === 0) throw new ActionFailure(`no group "${name}"${where} in ${org} (name it as [Project]\\Group, or by its descriptor)`);
  const names = matches.map((m) => m.principalName ?? m.descriptor).join(', ');
  throw new ActionFailure(`"${group}" names ${matches.length} groups in ${org}: ${names}; name one as [Project]\\Group, give the "project" input, or use its descriptor`);
}
