import { createHash, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OrgData } from '../data/dataset.js';
import { AdoHttpError, errors } from '../http/errors.js';
import { orgOf, queryOf, sendJson } from '../http/pipeline.js';

/**
 * Service-hook subscriptions (`_apis/hooks/subscriptions`, shapes of shared/ado-api-samples/hooks/*.json).
 *
 * Hosts: the real service keeps `rm` subscriptions on vsrm and Advanced Security ones on advsec, separately from the
 * organization host. The simulator serves everything from one base URL, so the other hosts are modelled by a path
 * prefix: `/{org}/_host/{service}/_apis/hooks/...` is the `{service}` host (see `AdoSimulator.serviceUrl`), and each
 * (organization, service) has its own store. A listing on one host never shows another host's subscriptions.
 */

export type HookService = 'core' | 'vsrm' | 'advsec';
export const HOOK_SERVICES: HookService[] = ['core', 'vsrm', 'advsec'];

export interface StoredSubscription {
  id: string;
  org: string;
  service: HookService;
  publisherId: string;
  eventType: string;
  resourceVersion: string | null;
  consumerId: string;
  consumerActionId: string;
  status: string;
  publisherInputs: Record<string, string>;
  /** Unmasked (tests may assert the password that was sent); responses mask confidential inputs. */
  consumerInputs: Record<string, string>;
  createdDate: string;
  modifiedDate: string;
  createdBy: { id: string };
  modifiedBy: { id: string };
  probationRetries?: number;
}

const PUBLISHERS = new Set(['tfs', 'pipelines', 'rm', 'advsec']);
const HOME: Record<string, HookService> = { tfs: 'core', pipelines: 'core', rm: 'vsrm', advsec: 'advsec' };
const CONFIDENTIAL = new Set(['basicauthpassword', 'password']);
const MASK = '********';
const SUBSCRIBER = { id: '00ca946b-2fe9-4f2a-ae2f-40d5c48001bc' };

export interface HookStoreOptions {
  /** Reject a publisher on a host that does not serve it (rm off vsrm, advsec off advsec, tfs/pipelines off core). */
  strictHosts: boolean;
}

/** All subscriptions of one simulator; tests read and tweak it through `AdoSimulator.hooks`. */
export class HookStore {
  readonly #subs = new Map<string, StoredSubscription>();

  constructor(readonly options: HookStoreOptions = { strictHosts: false }) {}

  /** Copies (unmasked) of the stored subscriptions, optionally of one organization and/or host. */
  all(filter: { org?: string; service?: HookService } = {}): StoredSubscription[] {
    return [...this.#subs.values()]
      .filter((s) => (!filter.org || s.org.toLowerCase() === filter.org.toLowerCase()) && (!filter.service || s.service === filter.service))
      .map((s) => structuredClone(s));
  }

  get(id: string): StoredSubscription | undefined {
    const s = this.#subs.get(id.toLowerCase());
    return s ? structuredClone(s) : undefined;
  }

  /** Test knob: what the service does after repeated delivery failures (`disabledBySystem`) or a user's click. */
  setStatus(id: string, status: string): void {
    const s = this.#subs.get(id.toLowerCase());
    if (!s) throw new Error(`ado simulator: no subscription ${id}`);
    s.status = status;
  }

  /** Test knob: stores a subscription as if created by someone else (another tool, another installation). */
  seed(org: string, service: HookService, input: Partial<StoredSubscription> & { publisherId: string; eventType: string; consumerId: string; consumerActionId: string }): StoredSubscription {
    const now = new Date().toISOString();
    const s: StoredSubscription = {
      id: randomUUID(),
      org,
      service,
      resourceVersion: null,
      status: 'enabled',
      publisherInputs: {},
      consumerInputs: {},
      createdDate: now,
      modifiedDate: now,
      createdBy: SUBSCRIBER,
      modifiedBy: SUBSCRIBER,
      ...input,
    };
    s.publisherInputs = augment(org, s.publisherInputs, s.id);
    this.#subs.set(s.id.toLowerCase(), s);
    return structuredClone(s);
  }

  create(org: OrgData, service: HookService, body: Record<string, unknown>): StoredSubscription {
    const v = this.#validate(org, service, body);
    const now = new Date().toISOString();
    const id = randomUUID();
    const s: StoredSubscription = {
      id,
      org: org.ctx.name,
      service,
      publisherId: v.publisherId,
      eventType: v.eventType,
      resourceVersion: v.resourceVersion,
      consumerId: v.consumerId,
      consumerActionId: v.consumerActionId,
      status: 'enabled',
      publisherInputs: augment(org.ctx.name, v.publisherInputs, id),
      consumerInputs: v.consumerInputs,
      createdDate: now,
      modifiedDate: now,
      createdBy: SUBSCRIBER,
      modifiedBy: SUBSCRIBER,
    };
    this.#subs.set(id, s);
    return s;
  }

  replace(org: OrgData, service: HookService, id: string, body: Record<string, unknown>): StoredSubscription {
    const old = this.#find(org, service, id);
    const v = this.#validate(org, service, body);
    // A masked confidential input means "unchanged", as the service treats it.
    const consumerInputs = { ...v.consumerInputs };
    for (const [k, value] of Object.entries(consumerInputs)) {
      if (CONFIDENTIAL.has(k.toLowerCase()) && value === MASK) consumerInputs[k] = old.consumerInputs[k] ?? '';
    }
    const status = typeof body.status === 'string' && body.status ? body.status : 'enabled';
    Object.assign(old, {
      publisherId: v.publisherId,
      eventType: v.eventType,
      resourceVersion: v.resourceVersion,
      consumerId: v.consumerId,
      consumerActionId: v.consumerActionId,
      status,
      publisherInputs: augment(org.ctx.name, v.publisherInputs, old.id),
      consumerInputs,
      modifiedDate: new Date().toISOString(),
    });
    return old;
  }

  delete(org: OrgData, service: HookService, id: string): void {
    this.#find(org, service, id);
    this.#subs.delete(id.toLowerCase());
  }

  find(org: OrgData, service: HookService, id: string): StoredSubscription {
    return this.#find(org, service, id);
  }

  list(org: OrgData, service: HookService, f: { publisherId?: string; eventType?: string; consumerId?: string; consumerActionId?: string }): StoredSubscription[] {
    const eq = (a: string, b: string | undefined) => !b || a.toLowerCase() === b.toLowerCase();
    return [...this.#subs.values()].filter(
      (s) =>
        s.org.toLowerCase() === org.ctx.name.toLowerCase() &&
        s.service === service &&
        eq(s.publisherId, f.publisherId) &&
        eq(s.eventType, f.eventType) &&
        eq(s.consumerId, f.consumerId) &&
        eq(s.consumerActionId, f.consumerActionId),
    );
  }

  #find(org: OrgData, service: HookService, id: string): StoredSubscription {
    const s = this.#subs.get(id.toLowerCase());
    if (!s || s.org.toLowerCase() !== org.ctx.name.toLowerCase() || s.service !== service) {
      throw new AdoHttpError(404, `VS1502004: The subscription with id '${id}' does not exist.`, 'SubscriptionNotFoundException');
    }
    return s;
  }

  #validate(org: OrgData, service: HookService, body: Record<string, unknown>) {
    const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : '');
    const publisherId = str('publisherId');
    const eventType = str('eventType');
    const consumerId = str('consumerId');
    const consumerActionId = str('consumerActionId');
    if (!PUBLISHERS.has(publisherId)) throw errors.badRequest(`VS1502001: The publisher '${publisherId}' does not exist.`, 'PublisherNotFoundException');
    if (this.options.strictHosts && HOME[publisherId] !== service) {
      throw errors.badRequest(`VS1502001: The publisher '${publisherId}' does not exist on this host.`, 'PublisherNotFoundException');
    }
    if (!eventType) throw errors.badRequest('VS1502002: The event type is required.', 'ArgumentException');
    if (!consumerId) throw errors.badRequest('VS1502003: The consumer is required.', 'ConsumerNotFoundException');
    const consumerInputs = stringMap(body.consumerInputs);
    if (consumerId === 'webHooks') {
      if (consumerActionId !== 'httpRequest') throw errors.badRequest(`VS1502005: The action '${consumerActionId}' does not exist for consumer 'webHooks'.`, 'ConsumerActionNotFoundException');
      const url = consumerInputs.url ?? '';
      let ok = false;
      try {
        ok = /^https?:$/.test(new URL(url).protocol);
      } catch {
        ok = false;
      }
      if (!ok) throw errors.badRequest(`VS1502006: The input 'url' is invalid: '${url}' is not an absolute http(s) URI.`, 'InputValidationException');
      if (consumerInputs.basicAuthUsername && /\s/.test(consumerInputs.basicAuthUsername)) {
        throw errors.badRequest("VS1502006: The input 'basicAuthUsername' must not contain spaces.", 'InputValidationException');
      }
    } else if (!consumerActionId) throw errors.badRequest('VS1502005: The consumer action is required.', 'ConsumerActionNotFoundException');
    const publisherInputs = stringMap(body.publisherInputs);
    delete publisherInputs.tfsSubscriptionId;
    delete publisherInputs.hostId;
    if (publisherInputs.projectId && org.projects.find(publisherInputs.projectId) === undefined) {
      throw errors.badRequest(`VS1502006: The input 'projectId' is invalid: project '${publisherInputs.projectId}' does not exist.`, 'InputValidationException');
    }
    const rv = body.resourceVersion;
    return { publisherId, eventType, consumerId, consumerActionId, consumerInputs, publisherInputs, resourceVersion: typeof rv === 'string' ? rv : null };
  }
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!v || typeof v !== 'object') return out;
  for (const [k, value] of Object.entries(v as Record<string, unknown>)) {
    if (value === undefined || value === null) continue;
    out[k] = String(value);
  }
  return out;
}

function uuidFrom(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The service adds `hostId` and `tfsSubscriptionId` to the publisher inputs (org-level ones too). */
function augment(org: string, inputs: Record<string, string>, id: string): Record<string, string> {
  return { ...inputs, hostId: uuidFrom(`host:${org.toLowerCase()}`), tfsSubscriptionId: uuidFrom(`tfs:${id}`) };
}

function view(s: StoredSubscription, baseUrl: string): Record<string, unknown> {
  const consumerInputs: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.consumerInputs)) consumerInputs[k] = CONFIDENTIAL.has(k.toLowerCase()) && v ? MASK : v;
  const prefix = s.service === 'core' ? '' : `/_host/${s.service}`;
  return {
    id: s.id,
    url: `${baseUrl}/${s.org}${prefix}/_apis/hooks/subscriptions/${s.id}`,
    status: s.status,
    publisherId: s.publisherId,
    eventType: s.eventType,
    resourceVersion: s.resourceVersion,
    eventDescription: s.publisherInputs.projectId ? `Project ${s.publisherInputs.projectId}` : 'Any project',
    consumerId: s.consumerId,
    consumerActionId: s.consumerActionId,
    actionDescription: s.consumerInputs.url ? `To host ${safeHost(s.consumerInputs.url)}` : '',
    ...(s.probationRetries !== undefined ? { probationRetries: s.probationRetries } : {}),
    createdBy: s.createdBy,
    createdDate: s.createdDate,
    modifiedBy: s.modifiedBy,
    modifiedDate: s.modifiedDate,
    subscriber: SUBSCRIBER,
    publisherInputs: s.publisherInputs,
    consumerInputs,
  };
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

type HookParams = { service?: string; id?: string };

function serviceOf(req: FastifyRequest): HookService {
  const raw = ((req.params as HookParams).service ?? 'core').toLowerCase();
  if (raw !== 'vsrm' && raw !== 'advsec') throw errors.route(req.url.split('?')[0] ?? '');
  return raw;
}

export function registerHookRoutes(app: FastifyInstance, store: HookStore, baseUrl: () => string): void {
  const core = () => 'core' as const;
  for (const [prefix, service] of [
    ['/:org/_apis/hooks/subscriptions', core],
    ['/:org/_host/:service/_apis/hooks/subscriptions', serviceOf],
  ] as const) {
    app.get(prefix, async (req: FastifyRequest, reply: FastifyReply) => {
      const q = queryOf(req);
      const value = store
        .list(orgOf(req), service(req), {
          publisherId: q.get('publisherId') || undefined,
          eventType: q.get('eventType') || undefined,
          consumerId: q.get('consumerId') || undefined,
          consumerActionId: q.get('consumerActionId') || undefined,
        })
        .map((s) => view(s, baseUrl()));
      return sendJson(reply, 200, { count: value.length, value });
    });
    app.post(prefix, async (req: FastifyRequest, reply: FastifyReply) => {
      const s = store.create(orgOf(req), service(req), (req.body ?? {}) as Record<string, unknown>);
      return sendJson(reply, 200, view(s, baseUrl()));
    });
    app.get(`${prefix}/:id`, async (req: FastifyRequest, reply: FastifyReply) => {
      return sendJson(reply, 200, view(store.find(orgOf(req), service(req), (req.params as HookParams).id ?? ''), baseUrl()));
    });
    app.put(`${prefix}/:id`, async (req: FastifyRequest, reply: FastifyReply) => {
      const s = store.replace(orgOf(req), service(req), (req.params as HookParams).id ?? '', (req.body ?? {}) as Record<string, unknown>);
      return sendJson(reply, 200, view(s, baseUrl()));
    });
    app.delete(`${prefix}/:id`, async (req: FastifyRequest, reply: FastifyReply) => {
      store.delete(orgOf(req), service(req), (req.params as HookParams).id ?? '');
      return reply.code(204).send();
    });
  }
}
