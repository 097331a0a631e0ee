import { PIPELINE_PAGE } from './shared/pipelines.js';
import { releaseListPages, tagList } from './shared/release.js';
import { fromAuditLog, projectsNamed } from './shared/auditIncremental.js';
import type { FetchContext, KindDefinition, RawItem, SelectorOf, SelectorSchema } from './types.js';

const selectorSchema = {
  type: 'object',
  properties: {
    expand: {
      type: 'string',
      enum: ['environments', 'artifacts', 'triggers', 'variables', 'tags', 'lastRelease'],
      default: 'environments',
      description: 'Sent as $expand',
    },
    tagFilter: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'Only definitions carrying all these tags' },
  },
} as const satisfies SelectorSchema;

type ReleaseDefinitionSelector = SelectorOf<typeof selectorSchema>;

function fetchReleaseDefinitions(ctx: FetchContext, s: ReleaseDefinitionSelector, projectIds?: Set<string>): AsyncGenerator<RawItem[]> {
  return releaseListPages(
    ctx,
    'definitions',
    { $expand: s.expand ?? 'environments', tagFilter: tagList(s.tagFilter) },
    PIPELINE_PAGE.releaseDefinitions,
    { enrich: (item, project) => ({ ...item, __project: project }), projectIds },
  );
}

export const releaseDefinitionKind: KindDefinition<ReleaseDefinitionSelector> = {
  kind: 'release-definition',
  description: 'Classic release definitions of every project',
  serverSupported: false,
  docs: { endpoints: 'GET vsrm {project}/_apis/release/definitions per project (continuation, string token)', enrichment: ['__project'] },
  selectorSchema,
  fetch: fetchReleaseDefinitions,
  incremental: fromAuditLog(fetchReleaseDefinitions, {
    reads: 'the audit log since the cursor: the projects with a release pipeline created, changed or deleted (Release.ReleasePipeline*) are listed again',
    concerns: (e) => /^Release\.ReleasePipeline(Created|Modified|Deleted)$/.test(e.actionId),
    refetch: (ctx, s, entries) => fetchReleaseDefinitions(ctx, s, projectsNamed(entries)),
  }),
};
