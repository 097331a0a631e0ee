import { getList } from '../ado/paging.js';
import { items, mergeMap } from '../util/asyncIter.js';
import { API } from './shared/api.js';
import { listProjects, projectsChangedSince, type ProjectRef } from './shared/listings.js';
import { OCEAN_DEFAULT_TEAM, pipelinePages, PROJECT_CONCURRENCY, projectPath, type PipelineRef } from './shared/pipelines.js';
import { deletedItems, eventProject, eventProjectId, field, getIfExists, missing, numericId, upserted } from './shared/events.js';
import type { EventOutcome, FetchContext, KindDefinition, RawItem } from './types.js';

/** The runs list is not paged: the service returns up to its 10,000 newest runs ("Gets top 10000 runs"). */
const MAX_RUNS = 10_000;

/** Runs of every YAML pipeline. */
async function* fetchPipelineRuns(ctx: FetchContext, _selector?: unknown, since?: Date): AsyncGenerator<RawItem[]> {
  // The runs API has no change filter: an incremental pass reads the projects with run events (or every project).
  const projects = since ? await projectsChangedSince(ctx, 'pipeline-run', since) : await listProjects(ctx);
  yield* mergeMap(
    projects,
    (project) => mergeMap(items(pipelinePages(ctx, project)), (pipeline) => pipelineRuns(ctx, project, pipeline), 5),
    PROJECT_CONCURRENCY,
  );
}

async function* pipelineRuns(ctx: FetchContext, project: ProjectRef, pipeline: PipelineRef): AsyncGenerator<RawItem[]> {
  const runs = await getList<RawItem>(
    ctx.client,
    ctx.client.url(projectPath(project, `pipelines/${encodeURIComponent(String(pipeline.id))}/runs`)),
    { 'api-version': API.ga },
    { maxItems: MAX_RUNS, signal: ctx.signal },
  );
  if (runs.length > 0) yield runs.map((r) => ({ ...r, __project: project, __pipeline: pipeline }));
}

export const pipelineRunKind: KindDefinition = {
  kind: 'pipeline-run',
  description: 'Runs of every YAML pipeline',
  serverSupported: true,
  docs: {
    endpoints: 'GET {project}/_apis/pipelines per project (continuation), then GET {project}/_apis/pipelines/{id}/runs per pipeline (not paged)',
    enrichment: ['__project', '__pipeline'],
  },
  selectorSchema: { type: 'object', properties: { defaultTeam: OCEAN_DEFAULT_TEAM } },
  fetch: fetchPipelineRuns,
  incremental: {
    reads: 'the runs of the pipelines of the projects with a run event (`ms.vss-pipelines.run-state-changed-event`) since the cursor, from the journal `serve` keeps; with no journal covering the window, every project',
    since: fetchPipelineRuns,
  },
  events: {
    subscriptions: [{ publisherId: 'pipelines', eventType: 'ms.vss-pipelines.run-state-changed-event' }],
    async handle(ctx, event) {
      const runId = numericId(field(event.resource, 'run', 'id'));
      const pipelineId = numericId(field(event.resource, 'pipeline', 'id')) ?? numericId(field(event.resource, 'run', 'pipeline', 'id'));
      const projectId = eventProjectId(event);
      if (runId === undefined || pipelineId === undefined) throw missing(event, 'resource.run.id and resource.pipeline.id');
      if (!projectId) throw missing(event, 'project (resourceContainers.project.id)');
      return currentRun(ctx, projectId, pipelineId, runId, field<RawItem>(event.resource, 'run'), field(event.resource, 'pipeline'));
    },
  },
  refetch(ctx, _selector, hint) {
    const runId = numericId(hint.runId);
    const pipelineId = numericId(hint.pipelineId);
    const projectId = typeof hint.projectId === 'string' && hint.projectId !== '' ? hint.projectId : undefined;
    if (runId === undefined || pipelineId === undefined || !projectId) throw new Error('pipeline-run refetch: the hint needs projectId, pipelineId and runId');
    return currentRun(ctx, projectId, pipelineId, runId);
  },
};

/**
 * A run as it is now, enriched as the resync enriches it; deleted when it, its pipeline or its project is gone. A run of
 * a project the resync does not list is removed, never written. The runs listing holds a pipeline's 10,000 newest runs:
 * not checked here, since a run an event or an action names is a current one (and were it older, the next resync would
 * remove it, which converges). `known` and `knownPipeline` name a gone run by what the caller saw of it.
 */
async function currentRun(ctx: FetchContext, projectId: string, pipelineId: number, runId: number, known?: RawItem, knownPipeline?: unknown): Promise<EventOutcome> {
  const { project, listed } = await eventProject(ctx, projectId);
  const pipeline = listed ? await getIfExists<PipelineRef>(ctx, ctx.client.url(projectPath(project, `pipelines/${pipelineId}`))) : undefined;
  const run = pipeline && (await getIfExists<RawItem>(ctx, ctx.client.url(projectPath(project, `pipelines/${pipelineId}/runs/${runId}`))));
  const enrich = (r: RawItem): RawItem => ({ ...r, __project: project, __pipeline: pipeline ?? knownPipeline ?? { id: pipelineId } });
  return run ? upserted(enrich(run)) : deletedItems(enrich({ ...(known ?? { id: runId }) }));
}
