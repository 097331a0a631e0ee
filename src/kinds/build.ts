import { pagesByContinuation } from '../ado/paging.js';
import { AdoNotFoundError } from '../ado/errors.js';
import { items, mergeMap } from '../util/asyncIter.js';
import { errorMessage } from '../util/errors.js';
import { API } from './shared/api.js';
import { listProjects, projectsChangedSince, type ProjectRef } from './shared/listings.js';
import { OCEAN_DEFAULT_TEAM, PIPELINE_PAGE, PROJECT_CONCURRENCY, buildPages, isListedBuild, projectPath, top } from './shared/pipelines.js';
import { deletedItems, eventProject, eventProjectId, field, getIfExists, missing, numericId, upserted } from './shared/events.js';
import type { FetchContext, KindDefinition, RawItem, SelectorOf, SelectorSchema } from './types.js';

const selectorSchema = {
  type: 'object',
  properties: {
    defaultTeam: OCEAN_DEFAULT_TEAM,
    enrichWithFirstCommit: {
      type: 'boolean',
      default: false,
      description: "Add __firstCommit (the build's earliest change, with __sha, __timestamp, __commitCount) for lead-time metrics",
    },
  },
} as const satisfies SelectorSchema;

type BuildSelector = SelectorOf<typeof selectorSchema>;

interface Build extends RawItem {
  id?: number;
  sourceVersion?: string;
  repository?: { id?: string; type?: string };
}

interface Change extends RawItem {
  id?: string;
  timestamp?: string;
}

/** Builds of every project, newest queued first, each stamped with `__projectId` and `__project`. */
async function* fetchBuilds(ctx: FetchContext, selector: BuildSelector): AsyncGenerator<RawItem[]> {
  const projects = await listProjects(ctx);
  yield* mergeMap(projects, (project) => projectBuilds(ctx, project, selector.enrichWithFirstCommit), PROJECT_CONCURRENCY);
}

/**
 * An incremental pass: per project, the builds not finished (their state moves without a date the API filters on),
 * then those finished since `since` (queryOrder=finishTimeDescending makes minTime the finish time).
 */
async function* buildsSince(ctx: FetchContext, selector: BuildSelector, since: Date): AsyncGenerator<RawItem[]> {
  const projects = await projectsChangedSince(ctx, 'build', since);
  const passes: Array<Record<string, string>> = [{ statusFilter: 'inProgress,notStarted,cancelling,postponed' }, { queryOrder: 'finishTimeDescending', minTime: since.toISOString() }];
  yield* mergeMap(projects, (project) => mergeMap(passes, (filter) => projectBuilds(ctx, project, selector.enrichWithFirstCommit, filter), 1), PROJECT_CONCURRENCY);
}

async function* projectBuilds(ctx: FetchContext, project: ProjectRef, firstCommit: boolean, filter: Record<string, string> = {}): AsyncGenerator<RawItem[]> {
  for await (const page of buildPages(ctx, project, filter)) {
    // Stamped in place: the page was just parsed and nothing else holds it, so no copy of every build.
    const stamped = page.filter(isListedBuild).map((b) => Object.assign(b, { __projectId: project.id, __project: project }) as Build);
    if (!firstCommit) {
      yield stamped;
      continue;
    }
    const enriched: RawItem[] = [];
    for await (const b of mergeMap(stamped, (b) => withFirstCommit(ctx, project, b), 8)) enriched.push(b);
    yield enriched;
  }
}

/**
 * `__firstCommit`: the earliest change of the build (by timestamp) plus `__sha`, `__timestamp`, `__commitCount`; when no
 * change has a timestamp, the build's source commit. A build whose changes cannot be read keeps no `__firstCommit` and
 * marks the run incomplete.
 */
async function* withFirstCommit(ctx: FetchContext, project: ProjectRef, build: Build): AsyncGenerator<RawItem> {
  try {
    yield { ...build, __firstCommit: await firstCommit(ctx, project, build) };
  } catch (err) {
    ctx.markIncomplete(`build ${String(build.id)} in project ${project.name}: first commit not read: ${errorMessage(err)}`);
    yield build;
  }
}

async function firstCommit(ctx: FetchContext, project: ProjectRef, build: Build): Promise<RawItem | null> {
  if (build.id === undefined) return null;
  const url = ctx.client.url(projectPath(project, `build/builds/${encodeURIComponent(String(build.id))}/changes`));
  let earliest: Change | undefined;
  let count = 0;
  const pages = pagesByContinuation<Change>(ctx.client, url, {
    query: { 'api-version': API.ga },
    top: top(ctx, PIPELINE_PAGE.buildChanges),
    tokenFrom: 'either',
    signal: ctx.signal,
  });
  for await (const change of items(pages)) {
    count++;
    const t = change?.timestamp ? Date.parse(change.timestamp) : NaN;
    if (Number.isNaN(t)) continue;
    if (!earliest || t < Date.parse(earliest.timestamp as string)) earliest = change;
  }
  if (earliest) return { ...earliest, __sha: earliest.id, __timestamp: earliest.timestamp, __commitCount: count };
  const repoId = build.repository?.id;
  if (!build.sourceVersion || !repoId || (build.repository?.type ?? 'TfsGit').toLowerCase() !== 'tfsgit') return null;
  try {
    const res = await ctx.client.get<RawItem & { commitId?: string; committer?: { date?: string } }>(
      ctx.client.url(projectPath(project, `git/repositories/${encodeURIComponent(repoId)}/commits/${encodeURIComponent(build.sourceVersion)}`)),
      { 'api-version': API.ga },
      ctx.signal,
    );
    const commit = res.data;
    return commit ? { ...commit, __sha: commit.commitId, __timestamp: commit.committer?.date, __commitCount: 1 } : null;
  } catch (err) {
    if (err instanceof AdoNotFoundError) return null; // the commit is gone (force-pushed away): nothing to report
    throw err;
  }
}

export const buildKind: KindDefinition<BuildSelector> = {
  kind: 'build',
  description: 'Builds (runs of build pipelines) of every project, newest queued first',
  serverSupported: true,
  docs: {
    endpoints:
      'GET {project}/_apis/build/builds?queryOrder=queueTimeDescending per project (continuation); enrichWithFirstCommit: GET .../build/builds/{id}/changes per build, falling back to GET .../git/repositories/{repo}/commits/{sourceVersion}',
    enrichment: ['__projectId', '__project', '__firstCommit'],
  },
  selectorSchema,
  fetch: fetchBuilds,
  incremental: {
    reads: 'per project, the builds not finished (statusFilter), and those finished since the cursor (queryOrder=finishTimeDescending, minTime); with a journal of service-hook events covering the window (`serve`), only the projects with its events since the cursor',
    since: buildsSince,
  },
  events: {
    subscriptions: [{ publisherId: 'tfs', eventType: 'build.complete' }],
    async handle(ctx, event, selector) {
      const id = numericId(event.resource.id);
      const projectId = eventProjectId(event) ?? field<string>(event.resource, 'definition', 'project', 'id');
      if (id === undefined) throw missing(event, 'resource.id (the build id)');
      if (!projectId) throw missing(event, 'project (resourceContainers.project.id)');
      // A build of a project the resync does not list, gone, or deleted (still readable) is removed, never written.
      const { project, listed } = await eventProject(ctx, projectId);
      const build = listed ? await getIfExists<Build>(ctx, ctx.client.url(projectPath(project, `build/builds/${id}`))) : undefined;
      if (!build || !isListedBuild(build)) return deletedItems({ ...(build ?? { id }), __projectId: project.id, __project: project });
      const stamped: Build = { ...build, __projectId: project.id, __project: project };
      if (!selector.enrichWithFirstCommit) return upserted(stamped);
      const out: RawItem[] = [];
      for await (const b of withFirstCommit(ctx, project, stamped)) out.push(b);
      return upserted(...out);
    },
  },
};
