/** What the benchmarks need to fetch like the worker, outside it: one organization's client and a fresh run cache. */
import { PatAuth } from '../src/ado/auth.js';
import { AdoClient } from '../src/ado/client.js';
import { parseOrganizationUrl, type AdoFlavor, type Organization } from '../src/ado/orgUrl.js';
import { RunCache } from '../src/kinds/shared/runCache.js';
import type { FetchContext } from '../src/kinds/types.js';
import { silentLogger } from '../src/util/log.js';

export function fetchContext(orgUrl: string, pat: string, flavor: AdoFlavor = 'services'): { ctx: FetchContext; org: Organization } {
  const org = parseOrganizationUrl(orgUrl, flavor);
  const ctx: FetchContext = {
    client: new AdoClient(org, new PatAuth(pat), { maxAttempts: 3 }),
    log: silentLogger,
    cache: new RunCache(),
    pageSize: 1000,
    markIncomplete: () => {},
  };
  return { ctx, org };
}
