import { describe, expect, test } from '@jest/globals';
import { TokenCache, type PortToken } from '../../src/catalog/port/token.js';
import { resolvePortBaseUrl } from '../../src/catalog/port/settings.js';
import { oceanOwnershipQuery, ownedByAnyQuery, ownershipQuery, userAgent } from '../../src/catalog/port/ownership.js';
import { waitFromHeaders } from '../../src/http/governor.js';

function fakeIssuer(lifetimeSeconds: number) {
  let n = 0;
  return {
    get issued() {
      return n;
    },
    fetch: async (): Promise<PortToken> => ({ accessToken: `t${++n}`, expiresIn: lifetimeSeconds, tokenType: 'Bearer' }),
  };
}

describe('TokenCache', () => {
  test('reuses the token until shortly before it expires, then refreshes', async () => {
    let now = 1_000_000;
    const issuer = fakeIssuer(3 * 3600);
    const cache = new TokenCache(issuer.fetch, 60_000, () => now);
    expect(await cache.get()).toEqual({ header: 'Bearer t1', token: 't1' });
    now += 3 * 3600 * 1000 - 61_000;
    expect((await cache.get()).token).toBe('t1');
    now += 2_000; // inside the 60 s margin
    expect((await cache.get()).token).toBe('t2');
    expect(issuer.issued).toBe(2);
  });

  test('the margin is at most a tenth of a short lifetime', async () => {
    let now = 0;
    const issuer = fakeIssuer(10);
    const cache = new TokenCache(issuer.fetch, 60_000, () => now);
    await cache.get();
    now = 8_999;
    expect((await cache.get()).token).toBe('t1');
    now = 9_000;
    expect((await cache.get()).token).toBe('t2');
  });

  test('concurrent callers share one fetch; invalidate drops only the rejected token', async () => {
    const issuer = fakeIssuer(3600);
    const cache = new TokenCache(issuer.fetch);
    const got = await Promise.all([cache.get(), cache.get(), cache.get()]);
    expect(new Set(got.map((g) => g.token))).toEqual(new Set(['t1']));
    expect(issuer.issued).toBe(1);
    cache.invalidate('t1');
    expect((await cache.get()).token).toBe('t2');
    cache.invalidate('t1'); // a late 401 for the old token must not throw away the new one
    expect((await cache.get()).token).toBe('t2');
    expect(issuer.issued).toBe(2);
  });
});

describe('Port settings and ownership', () => {
  test('base URL: EU default, US, custom (trailing slash and /v1 tolerated)', () => {
    expect(resolvePortBaseUrl({})).toBe('https://api.port.io');
    expect(resolvePortBaseUrl({ region: 'us' })).toBe('https://api.us.port.io');
    expect(resolvePortBaseUrl({ region: 'us', baseUrl: 'https://port.internal.example/v1/' })).toBe('https://port.internal.example');
    expect(resolvePortBaseUrl({ baseUrl: 'US' })).toBe('https://api.us.port.io');
    expect(resolvePortBaseUrl({ baseUrl: 'eu' })).toBe('https://api.port.io');
    expect(() => resolvePortBaseUrl({ baseUrl: 'not a url' })).toThrow(/not a valid URL/);
  });

  test('User-Agent carries version, instance and feature; ownership anchors product and instance, skipping the version', () => {
    expect(userAgent('prod-ado', '1.2.3')).toBe('ado-catalog-sync/1.2.3/prod-ado/exporter');
    expect(ownershipQuery('prod-ado')).toEqual({
      combinator: 'and',
      rules: [
        { property: '$datasource', operator: 'beginsWith', value: 'ado-catalog-sync/' },
        { property: '$datasource', operator: 'endsWith', value: '/prod-ado/exporter' },
      ],
    });
    expect(oceanOwnershipQuery('ocean-ado').rules).toEqual([
      { property: '$datasource', operator: 'beginsWith', value: 'port-ocean/azure-devops/' },
      { property: '$datasource', operator: 'endsWith', value: '/ocean-ado/exporter' },
    ]);
    expect(ownedByAnyQuery('prod-ado')).toEqual(ownershipQuery('prod-ado'));
    expect(ownedByAnyQuery('prod-ado', 'ocean-ado')).toEqual({ combinator: 'or', rules: [ownershipQuery('prod-ado'), oceanOwnershipQuery('ocean-ado')] });
    expect(() => userAgent('has/slash')).toThrow(/integration identifier/);
    expect(() => oceanOwnershipQuery('a/b')).toThrow(/adopted Ocean identifier/);
  });

  test('waitFromHeaders: Retry-After always, x-ratelimit-reset only when throttled', () => {
    const now = 1_700_000_000_000;
    expect(waitFromHeaders(new Headers({ 'retry-after': '3' }), false, now)).toBe(3000);
    expect(waitFromHeaders(new Headers({ 'retry-after': new Date(now + 5000).toUTCString() }), false, now)).toBe(5000);
    expect(waitFromHeaders(new Headers({ 'x-ratelimit-reset': '30' }), false, now)).toBeUndefined();
    expect(waitFromHeaders(new Headers({ 'x-ratelimit-reset': '30' }), true, now)).toBe(30_000);
    expect(waitFromHeaders(new Headers({ 'x-ratelimit-reset': String(now / 1000 + 7) }), true, now)).toBe(7000);
  });
});
