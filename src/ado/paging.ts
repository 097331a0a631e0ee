import { describeRequest, withQuery } from '../http/url.js';
import type { AdoClient, AdoResponse, Query } from './client.js';
import { IncompleteListingError } from './errors.js';

/**
 * A listing is complete only when the answer proves it (DESIGN.md decision 8): every page carries its array, typed,
 * agreeing with `count`; paging ends the way the endpoint documents; no page repeats; the listing stays within what the
 * endpoint can hold. Anything else throws IncompleteListingError, never an empty or short list.
 */

/**
 * Empty pages in a row, each with a new continuation token, after which a chain is taken as endless. A server that
 * filters after cutting a page may answer an empty page with a token now and then; a chain that never ends (issue 17:
 * 478,991 requests in 90 s) must fail within a few requests instead.
 */
export const MAX_EMPTY_PAGES_IN_A_ROW = 10;

/**
 * Items one listing may hold when its endpoint documents no cap: over ten times all the builds of resync-L (400,000,
 * listed 20,000 per project), so it ends a listing that never ends without touching a real one. The ids kept to spot
 * repeated pages (one Set per listing) stay bounded by it.
 */
export const DEFAULT_MAX_ITEMS = 5_000_000;

/** How a list answer proves itself. */
export interface ListProof<T = unknown> {
  /** Field of the body holding the items: `value` (the `{count, value}` collection), `items`, `records`, `workItems`. */
  itemsKey?: string;
  /** An item's identity, to spot repeated pages (default: its `id`); items without one are never taken as repeats. */
  idOf?: (item: T) => unknown;
  /** The most items the endpoint can return to one listing (a documented cap, else DEFAULT_MAX_ITEMS); more fails it. */
  maxItems?: number;
}

export interface ContinuationPaging<T = unknown> extends ListProof<T> {
  query?: Query;
  /** Page size; sent as `topParam` (usually `$top`, `top` for deployment records). Omit for server-sized pages. */
  top?: number;
  topParam?: string;
  /** Where the next token comes from. Azure DevOps uses the header for most lists and the body for a few. */
  tokenFrom?: 'header' | 'body' | 'either';
  /** POST listings (wiki pagesBatch): the request body for a page, carrying the token itself; `top` is then the body's. */
  postBody?: (token: string | undefined) => unknown;
  signal?: AbortSignal;
}

/** Pages of a continuation-token list (`x-ms-continuationtoken` header or `continuationToken` body field). */
export async function* pagesByContinuation<T>(client: AdoClient, url: string, p: ContinuationPaging<T> = {}): AsyncGenerator<T[]> {
  const tokenFrom = p.tokenFrom ?? 'either';
  const method = p.postBody ? 'POST' : 'GET';
  const guard = new ListingGuard<T>(p);
  const tokens = new Set<string>();
  let token: string | undefined;
  let emptyInARow = 0;
  do {
    const query: Query = { ...p.query };
    if (p.top !== undefined && !p.postBody) query[p.topParam ?? '$top'] = p.top;
    if (token !== undefined && !p.postBody) query.continuationToken = token;
    const res = p.postBody
      ? await client.request<unknown>(url, { method, query, body: p.postBody(token), idempotent: true, signal: p.signal })
      : await client.get<unknown>(url, query, p.signal);
    const where = (): string => describeListing(client, method, url, query);
    const items = readList<T>(res, where, p);
    token = nextToken(res, tokenFrom);
    if (token !== undefined) {
      if (tokens.has(token)) throw new IncompleteListingError(`${where()}: continuation token repeated (a chain that never ends)`, res.status);
      tokens.add(token);
    }
    if (items.length === 0 && token !== undefined) {
      if (++emptyInARow >= MAX_EMPTY_PAGES_IN_A_ROW) {
        throw new IncompleteListingError(`${where()}: ${emptyInARow} empty pages in a row, each with a new continuation token (a chain that never ends)`, res.status);
      }
      continue;
    }
    emptyInARow = 0;
    const fresh = guard.admit(items, where, res.status);
    if (fresh === undefined) {
      if (token === undefined) return; // a last page of repeats: items shifted into it while paging, nothing new
      throw new IncompleteListingError(`${where()}: the page repeats only items already listed (the server sent a page again)`, res.status);
    }
    if (fresh.length > 0 || token === undefined) yield fresh;
  } while (token !== undefined);
}

export interface TopSkipPaging<T = unknown> extends ListProof<T> {
  query?: Query;
  top: number;
  topParam?: string;
  skipParam?: string;
  /** Stop after this many items (shrinks the last page). */
  maxResults?: number;
  signal?: AbortSignal;
}

/**
 * Pages of a `$top`/`$skip` list: ends on a short page. An item inserted while paging shifts the window, so a page may
 * repeat some items of the previous one (dropped); a full page of nothing but repeats means the server ignored `$skip`.
 */
export async function* pagesByTopSkip<T>(client: AdoClient, url: string, p: TopSkipPaging<T>): AsyncGenerator<T[]> {
  const topParam = p.topParam ?? '$top';
  const skipParam = p.skipParam ?? '$skip';
  const guard = new ListingGuard<T>(p);
  let skip = 0;
  while (true) {
    const remaining = p.maxResults === undefined ? p.top : Math.min(p.top, p.maxResults - skip);
    if (remaining <= 0) return;
    const query: Query = { ...p.query, [topParam]: remaining, [skipParam]: skip };
    const res = await client.get<unknown>(url, query, p.signal);
    const where = (): string => describeListing(client, 'GET', url, query);
    const items = readList<T>(res, where, p);
    const last = items.length < remaining;
    const fresh = guard.admit(items, where, res.status);
    if (fresh === undefined) {
      if (last) return; // a short tail of repeats: items were inserted ahead of it while paging
      throw new IncompleteListingError(`${where()}: the page repeats only items already listed: the server ignored ${skipParam}`, res.status);
    }
    if (fresh.length > 0) yield fresh;
    skip += items.length;
    if (last) return;
  }
}

export interface ListRequest<T = unknown> extends ListProof<T> {
  signal?: AbortSignal;
  /**
   * A 204 or empty body means "no items" (a build's timeline before the build starts). Off by default: an answer
   * without a body is then incomplete, like one without its array.
   */
  noContentIsEmpty?: boolean;
  /** The items field maps keys to items (graph subjectlookup: descriptor → subject); its values are the items. */
  keyed?: boolean;
}

/** A list answered in one GET (not paged), proven as a page of a paged list is. */
export async function getList<T>(client: AdoClient, url: string, query: Query, opts: ListRequest<T> = {}): Promise<T[]> {
  const res = await client.get<unknown>(url, query, opts.signal);
  return readSingleList(res, () => describeListing(client, 'GET', url, query), opts);
}

/** A list answered to one read-only POST (WIQL, itemsbatch, subjectlookup), proven as getList's. */
export async function postList<T>(client: AdoClient, url: string, body: unknown, opts: ListRequest<T> & { query?: Query } = {}): Promise<T[]> {
  const res = await client.request<unknown>(url, { method: 'POST', query: opts.query, body, idempotent: true, signal: opts.signal });
  return readSingleList(res, () => describeListing(client, 'POST', url, opts.query), opts);
}

function readSingleList<T>(res: AdoResponse<unknown>, where: () => string, opts: ListRequest<T>): T[] {
  if (opts.noContentIsEmpty && (res.status === 204 || res.data === undefined)) return [];
  const items = readList<T>(res, where, opts);
  const max = opts.maxItems ?? DEFAULT_MAX_ITEMS;
  if (items.length > max) throw new IncompleteListingError(`${where()}: ${items.length} items, more than the ${max} this endpoint can hold`, res.status);
  return items;
}

/** The items of one answer, or IncompleteListingError saying what is missing. */
function readList<T>(res: AdoResponse<unknown>, where: () => string, proof: ListProof<T> & { keyed?: boolean }): T[] {
  const key = proof.itemsKey ?? 'value';
  const body = res.data;
  if (body === undefined || body === null) throw new IncompleteListingError(`${where()}: the answer has no body`, res.status);
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new IncompleteListingError(`${where()}: the answer is ${typeName(body)}, not an object with a "${key}" array`, res.status);
  }
  const record = body as Record<string, unknown>;
  const items = record[key];
  if (Array.isArray(items)) {
    // `count` is the length of this page's `value` on every `{count, value}` collection (research/ado-api.md §2.1, and
    // every sample); other envelopes (`items` + `totalCount`, `records`, `workItems`) carry no such count.
    if (key === 'value' && typeof record.count === 'number' && record.count !== items.length) {
      throw new IncompleteListingError(`${where()}: the answer says count ${record.count} but "${key}" holds ${items.length} item${items.length === 1 ? '' : 's'}`, res.status);
    }
    return items as T[];
  }
  // subjectlookup's count is not documented for its map, so it is not checked.
  if (proof.keyed && items !== null && typeof items === 'object') return Object.values(items) as T[];
  if (items === undefined) {
    const keys = Object.keys(record);
    throw new IncompleteListingError(`${where()}: the answer has no "${key}" array (keys: ${keys.length > 0 ? keys.slice(0, 10).join(', ') : 'none'})`, res.status);
  }
  throw new IncompleteListingError(`${where()}: "${key}" is ${typeName(items)}, not an array`, res.status);
}

/**
 * What one listing has yielded so far: ids (to drop repeats and spot a page of nothing else) and a count (against the
 * ceiling). One Set per listing, dropped with it.
 */
class ListingGuard<T> {
  readonly #seen = new Set<string | number>();
  readonly #idOf: (item: T) => unknown;
  readonly #max: number;
  #count = 0;

  constructor(proof: ListProof<T>) {
    this.#idOf = proof.idOf ?? ((item) => (item as { id?: unknown } | null)?.id);
    this.#max = proof.maxItems ?? DEFAULT_MAX_ITEMS;
  }

  /** The page without items already yielded; undefined when it holds nothing else. Throws past the ceiling. */
  admit(page: T[], where: () => string, status: number): T[] | undefined {
    let repeats: Set<number> | undefined;
    for (let i = 0; i < page.length; i++) {
      const id = this.#idOf(page[i] as T);
      if (typeof id !== 'string' && typeof id !== 'number') continue; // no identity: never a repeat
      if (!this.#seen.has(id)) this.#seen.add(id);
      else (repeats ??= new Set()).add(i);
    }
    if (repeats && repeats.size === page.length) return undefined;
    const fresh = repeats ? page.filter((_, i) => !repeats.has(i)) : page;
    this.#count += fresh.length;
    if (this.#count > this.#max) throw new IncompleteListingError(`${where()}: more than ${this.#max} items, the most this endpoint can hold`, status);
    return fresh;
  }
}

function nextToken(res: AdoResponse<unknown>, from: 'header' | 'body' | 'either'): string | undefined {
  const header = res.headers.get('x-ms-continuationtoken') ?? undefined;
  const raw = (res.data as { continuationToken?: unknown } | undefined)?.continuationToken;
  const body = typeof raw === 'string' || typeof raw === 'number' ? String(raw) : undefined;
  const token = from === 'header' ? header : from === 'body' ? body : (header ?? body);
  return token === '' ? undefined : token;
}

/** `Azure DevOps organization "acme": GET https://…?continuationToken=…`: names the request, never the token. */
function describeListing(client: AdoClient, method: string, url: string, query: Query | undefined): string {
  return `Azure DevOps organization "${client.org.name}": ${describeRequest(method, withQuery(url, query))}`;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
