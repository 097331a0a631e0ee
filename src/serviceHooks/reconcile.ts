/**
 * Brings one organization's subscriptions to the desired set: reads everything (the desired set, every host's
 * listing), plans (plan.ts), then applies the plan with bounded concurrency.
 */
import PQueue from 'p-queue';
import type { EventPublisher, EventSubscription } from '../kinds/types.js';
import { HookListError, HookPermissionError, HooksApi, type HookOptions } from './api.js';
import { desiredSubscriptions } from './desired.js';
import { parseHeaders, secretFingerprint, subscriptionBody } from './ownership.js';
import { planReconcile, type ReconcileAction } from './plan.js';
import { webhookUrl, type DesiredSubscription, type HookSettings, type HookSubscription } from './subscription.js';

export interface ReconcileResult {
  organization: string;
  desired: number;
  created: number;
  kept: number;
  repaired: number;
  /** Duplicates and subscriptions of this instance no longer needed (an event or a project dropped). */
  removed: number;
  failed: number;
  /** Error messages (secrets scrubbed) of individual create/repair/delete calls that failed. */
  errors: string[];
}

function requireAppHost(settings: HookSettings): string {
  if (!settings.appHost) throw new Error('service-hook subscriptions need the public URL of this service (appHost)');
  return webhookUrl(settings.appHost);
}

/**
 * Brings one organization's subscriptions to the desired set: creates the missing ones, keeps correct and active
 * ones, repairs (PUT, same id) disabled or wrong ones (including ours pointing at an old app host), and removes
 * duplicates and no longer needed subscriptions of this installation. Lists every host first and aborts on any
 * listing failure, before creating anything. Subscriptions of other consumers or installations are never touched.
 */
export async function reconcileSubscriptions(o: HookOptions & { events: EventSubscription[] }): Promise<ReconcileResult> {
  const api = new HooksApi(o);
  const url = requireAppHost(o.settings);
  const fingerprint = o.settings.webhookSecret ? secretFingerprint(o.settings.webhookSecret, o.settings.integrationIdentifier) : undefined;
  const result: ReconcileResult = { organization: api.org.name, desired: 0, created: 0, kept: 0, repaired: 0, removed: 0, failed: 0, errors: [] };
  const publishers = [...new Set(o.events.map((e) => e.publisherId))];

  // 1. Everything read before anything is written.
  let desired: DesiredSubscription[];
  const existing = new Map<EventPublisher, HookSubscription[]>();
  try {
    desired = await desiredSubscriptions(o, o.events);
    for (const p of publishers) existing.set(p, await api.list(p));
  } catch (err) {
    if (err instanceof HookListError) throw new HookListError(`${err.message}; nothing was created or changed`);
    throw err;
  }
  result.desired = desired.length;

  // 2. Plan.
  const { actions, kept } = planReconcile(desired, existing, o.settings, url, fingerprint);
  result.kept = kept;

  // 3. Apply. A permission error stops the rest (no storm of identical 403s).
  const apply = async (a: ReconcileAction) => {
    if (a.kind === 'create') {
      await api.create(subscriptionBody(a.want, o.settings, url, fingerprint), a.publisher);
      result.created++;
    } else if (a.kind === 'repair') {
      const keep = parseHeaders(a.s.consumerInputs?.httpHeaders).others;
      await api.replace(a.s.id, subscriptionBody(a.want, o.settings, url, fingerprint, keep), a.publisher);
      result.repaired++;
      api.log.info({ org: api.org.name, id: a.s.id, eventType: a.s.eventType, status: a.s.status }, 'service-hook subscription repaired');
    } else {
      await api.delete(a.s.id, a.publisher);
      result.removed++;
    }
  };
  await runActions(actions.length, async (abort) => {
    const queue = new PQueue({ concurrency: o.concurrency ?? 5 });
    await Promise.all(
      actions.map((a) =>
        queue.add(async () => {
          if (abort.signal.aborted) return;
          try {
            await apply(a);
          } catch (err) {
            const e = api.explain(err, describe(a));
            if (e instanceof HookPermissionError) {
              abort.abort(e);
              return;
            }
            result.failed++;
            result.errors.push(e.message);
            api.log.warn({ org: api.org.name, err: e.message }, 'service-hook subscription change failed');
          }
        }),
      ),
    );
  });
  return result;
}

/** What an action does, for its error message. */
function describe(a: ReconcileAction): string {
  if (a.kind === 'create') return `creating the "${a.want.eventType}" subscription${a.want.projectName ? ` of project "${a.want.projectName}"` : ''}`;
  if (a.kind === 'repair') return `repairing subscription ${a.s.id} ("${a.s.eventType}")`;
  return `deleting subscription ${a.s.id} ("${a.s.eventType}")`;
}

async function runActions(n: number, run: (abort: AbortController) => Promise<void>): Promise<void> {
  if (n === 0) return;
  const abort = new AbortController();
  await run(abort);
  if (abort.signal.aborted) throw abort.signal.reason as Error;
}
