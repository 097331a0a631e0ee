/**
 * This installation's subscriptions on every host, for `webhooks list` and `webhooks remove` (uninstall). A host whose
 * listing fails is reported and the others are still served; a permission error stops at once.
 */
import type { AdoService } from '../ado/orgUrl.js';
import type { EventPublisher } from '../kinds/types.js';
import { errorMessage } from '../util/errors.js';
import { HookPermissionError, HooksApi, hooksService, type HookOptions } from './api.js';
import { ownership, sameUrl, type Ownership } from './ownership.js';
import { webhookUrl, type HookSubscription } from './subscription.js';

const ALL_PUBLISHERS: EventPublisher[] = ['tfs', 'pipelines', 'rm', 'advsec'];

export interface RemoveResult {
  organization: string;
  removed: number;
  failed: number;
  errors: string[];
}

/** A subscription as `webhooks list` shows it (never its consumer inputs beyond the URL). */
export interface ListedSubscription {
  id: string;
  publisherId: string;
  eventType: string;
  projectId?: string;
  url?: string;
  status: string;
  ownership: Ownership;
  /** The host it was listed on. */
  service: AdoService;
}

/** Each publisher's subscriptions, listed on its host; a failed listing is reported and skipped, a permission error thrown. */
async function* eachPublisher(api: HooksApi, publishers: EventPublisher[], onError: (message: string) => void): AsyncGenerator<[EventPublisher, HookSubscription[]]> {
  for (const p of publishers) {
    let subs: HookSubscription[];
    try {
      subs = await api.list(p);
    } catch (err) {
      if (err instanceof HookPermissionError) throw err;
      onError(errorMessage(err));
      continue;
    }
    yield [p, subs];
  }
}

/**
 * This installation's subscriptions (and adoptable twins) on every host of the given publishers (default: all four).
 * A host whose listing fails is reported in `errors` and the others are still listed; a permission error throws.
 */
export async function listOwnSubscriptions(o: HookOptions & { publishers?: EventPublisher[] }): Promise<{ subscriptions: ListedSubscription[]; errors: string[] }> {
  const api = new HooksApi(o);
  const url = o.settings.appHost ? webhookUrl(o.settings.appHost) : undefined;
  const subscriptions: ListedSubscription[] = [];
  const errors: string[] = [];
  for await (const [p, subs] of eachPublisher(api, o.publishers ?? ALL_PUBLISHERS, (message) => errors.push(message))) {
    for (const s of subs) {
      const own = ownership(s, o.settings, url);
      if (own === 'foreign') continue;
      subscriptions.push({
        id: s.id,
        publisherId: s.publisherId,
        eventType: s.eventType,
        projectId: s.publisherInputs?.projectId,
        url: s.consumerInputs?.url,
        status: String(s.status ?? 'enabled'),
        ownership: own,
        service: hooksService(p),
      });
    }
  }
  return { subscriptions, errors };
}

/**
 * Deletes the subscriptions carrying this installation's instance header, on every host; when an app host is set,
 * only those delivering to it (two installations sharing an identifier by mistake do not delete each other's). A
 * failed listing on one host is recorded and the other hosts are still cleaned; a permission error stops at once.
 */
export async function removeSubscriptions(o: HookOptions & { publishers?: EventPublisher[] }): Promise<RemoveResult> {
  const api = new HooksApi(o);
  const result: RemoveResult = { organization: api.org.name, removed: 0, failed: 0, errors: [] };
  const url = o.settings.appHost ? webhookUrl(o.settings.appHost) : undefined;
  const failed = (message: string) => {
    result.failed++;
    result.errors.push(message);
  };
  for await (const [p, subs] of eachPublisher(api, o.publishers ?? ALL_PUBLISHERS, failed)) {
    for (const s of subs) {
      // Only what carries our header: an adoptable twin was not created by this installation.
      if (ownership(s, o.settings, undefined) !== 'ours') continue;
      if (url !== undefined && !sameUrl(s.consumerInputs?.url, url)) continue;
      try {
        await api.delete(s.id, p);
        result.removed++;
      } catch (err) {
        const e = api.explain(err, `deleting subscription ${s.id} ("${s.eventType}")`);
        if (e instanceof HookPermissionError) throw e;
        result.failed++;
        result.errors.push(e.message);
      }
    }
  }
  return result;
}
