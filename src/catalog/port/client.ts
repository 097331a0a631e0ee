import { fetchJson, JsonText, TransportError, type HeaderReader, type HttpResponse, type RetryPolicy } from '../../util/http.js';
import PQueue from 'p-queue';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../util/log.js';
import { silentLogger } from '../../util/log.js';
import { errorMessage, scrubSecrets } from '../../util/errors.js';
import type { Entity, SearchQuery } from '../entity.js';
import { PortApiError, PortAuthError } from './errors.js';
import { resolvePortBaseUrl, type PortSettings } from './settings.js';
import { TokenCache, type PortToken } from './token.js';
import { userAgent } from './ownership.js';

/** `concurrency` excludes token fetches, which do not take a slot. */
export interface PortClientOptions extends RetryPolicy {
  /** Refresh a token this long before it expires. */
  tokenRefreshMarginMs: number;
  /** Bulk upsert limits: Port allows 20 entities and 1 MiB per request; we stay well under the byte cap. */
  maxBatchEntities: number;
  maxBatchBytes: number;
}

export const DEFAULT_PORT_CLIENT_OPTIONS: PortClientOptions = {
  concurrency: 8,
  timeoutMs: 60_000,
  maxAttempts: 8,
  backoffBaseMs: 300,
  backoffMaxMs: 30_000,
  maxPauseMs: 300_000,
  tokenRefreshMarginMs: 60_000,
  maxBatchEntities: 20,
  maxBatchBytes: 700_000,
};

export interface UpsertFlags {
  createMissingRelatedEntities: boolean;
  merge: boolean;
}

/** Result of one entity of an upsert call, at the position of the entity in the caller's array. */
export interface EntityWriteResult {
  index: number;
  ok: boolean;
  /** Identifier Port resolved (differs from the input when the input was a search query). */
  identifier?: string;
  created?: boolean;
  statusCode?: number;
  /** Port's error code, e.g. `not_found` for a missing relation target. */
  error?: string;
  message?: string;
}

export interface PortBlueprint {
  identifier: string;
  title?: string;
  schema?: { properties: Record<string, unknown>; required?: string[] };
  relations?: Record<string, { target: string; required?: boolean; many?: boolean; title?: string }>;
  [key: string]: unknown;
}

/** An entity as returned by search (only the fields asked for with `include`). */
export interface PortEntity {
  identifier: string;
  blueprint?: string;
  title?: string | null;
  properties?: Record<string, unknown>;
  relations?: Record<string, unknown>;
  updatedAt?: string;
  [key: string]: unknown;
}

export interface SearchPage {
  entities: PortEntity[];
  next?: string;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
type QueryValue = string | number | boolean | undefined;

interface RequestOptions {
  query?: Record<string, QueryValue | QueryValue[]>;
  body?: unknown;
  /** Send a bearer token (everything but the token endpoint). */
  auth?: boolean;
  signal?: AbortSignal;
}

export interface PortResponse<T> {
  status: number;
  data: T;
}

export class PortClientStats {
  requests = 0;
  retries = 0;
  throttled = 0;
  tokenRefreshesAfter401 = 0;
  failures = 0;
  byStatus = new Map<number, number>();
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/**
 * Port REST client: token cache (early refresh, one refresh-and-replay on 401), bounded concurrency, retries with
 * exponential backoff and jitter on 429/5xx/network errors honouring Retry-After (and x-ratelimit-reset, only on a
 * 429: Port sends that header on every response), and a stable User-Agent that stamps ownership (see ownership.ts).
 * Errors name the route and Port's trace id, never the credentials or the token.
 */
export class PortClient {
  readonly baseUrl: string;
  readonly userAgent: string;
  readonly integrationIdentifier: string;
  readonly stats = new PortClientStats();
  readonly #opts: PortClientOptions;
  readonly #queue: PQueue;
  readonly #tokens: TokenCache;
  readonly #secrets: string[];
  #pausedUntil = 0;

  constructor(
    settings: PortSettings,
    options: Partial<PortClientOptions> = {},
    private readonly log: Logger = silentLogger,
  ) {
    if (!settings.clientId || !settings.clientSecret) throw new Error('Port client id and client secret are required');
    this.baseUrl = resolvePortBaseUrl(settings);
    this.userAgent = userAgent(settings.integrationIdentifier, settings.version);
    this.integrationIdentifier = settings.integrationIdentifier;
    this.#opts = { ...DEFAULT_PORT_CLIENT_OPTIONS, ...options };
    this.#opts.maxBatchEntities = Math.max(1, Math.min(20, this.#opts.maxBatchEntities));
    this.#queue = new PQueue({ concurrency: this.#opts.concurrency });
    this.#secrets = [settings.clientSecret, settings.clientId];
    const credentials = { clientId: settings.clientId, clientSecret: settings.clientSecret };
    this.#tokens = new TokenCache(async () => {
      const res = await this.#send<PortToken & { ok?: boolean }>('POST', '/v1/auth/access_token', { body: credentials, auth: false });
      const t = res.data;
      if (!t || typeof t.accessToken !== 'string' || typeof t.expiresIn !== 'number') {
        throw new PortApiError('Port token endpoint answered without an access token', res.status, undefined, false);
      }
      return t;
    }, this.#opts.tokenRefreshMarginMs);
  }

  get options(): Readonly<PortClientOptions> {
    return this.#opts;
  }

  /** Access tokens fetched so far (initial + refreshes). */
  get tokenFetches(): number {
    return this.#tokens.fetches;
  }

  /** Requests waiting for a slot plus those in flight. */
  get pending(): number {
    return this.#queue.size + this.#queue.pending;
  }

  // ------------------------------------------------------------------ transport

  request<T>(method: Method, path: string, options: RequestOptions = {}): Promise<PortResponse<T>> {
    return this.#queue.add(() => this.#send<T>(method, path, options), { throwOnTimeout: true });
  }

  async #send<T>(method: Method, path: string, options: RequestOptions): Promise<PortResponse<T>> {
    const auth = options.auth ?? true;
    let replayedAfter401 = false;
    for (let attempt = 1; ; attempt++) {
      const pause = this.#pausedUntil - Date.now();
      if (pause > 0) await sleep(pause, undefined, { signal: options.signal });
      // A token fetch has its own retries and a complete error message: let its failure through as is.
      const t = auth ? await this.#tokens.get() : undefined;
      const token = t?.token;
      try {
        return await this.#once<T>(method, path, options, t?.header);
      } catch (err) {
        if (options.signal?.aborted) throw err;
        if (err instanceof PortAuthError && err.status === 401 && auth && token && !replayedAfter401) {
          // The token expired or was revoked: fetch a new one and replay this request once.
          replayedAfter401 = true;
          this.stats.tokenRefreshesAfter401++;
          this.#tokens.invalidate(token);
          this.log.info({ method, path }, 'port token rejected, fetching a new one and replaying the request');
          continue;
        }
        const apiErr = err instanceof PortApiError ? err : undefined;
        const retryable = apiErr ? apiErr.retryable : false;
        if (!retryable || attempt >= this.#opts.maxAttempts) {
          this.stats.failures++;
          throw this.#describe(err, method, path, attempt);
        }
        this.stats.retries++;
        const backoff = Math.min(this.#opts.backoffMaxMs, this.#opts.backoffBaseMs * 2 ** (attempt - 1));
        // Jitter in [backoff/2, backoff]: spreads clients apart without collapsing the wait to nothing.
        let delay = backoff / 2 + (Math.random() * backoff) / 2;
        if (apiErr?.retryAfterMs !== undefined) {
          delay = Math.min(this.#opts.maxPauseMs, apiErr.retryAfterMs);
          // A 429 is about the whole organisation: hold every request of this client, not only this one.
          if (apiErr.status === 429) this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + delay);
        }
        this.log.warn(
          { method, path, attempt, status: apiErr?.status, delayMs: Math.round(delay), traceId: apiErr?.traceId, reason: this.#scrub(errorMessage(err)) },
          'port request failed, retrying',
        );
        if (delay > 0) await sleep(delay, undefined, { signal: options.signal });
      }
    }
  }

  async #once<T>(method: Method, path: string, options: RequestOptions, authorization: string | undefined): Promise<PortResponse<T>> {
    const url = this.#url(path, options.query);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.userAgent };
    if (authorization) headers.authorization = authorization;
    this.stats.requests++;
    let res: HttpResponse;
    try {
      res = await fetchJson(url, { method, headers, body: options.body, signal: options.signal, timeoutMs: this.#opts.timeoutMs });
    } catch (err) {
      if (err instanceof TransportError) throw new PortApiError(err.message, undefined, undefined, true);
      throw err;
    }
    this.stats.byStatus.set(res.status, (this.stats.byStatus.get(res.status) ?? 0) + 1);
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new PortApiError(`response body interrupted: ${errorMessage(err)}`, res.status, undefined, true);
    }
    const traceId = res.headers.get('x-trace-id') ?? undefined;
    let data: unknown;
    if (text.length > 0) {
      try {
        data = JSON.parse(text);
      } catch {
        if (res.ok) throw new PortApiError(`invalid JSON body (${text.length} bytes)`, res.status, undefined, true, undefined, traceId);
      }
    }
    if (res.ok) return { status: res.status, data: data as T };

    const envelope = (typeof data === 'object' && data !== null ? data : {}) as { error?: unknown; message?: unknown };
    const code = typeof envelope.error === 'string' ? envelope.error : undefined;
    const detail = typeof envelope.message === 'string' ? envelope.message.slice(0, 500) : text.slice(0, 200).replace(/\s+/g, ' ');
    const message = `HTTP ${res.status}${code ? ` ${code}` : ''}${detail ? `: ${detail}` : ''}`;
    if (res.status === 401 || res.status === 403) {
      throw new PortAuthError(message, res.status, code, false, undefined, traceId);
    }
    if (res.status === 429) this.stats.throttled++;
    const retryAfterMs = RETRYABLE_STATUS.has(res.status) ? waitFromHeaders(res.headers, res.status === 429) : undefined;
    throw new PortApiError(message, res.status, code, RETRYABLE_STATUS.has(res.status), retryAfterMs, traceId);
  }

  #url(path: string, query?: RequestOptions['query']): string {
    const u = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined) continue;
      if (Array.isArray(v)) {
        for (const x of v) if (x !== undefined) u.searchParams.append(k, String(x));
      } else {
        u.searchParams.set(k, String(v));
      }
    }
    return u.toString();
  }

  #scrub(message: string): string {
    return scrubSecrets(message, [...this.#secrets, this.#tokens.current()]);
  }

  #describe(err: unknown, method: Method, path: string, attempts: number): Error {
    const where = `${method} ${path}`;
    if (err instanceof PortAuthError) {
      const what =
        path === '/v1/auth/access_token'
          ? 'Port refused the client credentials (check the Port client id and secret)'
          : `Port refused ${where}${err.status === 403 ? ' (the credentials lack permission)' : ''}`;
      return new PortAuthError(this.#scrub(`${what}: ${err.message}`), err.status, err.code, false, undefined, err.traceId);
    }
    if (err instanceof PortApiError) {
      const trace = err.traceId ? ` (trace id ${err.traceId})` : '';
      return new PortApiError(
        this.#scrub(`Port ${where} failed after ${attempts} attempt(s): ${err.message}${trace}`),
        err.status,
        err.code,
        false,
        undefined,
        err.traceId,
      );
    }
    return new PortApiError(this.#scrub(`Port ${where} failed: ${errorMessage(err)}`), undefined, undefined, false);
  }

  // ------------------------------------------------------------------ blueprints

  /** The blueprint, or undefined when Port answers 404. */
  async getBlueprint(identifier: string): Promise<PortBlueprint | undefined> {
    try {
      const res = await this.request<{ blueprint: PortBlueprint }>('GET', `/v1/blueprints/${enc(identifier)}`);
      return res.data.blueprint;
    } catch (err) {
      if (err instanceof PortApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async listBlueprints(): Promise<PortBlueprint[]> {
    return (await this.request<{ blueprints: PortBlueprint[] }>('GET', '/v1/blueprints')).data.blueprints;
  }

  async createBlueprint(blueprint: PortBlueprint): Promise<PortBlueprint> {
    return (await this.request<{ blueprint: PortBlueprint }>('POST', '/v1/blueprints', { body: blueprint })).data.blueprint;
  }

  async patchBlueprint(identifier: string, patch: Partial<PortBlueprint>): Promise<PortBlueprint> {
    return (await this.request<{ blueprint: PortBlueprint }>('PATCH', `/v1/blueprints/${enc(identifier)}`, { body: patch })).data
      .blueprint;
  }

  async deleteBlueprint(identifier: string): Promise<void> {
    await this.request('DELETE', `/v1/blueprints/${enc(identifier)}`);
  }

  // ------------------------------------------------------------------ entity writes

  /** One entity, through the single-entity route. Never throws for a refusal of the entity; see `ok`. */
  async upsertEntity(blueprint: string, entity: Entity, flags: UpsertFlags): Promise<EntityWriteResult> {
    try {
      const res = await this.request<{ entity: { identifier: string } }>('POST', `/v1/blueprints/${enc(blueprint)}/entities`, {
        query: upsertQuery(flags),
        body: portBody(entity),
      });
      return { index: 0, ok: true, identifier: res.data.entity?.identifier, created: res.status === 201 };
    } catch (err) {
      return failure(0, err);
    }
  }

  /**
   * Upserts entities of one blueprint through the bulk route, in batches of at most `maxBatchEntities` and
   * `maxBatchBytes`, concurrently. Results come back in the order of `entities` (mapped by Port's `index`). A batch
   * refused as too large (413) or malformed (422) is split in halves until the offending entity stands alone; any
   * other batch-level failure (after retries) fails each of its entities. Never throws.
   */
  async upsertEntities(blueprint: string, entities: Entity[], flags: UpsertFlags): Promise<EntityWriteResult[]> {
    return this.upsertEntityTexts(
      blueprint,
      entities.map(entityText),
      flags,
    );
  }

  /** `upsertEntities` for entities already serialized by `entityText`. */
  async upsertEntityTexts(blueprint: string, texts: string[], flags: UpsertFlags): Promise<EntityWriteResult[]> {
    const results: EntityWriteResult[] = new Array(texts.length);
    const sizes = texts.map((t) => Buffer.byteLength(t));
    const batches: number[][] = [];
    let current: number[] = [];
    let bytes = 0;
    const envelope = 20;
    for (let i = 0; i < texts.length; i++) {
      const size = sizes[i]! + 1;
      if (current.length > 0 && (current.length >= this.#opts.maxBatchEntities || bytes + size + envelope > this.#opts.maxBatchBytes)) {
        batches.push(current);
        current = [];
        bytes = 0;
      }
      current.push(i);
      bytes += size;
    }
    if (current.length > 0) batches.push(current);
    await Promise.all(batches.map((b) => this.#bulk(blueprint, b, texts, flags, results)));
    return results;
  }

  async #bulk(blueprint: string, batch: number[], texts: string[], flags: UpsertFlags, results: EntityWriteResult[]): Promise<void> {
    type Bulk = {
      entities?: Array<{ identifier: string; index: number; created?: boolean }>;
      errors?: Array<{ identifier?: string; index: number; statusCode?: number; error?: string; message?: string }>;
    };
    let res: PortResponse<Bulk>;
    try {
      res = await this.request<Bulk>('POST', `/v1/blueprints/${enc(blueprint)}/entities/bulk`, {
        query: upsertQuery(flags),
        body: new JsonText(`{"entities":[${batch.map((i) => texts[i]).join(',')}]}`),
      });
    } catch (err) {
      const status = err instanceof PortApiError ? err.status : undefined;
      if ((status === 413 || status === 422) && batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        this.log.info({ blueprint, size: batch.length, status }, 'port refused a bulk upsert as a whole, splitting it');
        await Promise.all([
          this.#bulk(blueprint, batch.slice(0, half), texts, flags, results),
          this.#bulk(blueprint, batch.slice(half), texts, flags, results),
        ]);
        return;
      }
      for (const i of batch) results[i] = failure(i, err);
      return;
    }
    for (const ok of res.data.entities ?? []) {
      const i = batch[ok.index];
      if (i === undefined) continue;
      results[i] = { index: i, ok: true, identifier: ok.identifier, created: ok.created };
    }
    for (const e of res.data.errors ?? []) {
      const i = batch[e.index];
      if (i === undefined) continue;
      results[i] = { index: i, ok: false, statusCode: e.statusCode, error: e.error, message: e.message, identifier: e.identifier };
    }
    for (const i of batch) {
      results[i] ??= { index: i, ok: false, error: 'no_result', message: `Port returned no result for this entity (HTTP ${res.status})` };
    }
  }

  // ------------------------------------------------------------------ search

  /** One page of `POST /v1/blueprints/{bp}/entities/search`. */
  async searchPage(
    blueprint: string,
    body: { query?: SearchQuery; include?: string[]; exclude?: string[]; limit?: number; from?: string },
  ): Promise<SearchPage> {
    const res = await this.request<{ entities: PortEntity[]; next?: string | null }>(
      'POST',
      `/v1/blueprints/${enc(blueprint)}/entities/search`,
      { body },
    );
    return { entities: res.data.entities ?? [], next: res.data.next ?? undefined };
  }

  /**
   * Every entity of a blueprint matching `query`, page by page. The next page is asked for as soon as a page arrives,
   * while the caller works through it: listing a large blueprint is otherwise a chain of round trips, each waiting on
   * the caller (stale deletion checks every page against Redis). A caller that stops early costs one unread page.
   */
  async *search(blueprint: string, query?: SearchQuery, include?: string[], pageSize = 1000): AsyncGenerator<PortEntity[]> {
    const fetchPage = (from?: string) => {
      const p = this.searchPage(blueprint, { query, include, limit: pageSize, from });
      p.catch(() => {}); // awaited below; not an unhandled rejection if the caller stops before reaching it
      return p;
    };
    let next: Promise<SearchPage> | undefined = fetchPage();
    while (next) {
      const page: SearchPage = await next;
      next = page.next ? fetchPage(page.next) : undefined;
      if (page.entities.length > 0) yield page.entities;
    }
  }

  /** `POST /v1/entities/search` across blueprints (not paginated by Port). */
  async searchAcross(query: SearchQuery, include?: string[]): Promise<PortEntity[]> {
    const res = await this.request<{ entities: PortEntity[] }>('POST', '/v1/entities/search', {
      body: query,
      query: { include, exclude_calculated_properties: true },
    });
    return res.data.entities ?? [];
  }

  // ------------------------------------------------------------------ delete

  /** Deletes one entity; false when it was already gone (404). */
  async deleteEntity(blueprint: string, identifier: string, deleteDependents: boolean): Promise<boolean> {
    try {
      await this.request('DELETE', `/v1/blueprints/${enc(blueprint)}/entities/${enc(identifier)}`, {
        query: { delete_dependents: deleteDependents },
      });
      return true;
    } catch (err) {
      if (err instanceof PortApiError && err.status === 404 && err.code === 'not_found') return false;
      throw err;
    }
  }

  /** Bulk delete of at most 100 identifiers of one blueprint; returns what Port reports deleted. */
  async bulkDelete(blueprint: string, identifiers: string[], deleteDependents: boolean): Promise<string[]> {
    if (identifiers.length === 0) return [];
    if (identifiers.length > 100) throw new Error('bulk delete takes at most 100 identifiers');
    const res = await this.request<{ deletedEntities?: string[] }>('POST', `/v1/blueprints/${enc(blueprint)}/bulk/entities/delete`, {
      query: { delete_dependents: deleteDependents },
      body: { entities: identifiers },
    });
    return res.data.deletedEntities ?? [];
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

function upsertQuery(flags: UpsertFlags): Record<string, boolean> {
  return {
    upsert: true,
    merge: flags.merge,
    create_missing_related_entities: flags.createMissingRelatedEntities,
    validation_only: false,
  };
}

/** The request body Port expects for an entity: the blueprint is in the path; undefined fields are left out. */
export function portBody(e: Entity): Record<string, unknown> {
  const body: Record<string, unknown> = { identifier: e.identifier };
  if (e.title !== undefined) body.title = e.title;
  if (e.icon !== undefined) body.icon = e.icon;
  if (e.team !== undefined) body.team = e.team;
  body.properties = e.properties ?? {};
  body.relations = e.relations ?? {};
  return body;
}

/**
 * The entity as it is sent to Port (the bulk route's item). Serialized once per entity: the same text is hashed and
 * becomes part of the request body. The mapping builds every entity's keys in the same order, so equal content gives
 * equal text.
 */
export function entityText(entity: Entity): string {
  return JSON.stringify(portBody(entity));
}

function failure(index: number, err: unknown): EntityWriteResult {
  if (err instanceof PortApiError) {
    return { index, ok: false, statusCode: err.status, error: err.code ?? 'request_failed', message: err.message };
  }
  return { index, ok: false, error: 'request_failed', message: errorMessage(err) };
}

/**
 * How long a retryable response asks us to wait: Retry-After (seconds or HTTP date) on any retryable status;
 * x-ratelimit-reset (epoch seconds when large, else seconds) only on a 429.
 */
export function waitFromHeaders(headers: HeaderReader, throttled: boolean, now = Date.now()): number | undefined {
  const ra = headers.get('retry-after');
  if (ra !== null && ra.trim() !== '') {
    const secs = Number(ra);
    if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
    const at = Date.parse(ra);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  if (!throttled) return undefined;
  const reset = headers.get('x-ratelimit-reset');
  if (reset !== null && reset.trim() !== '') {
    const n = Number(reset);
    if (Number.isFinite(n)) return Math.max(0, n > 10_000 ? n * 1000 - now : n * 1000);
    const at = Date.parse(reset);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  return undefined;
}
