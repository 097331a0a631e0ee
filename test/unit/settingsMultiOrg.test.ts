import { describe, expect, it } from '@jest/globals';
import { resolveAccountSettings } from '../../src/config/accounts.js';
import { loadSettings } from '../../src/config/settings.js';
import { buildTargets } from '../../src/sync/targets.js';
import { silentLogger } from '../../src/observability/log.js';

const SP = { ADO_CLIENT_ID: 'app-id', ADO_CLIENT_SECRET: 'very-secret-value', ADO_TENANT_ID: 'tenant-id' };
const settings = (env: Record<string, string>) => loadSettings({}, env);
const resolve = (env: Record<string, string>) => resolveAccountSettings(settings(env));

describe('account mode and organization settings', () => {
  it('accepts Ocean names and values for the mode, the URL list and the service principal', () => {
    const s = settings({
      OCEAN__INTEGRATION__CONFIG__ACCOUNT_MODE: 'Multiple Accounts',
      OCEAN__INTEGRATION__CONFIG__ORGANIZATION_URLS: 'https://dev.azure.com/a, https://b.visualstudio.com',
      OCEAN__INTEGRATION__CONFIG__CLIENT_ID: 'app-id',
      OCEAN__INTEGRATION__CONFIG__CLIENT_SECRET: 'very-secret-value',
      OCEAN__INTEGRATION__CONFIG__TENANT_ID: 'tenant-id',
    });
    expect(s.organizationUrls).toEqual(['https://dev.azure.com/a', 'https://b.visualstudio.com']);
    const a = resolveAccountSettings(s);
    expect(a.mode).toBe('multiple');
    expect(a.method).toBe('client-secret');
    expect(a.organizations.map((o) => o.name)).toEqual(['a', 'b']);
    const targets = buildTargets(s, silentLogger);
    expect(targets).toHaveLength(2);
    expect(targets[0]!.client).not.toBe(targets[1]!.client);
    expect(s.maxConcurrentOrganizations).toBe(2);
  });

  it.each([
    ['single', 'single'],
    ['Single Account', 'single'],
    ['multiple', 'multiple'],
    ['MULTIPLE_ACCOUNTS', 'multiple'],
  ])('reads accountMode %s', (raw, mode) => {
    expect(settings({ ADO_ACCOUNT_MODE: raw }).accountMode).toBe(mode);
  });

  it('rejects an unknown account mode or auth method naming the variable that set it', () => {
    expect(() => settings({ OCEAN__INTEGRATION__CONFIG__ACCOUNT_MODE: 'several' })).toThrow(
      /^OCEAN__INTEGRATION__CONFIG__ACCOUNT_MODE: "several" is not an account mode \(single or multiple; Ocean's "Single Account"/,
    );
    expect(() => loadSettings({ 'account-mode': 'several' }, {})).toThrow(/^--account-mode: "several" is not an account mode/);
    expect(settings({ ADO_AUTH_METHOD: 'Client-Secret' }).authMethod).toBe('client-secret');
  });

  it('keeps single mode with a PAT working', () => {
    const a = resolve({ ADO_ORGANIZATION_URL: 'https://dev.azure.com/acme', ADO_PERSONAL_ACCESS_TOKEN: 'pat-value' });
    expect(a).toMatchObject({ mode: 'single', method: 'pat' });
    expect(a.organizations[0]!.name).toBe('acme');
  });

  it('refuses a PAT in multiple mode with a clear message', () => {
    const base = { ADO_ACCOUNT_MODE: 'multiple', ADO_ORGANIZATION_URLS: 'https://dev.azure.com/a,https://dev.azure.com/b' };
    expect(() => resolve({ ...base, ADO_AUTH_METHOD: 'pat', ADO_PERSONAL_ACCESS_TOKEN: 'pat-value' })).toThrow(
      /multiple mode does not accept a personal access token.*Entra ID/,
    );
    expect(() => resolve({ ...base, ADO_PERSONAL_ACCESS_TOKEN: 'pat-value' })).toThrow(/multiple mode does not accept a personal access token/);
    try {
      resolve({ ...base, ADO_PERSONAL_ACCESS_TOKEN: 'pat-value' });
    } catch (err) {
      expect(String(err)).not.toContain('pat-value');
    }
  });

  it('rejects malformed URLs, foreign hosts and plain http, naming the setting and the item', () => {
    const base = { ADO_ACCOUNT_MODE: 'multiple', ...SP };
    expect(() => resolve({ ...base, ADO_ORGANIZATION_URLS: 'https://dev.azure.com/a,not a url' })).toThrow(/organizationUrls.*item 2.*not a valid URL/);
    expect(() => resolve({ ...base, ADO_ORGANIZATION_URLS: 'https://evil.example.com/tfs/x' })).toThrow(/organizationUrls.*item 1.*allowedServerHosts/);
    expect(() => resolve({ ...base, ADO_ORGANIZATION_URLS: 'http://dev.azure.com/a' })).toThrow(/must use https/);
    expect(() => resolve({ ...base, ADO_ORGANIZATION_URLS: 'https://dev.azure.com/a/project' })).toThrow(/extra path segments/);
  });

  it('rejects duplicates, including the same organization under its legacy host', () => {
    const base = { ADO_ACCOUNT_MODE: 'multiple', ...SP };
    expect(() => resolve({ ...base, ADO_ORGANIZATION_URLS: 'https://dev.azure.com/a,https://dev.azure.com/A/' })).toThrow(/same organization/);
    expect(() => resolve({ ...base, ADO_ORGANIZATION_URLS: 'https://dev.azure.com/a,https://a.visualstudio.com' })).toThrow(/same organization/);
  });

  it('allows loopback only with ADO_FLAVOR, and Server hosts only when listed', () => {
    const base = { ADO_ACCOUNT_MODE: 'multiple', ...SP };
    expect(() => resolve({ ...base, ADO_ORGANIZATION_URLS: 'http://127.0.0.1:8080/a' })).toThrow(/allowedServerHosts/);
    expect(resolve({ ...base, ADO_ORGANIZATION_URLS: 'http://127.0.0.1:8080/a', ADO_FLAVOR: 'services' }).organizations[0]!.name).toBe('a');
    // Listed Server host: allowed as a host, but Entra tokens do not work on Azure DevOps Server.
    expect(() => resolve({ ...base, ADO_ORGANIZATION_URLS: 'https://tfs.corp/tfs/Default', ADO_ALLOWED_SERVER_HOSTS: 'tfs.corp' })).toThrow(
      /Azure DevOps Server collection.*personal access token/,
    );
  });

  it('names the missing Entra settings per method, never echoing a secret', () => {
    const base = { ADO_ACCOUNT_MODE: 'multiple', ADO_ORGANIZATION_URLS: 'https://dev.azure.com/a' };
    expect(() => resolve({ ...base, ADO_CLIENT_SECRET: 'very-secret-value' })).toThrow(/client-secret auth needs tenantId.*clientId/);
    expect(() => resolve({ ...base, ADO_AUTH_METHOD: 'client-certificate', ADO_TENANT_ID: 't', ADO_CLIENT_ID: 'c' })).toThrow(/clientCertificatePath/);
    expect(() => resolve({ ...base, ADO_AUTH_METHOD: 'workload-identity' })).toThrow(/AZURE_FEDERATED_TOKEN_FILE/);
    expect(resolve({ ...base, ADO_AUTH_METHOD: 'managed-identity' }).method).toBe('managed-identity');
    expect(() => resolve({ ...base, ADO_AUTH_METHOD: 'kerberos' })).toThrow(/^ADO_AUTH_METHOD: "kerberos" is not an auth method \(pat, client-secret, /);
    expect(() =>
      buildTargets(settings({ ...base, ADO_AUTH_METHOD: 'client-certificate', ADO_TENANT_ID: 't', ADO_CLIENT_ID: 'c', ADO_CLIENT_CERTIFICATE_PATH: '/nonexistent.pem' }), silentLogger),
    ).toThrow(/clientCertificatePath.*does not exist/);
  });

  it('needs the URL list in multiple mode and a positive organization parallelism', () => {
    expect(() => resolve({ ADO_ACCOUNT_MODE: 'Multiple Accounts', ...SP })).toThrow(/multiple mode needs organizationUrls/);
    expect(() => settings({ ADO_MAX_CONCURRENT_ORGANIZATIONS: '0' })).toThrow(/^ADO_MAX_CONCURRENT_ORGANIZATIONS must be at least 1, got 0$/);
    expect(() => loadSettings({ 'max-concurrent-organizations': 'two' }, {})).toThrow(/^--max-concurrent-organizations must be a whole number, got "two"$/);
  });

  it('shares one credential between every organization', () => {
    const s = settings({ ADO_ACCOUNT_MODE: 'multiple', ADO_ORGANIZATION_URLS: 'https://dev.azure.com/a,https://dev.azure.com/b', ...SP });
    const [a, b] = buildTargets(s, silentLogger);
    expect((a!.client as unknown as { auth: unknown }).auth).toBe((b!.client as unknown as { auth: unknown }).auth);
  });
});
