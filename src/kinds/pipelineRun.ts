import { items, mergeMap } from '../util/asyncIter.js';
import { API } from './shared/api.js';
import { listProjects, type ProjectRef } from './shared/listings.js';
import { OCEAN_DEFAULT_TEAM, pipelinePages, PROJECT_CONCURRENCY, projectPath, type PipelineRef } from './shared/pipelines.js';
import { deletedItems, eventProjectId, field, getIfExists, missing, nothing, numericId, projectById, upserted } from './shared/events.js';
import type { FetchContext, KindDefinition, RawItem } from './types.js';

/** Runs of every YAML pipeline (the runs list is not paged: the service returns up to 10,000 newest runs). */
async function* fetchPipelineRuns(ctx: FetchContext): AsyncGenerator<RawItem[]> {
  const projects = await listProjects(ctx);
  yield* mergeMap(
    projects,
    (project) => mergeMap(items(pipelinePages(ctx, project)), (pipeline) => pipelineRuns(ctx, project, pipeline), 5),
    PROJECT_CONCURRENCY,
  );
}

async function* pipelineRuns(ctx: FetchContext, project: ProjectRef, pipeline: PipelineRef): AsyncGenerator<RawItem[]> {
  const res = await ctx.client.get<{ value?: RawItem[] }>(
    ctx.client.url(projectPath(project, `pipelines/${encodeURIComponent(String(pipeline.id))}/runs`)),
    { 'api-version': API.ga },
    ctx.signal,
  );
  const runs = res.data?.value ?? [];
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
  events: {
    subscriptions: [{ publisherId: 'pipelines', eventType: 'ms.vss-pipelines.run-state-changed-event' }],
    async handle(ctx, event) {
      const runId = numericId(field(event.resource, 'run', 'id'));
      const pipelineId = numericId(field(event.resource, 'pipeline', 'id')) ?? numericId(field(event.resource, 'run', 'pipeline', 'id'));
      const projectId = eventProjectId(event);
      if (runId === undefined || pipelineId === undefined) throw missing(event, 'resource.run.id and resource.pipeline.id');
      if (!projectId) throw missing(event, 'project (resourceContainers.project.id)');
      const project = await projectById(ctx, projectId);
      if (!project) return nothing();
      const pipeline = await getIfExists<PipelineRef>(ctx, ctx.client.url(projectPath(project, `pipelines/${pipelineId}`)));
      const run = pipeline && (await getIfExists<RawItem>(ctx, ctx.client.url(projectPath(project, `pipelines/${pipelineId}/runs/${runId}`))));
      const enrich = (r: RawItem): RawItem => ({ ...r, __project: project, __pipeline: pipeline ?? field(event.resource, 'pipeline') });
      return run ? upserted(enrich(run)) : deletedItems(enrich({ ...(field<RawItem>(event.resource, 'run') ?? { id: runId }) }));
    },
  },
};
