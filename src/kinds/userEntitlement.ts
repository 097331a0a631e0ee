import { entitlementPages, ENTITLEMENT_FIELDS } from './shared/entitlements.js';
import { deletedItems, getIfExists, upserted } from './shared/events.js';
import type { FetchContext, KindDefinition, RawItem, RefetchHint, SelectorOf, SelectorSchema } from './types.js';

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

/**
 * One user's entitlement as the resync would produce it. Without a `filter`, GET userentitlements/{id} (404: gone);
 * with one, only the filtered listing says whether the resync keeps it (the OData filter is the service's to apply),
 * so that listing is read until the user turns up.
 */
async function refetchUserEntitlement(ctx: FetchContext, selector: UserEntitlementSelector, hint: RefetchHint) {
  const userId = typeof hint.userId === 'string' && hint.userId !== '' ? hint.userId : undefined;
  if (!userId) throw new Error('user-entitlement refetch: the hint has no userId');
  let current: RawItem | undefined;
  if (selector.filter === undefined) {
    current = await getIfExists<RawItem>(ctx, ctx.client.url(`_apis/userentitlements/${encodeURIComponent(userId)}`, 'vsaex'));
  } else {
    const wanted = userId.toLowerCase();
    for await (const page of entitlementPages(ctx, { includeFields: selector.includeFields, filter: selector.filter })) {
      current = page.find((e) => String(e.id).toLowerCase() === wanted);
      if (current) break;
    }
  }
  // A gone entitlement is named by what the change saw of it (its mapping may read more than the id).
  const before = hint.entitlement && typeof hint.entitlement === 'object' ? (hint.entitlement as RawItem) : { id: userId };
  return current ? upserted(current) : deletedItems(before);
}

export const userEntitlementKind: KindDefinition<UserEntitlementSelector> = {
  kind: 'user-entitlement',
  description: 'Access level (license) of every user of the organization',
  serverSupported: false,
  docs: { endpoints: 'GET vsaex _apis/userentitlements (body continuation)', enrichment: [] },
  selectorSchema,
  fetch: fetchUserEntitlements,
  refetch: refetchUserEntitlement,
};
