import { getList, pagesByContinuation } from '../ado/paging.js';
import { mergeMap } from '../util/asyncIter.js';
import { API } from './shared/api.js';
import { isHealthyRepository, listRepositories, repositoriesPushedSince, type RepositoryRef } from './shared/listings.js';
import { deletedItems, field, getIfExists, missing, nothing } from './shared/events.js';
import type { EventOutcome, FetchContext, KindDefinition, RawItem, Selector, ServiceHookEvent } from './types.js';

/** `$top` of the refs list is capped at 1000 by the service. */
const REFS_MAX_PAGE = 1000;

interface GitRef {
  name?: string;
  objectId?: string;
}

/**
 * Branches of every healthy repository: `refs?filter=heads/` per repository (the API has no project-level refs
 * list), rebuilt as Ocean does into `{name, refName, objectId, __repository}`. A repository whose refs cannot be
 * listed marks the run incomplete (so no branch of it is deleted as stale) and the others continue.
 */
/** A branch as Ocean shapes it: `{name, refName, objectId, __repository}`. */
function branchItem(refName: string, objectId: unknown, repository: RawItem): RawItem {
  return { name: refName.replace(/^refs\/heads\//, ''), refName, objectId: objectId ?? null, __repository: repository };
}

/** Repositories whose branches the resync lists, declared once for the listing and for pushes: healthy, not empty. */
function listsBranches(repo: RepositoryRef): boolean {
  return isHealthyRepository(repo) && repo.defaultBranch !== undefined;
}

async function* fetchBranches(ctx: FetchContext, _selector: Selector): AsyncGenerator<RawItem[]> {
  const repos = (await listRepositories(ctx)).filter(listsBranches);
  yield* mergeMap(repos, (repo) => repositoryBranches(ctx, repo), 8);
}

/**
 * An incremental pass: the branches of the repositories Azure DevOps announced a push for since `since` (the journal
 * the server keeps of accepted `git.push` events). The refs API has no change filter, and listing every repository is
 * most of an incremental run's cost. Without a journal covering the window every repository is listed.
 */
async function* branchesSince(ctx: FetchContext, selector: Selector, since: Date): AsyncGenerator<RawItem[]> {
  const changed = await repositoriesPushedSince(ctx, since);
  if (!changed) {
    yield* fetchBranches(ctx, selector);
    return;
  }
  const repos = (await listRepositories(ctx)).filter((r) => listsBranches(r) && changed.has(r.id.toLowerCase()));
  ctx.note?.(`incremental: branches of ${repos.length} repositories with pushes since then`);
  yield* mergeMap(repos, (repo) => repositoryBranches(ctx, repo), 8);
}

async function* repositoryBranches(ctx: FetchContext, repo: RepositoryRef): AsyncGenerator<RawItem[]> {
  const url = ctx.client.url(`${encodeURIComponent(repo.project.id)}/_apis/git/repositories/${encodeURIComponent(repo.id)}/refs`);
  try {
    const pages = pagesByContinuation<GitRef>(ctx.client, url, {
      query: { filter: 'heads/', 'api-version': API.ga },
      top: Math.min(ctx.pageSize, REFS_MAX_PAGE),
      tokenFrom: 'header',
      idOf: (ref) => ref?.name,
      signal: ctx.signal,
    });
    for await (const page of pages) {
      const out: RawItem[] = [];
      for (const ref of page) {
        if (typeof ref?.name !== 'string') continue;
        out.push(branchItem(ref.name, ref.objectId, repo));
      }
      if (out.length > 0) yield out;
    }
  } catch (err) {
    if (ctx.signal?.aborted) throw err;
    const reason = `branch: listing the branches of ${repo.project?.name ?? '?'}/${repo.name} failed: ${err instanceof Error ? err.message : String(err)}`;
    ctx.log.warn(reason);
    ctx.markIncomplete(reason);
  }
}

export const branchKind: KindDefinition = {
  kind: 'branch',
  description: 'Branches of every healthy repository',
  serverSupported: true,
  docs: {
    endpoints: 'GET {project}/_apis/git/repositories/{repo}/refs?filter=heads/ per healthy repository (continuation header, $top 1000)',
    enrichment: ['__repository'],
  },
  selectorSchema: { type: 'object', properties: {} },
  fetch: fetchBranches,
  incremental: { reads: 'the branches (refs per repository) of the repositories with a `git.push` accepted since the cursor (the server keeps that journal in Redis); with no journal, every repository', since: branchesSince },
  events: {
    subscriptions: [{ publisherId: 'tfs', eventType: 'git.push' }],
    handle: branchesOfPush,
  },
};

const ZERO_OBJECT_ID = /^0+$/;

/**
 * Every branch a push created, moved or deleted: deletions (new object id all zeros) are removed; the others are read
 * back from the refs API (a later push may have moved or deleted them since), with the repository as it is now. In a
 * repository the resync does not list branches of (disabled, in a project being deleted), they are all removed.
 */
async function branchesOfPush(ctx: FetchContext, event: ServiceHookEvent): Promise<EventOutcome> {
  const repoId = field<string>(event.resource, 'repository', 'id');
  if (!repoId) throw missing(event, 'resource.repository.id');
  const updates = (field<GitRefUpdate[]>(event.resource, 'refUpdates') ?? []).filter((u) => typeof u?.name === 'string' && u.name.startsWith('refs/heads/'));
  if (updates.length === 0) return nothing();
  const repo = await getIfExists<RepositoryRef>(ctx, ctx.client.url(`_apis/git/repositories/${encodeURIComponent(repoId)}`));
  if (!repo) return deletedItems(...updates.map((u) => branchItem(u.name!, u.oldObjectId, field<RawItem>(event.resource, 'repository')!)));
  if (!listsBranches(repo)) return deletedItems(...updates.map((u) => branchItem(u.name!, u.oldObjectId, repo)));
  const outcome = nothing();
  for (const u of updates) {
    const refName = u.name!;
    if (ZERO_OBJECT_ID.test(u.newObjectId ?? '')) {
      outcome.deleted.push(branchItem(refName, u.oldObjectId, repo));
      continue;
    }
    // A proven list (an answer without its array fails the event rather than deleting the branch).
    const refs = await getList<GitRef>(
      ctx.client,
      ctx.client.url(`${encodeURIComponent(repo.project.id)}/_apis/git/repositories/${encodeURIComponent(repo.id)}/refs`),
      { filter: refName.slice('refs/'.length), 'api-version': API.ga },
      { signal: ctx.signal },
    );
    // The filter is a prefix match: pick the exact ref.
    const ref = refs.find((r) => r?.name === refName);
    if (ref) outcome.upsert.push(branchItem(refName, ref.objectId, repo));
    else outcome.deleted.push(branchItem(refName, u.oldObjectId, repo));
  }
  return outcome;
}

interface GitRefUpdate {
  name?: string;
  oldObjectId?: string;
  newObjectId?: string;
}
