import { PIPELINE_PAGE, projectPath } from './shared/pipelines.js';
import { releaseListPages, tagList } from './shared/release.js';
import { deletedItems, eventProjectId, field, getIfExists, missing, nothing, numericId, projectById, upserted } from './shared/events.js';
import type { FetchContext, KindDefinition, RawItem, Selector } from './types.js';

interface ReleaseSelector extends Selector {
  expand?: string;
  statusFilter?: string;
  tagFilter?: string[] | string;
  sourceBranchFilter?: string;
  minCreatedTime?: string;
  maxCreatedTime?: string;
}

/** Classic releases of every project (vsrm); the selector options are passed through as the API's filters. */
function fetchReleases(ctx: FetchContext, s: ReleaseSelector): AsyncGenerator<RawItem[]> {
  return releaseListPages(
    ctx,
    'releases',
    {
      $expand: s.expand,
      statusFilter: s.statusFilter,
      tagFilter: tagList(s.tagFilter),
      sourceBranchFilter: s.sourceBranchFilter,
      minCreatedTime: s.minCreatedTime,
      maxCreatedTime: s.maxCreatedTime,
    },
    PIPELINE_PAGE.releases,
  );
}

export const releaseKind: KindDefinition<ReleaseSelector> = {
  kind: 'release',
  description: 'Classic releases of every project',
  // Ocean documents the release kinds as unavailable on Azure DevOps Server.
  serverSupported: false,
  docs: { endpoints: 'GET vsrm {project}/_apis/release/releases per project (continuation, int token)', enrichment: [] },
  selectorSchema: {
    type: 'object',
    properties: {
      expand: {
        type: 'string',
        enum: ['environments', 'artifacts', 'approvals', 'manualInterventions', 'variables', 'tags'],
        description: 'Sent as $expand',
      },
      statusFilter: { type: 'string', enum: ['abandoned', 'active', 'draft', 'undefined'], description: 'Only releases in this status' },
      tagFilter: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'Only releases carrying all these tags' },
      sourceBranchFilter: { type: 'string', minLength: 1, description: 'Only releases whose primary artifact is from this branch' },
      minCreatedTime: { type: 'string', minLength: 1, description: 'Only releases created at or after this time (ISO 8601)' },
      maxCreatedTime: { type: 'string', minLength: 1, description: 'Only releases created before this time (ISO 8601)' },
    },
  },
  fetch: fetchReleases,
  events: {
    subscriptions: ['ms.vss-release.release-created-event', 'ms.vss-release.release-abandoned-event', 'ms.vss-release.deployment-completed-event'].map(
      (eventType) => ({ publisherId: 'rm' as const, eventType }),
    ),
    async handle(ctx, event, s) {
      const r = event.resource;
      const id = numericId(field(r, 'release', 'id')) ?? numericId(field(r, 'environment', 'releaseId')) ?? numericId(field(r, 'environment', 'release', 'id'));
      const projectId = eventProjectId(event) ?? field<string>(r, 'release', 'projectReference', 'id');
      if (id === undefined) throw missing(event, 'the release id (resource.release.id)');
      if (!projectId) throw missing(event, 'project (resource.project.id)');
      const project = await projectById(ctx, projectId);
      if (!project) return nothing();
      const release = await getIfExists<RawItem>(ctx, ctx.client.url(projectPath(project, `release/releases/${id}`), 'vsrm'), { $expand: s.expand });
      return release ? upserted(release) : deletedItems({ ...(field<RawItem>(r, 'release') ?? { id }) });
    },
  },
};
