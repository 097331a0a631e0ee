import { entitlementPages, ENTITLEMENT_FIELDS } from './shared/entitlements.js';
import { deletedItems, getIfExists, upserted } from './shared/events.js';
import { auditField, type AuditEntry } from './shared/auditLog.js';
import { fromAuditLog } from './shared/auditIncremental.js';
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

const LICENSE_CHANGE = /^Licensing\.(Assigned|Modified|Removed)$/;

/** Licenses assigned, changed or removed: each user named is refetched (404: gone); a group rule change reads them all. */
async function* entitlementsOfEntries(ctx: FetchContext, selector: UserEntitlementSelector, entries: AuditEntry[]): AsyncGenerator<RawItem[]> {
  const users = entries.map((e) => (LICENSE_CHANGE.test(e.actionId) ? auditField(e, 'UserIdentifier') : undefined));
  if (users.some((u) => u === undefined)) {
    ctx.note?.('incremental: a group licensing rule changed (or an entry names no user); every entitlement read');
    yield* fetchUserEntitlements(ctx, selector);
    return;
  }
  for (const userId of new Set(users.map((u) => u!.toLowerCase()))) {
    const outcome = await refetchUserEntitlement(ctx, selector, { userId });
    if (outcome.upsert.length > 0) yield outcome.upsert;
    if (outcome.deleted.length > 0) ctx.gone?.(outcome.deleted);
  }
}

export const userEntitlementKind: KindDefinition<UserEntitlementSelector> = {
  kind: 'user-entitlement',
  description: 'Access level (license) of every user of the organization',
  serverSupported: false,
  docs: { endpoints: 'GET vsaex _apis/userentitlements (body continuation)', enrichment: [] },
  selectorSchema,
  fetch: fetchUserEntitlements,
  refetch: refetchUserEntitlement,
  incremental: fromAuditLog(fetchUserEntitlements, {
    reads: 'the audit log since the cursor: each user whose license was assigned, changed or removed is read again (GET userentitlements/{id}; 404 deletes it); a group licensing rule change reads every entitlement',
    concerns: (e) => e.actionId.startsWith('Licensing.'),
    refetch: entitlementsOfEntries,
  }),
};
