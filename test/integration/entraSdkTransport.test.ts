/**
 * @azure/identity's token requests through the shared transport (`httpClient: azureHttpClient(transport)` with the
 * SDK's retries off): the real SDK and MSAL against a loopback https authority (a self-signed certificate made with
 * openssl), so that what the SDK sends and reads is what it does against Entra ID.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientSecretCredential } from '@azure/identity';
import { ADO_SCOPE, createEntraCredential, EntraAuth, entraTransport } from '../../src/ado/entraAuth.js';
import { azureHttpClient, NO_SDK_RETRIES } from '../../src/http/azureHttpClient.js';

const TENANT = '00000000-0000-4000-8000-00000000a11c';
const CLIENT = '11111111-1111-4111-8111-11111111c11e';
const SECRET = 'sdk-client-secret-0123456789';

let dir: string;
let server: Server;
let base: string;
let ca: Buffer;
/** Answers of the token endpoint, in order; past the end, a token. */
let tokenScript: number[] = [];
const requests: Array<{ method: string; path: string; status: number }> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'entra-sdk-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  ca = readFileSync(join(dir, 'cert.pem'));
  server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: ca }, (req, res) => {
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    const send = (status: number, body: unknown) => {
      requests.push({ method: req.method ?? '', path, status });
      res.writeHead(status, { 'content-type': 'application/json', ...(status === 503 ? { 'retry-after': '0' } : {}) });
      res.end(JSON.stringify(body));
    };
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.method === 'GET' && path === `/${TENANT}/v2.0/.well-known/openid-configuration`) {
        return send(200, {
          issuer: `${base}/${TENANT}/v2.0`,
          authorization_endpoint: `${base}/${TENANT}/oauth2/v2.0/authorize`,
          token_endpoint: `${base}/${TENANT}/oauth2/v2.0/token`,
          end_session_endpoint: `${base}/${TENANT}/oauth2/v2.0/logout`,
          jwks_uri: `${base}/${TENANT}/discovery/v2.0/keys`,
        });
      }
      if (req.method === 'POST' && path === `/${TENANT}/oauth2/v2.0/token`) {
        const form = new URLSearchParams(body);
        const status = tokenScript.shift();
        if (status !== undefined) return send(status, { error: 'temporarily_unavailable', error_description: 'AADSTS50196: try again.' });
        if (form.get('client_secret') !== SECRET) {
          return send(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.', error_codes: [7000215] });
        }
        return send(200, { token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600, access_token: `sdk-token-${requests.length}` });
      }
      send(404, { error: 'not_found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  requests.length = 0;
  tokenScript = [];
});

/** A client-secret credential as createEntraCredential makes it, plus what a loopback authority needs. */
function credential(secret = SECRET) {
  const transport = entraTransport([secret]);
  const cred = new ClientSecretCredential(TENANT, CLIENT, secret, {
    authorityHost: base,
    disableInstanceDiscovery: true,
    agent: new Agent({ ca }),
    httpClient: azureHttpClient(transport),
    retryOptions: NO_SDK_RETRIES,
  });
  return { cred, transport };
}

const tokenPosts = () => requests.filter((r) => r.method === 'POST').map((r) => r.status);

describe('@azure/identity through the transport', () => {
  it('a token request the authority cannot answer yet is retried by the transport alone, and counted', async () => {
    tokenScript = [503];
    const { cred, transport } = credential();
    const token = await cred.getToken(ADO_SCOPE);
    expect(token?.token).toMatch(/^sdk-token-/);
    expect(tokenPosts()).toEqual([503, 200]);
    expect(transport.stats).toMatchObject({ retries: 1, failures: 0 });
    expect(transport.stats.requests).toBe(requests.length);
    expect(transport.stats.byStatus.get(503)).toBe(1);
  });

  it('once the retries are spent the SDK reads the answer itself; nothing is retried twice over', async () => {
    tokenScript = [503, 503, 503, 503, 503, 503];
    const { cred, transport } = credential();
    const err = await cred.getToken(ADO_SCOPE).catch((e: unknown) => e);
    expect(String(err)).toMatch(/AADSTS50196|temporarily_unavailable|503/);
    expect(tokenPosts()).toEqual([503, 503, 503, 503]); // ENTRA_POLICY.maxAttempts, no SDK retries on top
    expect(transport.stats).toMatchObject({ retries: 3, failures: 1 });
  });

  it('a rejected secret is not retried, and the SDK reports Entra ID\'s own error without the secret', async () => {
    const { cred } = credential('wrong-secret-value-987');
    const auth = new EntraAuth(cred, 'client-secret', ['wrong-secret-value-987']);
    const err = await auth.header().catch((e: unknown) => e);
    expect(String(err)).toMatch(/AADSTS7000215/);
    expect(String(err)).not.toContain('wrong-secret-value-987');
    expect(tokenPosts()).toEqual([401]);
  });

  it('createEntraCredential routes the MSAL-based methods through a transport (its stats), not managed identity', () => {
    const secret = createEntraCredential({ method: 'client-secret', tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET });
    expect(secret.stats).toBeDefined();
    const managed = createEntraCredential({ method: 'managed-identity' });
    expect(managed.stats).toBeUndefined();
  });
});
