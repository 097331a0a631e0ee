import type { AdoClient, Query } from './client.js';
import { AdoError } from './errors.js';

export interface ContinuationPaging {
  query?: Query;
  /** Page size; sent as `topParam` (usually `$top`, `top` for deployment records). Omit for server-sized pages. */
  top?: number;
  topParam?: string;
  /** Array field of the body holding the items (`value`, `items` for entitlements). */
  itemsKey?: string;
  /** Where the next token comes from. Azure DevOps uses the header for most lists and the body for a few. */
  tokenFrom?: 'header' | 'body' | 'either';
  signal?: AbortSignal;
}

/** Pages of a continuation-token list (`x-ms-continuationtoken` header or `continuationToken` body field). */
export async function* pagesByContinuation<T>(client: AdoClient, url: string, p: ContinuationPaging = {}): AsyncGenerator<T[]> {
  const itemsKey = p.itemsKey ?? 'value';
  const tokenFrom = p.tokenFrom ?? 'either';
  let token: string | undefined;
  const seen = new Set<string>();
  do {
    const query: Query = { ...p.query };
    if (p.top !== undefined) query[p.topParam ?? '$top'] = p.top;
    if (token !== undefined) query.continuationToken = token;
    const res = await client.get<Record<string, unknown>>(url, query, p.signal);
    const items = readItems<T>(res.data, itemsKey, url);
    const header = res.headers.get('x-ms-continuationtoken') ?? undefined;
    const body = typeof res.data?.continuationToken === 'string' || typeof res.data?.continuationToken === 'number'
      ? String(res.data.continuationToken)
      : undefined;
    token = tokenFrom === 'header' ? header : tokenFrom === 'body' ? body : (header ?? body);
    if (token === '') token = undefined;
    if (token !== undefined) {
      if (seen.has(token)) throw new AdoError(`${url}: continuation token repeated; stopping to avoid an endless loop`, undefined, false);
      seen.add(token);
    }
    if (items.length > 0 || token === undefined) yield items;
  } while (token !== undefined);
}

export interface TopSkipPaging {
  query?: Query;
  top: number;
  topParam?: string;
  skipParam?: string;
  itemsKey?: string;
  /** Stop after this many items (shrinks the last page). */
  maxResults?: number;
  signal?: AbortSignal;
}

/** Pages of a `$top`/`$skip` list: ends on a short page. */
export async function* pagesByTopSkip<T>(client: AdoClient, url: string, p: TopSkipPaging): AsyncGenerator<T[]> {
  const topParam = p.topParam ?? '$top';
  const skipParam = p.skipParam ?? '$skip';
  let skip = 0;
  while (true) {
    const remaining = p.maxResults === undefined ? p.top : Math.min(p.top, p.maxResults - skip);
    if (remaining <= 0) return;
    const res = await client.get<Record<string, unknown>>(url, { ...p.query, [topParam]: remaining, [skipParam]: skip }, p.signal);
    const items = readItems<T>(res.data, p.itemsKey ?? 'value', url);
    if (items.length > 0) yield items;
    skip += items.length;
    if (items.length < remaining) return;
  }
}

function readItems<T>(data: Record<string, unknown> | undefined, key: string, url: string): T[] {
  const items = data?.[key];
  if (items === undefined || items === null) return [];
  if (!Array.isArray(items)) throw new AdoError(`${url}: expected an array in "${key}", got ${typeof items}`, undefined, false);
  return items as T[];
}
