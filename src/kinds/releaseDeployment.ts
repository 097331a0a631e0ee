import { projectsChangedSince } from './shared/listings.js';
import type { Query } from '../ado/client.js';
import { pagesByContinuation } from '../ado/paging.js';
import { OCEAN_DEFAULT_TEAM, PIPELINE_PAGE, top } from './shared/pipelines.js';
import { releaseListPages } from './shared/release.js';
import { API } from './shared/api.js';
import { eventProject, eventProjectId, field, missing, nothing, numericId } from './shared/events.js';
import { projectPath } from './shared/pipelines.js';
import type { FetchContext, KindDefinition, RawItem } from './types.js';

/**
 * The deployments list's filters, declared once: none beyond the project (the API's own defaults). An event refetches
 * one release stage from the same list, narrowed only by `releaseId` and `definitionEnvironmentId`, and paged alike.
 */
const DEPLOYMENT_FILTERS: Query = {};

function fetchReleaseDeployments(ctx: FetchContext): AsyncGenerator<RawItem[]> {
  return releaseListPages(ctx, 'deployments', DEPLOYMENT_FILTERS, PIPELINE_PAGE.releaseDeployments);
}

/** An incremental pass: the same list, of the deployments modified since `since` (a deployment's every change moves lastModifiedOn). */
async function* releaseDeploymentsSince(ctx: FetchContext, _selector: unknown, since: Date): AsyncGenerator<RawItem[]> {
  const projects = await projectsChangedSince(ctx, 'release-deployment', since);
  const ids = new Set(projects.map((p) => p.id.toLowerCase()));
  yield* releaseListPages(ctx, 'deployments', { ...DEPLOYMENT_FILTERS, minModifiedTime: since.toISOString() }, PIPELINE_PAGE.releaseDeployments, { projectIds: ids });
}

export const releaseDeploymentKind: KindDefinition = {
  kind: 'release-deployment',
  description: 'Deployments of classic releases, every project',
  serverSupported: false,
  docs: { endpoints: 'GET vsrm {project}/_apis/release/deployments per project (continuation, int token)', enrichment: [] },
  selectorSchema: {
    type: 'object',
    properties: {
      defaultTeam: OCEAN_DEFAULT_TEAM,
      includeRelease: {
        type: 'boolean',
        default: false,
        description: "Accepted for compatibility with Ocean's example mapping; every deployment already carries its `release` reference",
      },
    },
  },
  fetch: fetchReleaseDeployments,
  incremental: { reads: 'per project, the deployments modified since the cursor (minModifiedTime); with a journal of service-hook events covering the window (`serve`), only the projects with its events since the cursor', since: releaseDeploymentsSince },
  events: {
    subscriptions: ['ms.vss-release.deployment-started-event', 'ms.vss-release.deployment-completed-event'].map((eventType) => ({ publisherId: 'rm' as const, eventType })),
    async handle(ctx, event) {
      const r = event.resource;
      const releaseId = numericId(field(r, 'deployment', 'release', 'id')) ?? numericId(field(r, 'environment', 'releaseId')) ?? numericId(field(r, 'environment', 'release', 'id')) ?? numericId(field(r, 'release', 'id'));
      const envId = numericId(field(r, 'deployment', 'definitionEnvironmentId')) ?? numericId(field(r, 'environment', 'definitionEnvironmentId'));
      const projectId = eventProjectId(event);
      if (releaseId === undefined) throw missing(event, 'the release id (resource.environment.release.id)');
      if (!projectId) throw missing(event, 'project (resource.project.id)');
      const { project, listed, found } = await eventProject(ctx, projectId);
      // A gone project's deployments cannot be named (the payload carries no deployment id).
      if (!found) return nothing();
      // Every attempt of this release in this stage, as the deployments list reports them now; those of a project the
      // resync does not list are removed.
      const pages = pagesByContinuation<RawItem>(ctx.client, ctx.client.url(projectPath(project, 'release/deployments'), 'vsrm'), {
        query: { ...DEPLOYMENT_FILTERS, releaseId, definitionEnvironmentId: envId, 'api-version': API.ga },
        top: top(ctx, PIPELINE_PAGE.releaseDeployments),
        tokenFrom: 'header',
        signal: ctx.signal,
      });
      const outcome = nothing();
      for await (const page of pages) (listed ? outcome.upsert : outcome.deleted).push(...page);
      return outcome;
    },
  },
};
