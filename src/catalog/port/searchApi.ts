import type { SearchQuery } from '../entity.js';
import { enc, type PortApi } from './api.js';

/** An entity as returned by search (only the fields asked for with `include`). */
export interface PortEntity {
  identifier: string;
  blueprint?: string;
  title?: string | null;
  properties?: Record<string, unknown>;
  relations?: Record<string, unknown>;
  updatedAt?: string;
  [key: string]: unknown;
}

export interface SearchPage {
  entities: PortEntity[];
  next?: string;
}

export interface SearchBody {
  query?: SearchQuery;
  include?: string[];
  exclude?: string[];
  limit?: number;
  from?: string;
}

/** One page of `POST /v1/blueprints/{bp}/entities/search`. */
export async function searchPage(api: PortApi, blueprint: string, body: SearchBody): Promise<SearchPage> {
  const res = await api.request<{ entities: PortEntity[]; next?: string | null }>('POST', `/v1/blueprints/${enc(blueprint)}/entities/search`, { body });
  return { entities: res.data.entities ?? [], next: res.data.next ?? undefined };
}

/**
 * Every entity of a blueprint matching `query`, page by page. The next page is asked for as soon as a page arrives,
 * while the caller works through it: listing a large blueprint is otherwise a chain of round trips, each waiting on
 * the caller (stale deletion checks every page against Redis). A caller that stops early costs one unread page.
 */
export async function* search(api: PortApi, blueprint: string, query?: SearchQuery, include?: string[], pageSize = 1000): AsyncGenerator<PortEntity[]> {
  const fetchPage = (from?: string) => {
    const p = searchPage(api, blueprint, { query, include, limit: pageSize, from });
    p.catch(() => {}); // awaited below; not an unhandled rejection if the caller stops before reaching it
    return p;
  };
  let next: Promise<SearchPage> | undefined = fetchPage();
  while (next) {
    const page: SearchPage = await next;
    next = page.next ? fetchPage(page.next) : undefined;
    if (page.entities.length > 0) yield page.entities;
  }
}

/** `POST /v1/entities/search` across blueprints (not paginated by Port). */
export async function searchAcross(api: PortApi, query: SearchQuery, include?: string[]): Promise<PortEntity[]> {
  const res = await api.request<{ entities: PortEntity[] }>('POST', '/v1/entities/search', {
    body: query,
    query: { include, exclude_calculated_properties: true },
  });
  return res.data.entities ?? [];
}
