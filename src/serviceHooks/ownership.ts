/**
 * The rules that tell this installation's subscriptions from everyone else's, and a correct one from one needing a
 * repair, plus the body this installation sends for one it wants. Pure: no network.
 */
import { scryptSync } from 'node:crypto';
import {
  CONSUMER_ACTION_ID,
  CONSUMER_ID,
  INSTANCE_HEADER,
  SECRET_HEADER,
  type DesiredSubscription,
  type HookSettings,
  type HookSubscription,
} from './subscription.js';

/** Statuses under which the service delivers events; any other (disabledBy*) needs a repair. */
const ACTIVE_STATUSES = new Set(['enabled', 'onprobation']);
/** publisherInputs the service adds on its own; never part of the match. */
const SERVER_PUBLISHER_INPUTS = new Set(['tfssubscriptionid', 'hostid']);

/**
 * A fingerprint of the secret, so a changed secret can be detected although the list API masks the password.
 * scrypt with a per-installation salt: a reader of the subscription cannot cheaply test guesses of the secret.
 */
export function secretFingerprint(secret: string, integrationIdentifier: string): string {
  return scryptSync(secret, `ado-sync-hook:${integrationIdentifier}`, 12, { N: 1 << 14, r: 8, p: 1 }).toString('hex');
}

interface HeaderMap {
  instance?: string;
  fingerprint?: string;
  /** Lines other than ours, kept as they are on a repair. */
  others: string[];
}

export function parseHeaders(raw: string | undefined): HeaderMap {
  const out: HeaderMap = { others: [] };
  for (const line of (raw ?? '').split(/\r?\n/)) {
    if (!line.trim()) continue;
    const colon = line.indexOf(':');
    const name = (colon < 0 ? line : line.slice(0, colon)).trim().toLowerCase();
    const value = colon < 0 ? '' : line.slice(colon + 1).trim();
    if (name === INSTANCE_HEADER.toLowerCase()) out.instance = value;
    else if (name === SECRET_HEADER.toLowerCase()) out.fingerprint = value;
    else out.others.push(line.trim());
  }
  return out;
}

export function sameUrl(a: string | undefined, b: string): boolean {
  return a !== undefined && a.trim().replace(/\/+$/, '').toLowerCase() === b.replace(/\/+$/, '').toLowerCase();
}

/** publisherInputs without the ones the server adds (hostId, tfsSubscriptionId), keys lower-cased, empty values dropped. */
export function userPublisherInputs(inputs: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(inputs ?? {})) {
    if (SERVER_PUBLISHER_INPUTS.has(k.toLowerCase()) || v === '' || v === null || v === undefined) continue;
    out[k.toLowerCase()] = String(v).toLowerCase();
  }
  return out;
}

/** Ownership of an existing subscription, relative to this installation. */
export type Ownership = 'ours' | 'adoptable' | 'foreign';

/**
 * `ours`: carries our instance header (whatever its URL: an old app host is repaired). `adoptable`: no instance
 * header but delivers to our URL with exactly the inputs we would set (an earlier or hand-made twin; adopted rather
 * than duplicated). Everything else (other consumers, other URLs, other instances) is `foreign` and never touched.
 */
export function ownership(s: HookSubscription, settings: HookSettings, url: string | undefined): Ownership {
  if (s.consumerId !== CONSUMER_ID || s.consumerActionId !== CONSUMER_ACTION_ID) return 'foreign';
  const headers = parseHeaders(s.consumerInputs?.httpHeaders);
  if (headers.instance !== undefined) return headers.instance === settings.integrationIdentifier ? 'ours' : 'foreign';
  if (url === undefined || !sameUrl(s.consumerInputs?.url, url)) return 'foreign';
  const extra = Object.keys(userPublisherInputs(s.publisherInputs)).filter((k) => k !== 'projectid');
  return extra.length === 0 ? 'adoptable' : 'foreign';
}

/**
 * The secret rule. The list API masks basicAuthPassword ("********"), so the password itself is never compared:
 * a subscription is correct when its URL, user name, instance header and secret fingerprint header are ours. A
 * changed secret changes the fingerprint and so triggers a repair; create and repair always send the password.
 */
export function isCorrect(s: HookSubscription, want: DesiredSubscription, settings: HookSettings, url: string, fingerprint: string | undefined): boolean {
  const ci = s.consumerInputs ?? {};
  if (!sameUrl(ci.url, url)) return false;
  const headers = parseHeaders(ci.httpHeaders);
  if (headers.instance !== settings.integrationIdentifier) return false;
  if ((headers.fingerprint ?? undefined) !== fingerprint) return false;
  if (fingerprint !== undefined) {
    if ((ci.basicAuthUsername ?? '') !== settings.webhookAuthUsername) return false;
  } else if (ci.basicAuthUsername || ci.basicAuthPassword) return false;
  const pi = userPublisherInputs(s.publisherInputs);
  const wantPi = want.projectId ? { projectid: want.projectId.toLowerCase() } : {};
  return JSON.stringify(Object.entries(pi).sort()) === JSON.stringify(Object.entries(wantPi).sort());
}

export function isActive(s: HookSubscription): boolean {
  return ACTIVE_STATUSES.has(String(s.status ?? 'enabled').toLowerCase());
}

/** The request body of a create or replace (holds the password: never log it). */
export function subscriptionBody(want: DesiredSubscription, settings: HookSettings, url: string, fingerprint: string | undefined, keepHeaders: string[] = []): Record<string, unknown> {
  const headers = [`${INSTANCE_HEADER}:${settings.integrationIdentifier}`];
  if (fingerprint) headers.push(`${SECRET_HEADER}:${fingerprint}`);
  const consumerInputs: Record<string, string> = { url, httpHeaders: [...headers, ...keepHeaders].join('\n') };
  if (settings.webhookSecret) {
    consumerInputs.basicAuthUsername = settings.webhookAuthUsername;
    consumerInputs.basicAuthPassword = settings.webhookSecret;
  }
  return {
    publisherId: want.publisherId,
    eventType: want.eventType,
    consumerId: CONSUMER_ID,
    consumerActionId: CONSUMER_ACTION_ID,
    publisherInputs: want.projectId ? { projectId: want.projectId } : {},
    consumerInputs,
  };
}
