import { UserInputError } from '../util/errors.js';

/** Services = Azure DevOps Services (cloud); server = Azure DevOps Server / TFS collection. */
export type AdoFlavor = 'services' | 'server';

export interface Organization {
  /** Base URL without trailing slash: https://dev.azure.com/acme, https://acme.visualstudio.com, https://tfs.corp/tfs/Default */
  url: string;
  /** `__organizationName`: the org segment, the visualstudio.com subdomain, or the collection name on a Server. */
  name: string;
  flavor: AdoFlavor;
  /** Host style decides how sub-service URLs (vsrm, vssps, vsaex, advsec) are formed. */
  hostStyle: 'dev.azure.com' | 'visualstudio.com' | 'custom';
  /**
   * Explicit base URLs of sub-services, overriding the derived ones (a proxy that fronts each service on its own
   * address; the simulator's per-service stores in tests).
   */
  serviceUrls?: Partial<Record<AdoService, string>>;
}

/** Sub-services that live on their own host on Azure DevOps Services. */
export type AdoService = 'core' | 'vsrm' | 'vssps' | 'vsaex' | 'advsec' | 'analytics' | 'auditservice';

/**
 * Parses an organization URL. `flavorOverride` lets a custom host (a proxy, or the bundled simulator) act as
 * Services: its sub-services are then served from the same base URL.
 */
export function parseOrganizationUrl(raw: string, flavorOverride?: AdoFlavor): Organization {
  let parsed: URL;
  try {
    parsed = new URL(raw.trim());
  } catch {
    throw new UserInputError(`organization URL "${raw}" is not a valid URL (expected https://dev.azure.com/{org})`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new UserInputError(`organization URL "${raw}" must use http or https`);
  }
  if (parsed.username || parsed.password) {
    throw new UserInputError('organization URL must not embed credentials; use the PAT setting instead');
  }
  const host = parsed.hostname.toLowerCase();
  const segments = parsed.pathname.split('/').filter(Boolean);
  const origin = `${parsed.protocol}//${parsed.host}`;
  // Azure DevOps Services answers https only: an http URL would send the credentials in the clear to be redirected.
  if (parsed.protocol === 'http:' && (host === 'dev.azure.com' || host.endsWith('.visualstudio.com'))) {
    throw new UserInputError(`organization URL "${raw}" must use https: Azure DevOps Services answers https only (https://${parsed.host}${parsed.pathname.replace(/\/+$/, '')})`);
  }

  if (host === 'dev.azure.com') {
    const org = segments[0];
    if (!org) throw new UserInputError(`organization URL "${raw}" has no organization: use https://dev.azure.com/{org}`);
    if (segments.length > 1) {
      throw new UserInputError(`organization URL "${raw}" has extra path segments; use https://dev.azure.com/${org}`);
    }
    return { url: `${origin}/${org}`, name: org, flavor: 'services', hostStyle: 'dev.azure.com' };
  }
  if (host.endsWith('.visualstudio.com')) {
    const org = host.slice(0, -'.visualstudio.com'.length);
    if (!org || org.includes('.')) throw new UserInputError(`organization URL "${raw}" is not https://{org}.visualstudio.com`);
    return { url: origin, name: org, flavor: 'services', hostStyle: 'visualstudio.com' };
  }
  const collection = segments[segments.length - 1];
  if (!collection) {
    throw new UserInputError(
      `organization URL "${raw}" has no collection: Azure DevOps Server URLs look like https://host/tfs/{collection}`,
    );
  }
  const path = segments.join('/');
  return { url: `${origin}/${path}`, name: collection, flavor: flavorOverride ?? 'server', hostStyle: 'custom' };
}

/** Base URL of a sub-service for this organization (release → vsrm, graph → vssps, entitlements → vsaex). */
export function serviceUrl(org: Organization, service: AdoService): string {
  const explicit = org.serviceUrls?.[service];
  if (explicit) return explicit.replace(/\/+$/, '');
  if (service === 'core' || org.hostStyle === 'custom') return org.url;
  if (org.hostStyle === 'dev.azure.com') return org.url.replace('://dev.azure.com', `://${service}.dev.azure.com`);
  return org.url.replace('.visualstudio.com', `.${service}.visualstudio.com`);
}
