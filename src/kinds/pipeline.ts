import { mergeMap } from '../util/asyncIter.js';
import { API } from './shared/api.js';
import { listProjects, type ProjectRef } from './shared/listings.js';
import { PROJECT_CONCURRENCY, pipelinePages, projectPath, type PipelineRef } from './shared/pipelines.js';
import { auditField, type AuditEntry } from './shared/auditLog.js';
import { fromAuditLog, projectsNamed } from './shared/auditIncremental.js';
import type { FetchContext, KindDefinition, RawItem, SelectorOf, SelectorSchema } from './types.js';

const selectorSchema = {
  type: 'object',
  properties: {
    includeRepo: { type: 'boolean', default: false, description: "Add __repository: the pipeline definition's repository (one request per pipeline)" },
  },
} as const satisfies SelectorSchema;

type PipelineSelector = SelectorOf<typeof selectorSchema>;

interface BuildDefinition extends RawItem {
  repository?: RawItem;
  project?: RawItem;
}

async function* fetchPipelines(ctx: FetchContext, selector: PipelineSelector): AsyncGenerator<RawItem[]> {
  const projects = await listProjects(ctx);
  yield* mergeMap(projects, (project) => projectPipelines(ctx, project, selector.includeRepo), PROJECT_CONCURRENCY);
}

async function* projectPipelines(ctx: FetchContext, project: ProjectRef, includeRepo: boolean): AsyncGenerator<RawItem[]> {
  for await (const page of pipelinePages(ctx, project)) {
    const stamped: RawItem[] = page.map((p) => Object.assign(p, { __projectId: project.id }));
    if (!includeRepo) {
      yield stamped;
      continue;
    }
    const withRepo: RawItem[] = [];
    for await (const p of mergeMap(stamped, (p) => withRepository(ctx, project, p as PipelineRef), 8)) withRepo.push(p);
    yield withRepo;
  }
}

/** `__repository` = the build definition's repository, with the definition's project (as Ocean merges it). */
async function* withRepository(ctx: FetchContext, project: ProjectRef, pipeline: PipelineRef): AsyncGenerator<RawItem> {
  const res = await ctx.client.get<BuildDefinition>(
    ctx.client.url(projectPath(project, `build/definitions/${encodeURIComponent(String(pipeline.id))}`)),
    { 'api-version': API.ga },
    ctx.signal,
  );
  const def = res.data;
  yield { ...pipeline, __repository: def?.repository ? { ...def.repository, project: def.project } : null };
}

const PIPELINE_CHANGE = /^Pipelines\.Pipeline(Created|Deleted|Modified)$/;
const pipelineKey = (item: RawItem) => `${String(item.__projectId).toLowerCase()}/${String(item.id)}`;

/** Pipelines created, changed or deleted: the projects named are listed again. */
async function* pipelinesOfEntries(ctx: FetchContext, selector: PipelineSelector, entries: AuditEntry[]): AsyncGenerator<RawItem[]> {
  const named = projectsNamed(entries);
  if (!named) {
    ctx.note?.('incremental: a pipeline entry names no project; every project listed');
    yield* fetchPipelines(ctx, selector);
    return;
  }
  const projects = (await listProjects(ctx)).filter((p) => named.has(p.id.toLowerCase()));
  ctx.note?.(`incremental: pipelines of ${projects.length} ${projects.length === 1 ? 'project' : 'projects'} listed again`);
  yield* mergeMap(projects, (project) => projectPipelines(ctx, project, selector.includeRepo), PROJECT_CONCURRENCY);
}

export const pipelineKind: KindDefinition<PipelineSelector> = {
  kind: 'pipeline',
  description: 'YAML pipelines of every project, optionally with the repository they build',
  serverSupported: true,
  docs: {
    endpoints: 'GET {project}/_apis/pipelines per project (continuation); includeRepo: GET {project}/_apis/build/definitions/{id} per pipeline',
    enrichment: ['__projectId', '__repository'],
  },
  selectorSchema,
  fetch: fetchPipelines,
  incremental: fromAuditLog(fetchPipelines, {
    reads: 'the audit log since the cursor: the projects with a pipeline created, changed or deleted (Pipelines.Pipeline*) are listed again; a pipeline deleted and not listed is deleted',
    concerns: (e) => PIPELINE_CHANGE.test(e.actionId),
    refetch: pipelinesOfEntries,
    idOf: pipelineKey,
    gone: (e) => {
      const id = e.actionId === 'Pipelines.PipelineDeleted' ? Number(auditField(e, 'PipelineId')) : NaN;
      const projectId = auditField(e, 'ProjectId') ?? e.projectId ?? undefined;
      return Number.isInteger(id) && projectId ? { id, name: auditField(e, 'PipelineName') ?? null, __projectId: projectId } : undefined;
    },
  }),
};
