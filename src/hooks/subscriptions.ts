import { scryptSync } from 'node:crypto';
import PQueue from 'p-queue';
import type { AdoClient } from '../ado/client.js';
import { AdoAuthError } from '../ado/errors.js';
import { serviceUrl, type AdoService, type Organization } from '../ado/orgUrl.js';
import { RunCache } from '../kinds/shared/runCache.js';
import { listProjects } from '../kinds/shared/listings.js';
import type { EventPublisher, EventSubscription } from '../kinds/types.js';
import { errorMessage, scrubSecrets } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';

/** Path of the service-hook receiver of `serve`; subscriptions point at `${appHost}${WEBHOOK_PATH}`. */
export const WEBHOOK_PATH = '/webhooks/azure-devops';
/** httpHeaders line that marks a subscription as created by this installation (value: the integration identifier). */
export const INSTANCE_HEADER = 'X-Ado-Sync-Instance';
/** httpHeaders line carrying a slow, salted fingerprint of the webhook secret (the list API masks the password). */
export const SECRET_HEADER = 'X-Ado-Sync-Secret-Fingerprint';
export const CONSUMER_ID = 'webHooks';
export const CONSUMER_ACTION_ID = 'httpRequest';
/** Statuses under which the service delivers events; any other (disabledBy*) needs a repair. */
const ACTIVE_STATUSES = new Set(['enabled', 'onprobation']);
/** publisherInputs the service adds on its own; never part of the match. */
const SERVER_PUBLISHER_INPUTS = new Set(['tfssubscriptionid', 'hostid']);
const ALL_PUBLISHERS: EventPublisher[] = ['tfs', 'pipelines', 'rm', 'advsec'];

export const HOOKS_PERMISSION_HINT =
  'the identity needs the service-hooks permissions "View subscriptions", "Edit subscriptions" and "Delete subscriptions" ' +
  '(for a personal access token: scope vso.hooks_write, "Service Hooks (read, write)")';

/** The settings a reconcile needs (a subset of `Settings`). */
export interface HookSettings {
  appHost?: string;
  webhookSecret?: string;
  webhookAuthUsername: string;
  isProjectsLimited: boolean;
  integrationIdentifier: string;
}

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

/** `${appHost}/webhooks/azure-devops`, tolerant of a trailing slash or an app host that already ends with the path. */
export function webhookUrl(appHost: string): string {
  const base = appHost.trim().replace(/\/+$/, '');
  return base.toLowerCase().endsWith(WEBHOOK_PATH) ? base : `${base}${WEBHOOK_PATH}`;
}

/**
 * A fingerprint of the secret, so a changed secret can be detected although the list API masks the password.
 * scrypt with a per-installation salt: a reader of the subscription cannot cheaply test guesses of the secret.
 */
export function secretFingerprint(secret: string, integrationIdentifier: string): string {
  return scryptSync(secret, `ado-sync-hook:${integrationIdentifier}`, 12, { N: 1 << 14, r: 8, p: 1 }).toString('hex');
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

export interface RemoveResult {
  organization: string;
  removed: number;
  failed: number;
  errors: string[];
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

interface HeaderMap {
  instance?: string;
  fingerprint?: string;
  /** Lines other than ours, kept as they are on a repair. */
  others: string[];
}

function parseHeaders(raw: string | undefined): HeaderMap {
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

function sameUrl(a: string | undefined, b: string): boolean {
  return a !== undefined && a.trim().replace(/\/+$/, '').toLowerCase() === b.replace(/\/+$/, '').toLowerCase();
}

/** publisherInputs without the ones the server adds (hostId, tfsSubscriptionId), keys lower-cased, empty values dropped. */
function userPublisherInputs(inputs: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(inputs ?? {})) {
    if (SERVER_PUBLISHER_INPUTS.has(k.toLowerCase()) || v === '' || v === null || v === undefined) continue;
    out[k.toLowerCase()] = String(v).toLowerCase();
  }
  return out;
}

function keyOf(publisherId: string, eventType: string, projectId: string | undefined): string {
  return `${publisherId.toLowerCase()}|${eventType.toLowerCase()}|${(projectId ?? '').toLowerCase()}`;
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

function requireAppHost(settings: HookSettings): string {
  if (!settings.appHost) throw new Error('service-hook subscriptions need the public URL of this service (appHost)');
  return webhookUrl(settings.appHost);
}

/** The request body of a create or replace (holds the password: never log it). */
function body(want: DesiredSubscription, settings: HookSettings, url: string, fingerprint: string | undefined, keepHeaders: string[] = []): Record<string, unknown> {
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

class HookContext {
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
        err.status,
        false,
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

/** The subscriptions this installation wants in one organization: each event × each project, or once per organization. */
export async function desiredSubscriptions(o: HookOptions, events: EventSubscription[]): Promise<DesiredSubscription[]> {
  if (events.length === 0) return [];
  if (!o.settings.isProjectsLimited) return events.map((e) => ({ publisherId: e.publisherId, eventType: e.eventType }));
  const ctx = new HookContext(o);
  let projects;
  try {
    projects = await listProjects({
      client: o.client,
      log: ctx.log,
      signal: o.signal,
      cache: new RunCache(),
      pageSize: o.pageSize ?? 1000,
      markIncomplete: () => undefined,
    });
  } catch (err) {
    const e = ctx.explain(err, 'listing projects for the service-hook subscriptions');
    throw e instanceof HookPermissionError ? e : new HookListError(e.message);
  }
  const out: DesiredSubscription[] = [];
  for (const p of projects) {
    for (const e of events) out.push({ publisherId: e.publisherId, eventType: e.eventType, projectId: p.id, projectName: p.name });
  }
  return out;
}

/**
 * Brings one organization's subscriptions to the desired set: creates the missing ones, keeps correct and active
 * ones, repairs (PUT, same id) disabled or wrong ones (including ours pointing at an old app host), and removes
 * duplicates and no longer needed subscriptions of this installation. Lists every host first and aborts on any
 * listing failure, before creating anything. Subscriptions of other consumers or installations are never touched.
 */
export async function reconcileSubscriptions(o: HookOptions & { events: EventSubscription[] }): Promise<ReconcileResult> {
  const ctx = new HookContext(o);
  const url = requireAppHost(o.settings);
  const fingerprint = o.settings.webhookSecret ? secretFingerprint(o.settings.webhookSecret, o.settings.integrationIdentifier) : undefined;
  const result: ReconcileResult = { organization: ctx.org.name, desired: 0, created: 0, kept: 0, repaired: 0, removed: 0, failed: 0, errors: [] };
  const publishers = [...new Set(o.events.map((e) => e.publisherId))];

  // 1. Everything read before anything is written.
  let desired: DesiredSubscription[];
  const existing = new Map<EventPublisher, HookSubscription[]>();
  try {
    desired = await desiredSubscriptions(o, o.events);
    for (const p of publishers) existing.set(p, await ctx.list(p));
  } catch (err) {
    if (err instanceof HookListError) throw new HookListError(`${err.message}; nothing was created or changed`);
    throw err;
  }
  result.desired = desired.length;

  // 2. Plan.
  const wanted = new Map(desired.map((d) => [keyOf(d.publisherId, d.eventType, d.projectId), d]));
  const candidates = new Map<string, HookSubscription[]>();
  const obsolete: Array<{ s: HookSubscription; publisher: EventPublisher }> = [];
  for (const [publisher, subs] of existing) {
    for (const s of subs) {
      const own = ownership(s, o.settings, url);
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

  type Action = { kind: 'create' | 'repair' | 'remove'; want?: DesiredSubscription; s?: HookSubscription; publisher: EventPublisher };
  const actions: Action[] = [];
  for (const [key, want] of wanted) {
    const found = candidates.get(key) ?? [];
    const score = (s: HookSubscription) => (isCorrect(s, want, o.settings, url, fingerprint) ? 2 : 0) + (isActive(s) ? 1 : 0);
    const ranked = [...found].sort((a, b) => score(b) - score(a));
    const best = ranked[0];
    if (!best) actions.push({ kind: 'create', want, publisher: want.publisherId });
    else if (score(best) === 3) result.kept++;
    else actions.push({ kind: 'repair', want, s: best, publisher: want.publisherId });
    // Duplicates: only ours are removed; an adopted twin is left alone.
    for (const dup of ranked.slice(1)) {
      if (ownership(dup, o.settings, url) === 'ours') actions.push({ kind: 'remove', s: dup, publisher: want.publisherId });
    }
  }
  for (const { s, publisher } of obsolete) actions.push({ kind: 'remove', s, publisher });

  // 3. Apply. A permission error stops the rest (no storm of identical 403s).
  await runActions(actions.length, async (abort) => {
    const queue = new PQueue({ concurrency: o.concurrency ?? 5 });
    await Promise.all(
      actions.map((a) =>
        queue.add(async () => {
          if (abort.signal.aborted) return;
          const what =
            a.kind === 'create'
              ? `creating the "${a.want!.eventType}" subscription${a.want!.projectName ? ` of project "${a.want!.projectName}"` : ''}`
              : a.kind === 'repair'
                ? `repairing subscription ${a.s!.id} ("${a.s!.eventType}")`
                : `deleting subscription ${a.s!.id} ("${a.s!.eventType}")`;
          try {
            if (a.kind === 'create') {
              await ctx.create(body(a.want!, o.settings, url, fingerprint), a.publisher);
              result.created++;
            } else if (a.kind === 'repair') {
              const keep = parseHeaders(a.s!.consumerInputs?.httpHeaders).others;
              await ctx.replace(a.s!.id, body(a.want!, o.settings, url, fingerprint, keep), a.publisher);
              result.repaired++;
              ctx.log.info({ org: ctx.org.name, id: a.s!.id, eventType: a.s!.eventType, status: a.s!.status }, 'service-hook subscription repaired');
            } else {
              await ctx.delete(a.s!.id, a.publisher);
              result.removed++;
            }
          } catch (err) {
            const e = ctx.explain(err, what);
            if (e instanceof HookPermissionError) {
              abort.abort(e);
              return;
            }
            result.failed++;
            result.errors.push(e.message);
            ctx.log.warn({ org: ctx.org.name, err: e.message }, 'service-hook subscription change failed');
          }
        }),
      ),
    );
  });
  return result;
}

async function runActions(n: number, run: (abort: AbortController) => Promise<void>): Promise<void> {
  if (n === 0) return;
  const abort = new AbortController();
  await run(abort);
  if (abort.signal.aborted) throw abort.signal.reason as Error;
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
async function* eachPublisher(ctx: HookContext, publishers: EventPublisher[], onError: (message: string) => void): AsyncGenerator<[EventPublisher, HookSubscription[]]> {
  for (const p of publishers) {
    let subs: HookSubscription[];
    try {
      subs = await ctx.list(p);
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
  const ctx = new HookContext(o);
  const url = o.settings.appHost ? webhookUrl(o.settings.appHost) : undefined;
  const subscriptions: ListedSubscription[] = [];
  const errors: string[] = [];
  for await (const [p, subs] of eachPublisher(ctx, o.publishers ?? ALL_PUBLISHERS, (message) => errors.push(message))) {
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
  const ctx = new HookContext(o);
  const result: RemoveResult = { organization: ctx.org.name, removed: 0, failed: 0, errors: [] };
  const url = o.settings.appHost ? webhookUrl(o.settings.appHost) : undefined;
  const failed = (message: string) => {
    result.failed++;
    result.errors.push(message);
  };
  for await (const [p, subs] of eachPublisher(ctx, o.publishers ?? ALL_PUBLISHERS, failed)) {
    for (const s of subs) {
      // Only what carries our header: an adoptable twin was not created by this installation.
      if (ownership(s, o.settings, undefined) !== 'ours') continue;
      if (url !== undefined && !sameUrl(s.consumerInputs?.url, url)) continue;
      try {
        await ctx.delete(s.id, p);
        result.removed++;
      } catch (err) {
        const e = ctx.explain(err, `deleting subscription ${s.id} ("${s.eventType}")`);
        if (e instanceof HookPermissionError) throw e;
        result.failed++;
        result.errors.push(e.message);
      }
    }
  }
  return result;
}
