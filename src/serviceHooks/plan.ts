/**
 * The reconcile plan: from the desired set and what the hosts list, which subscriptions to create, which to repair
 * (disabled or wrong, including ours pointing at an old app host), which to keep, and which of ours to remove
 * (duplicates, and events or projects no longer wanted). Pure: no network.
 */
import type { EventPublisher } from '../kinds/types.js';
import { isActive, isCorrect, ownership, userPublisherInputs } from './ownership.js';
import type { DesiredSubscription, HookSettings, HookSubscription } from './subscription.js';

export type ReconcileAction =
  | { kind: 'create'; want: DesiredSubscription; publisher: EventPublisher }
  | { kind: 'repair'; want: DesiredSubscription; s: HookSubscription; publisher: EventPublisher }
  | { kind: 'remove'; s: HookSubscription; publisher: EventPublisher };

export interface ReconcilePlan {
  actions: ReconcileAction[];
  /** Desired subscriptions already correct and active. */
  kept: number;
}

function keyOf(publisherId: string, eventType: string, projectId: string | undefined): string {
  return `${publisherId.toLowerCase()}|${eventType.toLowerCase()}|${(projectId ?? '').toLowerCase()}`;
}

/**
 * `existing`: every subscription listed, per publisher. Subscriptions of other consumers or installations are never
 * in the plan; an adoptable twin is repaired or kept in place of a create, never removed.
 */
export function planReconcile(
  desired: DesiredSubscription[],
  existing: ReadonlyMap<EventPublisher, HookSubscription[]>,
  settings: HookSettings,
  url: string,
  fingerprint: string | undefined,
): ReconcilePlan {
  const wanted = new Map(desired.map((d) => [keyOf(d.publisherId, d.eventType, d.projectId), d]));
  const candidates = new Map<string, HookSubscription[]>();
  const obsolete: Array<{ s: HookSubscription; publisher: EventPublisher }> = [];
  for (const [publisher, subs] of existing) {
    for (const s of subs) {
      const own = ownership(s, settings, url);
      if (own === 'foreign') continue;
      const key = keyOf(s.publisherId, s.eventType, userPublisherInputs(s.publisherInputs).projectid);
      if (!wanted.has(key)) {
        if (own === 'ours') obsolete.push({ s, publisher });
        continue;
      }
      const list = candidates.get(key) ?? [];
      list.push(s);
      candidates.set(key, list);
    }
  }

  const plan: ReconcilePlan = { actions: [], kept: 0 };
  for (const [key, want] of wanted) {
    const found = candidates.get(key) ?? [];
    const score = (s: HookSubscription) => (isCorrect(s, want, settings, url, fingerprint) ? 2 : 0) + (isActive(s) ? 1 : 0);
    const ranked = [...found].sort((a, b) => score(b) - score(a));
    const best = ranked[0];
    if (!best) plan.actions.push({ kind: 'create', want, publisher: want.publisherId });
    else if (score(best) === 3) plan.kept++;
    else plan.actions.push({ kind: 'repair', want, s: best, publisher: want.publisherId });
    // Duplicates: only ours are removed; an adopted twin is left alone.
    for (const dup of ranked.slice(1)) {
      if (ownership(dup, settings, url) === 'ours') plan.actions.push({ kind: 'remove', s: dup, publisher: want.publisherId });
    }
  }
  for (const { s, publisher } of obsolete) plan.actions.push({ kind: 'remove', s, publisher });
  return plan;
}
