import { OCEAN_DEFAULT_TEAM, PIPELINE_PAGE } from './shared/pipelines.js';
import { releaseListPages } from './shared/release.js';
import { API } from './shared/api.js';
import { eventProjectId, field, missing, nothing, numericId, projectById, upserted } from './shared/events.js';
import { projectPath } from './shared/pipelines.js';
import type { FetchContext, KindDefinition, RawItem } from './types.js';

function fetchReleaseDeployments(ctx: FetchContext): AsyncGenerator<RawItem[]> {
  return releaseListPages(ctx, 'deployments', {}, PIPELINE_PAGE.releaseDeployments);
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
  events: {
    subscriptions: ['ms.vss-release.deployment-started-event', 'ms.vss-release.deployment-completed-event'].map((eventType) => ({ publisherId: 'rm' as const, eventType })),
    async handle(ctx, event) {
      const r = event.resource;
      const releaseId = numericId(field(r, 'deployment', 'release', 'id')) ?? numericId(field(r, 'environment', 'releaseId')) ?? numericId(field(r, 'environment', 'release', 'id')) ?? numericId(field(r, 'release', 'id'));
      const envId = numericId(field(r, 'deployment', 'definitionEnvironmentId')) ?? numericId(field(r, 'environment', 'definitionEnvironmentId'));
      const projectId = eventProjectId(event);
      if (releaseId === undefined) throw missing(event, 'the release id (resource.environment.release.id)');
      if (!projectId) throw missing(event, 'project (resource.project.id)');
      const project = await projectById(ctx, projectId);
      if (!project) return nothing();
      // Every attempt of this release in this stage, as the deployments list reports them now.
      const res = await ctx.client.get<{ value?: RawItem[] }>(
        ctx.client.url(projectPath(project, 'release/deployments'), 'vsrm'),
        { releaseId, definitionEnvironmentId: envId, deploymentStatus: 'all', $top: 100, 'api-version': API.ga },
        ctx.signal,
      );
      return upserted(...(res.data?.value ?? []));
    },
  },
};
