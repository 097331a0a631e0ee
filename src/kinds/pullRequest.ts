import { pagesByTopSkip } from '../ado/paging.js';
import { mergeMap } from '../util/asyncIter.js';
import { API, MAX_PAGE } from './shared/api.js';
import { isHealthyRepository, listProjects, listRepositories, type ProjectRef } from './shared/listings.js';
import { deletedItems, getIfExists, missing, numericId, upserted } from './shared/events.js';
import type { FetchContext, KindDefinition, RawItem, Selector } from './types.js';

interface PullRequestSelector extends Selector {
  minTimeInDays: number;
  maxResults: number;
}

interface PullRequest extends RawItem {
  repository?: { id?: string };
  status?: string;
}

/**
 * Active pull requests all, closed ones (completed, abandoned) closed within `minTimeInDays`, at most `maxResults` per
 * repository and status (newest first) as Ocean does — but listed per project, not per repository, and in two passes:
 * active, then every status closed within the window (`status=all` with the closed-time range has no active ones), so
 * a large org costs two listings per project instead of three per repository.
 */
async function* fetchPullRequests(ctx: FetchContext, selector: PullRequestSelector): AsyncGenerator<RawItem[]> {
  const [projects, repos] = await Promise.all([listProjects(ctx), listRepositories(ctx)]);
  const healthy = new Set(repos.filter(isHealthyRepository).map((r) => r.id));
  const minTime = new Date(Date.now() - selector.minTimeInDays * 86_400_000).toISOString();
  const passes = [{ status: 'active' }, { status: 'all', minTime, cap: selector.maxResults }];
  yield* mergeMap(projects, (project) => projectPullRequests(ctx, project, passes, healthy), 4);
}

async function* projectPullRequests(
  ctx: FetchContext,
  project: ProjectRef,
  passes: Array<{ status: string; minTime?: string; cap?: number }>,
  healthy: Set<string>,
): AsyncGenerator<RawItem[]> {
  const url = ctx.client.url(`${encodeURIComponent(project.id)}/_apis/git/pullrequests`);
  for (const pass of passes) {
    const perRepo = new Map<string, number>();
    const pages = pagesByTopSkip<PullRequest>(ctx.client, url, {
      query: {
        'searchCriteria.status': pass.status,
        'searchCriteria.queryTimeRangeType': pass.minTime ? 'closed' : undefined,
        'searchCriteria.minTime': pass.minTime,
        'api-version': API.ga,
      },
      top: Math.min(ctx.pageSize, MAX_PAGE.pullRequests),
      signal: ctx.signal,
    });
    for await (const page of pages) {
      const kept = page.filter((pr) => {
        const repoId = pr.repository?.id;
        if (!repoId || !healthy.has(repoId)) return false;
        if (pass.cap === undefined) return true;
        if (pr.status === 'active') return false; // listed by the active pass (a reopened one may keep a closed date)
        const key = `${repoId}|${String(pr.status)}`;
        const n = (perRepo.get(key) ?? 0) + 1;
        perRepo.set(key, n);
        return n <= pass.cap;
      });
      if (kept.length > 0) yield kept;
    }
  }
}

export const pullRequestKind: KindDefinition<PullRequestSelector> = {
  kind: 'pull-request',
  description: 'Pull requests: all active, and those closed within minTimeInDays',
  serverSupported: true,
  docs: { endpoints: 'GET {project}/_apis/git/pullrequests per project ($top/$skip): active, then all closed within minTimeInDays (status=all, closed-time range)', enrichment: [] },
  selectorSchema: {
    type: 'object',
    properties: {
      minTimeInDays: { type: 'integer', minimum: 1, default: 7, description: 'Closed pull requests are fetched back this many days' },
      maxResults: { type: 'integer', minimum: 1, default: 100, description: 'At most this many closed pull requests per repository and status' },
    },
  },
  fetch: fetchPullRequests,
  events: {
    subscriptions: ['git.pullrequest.created', 'git.pullrequest.updated', 'git.pullrequest.merged'].map((eventType) => ({ publisherId: 'tfs' as const, eventType })),
    async handle(ctx, event) {
      const id = numericId(event.resource.pullRequestId);
      if (id === undefined) throw missing(event, 'resource.pullRequestId');
      const pr = await getIfExists<PullRequest>(ctx, ctx.client.url(`_apis/git/pullrequests/${id}`));
      // The payload still names the repository and id, which is all a mapping needs to find the entity.
      return pr ? upserted(pr) : deletedItems({ ...event.resource });
    },
  },
};
