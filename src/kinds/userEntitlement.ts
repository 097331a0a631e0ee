import { entitlementPages, ENTITLEMENT_FIELDS } from './shared/entitlements.js';
import type { FetchContext, KindDefinition, RawItem, SelectorOf, SelectorSchema } from './types.js';

const selectorSchema = {
  type: 'object',
  properties: {
    includeFields: { type: 'array', items: { type: 'string', enum: ENTITLEMENT_FIELDS }, description: 'select= fields' },
    filter: { type: 'string', minLength: 1, description: "OData $filter, e.g. licenseId eq 'Account-Express'" },
  },
} as const satisfies SelectorSchema;

type UserEntitlementSelector = SelectorOf<typeof selectorSchema>;

async function* fetchUserEntitlements(ctx: FetchContext, selector: UserEntitlementSelector): AsyncGenerator<RawItem[]> {
  yield* entitlementPages(ctx, { includeFields: selector.includeFields, filter: selector.filter });
}

export const userEntitlementKind: KindDefinition<UserEntitlementSelector> = {
  kind: 'user-entitlement',
  description: 'Access level (license) of every user of the organization',
  serverSupported: false,
  docs: { endpoints: 'GET vsaex _apis/userentitlements (body continuation)', enrichment: [] },
  selectorSchema,
  fetch: fetchUserEntitlements,
};
