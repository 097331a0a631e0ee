/** What the benchmarks need to fetch like the worker, outside it: one organization's client and a fresh run cache. */
import { PatAuth } from '../src/ado/auth.js';
import { AdoClient } from '../src/ado/client.js';
import { parseOrganizationUrl, type AdoFlavor, type Organization } from '../src/ado/orgUrl.js';
import { createFetchContext } from '../src/kinds/fetchContext.js';
import type { FetchContext } from '../src/kinds/types.js';

export function fetchContext(orgUrl: string, pat: string, flavor: AdoFlavor = 'services'): { ctx: FetchContext; org: Organization } {
  const org = parseOrganizationUrl(orgUrl, flavor);
  const ctx = createFetchContext({ client: new AdoClient(org, new PatAuth(pat), { maxAttempts: 3 }), pageSize: 1000 });
  return { ctx, org };
}
