import { createHash } from 'node:crypto';
import { PatAuth, type AdoAuth } from '../ado/auth.js';
import { AdoClient } from '../ado/client.js';
import { createEntraCredential, EntraAuth, type EntraAuthMethod } from '../ado/entraAuth.js';
import { parseOrganizationUrl, type Organization } from '../ado/orgUrl.js';
import type { Settings } from '../config/settings.js';
import { errorMessage, UserInputError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { OrgTarget } from './resync.js';

export type AccountMode = 'single' | 'multiple';
export type AuthMethod = 'pat' | EntraAuthMethod;

const AUTH_METHODS: AuthMethod[] = ['pat', 'client-secret', 'client-certificate', 'managed-identity', 'workload-identity'];

const NAMES = {
  accountMode: 'accountMode (ADO_ACCOUNT_MODE / OCEAN__INTEGRATION__CONFIG__ACCOUNT_MODE / --account-mode)',
  organizationUrl: 'organizationUrl (ADO_ORGANIZATION_URL / OCEAN__INTEGRATION__CONFIG__ORGANIZATION_URL / --org)',
  organizationUrls: 'organizationUrls (ADO_ORGANIZATION_URLS / OCEAN__INTEGRATION__CONFIG__ORGANIZATION_URLS / --org-urls)',
  authMethod: 'authMethod (ADO_AUTH_METHOD / --auth-method)',
  pat: 'personalAccessToken (ADO_PERSONAL_ACCESS_TOKEN / OCEAN__INTEGRATION__CONFIG__PERSONAL_ACCESS_TOKEN)',
};

export interface AccountSettings {
  mode: AccountMode;
  method: AuthMethod;
  organizations: Organization[];
}

/** `single`, `multiple`, or Ocean's "Single Account" / "Multiple Accounts" (any case, spaces, dashes or underscores). */
export function parseAccountMode(raw: string | undefined, fallback: AccountMode): AccountMode {
  if (raw === undefined || raw.trim() === '') return fallback;
  const norm = raw.trim().toLowerCase().replace(/[\s_-]+/g, ' ');
  if (norm === 'single' || norm === 'single account') return 'single';
  if (norm === 'multiple' || norm === 'multiple accounts' || norm === 'multi') return 'multiple';
  throw new UserInputError(`${NAMES.accountMode} must be "single" or "multiple" (Ocean: "Single Account" / "Multiple Accounts"), not "${raw}"`);
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * Mode, auth method and organizations, validated: URLs well-formed, of an allowed host in multiple mode, no
 * duplicates, the credentials the method needs present. Errors name the setting and never echo a secret.
 */
export function resolveAccountSettings(settings: Settings): AccountSettings {
  const urls = settings.organizationUrls ?? [];
  const mode = parseAccountMode(settings.accountMode, urls.length > 0 && !settings.organizationUrl ? 'multiple' : 'single');
  const rawMethod = settings.authMethod?.trim().toLowerCase();
  if (rawMethod !== undefined && !AUTH_METHODS.includes(rawMethod as AuthMethod)) {
    throw new UserInputError(`${NAMES.authMethod} must be one of ${AUTH_METHODS.join(', ')}, not "${settings.authMethod}"`);
  }
  const method = (rawMethod ?? (mode === 'multiple' ? 'client-secret' : 'pat')) as AuthMethod;

  let organizations: Organization[];
  if (mode === 'single') {
    const url = settings.organizationUrl ?? (urls.length === 1 ? urls[0] : undefined);
    if (!url) {
      if (urls.length > 1) throw new UserInputError(`${NAMES.organizationUrls} lists ${urls.length} organizations but accountMode is single: set ${NAMES.accountMode} to multiple`);
      throw new UserInputError(`no organization URL: set ADO_ORGANIZATION_URL (or OCEAN__INTEGRATION__CONFIG__ORGANIZATION_URL) or pass --org`);
    }
    organizations = [parseOrganizationUrl(url, settings.adoFlavor)];
  } else {
    if (urls.length === 0) {
      throw new UserInputError(`multiple mode needs ${NAMES.organizationUrls}: a comma-separated list such as https://dev.azure.com/org-a,https://dev.azure.com/org-b`);
    }
    if (method === 'pat') {
      throw new UserInputError(
        `multiple mode does not accept a personal access token (${NAMES.authMethod} is "pat"): global PATs stopped working on 2026-12-01 and an organization-scoped PAT reaches one organization only. Use an Entra ID credential: set clientId, clientSecret and tenantId (or authMethod client-certificate, managed-identity or workload-identity)`,
      );
    }
    if (rawMethod === undefined && settings.personalAccessToken && !settings.clientId && !settings.clientSecret) {
      throw new UserInputError(
        `multiple mode does not accept a personal access token (${NAMES.pat} is set): global PATs stopped working on 2026-12-01. Set clientId, clientSecret and tenantId of an Entra ID service principal added to every organization`,
      );
    }
    organizations = urls.map((u, i) => parseAllowed(u, i, settings));
    const seen = new Map<string, string>();
    for (const [i, org] of organizations.entries()) {
      const key = org.flavor === 'services' && org.hostStyle !== 'custom' ? `services:${org.name.toLowerCase()}` : org.url.toLowerCase();
      const first = seen.get(key);
      if (first !== undefined) throw new UserInputError(`${NAMES.organizationUrls}: "${urls[i]}" is the same organization as "${first}"; list each organization once`);
      seen.set(key, urls[i] as string);
    }
  }

  if (method !== 'pat') {
    const server = organizations.find((o) => o.flavor === 'server');
    if (server) {
      throw new UserInputError(
        `${server.url} is an Azure DevOps Server collection: Entra ID tokens (${NAMES.authMethod} "${method}") are a cloud feature; use single mode with a personal access token (or ADO_FLAVOR=services for a proxy of Azure DevOps Services)`,
      );
    }
    requireEntraSettings(settings, method);
  } else if (!settings.personalAccessToken) {
    throw new UserInputError('no personal access token: pass --pat or set ADO_PERSONAL_ACCESS_TOKEN (or OCEAN__INTEGRATION__CONFIG__PERSONAL_ACCESS_TOKEN)');
  }
  return { mode, method, organizations };
}

function parseAllowed(raw: string, index: number, settings: Settings): Organization {
  const where = `${NAMES.organizationUrls} item ${index + 1}`;
  let org: Organization;
  try {
    org = parseOrganizationUrl(raw, settings.adoFlavor);
  } catch (err) {
    throw new UserInputError(`${where}: ${errorMessage(err)}`);
  }
  const u = new URL(raw.trim());
  const host = u.hostname.toLowerCase();
  const hostPort = u.host.toLowerCase();
  if (org.hostStyle !== 'custom') {
    if (u.protocol !== 'https:') throw new UserInputError(`${where}: "${raw}" must use https`);
    return org;
  }
  const allowed = (settings.allowedServerHosts ?? []).map((h) => h.trim().toLowerCase());
  if (allowed.includes(host) || allowed.includes(hostPort)) return org;
  if (LOOPBACK.has(host) && settings.adoFlavor) return org; // the bundled simulator (tests, demo)
  throw new UserInputError(
    `${where}: "${raw}" is not an Azure DevOps organization URL (https://dev.azure.com/{org} or https://{org}.visualstudio.com); for Azure DevOps Server add its host to allowedServerHosts (ADO_ALLOWED_SERVER_HOSTS)`,
  );
}

function requireEntraSettings(s: Settings, method: EntraAuthMethod): void {
  const missing: string[] = [];
  if (method === 'client-secret' || method === 'client-certificate') {
    if (!s.tenantId) missing.push('tenantId (ADO_TENANT_ID / OCEAN__INTEGRATION__CONFIG__TENANT_ID)');
    if (!s.clientId) missing.push('clientId (ADO_CLIENT_ID / OCEAN__INTEGRATION__CONFIG__CLIENT_ID)');
  }
  if (method === 'client-secret' && !s.clientSecret) missing.push('clientSecret (ADO_CLIENT_SECRET / OCEAN__INTEGRATION__CONFIG__CLIENT_SECRET)');
  if (method === 'client-certificate' && !s.clientCertificatePath) missing.push('clientCertificatePath (ADO_CLIENT_CERTIFICATE_PATH)');
  if (method === 'workload-identity') {
    if (!s.tenantId) missing.push('tenantId (ADO_TENANT_ID or AZURE_TENANT_ID)');
    if (!s.clientId) missing.push('clientId (ADO_CLIENT_ID or AZURE_CLIENT_ID)');
    if (!s.federatedTokenFile) missing.push('federatedTokenFile (AZURE_FEDERATED_TOKEN_FILE)');
  }
  if (missing.length > 0) throw new UserInputError(`${method} auth needs ${missing.join(', ')}`);
}

/** One Entra credential per distinct configuration, shared by every organization and every buildTargets call. */
const entraAuths = new Map<string, EntraAuth>();

function authFor(settings: Settings, method: AuthMethod): AdoAuth {
  if (method === 'pat') return new PatAuth(settings.personalAccessToken as string);
  const options = {
    method,
    tenantId: settings.tenantId,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
    certificatePath: settings.clientCertificatePath,
    certificatePassword: settings.clientCertificatePassword,
    managedIdentityClientId: settings.managedIdentityClientId,
    federatedTokenFile: settings.federatedTokenFile,
    authorityHost: settings.authorityHost,
  };
  const key = createHash('sha256').update(JSON.stringify(options)).digest('hex');
  let auth = entraAuths.get(key);
  if (!auth) {
    let credential;
    try {
      credential = createEntraCredential(options);
    } catch (err) {
      throw new UserInputError(errorMessage(err));
    }
    auth = new EntraAuth(credential, method, [settings.clientSecret, settings.clientCertificatePassword]);
    entraAuths.set(key, auth);
  }
  return auth;
}

/** The Azure DevOps organizations to sync, each with its own client (concurrency, rate-limit window); one shared auth. */
export function buildTargets(settings: Settings, log: Logger): OrgTarget[] {
  const account = resolveAccountSettings(settings);
  const auth = authFor(settings, account.method);
  if (account.mode === 'multiple' && settings.personalAccessToken) {
    log.warn('multiple mode: the personal access token setting is ignored; the Entra ID credential is used');
  }
  return account.organizations.map((org) => ({
    client: new AdoClient(
      org,
      auth,
      { concurrency: settings.orgConcurrency, timeoutMs: settings.requestTimeoutMs, maxAttempts: settings.maxAttempts },
      log.child({ org: org.name }),
    ),
  }));
}
