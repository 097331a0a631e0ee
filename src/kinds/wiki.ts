import { AdoNotFoundError } from '../ado/errors.js';
import { getList, pagesByContinuation } from '../ado/paging.js';
import { mergeMap } from '../util/asyncIter.js';
import { API } from './shared/api.js';
import { listProjects, type ProjectRef } from './shared/listings.js';
import type { FetchContext, KindDefinition, RawItem, SelectorOf, SelectorSchema } from './types.js';

/** pagesBatch accepts `top` up to 100. */
const PAGES_MAX_PAGE = 100;

const selectorSchema = {
  type: 'object',
  properties: {
    wikiType: { type: 'string', enum: ['projectWiki', 'codeWiki'], description: 'Only wikis of this type' },
    includeContent: { type: 'boolean', default: false, description: 'Read each page\'s markdown into content (one request per page)' },
    apiVersion: { type: 'string', default: API.ga, pattern: '^\\d+\\.\\d+(-preview(\\.\\d+)?)?$', description: 'api-version sent to the wiki endpoints' },
  },
} as const satisfies SelectorSchema;

type WikiSelector = SelectorOf<typeof selectorSchema>;

interface Wiki extends RawItem {
  id?: string;
  type?: string;
}

interface WikiPage extends RawItem {
  id?: number;
  path?: string;
}

/**
 * Wiki pages of every project: the project's wikis (optionally of one `wikiType`), then each wiki's pages through
 * pagesBatch (POST, token in the x-ms-continuationtoken header, sent back in the body), and with `includeContent`
 * each page's markdown. Items are the pages with `__wiki` and `__project`.
 */
async function* fetchWikiPages(ctx: FetchContext, selector: WikiSelector): AsyncGenerator<RawItem[]> {
  const projects = await listProjects(ctx);
  yield* mergeMap(projects, (project) => projectWikiPages(ctx, project, selector), 4);
}

async function* projectWikiPages(ctx: FetchContext, project: ProjectRef, selector: WikiSelector): AsyncGenerator<RawItem[]> {
  const base = `${encodeURIComponent(project.id)}/_apis/wiki/wikis`;
  const listed = await getList<Wiki>(ctx.client, ctx.client.url(base), { 'api-version': selector.apiVersion }, { signal: ctx.signal });
  const wikis = listed.filter((w) => typeof w?.id === 'string' && (!selector.wikiType || w.type === selector.wikiType));
  for (const wiki of wikis) {
    const wikiUrl = ctx.client.url(`${base}/${encodeURIComponent(wiki.id as string)}`);
    const batches = pagesByContinuation<WikiPage>(ctx.client, `${wikiUrl}/pagesbatch`, {
      query: { 'api-version': selector.apiVersion },
      // POST: the token comes in the header and goes back in the body.
      postBody: (token) => ({ top: Math.min(ctx.pageSize, PAGES_MAX_PAGE), ...(token !== undefined ? { continuationToken: token } : {}) }),
      tokenFrom: 'header',
      signal: ctx.signal,
    });
    for await (const batch of batches) {
      const pages = batch.filter((p) => p && typeof p === 'object');
      const out: RawItem[] = [];
      if (selector.includeContent) {
        for await (const p of mergeMap(pages, (p) => withContent(ctx, wikiUrl, p, selector.apiVersion), 8)) out.push(p);
      } else out.push(...pages);
      for (const item of out) {
        item.__wiki = wiki;
        item.__project = project;
      }
      if (out.length > 0) yield out;
    }
  }
}

async function* withContent(ctx: FetchContext, wikiUrl: string, page: WikiPage, apiVersion: string): AsyncGenerator<RawItem> {
  if (page.id === undefined) {
    yield { ...page, content: null };
    return;
  }
  try {
    const res = await ctx.client.get<WikiPage>(`${wikiUrl}/pages/${encodeURIComponent(String(page.id))}`, { includeContent: true, 'api-version': apiVersion }, ctx.signal);
    yield { ...page, ...(res.data ?? {}), content: typeof res.data?.content === 'string' ? res.data.content : null };
  } catch (err) {
    if (!(err instanceof AdoNotFoundError)) throw err;
    yield { ...page, content: null }; // deleted since the batch listed it
  }
}

export const wikiKind: KindDefinition<WikiSelector> = {
  kind: 'wiki',
  description: 'Wiki pages of project and code wikis, optionally with their markdown',
  serverSupported: true,
  docs: {
    endpoints: 'GET {project}/_apis/wiki/wikis per project; POST .../wikis/{id}/pagesbatch (header token); includeContent: GET .../pages/{id}?includeContent=true per page',
    enrichment: ['__wiki', '__project'],
  },
  selectorSchema,
  fetch: fetchWikiPages,
};
