import { OCEAN_DEFAULT_TEAM, PIPELINE_PAGE } from './shared/pipelines.js';
import { releaseListPages } from './shared/release.js';
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
};
