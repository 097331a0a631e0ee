import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { graphOf, type GraphSubject } from '../data/graph.js';
import { AdoHttpError, errors } from '../http/errors.js';
import { orgOf, queryOf, sendJson } from '../http/pipeline.js';
import type { RouteContext } from './context.js';

/** Server-sized page of the graph lists (no $top); `pageLimits.graph` overrides it. */
export const DEFAULT_GRAPH_PAGE = 500;
/** Page of GET userentitlements (no $top); `pageLimits.userEntitlements` overrides it. */
export const DEFAULT_ENTITLEMENTS_PAGE = 100;

/**
 * Graph (served on the vssps host in the cloud, on the org URL here): users, groups, service principals
 * (`X-MS-ContinuationToken` header paging), memberships, subject lookup, descriptors ⇄ storage keys; and user
 * entitlements (vsaex, body token).
 */
export function registerGraphRoutes(app: FastifyInstance, rc: RouteContext): void {
  const pageSize = (family: string, dflt: number) => {
    const limit = rc.pageLimit(family);
    return limit === Number.MAX_SAFE_INTEGER ? dflt : limit;
  };

  const headerPaged = (req: FastifyRequest, reply: FastifyReply, all: GraphSubject[]) => {
    const q = queryOf(req);
    const start = decodeToken(q.get('continuationToken'));
    const size = pageSize('graph', DEFAULT_GRAPH_PAGE);
    const value = all.slice(start, start + size);
    if (start + value.length < all.length) reply.header('X-MS-ContinuationToken', encodeToken(start + value.length));
    return sendJson(reply, 200, { count: value.length, value });
  };

  app.get('/:org/_apis/graph/users', async (req, reply) => {
    const g = graphOf(orgOf(req));
    const types = csv(queryOf(req).get('subjectTypes'));
    const users = types.length === 0 ? g.users : g.users.filter((u) => types.includes(u.descriptor.split('.')[0]?.toLowerCase() ?? ''));
    return headerPaged(req, reply, users);
  });

  app.get('/:org/_apis/graph/groups', async (req, reply) => {
    const g = graphOf(orgOf(req));
    const types = csv(queryOf(req).get('subjectTypes'));
    const groups = types.length === 0 ? g.groups : g.groups.filter((s) => types.includes(s.descriptor.split('.')[0]?.toLowerCase() ?? ''));
    return headerPaged(req, reply, groups);
  });

  app.get('/:org/_apis/graph/serviceprincipals', async (req, reply) => headerPaged(req, reply, graphOf(orgOf(req)).servicePrincipals));

  // GET graph/memberships/{descriptor}?direction=up|down — direct edges only, not paged.
  app.get('/:org/_apis/graph/memberships/:descriptor', async (req, reply) => {
    const g = graphOf(orgOf(req));
    const { descriptor } = req.params as { descriptor: string };
    if (!g.subject(descriptor)) throw new AdoHttpError(404, `VS860018: The subject '${descriptor}' could not be found.`, 'GraphSubjectNotFoundException');
    const direction = (queryOf(req).get('direction') ?? 'up').toLowerCase();
    if (direction !== 'up' && direction !== 'down') throw errors.badRequest(`The value '${direction}' is not valid for direction.`);
    const value = g.membershipsOf(descriptor, direction);
    return sendJson(reply, 200, { count: value.length, value });
  });

  // GET graph/descriptors/{storageKey} → GraphDescriptorResult {value: descriptor}; GET graph/storagekeys/{descriptor} →
  // GraphStorageKeyResult {value: storage key}. Storage keys are the subjects' originIds (see data/graph.ts); removed
  // users still resolve, as identities outlive their membership of the organization.
  app.get('/:org/_apis/graph/descriptors/:storageKey', async (req, reply) => {
    const g = graphOf(orgOf(req));
    const { storageKey } = req.params as { storageKey: string };
    const s = g.subjectByStorageKey(storageKey);
    if (!s) throw new AdoHttpError(404, `VS860018: The subject with storage key '${storageKey}' could not be found.`, 'GraphSubjectNotFoundException');
    return sendJson(reply, 200, {
      _links: {
        self: { href: `${g.baseUrl}/_apis/Graph/Descriptors/${g.storageKeyOf(s)}` },
        storageKey: { href: `${g.baseUrl}/_apis/Graph/StorageKeys/${s.descriptor}` },
        subject: { href: `${g.baseUrl}/_apis/Graph/Subjects/${s.descriptor}` },
      },
      value: s.descriptor,
    });
  });

  app.get('/:org/_apis/graph/storagekeys/:descriptor', async (req, reply) => {
    const g = graphOf(orgOf(req));
    const { descriptor } = req.params as { descriptor: string };
    const s = g.subject(descriptor);
    if (!s) throw new AdoHttpError(404, `VS860018: The subject '${descriptor}' could not be found.`, 'GraphSubjectNotFoundException');
    return sendJson(reply, 200, {
      _links: {
        self: { href: `${g.baseUrl}/_apis/Graph/StorageKeys/${s.descriptor}` },
        descriptor: { href: `${g.baseUrl}/_apis/Graph/Descriptors/${g.storageKeyOf(s)}` },
        subject: { href: `${g.baseUrl}/_apis/Graph/Subjects/${s.descriptor}` },
      },
      value: g.storageKeyOf(s),
    });
  });

  // POST graph/subjectlookup {lookupKeys:[{descriptor}]} → {count, value: {descriptor: subject}}; unknown ones are left out.
  app.post('/:org/_apis/graph/subjectlookup', async (req, reply) => {
    const g = graphOf(orgOf(req));
    const keys = (req.body as { lookupKeys?: unknown } | undefined)?.lookupKeys;
    if (!Array.isArray(keys)) throw errors.badRequest('lookupKeys is required.', 'ArgumentNullException');
    const value: Record<string, GraphSubject> = {};
    for (const k of keys) {
      const d = (k as { descriptor?: unknown })?.descriptor;
      const s = typeof d === 'string' ? g.subject(d) : undefined;
      if (s) value[s.descriptor] = s;
    }
    return sendJson(reply, 200, { count: Object.keys(value).length, value });
  });

  // GET userentitlements (vsaex) — {items, continuationToken, totalCount}; the token is null on the last page.
  app.get('/:org/_apis/userentitlements', async (req, reply) => {
    const q = queryOf(req);
    const all = graphOf(orgOf(req)).entitlements(new Set(csv(q.get('select')))).filter(entitlementFilter(q.get('$filter')));
    const start = decodeToken(q.get('continuationToken'));
    const size = pageSize('userEntitlements', DEFAULT_ENTITLEMENTS_PAGE);
    const items = all.slice(start, start + size);
    const more = start + items.length < all.length;
    return sendJson(reply, 200, { items, continuationToken: more ? encodeToken(start + items.length) : null, totalCount: all.length });
  });
}

const LICENSE_IDS: Record<string, string> = { 'account-express': 'express', 'account-stakeholder': 'stakeholder', 'account-advanced': 'advanced' };

/**
 * The `$filter` subset used here, clauses joined by `and`: `licenseId eq '…'` (Account-Express | Account-Stakeholder |
 * Account-Advanced) and `name eq '…'` (the display name or an address contains it, as the service documents).
 */
export function entitlementFilter(filter: string | undefined): (e: Record<string, unknown>) => boolean {
  if (filter === undefined || filter.trim() === '') return () => true;
  const tests = filter.split(/\s+and\s+/i).map((clause) => {
    const m = /^\s*(licenseId|name)\s+eq\s+'((?:[^']|'')*)'\s*$/i.exec(clause);
    const value = (m?.[2] ?? '').replace(/''/g, "'");
    if (m && (m[1] as string).toLowerCase() === 'name') {
      const wanted = value.toLowerCase();
      return (e: Record<string, unknown>) => {
        const u = (e.user ?? {}) as Record<string, unknown>;
        return [u.displayName, u.principalName, u.mailAddress].some((v) => typeof v === 'string' && v.toLowerCase().includes(wanted));
      };
    }
    const license = m ? LICENSE_IDS[value.toLowerCase()] : undefined;
    if (!license) throw errors.badRequest(`The filter '${filter}' is not supported.`, 'InvalidFilterException');
    return (e: Record<string, unknown>) => (e.accessLevel as { accountLicenseType?: string } | undefined)?.accountLicenseType === license;
  });
  return (e) => tests.every((t) => t(e));
}

export function csv(v: string | undefined): string[] {
  return (v ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
}

function encodeToken(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64');
}

function decodeToken(token: string | undefined): number {
  if (token === undefined || token === '') return 0;
  const m = /^offset:(\d+)$/.exec(Buffer.from(token, 'base64').toString('utf8'));
  if (!m) throw errors.badRequest(`The continuation token '${token}' is not valid.`, 'InvalidContinuationTokenException');
  return Number(m[1]);
}
