import { mergeMap } from '../util/asyncIter.js';
import { listProjects } from './shared/listings.js';
import { environmentPages, OCEAN_DEFAULT_TEAM, PROJECT_CONCURRENCY } from './shared/pipelines.js';
import type { FetchContext, KindDefinition, RawItem } from './types.js';

/** Pipeline environments of every project (the item carries its `project` reference). */
async function* fetchEnvironments(ctx: FetchContext): AsyncGenerator<RawItem[]> {
  const projects = await listProjects(ctx);
  yield* mergeMap(projects, (project) => environmentPages(ctx, project), PROJECT_CONCURRENCY);
}

export const environmentKind: KindDefinition = {
  kind: 'environment',
  description: 'Pipeline environments of every project',
  serverSupported: true,
  docs: { endpoints: 'GET {project}/_apis/distributedtask/environments per project (continuation)', enrichment: [] },
  selectorSchema: { type: 'object', properties: { defaultTeam: OCEAN_DEFAULT_TEAM } },
  fetch: fetchEnvironments,
};
