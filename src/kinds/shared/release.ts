import { pagesByContinuation } from '../../ado/paging.js';
import type { Query } from '../../ado/client.js';
import { mergeMap } from '../../util/asyncIter.js';
import type { FetchContext, RawItem } from '../types.js';
import { API } from './api.js';
import { listProjects, type ProjectRef } from './listings.js';
import { PROJECT_CONCURRENCY, projectPath, top } from './pipelines.js';

/**
 * Pages of a classic-release list (`{project}/_apis/release/{resource}` on the vsrm host) for every project. The token
 * comes in the `x-ms-continuationtoken` header: an int for releases and deployments, a string for definitions.
 */
export function releaseListPages(
  ctx: FetchContext,
  resource: 'definitions' | 'releases' | 'deployments',
  query: Query,
  maxPage: number,
  o: {
    enrich?: (item: RawItem, project: ProjectRef) => RawItem;
    /** Only these projects (ids, lower case): an incremental pass's. Default: every project. */
    projectIds?: Set<string>;
  } = {},
): AsyncGenerator<RawItem[]> {
  const { enrich, projectIds } = o;
  return (async function* () {
    const projects = (await listProjects(ctx)).filter((p) => !projectIds || projectIds.has(p.id.toLowerCase()));
    yield* mergeMap(
      projects,
      async function* (project) {
        const pages = pagesByContinuation<RawItem>(ctx.client, ctx.client.url(projectPath(project, `release/${resource}`), 'vsrm'), {
          query: { ...query, 'api-version': API.ga },
          top: top(ctx, maxPage),
          tokenFrom: 'header',
          signal: ctx.signal,
        });
        for await (const page of pages) {
          if (page.length > 0) yield enrich ? page.map((item) => enrich(item, project)) : page;
        }
      },
      PROJECT_CONCURRENCY,
    );
  })();
}

/** `tagFilter` may be written as a list or a comma-separated string; the API takes the comma form. */
export function tagList(v: unknown): string | undefined {
  if (Array.isArray(v)) return v.length > 0 ? v.map(String).join(',') : undefined;
  return typeof v === 'string' && v !== '' ? v : undefined;
}
