/**
 * What every part of service-hook subscription management shares: the subscription as the hooks API returns it, one
 * this installation wants, the settings a reconcile reads, and the marks a subscription of this installation carries.
 */
import type { EventPublisher } from '../kinds/types.js';

/** Path of the service-hook receiver of `serve`; subscriptions point at `${appHost}${WEBHOOK_PATH}`. */
export const WEBHOOK_PATH = '/webhooks/azure-devops';
/** httpHeaders line that marks a subscription as created by this installation (value: the integration identifier). */
export const INSTANCE_HEADER = 'X-Ado-Sync-Instance';
/** httpHeaders line carrying a slow, salted fingerprint of the webhook secret (the list API masks the password). */
export const SECRET_HEADER = 'X-Ado-Sync-Secret-Fingerprint';
export const CONSUMER_ID = 'webHooks';
export const CONSUMER_ACTION_ID = 'httpRequest';

/** The settings a reconcile needs (a subset of `Settings`). */
export interface HookSettings {
  appHost?: string;
  webhookSecret?: string;
  webhookAuthUsername: string;
  isProjectsLimited: boolean;
  integrationIdentifier: string;
}

/** Subscription as the hooks API returns it (the fields this module reads). */
export interface HookSubscription {
  id: string;
  publisherId: string;
  eventType: string;
  consumerId?: string;
  consumerActionId?: string;
  status?: string;
  resourceVersion?: string | null;
  publisherInputs?: Record<string, string>;
  consumerInputs?: Record<string, string>;
  [k: string]: unknown;
}

/** One subscription this installation wants: an event, per project or organization-wide. */
export interface DesiredSubscription {
  publisherId: EventPublisher;
  eventType: string;
  projectId?: string;
  /** For summaries: the project name when per project. */
  projectName?: string;
}

/** `${appHost}/webhooks/azure-devops`, tolerant of a trailing slash or an app host that already ends with the path. */
export function webhookUrl(appHost: string): string {
  const base = appHost.trim().replace(/\/+$/, '');
  return base.toLowerCase().endsWith(WEBHOOK_PATH) ? base : `${base}${WEBHOOK_PATH}`;
}
