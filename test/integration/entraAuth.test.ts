import { describe, expect, it } from '@jest/globals';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { ADO_SCOPE, ClientCredentialsFetchCredential, EntraAuth } from '../../src/ado/entraAuth.js';
import { startEntraStandIn } from '../simulators/ado/entra.js';

class FakeCredential implements TokenCredential {
  calls = 0;
  scopes: string[] = [];
  constructor(
    private readonly lifetimeMs: number,
    private readonly clock: () => number,
    private readonly fail = false,
  ) {}
  async getToken(scopes: string | string[]): Promise<AccessToken> {
    this.calls++;
    this.scopes.push(String(scopes));
    if (this.fail) throw new Error('AADSTS7000215: Invalid client secret provided: very-secret-value');
    return { token: `token-${this.calls}`, expiresOnTimestamp: this.clock() + this.lifetimeMs };
  }
}

describe('EntraAuth', () => {
  it('caches the token for the Azure DevOps scope and renews it before expiry', async () => {
    let now = 1_000_000;
    const cred = new FakeCredential(60 * 60_000, () => now);
    const auth = new EntraAuth(cred, 'client-secret', [], 5 * 60_000, () => now);
    expect(await auth.header()).toBe('Bearer token-1');
    expect(await auth.header()).toBe('Bearer token-1');
    expect(cred.calls).toBe(1);
    expect(cred.scopes[0]).toBe(ADO_SCOPE);
    now += 54 * 60_000; // 6 minutes left: still used
    expect(await auth.header()).toBe('Bearer token-1');
    now += 2 * 60_000; // 4 minutes left: inside the margin
    expect(await auth.header()).toBe('Bearer token-2');
  });

  it('concurrent callers share one token request; refresh on 401 fetches again', async () => {
    const now = 0;
    const cred = new FakeCredential(60 * 60_000, () => now);
    const auth = new EntraAuth(cred, 'client-secret', [], 5 * 60_000, () => now);
    const headers = await Promise.all([auth.header(), auth.header(), auth.header()]);
    expect(new Set(headers)).toEqual(new Set(['Bearer token-1']));
    expect(cred.calls).toBe(1);
    expect(await auth.refresh()).toBe(true);
    expect(await auth.header()).toBe('Bearer token-2');
  });

  it('reports a credential failure without the secret', async () => {
    const auth = new EntraAuth(new FakeCredential(1000, Date.now, true), 'client-secret', ['very-secret-value']);
    await expect(auth.header()).rejects.toThrow(/service principal: could not get an Azure DevOps token: AADSTS7000215/);
    await expect(auth.header()).rejects.not.toThrow(/very-secret-value/);
    expect(await auth.refresh()).toBe(false);
  });

  it('gets tokens from the loopback Entra stand-in with the client-credentials grant', async () => {
    const entra = await startEntraStandIn({ tokenLifetimeSeconds: 120 });
    try {
      const cred = new ClientCredentialsFetchCredential(entra.url, entra.tenantId, entra.clientId, entra.clientSecret);
      const t = await cred.getToken(ADO_SCOPE);
      expect(entra.verify(t.token)).toBe('valid');
      expect(t.expiresOnTimestamp).toBeGreaterThan(Date.now() + 100_000);
      const wrong = new ClientCredentialsFetchCredential(entra.url, entra.tenantId, entra.clientId, 'wrong-secret-xyz');
      await expect(wrong.getToken(ADO_SCOPE)).rejects.toThrow(/HTTP 401: invalid_client/);
      await expect(wrong.getToken(ADO_SCOPE)).rejects.not.toThrow(/wrong-secret-xyz/);
      entra.expireAll();
      expect(entra.verify(t.token)).toBe('expired');
    } finally {
      await entra.close();
    }
  });
});
