import { pagesByContinuation } from '../ado/paging.js';
import { mergeMap } from '../util/asyncIter.js';
import { API } from './shared/api.js';
import type { ProjectRef } from './shared/listings.js';
import { listEnvironments, OCEAN_DEFAULT_TEAM, PIPELINE_PAGE, projectPath, top, type EnvironmentRef } from './shared/pipelines.js';
import type { FetchContext, KindDefinition, RawItem } from './types.js';

/** Deployment records of every environment (the environment list is shared with other kinds in the run). */
async function* fetchPipelineDeployments(ctx: FetchContext): AsyncGenerator<RawItem[]> {
  const environments = await listEnvironments(ctx);
  yield* mergeMap(environments, ({ project, environment }) => environmentDeployments(ctx, project, environment), 5);
}

async function* environmentDeployments(ctx: FetchContext, project: ProjectRef, environment: EnvironmentRef): AsyncGenerator<RawItem[]> {
  const url = ctx.client.url(
    projectPath(project, `distributedtask/environments/${encodeURIComponent(String(environment.id))}/environmentdeploymentrecords`),
  );
  // Page size is `top` (no `$`) here; the token comes back in the header only.
  const pages = pagesByContinuation<RawItem>(ctx.client, url, {
    query: { 'api-version': API.ga },
    top: top(ctx, PIPELINE_PAGE.deploymentRecords),
    topParam: 'top',
    tokenFrom: 'header',
    signal: ctx.signal,
  });
  const projectRef = environment.project ?? { id: project.id, name: project.name };
  for await (const page of pages) {
    if (page.length > 0) yield page.map((r) => ({ ...r, __project: projectRef }));
  }
}

export const pipelineDeploymentKind: KindDefinition = {
  kind: 'pipeline-deployment',
  description: 'Deployment records of every pipeline environment',
  serverSupported: true,
  docs: {
    endpoints:
      'GET {project}/_apis/distributedtask/environments per project, then GET .../environments/{id}/environmentdeploymentrecords per environment (continuation, `top`)',
    enrichment: ['__project'],
  },
  selectorSchema: { type: 'object', properties: { defaultTeam: OCEAN_DEFAULT_TEAM } },
  fetch: fetchPipelineDeployments,
};
