import { PIPELINE_PAGE } from './shared/pipelines.js';
import { releaseListPages, tagList } from './shared/release.js';
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
};
