/**
 * Which Azure DevOps organizations to sync and how to authenticate, validated from the settings: the account mode,
 * the auth method and the credentials it needs, organization URLs (well-formed, of an allowed host in multiple mode,
 * each once). Errors name the setting as settingsTable.ts declares it and never echo a secret.
 */
import type { EntraAuthMethod } from '../ado/entraAuth.js';
import { parseOrganizationUrl, type Organization } from '../ado/orgUrl.js';
import { errorMessage, UserInputError } from '../util/errors.js';
import { howToSet, settingName, settingSpec, type SettingKey, type Settings } from './settings.js';

export type AccountMode = NonNullable<Settings['accountMode']>;
/** `pat`, or an Entra ID credential that ado/entraAuth.ts builds (the compiler checks every other value is one). */
export type AuthMethod = NonNullable<Settings['authMethod']>;

export interface AccountSettings {
  mode: AccountMode;
  method: AuthMethod;
  organizations: Organization[];
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Mode, auth method and organizations, validated. */
export function resolveAccountSettings(settings: Settings): AccountSettings {
  const urls = settings.organizationUrls ?? [];
  const mode = settings.accountMode ?? (urls.length > 0 && !settings.organizationUrl ? 'multiple' : 'single');
  const method = settings.authMethod ?? (mode === 'multiple' ? 'client-secret' : 'pat');

  let organizations: Organization[];
  if (mode === 'single') {
    const url = settings.organizationUrl ?? (urls.length === 1 ? urls[0] : undefined);
    if (!url) {
      if (urls.length > 1) throw new UserInputError(`${settingName('organizationUrls')} lists ${urls.length} organizations but accountMode is single: set ${settingName('accountMode')} to multiple`);
      throw new UserInputError(`no organization URL: ${howToSet('organizationUrl')}`);
    }
    organizations = [parseOrganizationUrl(url, settings.adoFlavor)];
  } else {
    organizations = multipleOrganizations(settings, urls, method, settings.authMethod !== undefined);
  }

  if (method !== 'pat') {
    const server = organizations.find((o) => o.flavor === 'server');
    if (server) {
      throw new UserInputError(
        `${server.url} is an Azure DevOps Server collection: Entra ID tokens (${settingName('authMethod')} "${method}") are a cloud feature; use single mode with a personal access token (or ${settingSpec('adoFlavor').env[0]}=services for a proxy of Azure DevOps Services)`,
      );
    }
    requireEntraSettings(settings, method);
  } else if (!settings.personalAccessToken) {
    throw new UserInputError(`no personal access token: ${howToSet('personalAccessToken')}`);
  }
  return { mode, method, organizations };
}

function multipleOrganizations(settings: Settings, urls: string[], method: AuthMethod, methodSet: boolean): Organization[] {
  if (urls.length === 0) {
    throw new UserInputError(`multiple mode needs ${settingName('organizationUrls')}: a comma-separated list such as https://dev.azure.com/org-a,https://dev.azure.com/org-b`);
  }
  if (method === 'pat') {
    throw new UserInputError(
      `multiple mode does not accept a personal access token (${settingName('authMethod')} is "pat"): global PATs stopped working on 2026-12-01 and an organization-scoped PAT reaches one organization only. Use an Entra ID credential: set clientId, clientSecret and tenantId (or authMethod client-certificate, managed-identity or workload-identity)`,
    );
  }
  if (!methodSet && settings.personalAccessToken && !settings.clientId && !settings.clientSecret) {
    throw new UserInputError(
      `multiple mode does not accept a personal access token (${settingName('personalAccessToken')} is set): global PATs stopped working on 2026-12-01. Set clientId, clientSecret and tenantId of an Entra ID service principal added to every organization`,
    );
  }
  const organizations = urls.map((u, i) => parseAllowed(u, i, settings));
  const seen = new Map<string, string>();
  for (const [i, org] of organizations.entries()) {
    const key = org.flavor === 'services' && org.hostStyle !== 'custom' ? `services:${org.name.toLowerCase()}` : org.url.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) throw new UserInputError(`${settingName('organizationUrls')}: "${urls[i]}" is the same organization as "${first}"; list each organization once`);
    seen.set(key, urls[i] as string);
  }
  return organizations;
}

function parseAllowed(raw: string, index: number, settings: Settings): Organization {
  const where = `${settingName('organizationUrls')} item ${index + 1}`;
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
    `${where}: "${raw}" is not an Azure DevOps organization URL (https://dev.azure.com/{org} or https://{org}.visualstudio.com); for Azure DevOps Server add its host to ${settingName('allowedServerHosts')}`,
  );
}

/** The settings each Entra ID method needs. */
const ENTRA_NEEDS: Record<EntraAuthMethod, SettingKey[]> = {
  'client-secret': ['tenantId', 'clientId', 'clientSecret'],
  'client-certificate': ['tenantId', 'clientId', 'clientCertificatePath'],
  'managed-identity': [],
  'workload-identity': ['tenantId', 'clientId', 'federatedTokenFile'],
};

function requireEntraSettings(s: Settings, method: EntraAuthMethod): void {
  const missing = ENTRA_NEEDS[method].filter((key) => !s[key]).map(settingName);
  if (missing.length > 0) throw new UserInputError(`${method} auth needs ${missing.join(', ')}`);
}

