import { getList } from '../ado/paging.js';
import { chunk, items, mergeMap } from '../util/asyncIter.js';
import { API } from './shared/api.js';
import { listProjects, projectsChangedSince, type ProjectRef } from './shared/listings.js';
import { AdoNotFoundError } from '../ado/errors.js';
import { buildPages, isListedBuild, OCEAN_DEFAULT_TEAM, PROJECT_CONCURRENCY, projectPath } from './shared/pipelines.js';
import { eventProjectId, field, getIfExists, isListedProject, missing, nothing, numericId, projectById } from './shared/events.js';
import type { FetchContext, KindDefinition, RawItem, Selector } from './types.js';

/**
 * Stages of every build: builds stream per project (newest first) while their timelines are fetched a few at a time;
 * timeline records with `type == "Stage"` are kept.
 */
async function* fetchPipelineStages(ctx: FetchContext, _selector?: unknown, since?: Date): AsyncGenerator<RawItem[]> {
  // Timelines have no change filter: an incremental pass reads the projects with stage or job events (or every project).
  const projects = since ? await projectsChangedSince(ctx, 'pipeline-stage', since) : await listProjects(ctx);
  yield* mergeMap(projects, (project) => chunk(projectStages(ctx, project), ctx.pageSize), PROJECT_CONCURRENCY);
}

async function* projectStages(ctx: FetchContext, project: ProjectRef): AsyncGenerator<RawItem> {
  for await (const stages of mergeMap(listedBuilds(ctx, project), (build) => buildStages(ctx, project, build), 5)) yield* stages;
}

async function* listedBuilds(ctx: FetchContext, project: ProjectRef): AsyncGenerator<RawItem> {
  for await (const build of items(buildPages(ctx, project))) if (isListedBuild(build)) yield build;
}

/** The build's timeline records of `type == "Stage"`: the kind's one filter, for the listing and for events alike. */
async function* buildStages(ctx: FetchContext, project: ProjectRef, build: RawItem): AsyncGenerator<RawItem[]> {
  if (build.id === undefined || build.id === null) return;
  // A build that has not started yet has no timeline (204/empty body): no stages. A body without `records` is incomplete.
  const records = await getList<RawItem & { type?: string }>(
    ctx.client,
    ctx.client.url(projectPath(project, `build/builds/${encodeURIComponent(String(build.id))}/timeline`)),
    { 'api-version': API.ga },
    { itemsKey: 'records', noContentIsEmpty: true, signal: ctx.signal },
  );
  yield records.filter((r) => r?.type === 'Stage').map((r) => ({ ...r, __project: project, __build: build }));
}

export const pipelineStageKind: KindDefinition<Selector> = {
  kind: 'pipeline-stage',
  description: 'Stages of every build (timeline records of type Stage)',
  serverSupported: true,
  docs: {
    endpoints: 'GET {project}/_apis/build/builds per project (continuation), then GET {project}/_apis/build/builds/{id}/timeline per build',
    enrichment: ['__project', '__build'],
  },
  selectorSchema: { type: 'object', properties: { defaultTeam: OCEAN_DEFAULT_TEAM } },
  fetch: fetchPipelineStages,
  incremental: {
    reads: 'the stages of the builds of the projects with a stage or job event since the cursor, from the journal `serve` keeps; with no journal covering the window, every project',
    since: fetchPipelineStages,
  },
  events: {
    subscriptions: ['ms.vss-pipelines.stage-state-changed-event', 'ms.vss-pipelines.job-state-changed-event'].map((eventType) => ({ publisherId: 'pipelines' as const, eventType })),
    async handle(ctx, event) {
      // A YAML run is a build: the run id is the build id whose timeline holds the stages.
      const runId = numericId(field(event.resource, 'run', 'id'));
      const projectId = eventProjectId(event);
      if (runId === undefined) throw missing(event, 'resource.run.id');
      if (!projectId) throw missing(event, 'project (resourceContainers.project.id)');
      // Gone project or build: their stages cannot be named (the event's stage id is not the timeline record's).
      const project = await projectById(ctx, projectId);
      if (!project) return nothing();
      const build = await getIfExists<RawItem>(ctx, ctx.client.url(projectPath(project, `build/builds/${runId}`)));
      if (!build) return nothing();
      // The stages of a build the resync does not list (its project not listed, the build deleted) are removed.
      const listed = isListedProject(project) && isListedBuild(build);
      const outcome = nothing();
      try {
        for await (const stages of buildStages(ctx, project, build)) (listed ? outcome.upsert : outcome.deleted).push(...stages);
      } catch (err) {
        if (err instanceof AdoNotFoundError) return nothing(); // deleted since: nothing left to name
        throw err;
      }
      return outcome;
    },
  },
};
