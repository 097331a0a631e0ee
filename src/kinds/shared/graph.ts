import { AdoNotFoundError } from '../../ado/errors.js';
import { getList, pagesByContinuation, postList } from '../../ado/paging.js';
import type { FetchContext, RawItem } from '../types.js';
import { API } from './api.js';

/** Descriptors per POST graph/subjectlookup (Ocean's MAX_SUBJECTS_PER_LOOKUP). */
export const SUBJECTS_PER_LOOKUP = 500;

export interface GraphSubjectRef extends RawItem {
  descriptor: string;
  principalName?: string;
  domain?: string;
}

export interface GraphMembership {
  containerDescriptor?: string;
  memberDescriptor?: string;
}

/** Pages of a graph list (users, groups, service principals): server-sized, `X-MS-ContinuationToken` header. */
export function graphPages<T extends RawItem = GraphSubjectRef>(
  ctx: FetchContext,
  resource: 'users' | 'groups' | 'serviceprincipals',
  query: Record<string, string | undefined> = {},
): AsyncIterable<T[]> {
  return pagesByContinuation<T>(ctx.client, ctx.client.url(`_apis/graph/${resource}`, 'vssps'), {
    query: { ...query, 'api-version': API.graph },
    tokenFrom: 'header',
    idOf: (s) => s?.descriptor,
    signal: ctx.signal,
  });
}

/** Direct memberships of a subject: `up` = its groups, `down` = a group's members. Not paged. */
export function memberships(ctx: FetchContext, descriptor: string, direction: 'up' | 'down'): Promise<GraphMembership[]> {
  return getList<GraphMembership>(
    ctx.client,
    ctx.client.url(`_apis/graph/memberships/${encodeURIComponent(descriptor)}`, 'vssps'),
    { direction: direction === 'up' ? 'Up' : 'Down', 'api-version': API.graph },
    { signal: ctx.signal },
  );
}

/**
 * Resolves descriptors to subjects (users, groups — Entra `aadgp.` ones included — and service principals) with POST
 * graph/subjectlookup in chunks of 500. The answer maps descriptor → subject; descriptors the service does not know are
 * absent from the result.
 */
export async function lookupSubjects(ctx: FetchContext, descriptors: Iterable<string>): Promise<Map<string, GraphSubjectRef>> {
  const unique = [...new Set(descriptors)].filter((d) => typeof d === 'string' && d !== '');
  const out = new Map<string, GraphSubjectRef>();
  const url = ctx.client.url('_apis/graph/subjectlookup', 'vssps');
  for (let i = 0; i < unique.length; i += SUBJECTS_PER_LOOKUP) {
    const chunk = unique.slice(i, i + SUBJECTS_PER_LOOKUP);
    const subjects = await postList<unknown>(ctx.client, url, { lookupKeys: chunk.map((descriptor) => ({ descriptor })) }, {
      query: { 'api-version': API.graph },
      keyed: true,
      signal: ctx.signal,
    });
    for (const s of subjects) {
      const d = (s as { descriptor?: unknown } | null)?.descriptor;
      if (typeof d === 'string') out.set(d, s as GraphSubjectRef);
    }
  }
  return out;
}

/**
 * The descriptor of a storage key (the identity GUID the audit log names subjects by): GET graph/descriptors/{key},
 * read once per run; undefined when the subject is gone (404). A value that is a descriptor already is returned as is.
 */
export function descriptorOf(ctx: FetchContext, storageKey: string): Promise<string | undefined> {
  // Descriptors are `<type>.<base64>`; storage keys are GUIDs, which hold no dot.
  if (storageKey.includes('.')) return Promise.resolve(storageKey);
  return ctx.cache.memo(`graph-descriptor:${ctx.client.org.url}:${storageKey.toLowerCase()}`, async () => {
    try {
      // A GraphDescriptorResult: `value` is the descriptor (a string), not a list.
      const res = await ctx.client.get<{ value?: unknown }>(ctx.client.url(`_apis/graph/descriptors/${encodeURIComponent(storageKey)}`, 'vssps'), { 'api-version': API.graph }, ctx.signal);
      const { value: descriptor } = res.data ?? {};
      return typeof descriptor === 'string' && descriptor !== '' ? descriptor : undefined;
    } catch (err) {
      if (err instanceof AdoNotFoundError) return undefined;
      throw err;
    }
  });
}

const PROJECT_GROUP_DOMAIN = /^vstfs:\/\/\/Classification\/TeamProject\//i;

/** Project name of a project-scoped group (`[Project]\Group`); undefined for collection and Entra groups. */
export function projectOfGroup(group: GraphSubjectRef): string | undefined {
  if (!PROJECT_GROUP_DOMAIN.test(group.domain ?? '')) return undefined;
  return /^\[([^\]]+)\]\\/.exec(group.principalName ?? '')?.[1];
}
