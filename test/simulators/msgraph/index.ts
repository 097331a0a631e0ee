/**
 * Microsoft Graph stand-in (fastify on loopback): the group-member part the actions use, under /v1.0.
 * - `GET /groups/{id}/members?$filter=id eq '…'&$select=id&$count=true` (an advanced query: needs the header
 *   `ConsistencyLevel: eventual`), `POST /groups/{id}/members/$ref` {"@odata.id": "…/directoryObjects/{id}"} (204;
 *   400 "One or more added object references already exist…" for a member twice), `DELETE
 *   /groups/{id}/members/{memberId}/$ref` (204; 404 naming the member when it is not one, naming the group when there
 *   is no such group).
 * - Bearer tokens are the Entra stand-in's (test/simulators/ado/entra.ts), issued for Graph's `.default` scope; 401
 *   otherwise. The application's permissions are a set (default GroupMember.ReadWrite.All): reads need one that reads
 *   group members, writes one that writes them; else 403 Authorization_RequestDenied.
 * - Groups and members live in an EntraDirectory: the Azure DevOps simulator's own (`sim.entraDirectory()`), so a
 *   change shows in its memberships at once, or an in-memory one (`memoryDirectory`).
 */
import fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { EntraDirectory } from '../ado/data/graph.js';
import type { EntraStandIn } from '../ado/entra.js';

export type { EntraDirectory };

const READ = ['GroupMember.Read.All', 'GroupMember.ReadWrite.All', 'Group.Read.All', 'Group.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
const WRITE = ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'];

export interface GraphStandInOptions {
  entra: EntraStandIn;
  directory: EntraDirectory;
  /** The application permissions consented to the app (default ['GroupMember.ReadWrite.All']). */
  permissions?: string[];
  host?: string;
}

export interface GraphStandIn {
  /** The base URL, `http://127.0.0.1:PORT/v1.0` (MICROSOFT_GRAPH_URL). */
  url: string;
  /** Every request: method, path (decoded) and status. */
  requests: Array<{ method: string; path: string; status: number }>;
  setPermissions(permissions: string[]): void;
  close(): Promise<void>;
}

/** A directory of groups (object id → member object ids) and other objects, in memory. */
export function memoryDirectory(groups: Record<string, string[]>, objects: string[] = []): EntraDirectory {
  const members = new Map(Object.entries(groups).map(([g, m]) => [g.toLowerCase(), new Set(m.map((x) => x.toLowerCase()))]));
  const known = new Set([...objects, ...Object.values(groups).flat()].map((x) => x.toLowerCase()));
  return {
    members: (g) => (members.has(g.toLowerCase()) ? [...members.get(g.toLowerCase())!] : undefined),
    exists: (o) => known.has(o.toLowerCase()) || members.has(o.toLowerCase()),
    add: (g, m) => void members.get(g.toLowerCase())?.add(m.toLowerCase()),
    remove: (g, m) => void members.get(g.toLowerCase())?.delete(m.toLowerCase()),
  };
}

function graphError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'application/json')
    .send({ error: { code, message, innerError: { date: new Date().toISOString(), 'request-id': '00000000-0000-0000-0000-000000000000' } } });
}

const notFound = (id: string) => `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`;

export async function startMicrosoftGraphStandIn(opts: GraphStandInOptions): Promise<GraphStandIn> {
  let permissions = new Set(opts.permissions ?? ['GroupMember.ReadWrite.All']);
  const requests: GraphStandIn['requests'] = [];
  const dir = opts.directory;
  const app = fastify({ logger: false });

  app.addHook('onRequest', async (req, reply) => {
    requests.push({ method: req.method, path: decodeURIComponent(req.url.split('?')[0] ?? ''), status: 0 });
    const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token || opts.entra.verify(token, undefined, 'graph') !== 'valid') {
      return graphError(reply, 401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.');
    }
    const needed = req.method === 'GET' ? READ : WRITE;
    if (!needed.some((p) => permissions.has(p))) {
      return graphError(reply, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
    }
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    const last = requests[requests.length - 1];
    if (last) last.status = reply.statusCode;
    return payload;
  });

  const group = (req: FastifyRequest, reply: FastifyReply): { id: string; members: string[] } | undefined => {
    const { id } = req.params as { id: string };
    const members = dir.members(id);
    if (!members) {
      graphError(reply, 404, 'Request_ResourceNotFound', notFound(id));
      return undefined;
    }
    return { id, members };
  };

  app.get('/v1.0/groups/:id/members', async (req, reply) => {
    const g = group(req, reply);
    if (!g) return reply;
    const q = req.query as Record<string, string | undefined>;
    const filter = q.$filter;
    let ids = g.members;
    if (filter !== undefined) {
      if (String(req.headers.consistencylevel ?? '').toLowerCase() !== 'eventual' || q.$count !== 'true') {
        return graphError(reply, 400, 'Request_UnsupportedQuery', "Unsupported Query. Filtering members needs the header 'ConsistencyLevel: eventual' and $count=true.");
      }
      const m = /^id eq '([^']+)'$/.exec(filter);
      if (!m) return graphError(reply, 400, 'Request_UnsupportedQuery', `Unsupported or invalid query filter clause specified: ${filter}`);
      ids = ids.filter((x) => x.toLowerCase() === (m[1] as string).toLowerCase());
    }
    return reply.send({ '@odata.count': ids.length, value: ids.map((id) => ({ '@odata.type': '#microsoft.graph.user', id })) });
  });

  app.post('/v1.0/groups/:id/members/$ref', async (req, reply) => {
    const g = group(req, reply);
    if (!g) return reply;
    const ref = (req.body as { '@odata.id'?: unknown } | undefined)?.['@odata.id'];
    const memberId = typeof ref === 'string' ? /\/directoryObjects\/([^/?#]+)$/.exec(ref)?.[1] : undefined;
    if (!memberId) return graphError(reply, 400, 'Request_BadRequest', 'Invalid URL format specified in @odata.id.');
    if (!dir.exists(memberId)) return graphError(reply, 404, 'Request_ResourceNotFound', notFound(memberId));
    if (g.members.some((m) => m.toLowerCase() === memberId.toLowerCase())) {
      return graphError(reply, 400, 'Request_BadRequest', "One or more added object references already exist for the following modified properties: 'members'.");
    }
    dir.add(g.id, memberId);
    return reply.code(204).send();
  });

  app.delete('/v1.0/groups/:id/members/:memberId/$ref', async (req, reply) => {
    const g = group(req, reply);
    if (!g) return reply;
    const { memberId } = req.params as { memberId: string };
    if (!g.members.some((m) => m.toLowerCase() === memberId.toLowerCase())) return graphError(reply, 404, 'Request_ResourceNotFound', notFound(memberId));
    dir.remove(g.id, memberId);
    return reply.code(204).send();
  });

  await app.listen({ host: opts.host ?? '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('microsoft graph stand-in: unexpected server address');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/v1.0`,
    requests,
    setPermissions: (p) => void (permissions = new Set(p)),
    close: () => app.close().then(() => undefined),
  };
}
