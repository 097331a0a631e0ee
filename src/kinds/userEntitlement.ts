import { entitlementPages, ENTITLEMENT_FIELDS } from './shared/entitlements.js';
import type { FetchContext, KindDefinition, RawItem, Selector } from './types.js';

interface UserEntitlementSelector extends Selector {
  includeFields?: string[];
  filter?: string;
}

async function* fetchUserEntitlements(ctx: FetchContext, selector: UserEntitlementSelector): AsyncGenerator<RawItem[]> {
  yield* entitlementPages(ctx, { includeFields: selector.includeFields, filter: selector.filter });
}

export const userEntitlementKind: KindDefinition<UserEntitlementSelector> = {
  kind: 'user-entitlement',
  description: 'Access level (license) of every user of the organization',
  serverSupported: false,
  docs: { endpoints: 'GET vsaex _apis/userentitlements (body continuation)', enrichment: [] },
  selectorSchema: {
    type: 'object',
    properties: {
      includeFields: { type: 'array', items: { type: 'string', enum: ENTITLEMENT_FIELDS }, description: 'select= fields' },
      filter: { type: 'string', minLength: 1, description: "OData $filter, e.g. licenseId eq 'Account-Express'" },
    },
  },
  fetch: fetchUserEntitlements,
};
