/**
 * The calls to the hooks API of one organization: where each publisher's subscriptions live, and list, create, replace
 * and delete, with a 401/403 turned into the permissions this needs and every message scrubbed of the webhook secret.
 */
import type { AdoClient } from '../ado/client.js';
import { AdoAuthError } from '../ado/errors.js';
import { serviceUrl, type AdoService, type Organization } from '../ado/orgUrl.js';
import type { EventPublisher } from '../kinds/types.js';
import { silentLogger, type Logger } from '../observability/log.js';
import { errorMessage, scrubSecrets } from '../util/errors.js';
import { CONSUMER_ACTION_ID, CONSUMER_ID, type HookSettings, type HookSubscription } from './subscription.js';

export const HOOKS_PERMISSION_HINT =
  'the identity needs the service-hooks permissions "View subscriptions", "Edit subscriptions" and "Delete subscriptions" ' +
  '(for a personal access token: scope vso.hooks_write, "Service Hooks (read, write)")';

/** The service hosting a publisher's subscriptions: tfs and pipelines on the organization host, rm on vsrm, advsec on advsec. */
export function hooksService(publisher: EventPublisher): AdoService {
  if (publisher === 'rm') return 'vsrm';
  if (publisher === 'advsec') return 'advsec';
  return 'core';
}

export function hooksApiVersion(publisher: EventPublisher): string {
  return publisher === 'advsec' ? '7.2-preview.1' : '7.1-preview.1';
}

/** `…/_apis/hooks/subscriptions` on the host of the publisher (pure: no network). */
export function subscriptionsUrl(org: Organization, publisher: EventPublisher): string {
  return `${serviceUrl(org, hooksService(publisher))}/_apis/hooks/subscriptions`;
}

export interface HookOptions {
  client: AdoClient;
  settings: HookSettings;
  log?: Logger;
  signal?: AbortSignal;
  /** Page size of the project listing (per-project mode). */
  pageSize?: number;
  /** Create/replace/delete calls in flight at once (default 5, as Ocean). */
  concurrency?: number;
}

/** A 401/403 on the hooks API: names the organization and the permissions needed. */
export class HookPermissionError extends AdoAuthError {
  override name = 'HookPermissionError';
}

/** A listing failed: nothing was created or changed, so a transient error cannot cause duplicates. */
export class HookListError extends Error {
  override name = 'HookListError';
}

/** The hooks API of the options' organization. */
export class HooksApi {
  readonly log: Logger;
  readonly org: Organization;
  readonly secrets: string[];
  constructor(readonly o: HookOptions) {
    this.log = o.log ?? silentLogger;
    this.org = o.client.org;
    this.secrets = [o.settings.webhookSecret].filter((s): s is string => !!s);
  }

  scrub(message: string): string {
    return scrubSecrets(message, this.secrets);
  }

  /** Turns a 401/403 into the permissions message; anything else keeps its (scrubbed) message. */
  explain(err: unknown, what: string): Error {
    if (err instanceof AdoAuthError) {
      return new HookPermissionError(
        this.scrub(
          `Azure DevOps organization "${this.org.name}" (${this.org.url}): ${what} was refused (HTTP ${err.status ?? 401}): ${HOOKS_PERMISSION_HINT}. ${err.message}`,
        ),
        { status: err.status },
      );
    }
    const message = errorMessage(err);
    // The client's errors already name the organization.
    const prefix = message.startsWith('Azure DevOps organization') ? '' : `Azure DevOps organization "${this.org.name}": `;
    return new Error(this.scrub(`${prefix}${what} failed: ${message}`));
  }

  async list(publisher: EventPublisher, eventType?: string): Promise<HookSubscription[]> {
    const url = subscriptionsUrl(this.org, publisher);
    try {
      const res = await this.o.client.get<{ value?: HookSubscription[] }>(
        url,
        { publisherId: publisher, eventType, consumerId: CONSUMER_ID, consumerActionId: CONSUMER_ACTION_ID, 'api-version': hooksApiVersion(publisher) },
        this.o.signal,
      );
      if (!res.data || !Array.isArray(res.data.value)) throw new Error('the list response has no "value" array');
      // The service filters; filter again so a looser server cannot widen what this module may touch.
      return res.data.value.filter((s) => s.publisherId?.toLowerCase() === publisher && (!eventType || s.eventType === eventType));
    } catch (err) {
      const e = this.explain(err, `listing the "${publisher}" service-hook subscriptions`);
      if (e instanceof HookPermissionError) throw e;
      throw new HookListError(e.message);
    }
  }

  async create(b: Record<string, unknown>, publisher: EventPublisher): Promise<HookSubscription> {
    const res = await this.o.client.request<HookSubscription>(subscriptionsUrl(this.org, publisher), {
      method: 'POST',
      query: { 'api-version': hooksApiVersion(publisher) },
      body: b,
      signal: this.o.signal,
    });
    return res.data;
  }

  async replace(id: string, b: Record<string, unknown>, publisher: EventPublisher): Promise<HookSubscription> {
    const res = await this.o.client.request<HookSubscription>(`${subscriptionsUrl(this.org, publisher)}/${encodeURIComponent(id)}`, {
      method: 'PUT',
      query: { 'api-version': hooksApiVersion(publisher) },
      body: { ...b, id },
      signal: this.o.signal,
    });
    return res.data;
  }

  async delete(id: string, publisher: EventPublisher): Promise<void> {
    await this.o.client.request(`${subscriptionsUrl(this.org, publisher)}/${encodeURIComponent(id)}`, {
      method: 'DELETE',
      query: { 'api-version': hooksApiVersion(publisher) },
      signal: this.o.signal,
    });
  }
}
