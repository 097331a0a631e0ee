/**
 * Graph and user-entitlement writes (vssps / vsaex, served on the org URL here): memberships
 * `PUT|DELETE|GET|HEAD _apis/graph/memberships/{subject}/{container}`, `POST _apis/graph/subjectquery`, and
 * `GET|PATCH|DELETE _apis/userentitlements/{id}`, `POST _apis/userentitlements`. Changes show in the listings the kinds
 * read (memberships, user entitlements), and write their audit entries (data/audit.ts). The scope a PAT needs for a
 * write is checked in http/pipeline.ts.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditContext } from '../data/audit.js';
import { graphOf, LICENSES, type GraphArea, type GraphSubject } from '../data/graph.js';
import { AdoHttpError, errors } from '../http/errors.js';
import { orgOf, queryOf, sendJson } from '../http/pipeline.js';
import { csv } from './graph.js';
import { projectIndex } from './lookup.js';

/** Subject query answers at most this many subjects. */
const SUBJECT_QUERY_MAX = 100;

function subjectOr404(g: GraphArea, descriptor: string): GraphSubject {
  const s = g.subject(descriptor);
  if (!s) throw new AdoHttpError(404, `VS860018: The subject '${descriptor}' could not be found.`, 'GraphSubjectNotFoundException');
  return s;
}

function membershipJson(g: GraphArea, subject: string, container: string): Record<string, unknown> {
  const base = g.baseUrl;
  return {
    _links: {
      self: { href: `${base}/_apis/Graph/Memberships/${subject}/${container}` },
      member: { href: `${base}/_apis/Graph/Subjects/${subject}` },
      container: { href: `${base}/_apis/Graph/Subjects/${container}` },
    },
    containerDescriptor: container,
    memberDescriptor: subject,
  };
}

/**
 * How an HTTP write shows in the audit log: the client's address and user agent, and `PAT` (Basic) or `AadToken` (an
 * Entra bearer token) as the authentication mechanism. The actor is always the organization's first identity.
 */
export function auditContextOf(req: FastifyRequest): AuditContext {
  return {
    authenticationMechanism: /^Bearer\s/i.test(req.headers.authorization ?? '') ? 'AadToken' : 'PAT',
    ipAddress: req.ip,
    userAgent: String(req.headers['user-agent'] ?? ''),
  };
}

function userEntitlementNotFound(id: string): AdoHttpError {
  return new AdoHttpError(404, `VS403283: Could not find user with id '${id}'.`, 'UserEntitlementNotFoundException');
}

export function registerGraphWriteRoutes(app: FastifyInstance): void {
  app.addContentTypeParser('application/json-patch+json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(String(body)));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  const membership = (req: FastifyRequest) => {
    const g = graphOf(orgOf(req));
    const { subject, container } = req.params as { subject: string; container: string };
    return { g, subject: subjectOr404(g, subject), container: subjectOr404(g, container) };
  };

  // GET (and HEAD, which fastify derives from it): 200 with the membership, 404 when there is none.
  app.get('/:org/_apis/graph/memberships/:subject/:container', async (req, reply) => {
    const { g, subject, container } = membership(req);
    if (!g.hasMembership(container.descriptor, subject.descriptor)) {
      throw new AdoHttpError(404, `VS860017: The membership between '${subject.descriptor}' and '${container.descriptor}' could not be found.`, 'GraphMembershipNotFoundException');
    }
    return sendJson(reply, 200, membershipJson(g, subject.descriptor, container.descriptor));
  });

  app.put('/:org/_apis/graph/memberships/:subject/:container', async (req, reply) => {
    const { g, subject, container } = membership(req);
    if (container.subjectKind !== 'group') throw errors.badRequest(`VS860020: '${container.descriptor}' is not a group.`, 'InvalidSubjectTypeException');
    if (container.origin === 'aad') {
      throw errors.badRequest(`VS860042: The membership of the Azure Active Directory group '${container.displayName}' is managed in Azure Active Directory.`, 'GraphBadRequestException');
    }
    g.addMembership(container.descriptor, subject.descriptor, auditContextOf(req));
    return sendJson(reply, 201, membershipJson(g, subject.descriptor, container.descriptor));
  });

  app.delete('/:org/_apis/graph/memberships/:subject/:container', async (req, reply) => {
    const { g, subject, container } = membership(req);
    if (!g.removeMembership(container.descriptor, subject.descriptor, auditContextOf(req))) {
      throw new AdoHttpError(404, `VS860017: The membership between '${subject.descriptor}' and '${container.descriptor}' could not be found.`, 'GraphMembershipNotFoundException');
    }
    return reply.code(200).send();
  });

  // POST graph/subjectquery {query, subjectKind: ['User'|'Group']}: names and addresses containing the query, at most 100.
  app.post('/:org/_apis/graph/subjectquery', async (req, reply) => {
    const g = graphOf(orgOf(req));
    const body = (req.body ?? {}) as { query?: unknown; subjectKind?: unknown };
    if (typeof body.query !== 'string' || body.query.trim() === '') throw errors.badRequest('query is required.', 'ArgumentNullException');
    const kinds = (Array.isArray(body.subjectKind) ? body.subjectKind : ['User', 'Group']).map((k) => String(k).toLowerCase());
    const wanted = body.query.toLowerCase();
    const pool = [...(kinds.includes('user') ? g.users : []), ...(kinds.includes('group') ? g.groups : [])];
    const value = pool
      .filter((s) => [s.displayName, s.principalName, s.mailAddress].some((v) => typeof v === 'string' && v.toLowerCase().includes(wanted)))
      .slice(0, SUBJECT_QUERY_MAX);
    return sendJson(reply, 200, { count: value.length, value });
  });

  app.get('/:org/_apis/userentitlements/:id', async (req, reply) => {
    const g = graphOf(orgOf(req));
    const { id } = req.params as { id: string };
    const found = g.entitlements(new Set(csv(queryOf(req).get('select')))).find((e) => String(e.id).toLowerCase() === id.toLowerCase());
    if (!found) throw userEntitlementNotFound(id);
    return sendJson(reply, 200, found);
  });

  // POST userentitlements: answers 200 with isSuccess and the operation's errors (a bad principal name or license).
  app.post('/:org/_apis/userentitlements', async (req, reply) => {
    const org = orgOf(req);
    const g = graphOf(org);
    const body = (req.body ?? {}) as {
      accessLevel?: { accountLicenseType?: string };
      user?: { principalName?: string };
      projectEntitlements?: Array<{ group?: { groupType?: string }; projectRef?: { id?: string } }>;
    };
    const principalName = body.user?.principalName ?? '';
    const license = body.accessLevel?.accountLicenseType ?? '';
    const fail = (key: string, value: string) => sendJson(reply, 200, { isSuccess: false, operationResult: { isSuccess: false, errors: [{ key, value }], userId: '00000000-0000-0000-0000-000000000000', result: null }, userEntitlement: null });
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(principalName)) return fail('5000', `VS403400: The user principal name '${principalName}' could not be found in the directory.`);
    if (!LICENSES[license]) return fail('5001', `VS403401: '${license}' is not an access level of this organization.`);
    const groups = (body.projectEntitlements ?? []).map((pe) => ({
      projectName: org.projects.record(projectIndex(org, pe.projectRef?.id ?? '')).name,
      groupType: pe.group?.groupType ?? '',
    }));
    const userId = g.addUser(principalName, license, groups, auditContextOf(req));
    const entitlement = g.entitlements(new Set()).find((e) => e.id === userId);
    return sendJson(reply, 200, { isSuccess: true, operationResult: { isSuccess: true, errors: [], userId, result: entitlement }, userEntitlement: entitlement });
  });

  // PATCH userentitlements/{id} (JSON Patch): replace /accessLevel.
  app.patch('/:org/_apis/userentitlements/:id', async (req, reply) => {
    const g = graphOf(orgOf(req));
    const { id } = req.params as { id: string };
    if (!String(req.headers['content-type'] ?? '').includes('application/json-patch+json')) {
      throw new AdoHttpError(415, 'VS402322: The request content type must be application/json-patch+json.', 'UnsupportedMediaTypeException');
    }
    const user = g.entitledUser(id);
    if (!user) throw userEntitlementNotFound(id);
    const audit = { ...auditContextOf(req), correlationId: randomUUID() };
    const ops = Array.isArray(req.body) ? (req.body as Array<{ op?: string; path?: string; value?: { accountLicenseType?: string } }>) : [];
    const errorsOf: Array<{ key: string; value: string }> = [];
    for (const op of ops) {
      const license = op.value?.accountLicenseType ?? '';
      if (op.op === 'replace' && op.path === '/accessLevel' && LICENSES[license]) g.setLicense(String(user.originId), license, audit);
      else errorsOf.push({ key: '5002', value: `VS403402: the operation ${op.op} ${op.path} is not supported.` });
    }
    const entitlement = g.entitlements(new Set()).find((e) => e.id === user.originId);
    const ok = errorsOf.length === 0;
    return sendJson(reply, 200, { isSuccess: ok, operationResults: [{ isSuccess: ok, errors: errorsOf, userId: user.originId, result: entitlement }], userEntitlement: entitlement });
  });

  app.delete('/:org/_apis/userentitlements/:id', async (req, reply) => {
    const g = graphOf(orgOf(req));
    const { id } = req.params as { id: string };
    if (!g.entitledUser(id)) throw userEntitlementNotFound(id);
    g.removeUser(id, auditContextOf(req));
    return reply.code(204).send();
  });
}
