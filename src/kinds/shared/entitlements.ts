import { pagesByContinuation, pagesByTopSkip } from '../../ado/paging.js';
import type { FetchContext, RawItem } from '../types.js';
import { API } from './api.js';

/** Legacy (api-version < 6) entitlements pages are `{count, value}` with `top`/`skip`; 10000 is that API's maximum. */
const LEGACY_TOP = 10_000;

export interface EntitlementQuery {
  /** `select` values: license, extensions, projects, groupRules. */
  includeFields?: string[];
  /** OData filter, e.g. `licenseId eq 'Account-Express'`. */
  filter?: string;
  apiVersion?: string;
}

/**
 * Pages of GET vsaex userentitlements: `{items, continuationToken}` (body token) from 6.0 on; with an older
 * `apiVersion`, `{value}` paged by `top`/`skip`.
 */
export function entitlementPages(ctx: FetchContext, q: EntitlementQuery): AsyncIterable<RawItem[]> {
  const url = ctx.client.url('_apis/userentitlements', 'vsaex');
  const apiVersion = q.apiVersion ?? API.ga;
  const query = {
    select: q.includeFields && q.includeFields.length > 0 ? q.includeFields.join(',') : undefined,
    $filter: q.filter,
    'api-version': apiVersion,
  };
  const major = Number.parseInt(apiVersion, 10);
  if (Number.isFinite(major) && major < 6) {
    return pagesByTopSkip<RawItem>(ctx.client, url, { query, top: LEGACY_TOP, topParam: 'top', skipParam: 'skip', signal: ctx.signal });
  }
  return pagesByContinuation<RawItem>(ctx.client, url, { query, itemsKey: 'items', tokenFrom: 'body', signal: ctx.signal });
}

export const ENTITLEMENT_FIELDS = ['license', 'extensions', 'projects', 'groupRules'];
