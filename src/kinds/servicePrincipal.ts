import { graphPages } from './shared/graph.js';
import type { FetchContext, KindDefinition, RawItem, Selector } from './types.js';

async function* fetchServicePrincipals(ctx: FetchContext): AsyncGenerator<RawItem[]> {
  yield* graphPages(ctx, 'serviceprincipals');
}

export const servicePrincipalKind: KindDefinition<Selector> = {
  kind: 'service-principal',
  description: 'Microsoft Entra service principals (applications) added to the organization',
  serverSupported: false,
  docs: { endpoints: 'GET vssps _apis/graph/serviceprincipals (header continuation)', enrichment: [] },
  selectorSchema: { type: 'object', properties: {} },
  fetch: fetchServicePrincipals,
};
