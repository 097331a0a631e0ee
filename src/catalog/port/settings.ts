/** Where and as whom the worker talks to Port. */
export interface PortSettings {
  clientId: string;
  clientSecret: string;
  /** `eu` (default) or `us`; ignored when `baseUrl` is set. */
  region?: 'eu' | 'us';
  /**
   * Any Port-compatible API base (a proxy, the simulator); a trailing `/` or `/v1` is tolerated. The words `eu` and
   * `us` are accepted here too (the PORT_BASE_URL setting takes either a region or a URL).
   */
  baseUrl?: string;
  /**
   * Names this installation of the worker. It is part of the User-Agent, which is how Port stamps ownership of every
   * entity written, so two installations writing to the same Port org never delete each other's entities.
   */
  integrationIdentifier: string;
  /** Worker version, informative only: ownership matching ignores it so upgrades do not orphan entities. */
  version?: string;
}

export const PORT_BASE_URLS = {
  eu: 'https://api.port.io',
  us: 'https://api.us.port.io',
} as const;

export function resolvePortBaseUrl(settings: Pick<PortSettings, 'region' | 'baseUrl'>): string {
  const word = settings.baseUrl?.trim().toLowerCase();
  if (word === 'eu' || word === 'us') return PORT_BASE_URLS[word];
  if (settings.baseUrl) {
    let url: URL;
    try {
      url = new URL(settings.baseUrl);
    } catch {
      throw new Error(`Port base URL "${settings.baseUrl}" is not a valid URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new Error(`Port base URL "${settings.baseUrl}" must be http(s)`);
    }
    return url.toString().replace(/\/+$/, '').replace(/\/v1$/, '');
  }
  return PORT_BASE_URLS[settings.region ?? 'eu'];
}
