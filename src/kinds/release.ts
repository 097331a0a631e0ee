import type { Query } from '../ado/client.js';
import { getList } from '../ado/paging.js';
import { API } from './shared/api.js';
import { PIPELINE_PAGE, projectPath } from './shared/pipelines.js';
import { releaseListPages, tagList } from './shared/release.js';
import { deletedItems, eventProject, eventProjectId, field, missing, numericId, upserted } from './shared/events.js';
import { fromAuditLog, projectsNamed } from './shared/auditIncremental.js';
import type { FetchContext, KindDefinition, RawItem, SelectorOf, SelectorSchema } from './types.js';

const selectorSchema = {
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
} as const satisfies SelectorSchema;

type ReleaseSelector = SelectorOf<typeof selectorSchema>;

/**
 * The selector options as the releases list's filters, declared once: the listing sends them, and an event asks the same
 * list for its one release (`releaseIdFilter`), so Azure DevOps applies the very same filters (and `$expand`) to it.
 */
function releaseQuery(s: ReleaseSelector): Query {
  return {
    $expand: s.expand,
    statusFilter: s.statusFilter,
    tagFilter: tagList(s.tagFilter),
    sourceBranchFilter: s.sourceBranchFilter,
    minCreatedTime: s.minCreatedTime,
    maxCreatedTime: s.maxCreatedTime,
  };
}

/** Classic releases of every project (vsrm); the selector options are passed through as the API's filters. */
function fetchReleases(ctx: FetchContext, s: ReleaseSelector, projectIds?: Set<string>): AsyncGenerator<RawItem[]> {
  return releaseListPages(ctx, 'releases', releaseQuery(s), PIPELINE_PAGE.releases, { projectIds });
}

export const releaseKind: KindDefinition<ReleaseSelector> = {
  kind: 'release',
  description: 'Classic releases of every project',
  // Ocean documents the release kinds as unavailable on Azure DevOps Server.
  serverSupported: false,
  docs: { endpoints: 'GET vsrm {project}/_apis/release/releases per project (continuation, int token)', enrichment: [] },
  selectorSchema,
  fetch: fetchReleases,
  incremental: fromAuditLog(fetchReleases, {
    reads: 'the audit log since the cursor: the projects with a release created or deleted, a deployment completed or an approval given (Release.Release*, Release.Deployment*, Release.Approval*) are listed again',
    concerns: (e) => /^Release\.(Release(Created|Deleted)|Deployments?Completed|Approvals?Completed)$/.test(e.actionId),
    refetch: (ctx, s, entries) => fetchReleases(ctx, s, projectsNamed(entries)),
  }),
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
      const { project, listed } = await eventProject(ctx, projectId);
      // The release as the listing returns it, or none: gone, outside the selector's filters, or of a project the
      // resync does not list. A proven list: an answer without its array fails the event rather than deleting.
      const found = listed
        ? await getList<RawItem>(ctx.client, ctx.client.url(projectPath(project, 'release/releases'), 'vsrm'), { ...releaseQuery(s), releaseIdFilter: id, 'api-version': API.ga }, { signal: ctx.signal })
        : [];
      const release = found.find((x) => numericId(x.id) === id);
      if (release) return upserted(release);
      // The payload names the release; its project, which mappings key on, is stamped when the payload lacks it.
      const named = { ...(field<RawItem>(r, 'release') ?? { id }) };
      named.projectReference ??= { id: project.id, name: project.name };
      return deletedItems(named);
    },
  },
};
