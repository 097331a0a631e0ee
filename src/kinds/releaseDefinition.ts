import { PIPELINE_PAGE } from './shared/pipelines.js';
import { releaseListPages, tagList } from './shared/release.js';
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

function fetchReleaseDefinitions(ctx: FetchContext, s: ReleaseDefinitionSelector): AsyncGenerator<RawItem[]> {
  return releaseListPages(
    ctx,
    'definitions',
    { $expand: s.expand ?? 'environments', tagFilter: tagList(s.tagFilter) },
    PIPELINE_PAGE.releaseDefinitions,
    (item, project) => ({ ...item, __project: project }),
  );
}

export const releaseDefinitionKind: KindDefinition<ReleaseDefinitionSelector> = {
  kind: 'release-definition',
  description: 'Classic release definitions of every project',
  serverSupported: false,
  docs: { endpoints: 'GET vsrm {project}/_apis/release/definitions per project (continuation, string token)', enrichment: ['__project'] },
  selectorSchema,
  fetch: fetchReleaseDefinitions,
};
