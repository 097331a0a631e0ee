/**
 * Entra ID token endpoint stand-in (client-credentials grant only), on its own loopback listener so its paths never
 * collide with organizations. Issues opaque bearer tokens for the Azure DevOps resource (accepted by the ADO simulator)
 * or for Microsoft Graph (accepted by the Graph stand-in, test/simulators/msgraph/), each valid for its own resource
 * only, until it expires. Contract: POST {authority}/{tenant}/oauth2/v2.0/token, form body
 * grant_type=client_credentials, client_id, client_secret, scope=499b84ac-1321-427f-aa17-267ca6975798/.default (or
 * https://graph.microsoft.com/.default) → {token_type, expires_in, access_token}.
 */
import { randomBytes } from 'node:crypto';
import fastify from 'fastify';

export const ADO_RESOURCE_SCOPE = '499b84ac-1321-427f-aa17-267ca6975798/.default';
export const GRAPH_RESOURCE_SCOPE = 'https://graph.microsoft.com/.default';

/** The resource a token was issued for. */
export type TokenResource = 'ado' | 'graph';
const RESOURCES: Record<string, TokenResource> = { [ADO_RESOURCE_SCOPE]: 'ado', [GRAPH_RESOURCE_SCOPE]: 'graph' };

export interface EntraStandInOptions {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** Lifetime of issued tokens in seconds (default 3600). */
  tokenLifetimeSeconds?: number;
  /** Organizations the service principal was added to (default: all); elsewhere its tokens get a 401. */
  memberOf?: string[];
  host?: string;
}

export type TokenVerdict = 'valid' | 'expired' | 'unknown' | 'not-member' | 'wrong-resource';

export interface EntraStandIn {
  /** The authority host: http://127.0.0.1:PORT */
  url: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Token requests answered with a token. */
  issued: Array<{ at: number; expiresAt: number; resource: TokenResource }>;
  tokenLifetimeSeconds: number;
  /** Whether `token` may be used on `org` (omitted: any organization) of `resource` (default Azure DevOps). */
  verify(token: string, org?: string, resource?: TokenResource): TokenVerdict;
  /** Every token issued so far expires now (as if its lifetime had run out). */
  expireAll(): void;
  close(): Promise<void>;
}

export async function startEntraStandIn(opts: EntraStandInOptions = {}): Promise<EntraStandIn> {
  const tokens = new Map<string, { expiresAt: number; resource: TokenResource }>();
  const self: Omit<EntraStandIn, 'url' | 'close'> = {
    tenantId: opts.tenantId ?? '00000000-0000-4000-8000-00000000a11c',
    clientId: opts.clientId ?? '11111111-1111-4111-8111-11111111c11e',
    clientSecret: opts.clientSecret ?? 'sim-client-secret',
    issued: [],
    tokenLifetimeSeconds: opts.tokenLifetimeSeconds ?? 3600,
    verify(token, org, resource = 'ado') {
      const t = tokens.get(token);
      if (t === undefined) return 'unknown';
      if (t.expiresAt <= Date.now()) return 'expired';
      if (t.resource !== resource) return 'wrong-resource';
      if (org !== undefined && opts.memberOf && !opts.memberOf.some((m) => m.toLowerCase() === org.toLowerCase())) return 'not-member';
      return 'valid';
    },
    expireAll() {
      const now = Date.now();
      for (const t of tokens.values()) t.expiresAt = now - 1;
    },
  };
  const app = fastify({ logger: false });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
  const fail = (status: number, error: string, description: string) => ({ status, body: { error, error_description: description, error_codes: [status === 401 ? 7000215 : 900144] } });
  app.post<{ Params: { tenant: string }; Body: Record<string, string> }>('/:tenant/oauth2/v2.0/token', async (req, reply) => {
    const b = req.body ?? {};
    let err: ReturnType<typeof fail> | undefined;
    if (req.params.tenant !== self.tenantId) err = fail(400, 'invalid_request', `AADSTS90002: Tenant '${req.params.tenant}' not found.`);
    else if (b.grant_type !== 'client_credentials') err = fail(400, 'unsupported_grant_type', 'AADSTS70003: only client_credentials is simulated.');
    else if (b.client_id !== self.clientId) err = fail(400, 'unauthorized_client', `AADSTS700016: Application with identifier '${b.client_id}' was not found.`);
    else if (b.client_secret !== self.clientSecret) err = fail(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
    else if (!RESOURCES[b.scope ?? '']) err = fail(400, 'invalid_scope', `AADSTS70011: The provided value for scope '${b.scope}' is not valid.`);
    if (err) return reply.code(err.status).send(err.body);
    const token = `sim-entra-${randomBytes(24).toString('hex')}`;
    const at = Date.now();
    const expiresAt = at + self.tokenLifetimeSeconds * 1000;
    const resource = RESOURCES[b.scope as string] as TokenResource;
    tokens.set(token, { expiresAt, resource });
    self.issued.push({ at, expiresAt, resource });
    return reply.send({ token_type: 'Bearer', expires_in: self.tokenLifetimeSeconds, ext_expires_in: self.tokenLifetimeSeconds, access_token: token });
  });
  await app.listen({ host: opts.host ?? '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('entra stand-in: unexpected server address');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return Object.assign(self, { url: `http://${host}:${address.port}`, close: () => app.close().then(() => undefined) });
}
