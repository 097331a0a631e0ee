import { pagesByTopSkip } from '../ado/paging.js';
import { mergeMap } from '../util/asyncIter.js';
import { API, MAX_PAGE } from './shared/api.js';
import { isHealthyRepository, listProjects, projectsChangedSince, listRepositories, type ProjectRef, type RepositoryRef } from './shared/listings.js';
import { deletedItems, field, getIfExists, missing, numericId, upserted } from './shared/events.js';
import type { EventOutcome, FetchContext, KindDefinition, RawItem, SelectorOf, SelectorSchema, ServiceHookEvent } from './types.js';

const selectorSchema = {
  type: 'object',
  properties: {
    minTimeInDays: { type: 'integer', minimum: 1, default: 7, description: 'Closed pull requests are fetched back this many days' },
    maxResults: { type: 'integer', minimum: 1, default: 100, description: 'At most this many closed pull requests per repository and status' },
  },
} as const satisfies SelectorSchema;

type PullRequestSelector = SelectorOf<typeof selectorSchema>;

interface PullRequest extends RawItem {
  pullRequestId?: number;
  repository?: { id?: string };
  status?: string;
  closedDate?: string;
}

/**
 * Which pull requests the resync keeps, declared once for the listing and for live events: those of healthy
 * repositories; every active one; closed ones (any other status) closed within `minTimeInDays`, at most `maxResults` per
 * repository and status in listing order (newest first).
 */
function pullRequestScope(selector: PullRequestSelector, now = Date.now()) {
  const minTime = new Date(now - selector.minTimeInDays * 86_400_000).toISOString();
  const minMs = Date.parse(minTime);
  return {
    repository: isHealthyRepository,
    minTime,
    /** The closed pass asks the server for this range; checked again per item so an event judges it the same way. */
    inWindow: (pr: PullRequest): boolean => pr.status === 'active' || Date.parse(String(pr.closedDate)) >= minMs,
    /** A fresh counter for the closed pass: true while the pull request is within the cap of its repository and status. */
    closedCap(): (pr: PullRequest) => boolean {
      const seen = new Map<string, number>();
      return (pr) => {
        const key = `${String(pr.repository?.id)}|${String(pr.status)}`;
        const n = (seen.get(key) ?? 0) + 1;
        seen.set(key, n);
        return n <= selector.maxResults;
      };
    },
  };
}
type PullRequestScope = ReturnType<typeof pullRequestScope>;

/**
 * Active pull requests all, closed ones (completed, abandoned) closed within `minTimeInDays`, at most `maxResults` per
 * repository and status (newest first) as Ocean does — but listed per project, not per repository, and in two passes:
 * active, then every status closed within the window (`status=all` with the closed-time range has no active ones), so
 * a large org costs two listings per project instead of three per repository.
 */
async function* fetchPullRequests(ctx: FetchContext, selector: PullRequestSelector): AsyncGenerator<RawItem[]> {
  const [projects, repos] = await Promise.all([listProjects(ctx), listRepositories(ctx)]);
  const scope = pullRequestScope(selector);
  const healthy = new Set(repos.filter(scope.repository).map((r) => r.id));
  const passes = [{ status: 'active' }, { status: 'all', minTime: scope.minTime, closed: true }];
  yield* mergeMap(projects, (project) => projectPullRequests(ctx, project, passes, healthy, scope), 4);
}

/**
 * An incremental pass: every active pull request (their votes and pushes carry no date the API filters on), and those
 * closed since `since` (within the window): two listings per project, the closed one as short as the changes.
 */
async function* pullRequestsSince(ctx: FetchContext, selector: PullRequestSelector, since: Date): AsyncGenerator<RawItem[]> {
  const [projects, repos] = await Promise.all([projectsChangedSince(ctx, 'pull-request', since), listRepositories(ctx)]);
  const scope = pullRequestScope(selector);
  const healthy = new Set(repos.filter(scope.repository).map((r) => r.id));
  const minTime = new Date(Math.max(since.getTime(), Date.parse(scope.minTime))).toISOString();
  const passes = [{ status: 'active' }, { status: 'all', minTime, closed: true }];
  yield* mergeMap(projects, (project) => projectPullRequests(ctx, project, passes, healthy, scope), 4);
}

async function* projectPullRequests(
  ctx: FetchContext,
  project: ProjectRef,
  passes: Array<{ status: string; minTime?: string; closed?: boolean }>,
  healthy: Set<string>,
  scope: PullRequestScope,
): AsyncGenerator<RawItem[]> {
  const url = ctx.client.url(`${encodeURIComponent(project.id)}/_apis/git/pullrequests`);
  for (const pass of passes) {
    const withinCap = scope.closedCap();
    const pages = pagesByTopSkip<PullRequest>(ctx.client, url, {
      query: {
        'searchCriteria.status': pass.status,
        'searchCriteria.queryTimeRangeType': pass.minTime ? 'closed' : undefined,
        'searchCriteria.minTime': pass.minTime,
        'api-version': API.ga,
      },
      top: Math.min(ctx.pageSize, MAX_PAGE.pullRequests),
      idOf: (pr) => pr?.pullRequestId,
      signal: ctx.signal,
    });
    for await (const page of pages) {
      const kept = page.filter((pr) => {
        const repoId = pr.repository?.id;
        if (!repoId || !healthy.has(repoId) || !scope.inWindow(pr)) return false;
        if (!pass.closed) return true;
        if (pr.status === 'active') return false; // listed by the active pass (a reopened one may keep a closed date)
        return withinCap(pr);
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
  selectorSchema,
  fetch: fetchPullRequests,
  incremental: { reads: 'every active pull request, and those closed since the cursor (status=all, queryTimeRangeType=closed, minTime); with a journal of service-hook events covering the window (`serve`), only the projects with its events since the cursor', since: pullRequestsSince },
  events: {
    subscriptions: ['git.pullrequest.created', 'git.pullrequest.updated', 'git.pullrequest.merged'].map((eventType) => ({ publisherId: 'tfs' as const, eventType })),
    handle: pullRequestEvent,
  },
};

/**
 * Reads the pull request back and applies the resync's scope to it: one of a repository the resync skips (disabled, in
 * a project being deleted), closed before the window, or past the `maxResults` cap is removed, not written.
 */
async function pullRequestEvent(ctx: FetchContext, event: ServiceHookEvent, selector: PullRequestSelector): Promise<EventOutcome> {
  const id = numericId(event.resource.pullRequestId);
  if (id === undefined) throw missing(event, 'resource.pullRequestId');
  const pr = await getIfExists<PullRequest>(ctx, ctx.client.url(`_apis/git/pullrequests/${id}`));
  // The payload still names the repository and id, which is all a mapping needs to find the entity.
  if (!pr) return deletedItems({ ...event.resource });
  const repoId = pr.repository?.id ?? field<string>(event.resource, 'repository', 'id');
  const repo = repoId ? await getIfExists<RepositoryRef>(ctx, ctx.client.url(`_apis/git/repositories/${encodeURIComponent(repoId)}`)) : undefined;
  const scope = pullRequestScope(selector);
  if (!repo || !scope.repository(repo) || !scope.inWindow(pr)) return deletedItems(pr);
  if (pr.status !== 'active' && !(await withinClosedCap(ctx, repo, pr, scope))) return deletedItems(pr);
  return upserted(pr);
}

/**
 * Whether a closed pull request is within the resync's cap. The rank cannot be read off one item, so the repository's
 * pull requests of that status in the window are listed as the closed pass orders them (stopping at the cap) and
 * counted by the same counter: exact, for one listing of at most `maxResults` items per closed-pull-request event.
 */
async function withinClosedCap(ctx: FetchContext, repo: RepositoryRef, pr: PullRequest, scope: PullRequestScope): Promise<boolean> {
  const withinCap = scope.closedCap();
  const pages = pagesByTopSkip<PullRequest>(ctx.client, ctx.client.url(`${encodeURIComponent(repo.project.id)}/_apis/git/pullrequests`), {
    query: {
      'searchCriteria.repositoryId': repo.id,
      'searchCriteria.status': pr.status,
      'searchCriteria.queryTimeRangeType': 'closed',
      'searchCriteria.minTime': scope.minTime,
      'api-version': API.ga,
    },
    top: Math.min(ctx.pageSize, MAX_PAGE.pullRequests),
    idOf: (p) => p.pullRequestId,
    signal: ctx.signal,
  });
  for await (const page of pages) {
    for (const other of page) {
      if (!scope.inWindow(other)) continue;
      const kept = withinCap(other);
      if (other.pullRequestId === pr.pullRequestId) return kept;
      if (!kept) return false;
    }
  }
  // Not listed in its own window (closed again since the read): the next resync decides.
  return false;
}
