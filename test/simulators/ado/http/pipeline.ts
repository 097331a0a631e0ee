import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AdoDataset, OrgData } from '../data/dataset.js';
import { mergeFaults, type AdoFaults } from '../options.js';
import { AdoHttpError, errorBody, errors } from './errors.js';
import { QueryParams } from './query.js';

export interface RequestLogEntry {
  method: string;
  /** The organization segment as requested. */
  org: string;
  /** Decoded path, without the query string. */
  path: string;
  query: Record<string, string>;
  status: number;
  /** Date.now() when the response started (after any injected latency). */
  at: number;
  /** 'throttle' | 'rate' | 'unavailable' | 'truncate' | 'failPath' when a fault was injected. */
  fault?: string;
}

/** TSTU budget reported in X-RateLimit-Limit (the documented global limit per identity). */
export const RATE_LIMIT_TSTU = 200;

/** Faults, counters and the request log of one simulator. */
export class SimulatorState {
  faults: AdoFaults;
  failPatterns: Array<{ re: RegExp; status: number }> = [];
  /** Data requests seen since the faults were last set (the N in "every Nth"). */
  dataRequests = 0;
  readonly requests: RequestLogEntry[] = [];
  /** Edits of JSON response bodies by path (tests change or remove data this way: the dataset itself is generated). */
  readonly patches: Array<{ re: RegExp; edit: (body: unknown) => unknown }> = [];
  /** Off unless a benchmark turns it on (see ResponseCache). */
  responseCache?: ResponseCache;
  /** Token bucket of `maxRequestsPerSecond`: tokens left and when it was last refilled. */
  #bucket = { tokens: 0, at: 0 };

  constructor(faults: AdoFaults) {
    this.faults = faults;
    this.#compile();
  }

  setFaults(f: Partial<AdoFaults>): void {
    this.faults = mergeFaults(f);
    this.dataRequests = 0;
    this.#bucket = { tokens: 0, at: 0 };
    this.#compile();
  }

  /**
   * Takes one token for a data request under `maxRequestsPerSecond`. Returns 0 when the request may be served, else the
   * seconds until a token is available (the Retry-After). The bucket starts full (one second's worth) and refills at
   * the rate, so N requests take at least (N - rate) / rate seconds.
   */
  takeRateToken(now = performance.now()): number {
    const rate = this.faults.maxRequestsPerSecond;
    if (rate <= 0) return 0;
    const capacity = Math.max(1, rate);
    const b = this.#bucket;
    b.tokens = b.at === 0 ? capacity : Math.min(capacity, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / rate;
  }

  #compile(): void {
    this.failPatterns = this.faults.failPaths.map((p) => ({ re: new RegExp(p.pattern, 'i'), status: p.status }));
  }
}

/** A response kept by the response cache: its gzipped body and the headers that carry data (continuation). */
interface CachedResponse {
  gzipped: Buffer;
  headers: Record<string, string>;
}

/** Response headers that are part of the data (paging), kept with a cached body. */
const DATA_HEADERS = ['x-ms-continuationtoken', 'link'];

/**
 * Served data responses (GETs, and the read-only POSTs of READ_ONLY_POST keyed with their body), for benchmarks over
 * a dataset nothing changes (the cache never invalidates): a hit skips generating and serializing the page, the
 * simulator's CPU not being what a benchmark measures. Faults, latency, auth and the request log still apply. Bodies
 * are kept gzipped (a tenth of the memory) and served so to clients that accept gzip, as Azure DevOps does.
 */
export interface ResponseCache {
  /** The cache key of a request URL (path and query); undefined means "do not cache". */
  key(url: string): string | undefined;
  entries: Map<string, CachedResponse>;
}

interface RequestState {
  entry: RequestLogEntry;
  /** Response-cache key of a cacheable request. */
  cacheKey?: string;
  org?: OrgData;
  /** Under /_apis/: faults, latency and rate-limit headers apply. */
  data: boolean;
  n: number;
  truncate: boolean;
}

const states = new WeakMap<FastifyRequest, RequestState>();

/** The organization resolved by the pipeline (routes run only after it succeeded). */
export function orgOf(req: FastifyRequest): OrgData {
  const org = states.get(req)?.org;
  if (!org) throw new Error('ado simulator: route reached without an organization');
  return org;
}

export function queryOf(req: FastifyRequest): QueryParams {
  return new QueryParams(req.query);
}

const DATA_PATH = /\/_apis(\/|$)/i;
/** POST routes that only read: the response cache may answer them. */
const READ_ONLY_POST = /\/_apis\/wit\/wiql$/i;
const API_VERSION = /^\d+\.\d+(-preview(\.\d+)?)?$/i;

export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
}

export function sendError(reply: FastifyReply, err: AdoHttpError): FastifyReply {
  return sendJson(reply, err.status, err.body());
}

export interface PipelineContext {
  dataset: AdoDataset;
  state: SimulatorState;
  /** The PAT with every scope. */
  pat: string;
  /** PATs with only these scopes (writes check theirs, and the audit-log read vso.auditlog). */
  pats?: Record<string, string[]>;
  baseUrl(): string;
  /** Accepts `Authorization: Bearer <token>` when it says the token is valid (the Entra stand-in's tokens). */
  bearer?(token: string, org: string): boolean;
}

/**
 * Everything that happens before and after a route: request log, organization, authentication, injected faults,
 * latency, api-version validation, rate-limit headers and body truncation. Order: org (404) → auth (401/203) →
 * [data routes only] count + fault + latency → api-version (400) → route.
 */
export function installPipeline(app: FastifyInstance, ctx: PipelineContext): void {
  const { dataset, state } = ctx;

  app.addHook('onRequest', async (req, reply) => {
    const { path, org: orgSegment } = splitUrl(req.url);
    const query = new QueryParams(req.query);
    const entry: RequestLogEntry = { method: req.method, org: orgSegment, path, query: query.raw, status: 0, at: 0 };
    state.requests.push(entry);
    const rs: RequestState = { entry, data: false, n: 0, truncate: false };
    states.set(req, rs);

    const org = orgSegment ? dataset.org(orgSegment) : undefined;
    if (!org) return sendError(reply, orgSegment ? errors.organization(orgSegment) : errors.route(path));
    rs.org = org;

    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    const pat = bearer === undefined ? patFromAuthorization(req.headers.authorization) : undefined;
    const scopes = pat !== undefined && pat !== ctx.pat ? ctx.pats?.[pat] : undefined;
    const authorized = bearer !== undefined ? ctx.bearer?.(bearer, orgSegment) === true : pat === ctx.pat || scopes !== undefined;
    if (!authorized) {
      const suppress = String(req.headers['x-tfs-fedauthredirect'] ?? '').toLowerCase() === 'suppress';
      if (suppress) {
        return reply
          .code(401)
          .header('www-authenticate', [`Bearer authorization_uri=https://login.microsoftonline.com/common`, `Basic realm="${ctx.baseUrl()}/"`])
          .header('content-type', 'application/json; charset=utf-8')
          .send(
            JSON.stringify(
              errorBody("TF400813: The user '' is not authorized to access this resource.", 'UnauthorizedRequestException'),
            ),
          );
      }
      return reply.code(203).header('content-type', 'text/html; charset=utf-8').send(signInPage(ctx.baseUrl()));
    }
    const needs = writeScope(req.method, path) ?? readScope(req.method, path);
    if (needs && scopes && !scopes.includes(needs)) {
      return sendError(reply, new AdoHttpError(403, `VS30063: You are not authorized to access ${ctx.baseUrl()}${path}: the personal access token does not have the scope ${needs}.`, 'UnauthorizedRequestException'));
    }

    if (!DATA_PATH.test(path)) return;
    rs.data = true;
    const n = ++state.dataRequests;
    rs.n = n;
    const f = state.faults;
    let failure: AdoHttpError | undefined;
    const failPath = state.failPatterns.find((p) => p.re.test(path));
    const rateWait = failPath ? 0 : state.takeRateToken();
    if (failPath) {
      entry.fault = 'failPath';
      failure = new AdoHttpError(failPath.status, `Simulated failure (status ${failPath.status}) for ${path}`, 'SimulatedFailureException');
    } else if (rateWait > 0) {
      entry.fault = 'rate';
      failure = throttled();
      // Rounded up to the millisecond, so a client that waits exactly this long finds a token.
      reply.header('retry-after', (Math.ceil(rateWait * 1000) / 1000).toFixed(3));
    } else if (f.throttleEvery > 0 && n % f.throttleEvery === 0) {
      entry.fault = 'throttle';
      failure = throttled();
      reply.header('retry-after', String(f.retryAfterSeconds));
    } else if (f.unavailableEvery > 0 && n % f.unavailableEvery === 0) {
      entry.fault = 'unavailable';
      failure = new AdoHttpError(503, 'TF400898: The service is temporarily unavailable. Please retry.', 'ServiceUnavailableException');
      if (f.retryAfterSeconds > 0) reply.header('retry-after', String(f.retryAfterSeconds));
    } else if (f.truncateEvery > 0 && n % f.truncateEvery === 0) {
      entry.fault = 'truncate';
      rs.truncate = true;
    }
    if (f.latencyMs > 0) await sleep(f.latencyMs);
    if (failure) return sendError(reply, failure);

    const version = query.get('api-version') ?? /api-version=([^;,\s]+)/i.exec(String(req.headers.accept ?? ''))?.[1];
    if (version !== undefined && !API_VERSION.test(version)) {
      return sendError(
        reply,
        errors.badRequest(
          `The requested api-version '${version}' is not valid: expected {major}.{minor}[-preview[.{resourceVersion}]], e.g. 7.1 or 7.1-preview.1.`,
          'VssInvalidApiVersionException',
        ),
      );
    }
  });

  // After the body is parsed: a read-only POST (a WIQL query) is cached by its URL and body.
  app.addHook('preHandler', async (req, reply) => {
    const rs = states.get(req);
    const cache = state.responseCache;
    if (!rs?.data || !cache || rs.truncate || state.patches.length > 0) return;
    if (req.method !== 'GET' && !(req.method === 'POST' && READ_ONLY_POST.test(rs.entry.path))) return;
    const urlKey = cache.key(req.url);
    if (urlKey === undefined) return;
    const key = req.method === 'GET' ? urlKey : `POST ${urlKey}\n${JSON.stringify(req.body)}`;
    const hit = cache.entries.get(key);
    if (!hit) return void (rs.cacheKey = key);
    reply.code(200).headers({ 'content-type': 'application/json; charset=utf-8', ...hit.headers });
    if (/\bgzip\b/i.test(String(req.headers['accept-encoding'] ?? ''))) return reply.header('content-encoding', 'gzip').send(hit.gzipped);
    return reply.send(gunzipSync(hit.gzipped));
  });

  app.addHook('onSend', async (req, reply, payload) => {
    const rs = states.get(req);
    if (!rs) return payload;
    rs.entry.status = reply.statusCode;
    rs.entry.at = Date.now();
    if (rs.data && state.faults.rateLimitHeaders) {
      const f = state.faults;
      let remaining = RATE_LIMIT_TSTU;
      if (rs.entry.fault === 'throttle' || rs.entry.fault === 'rate') remaining = 0;
      else if (f.throttleEvery > 0) {
        // Counts down towards the next throttled request; never 0 on a request that was served.
        const left = f.throttleEvery - (rs.n % f.throttleEvery) - 1;
        remaining = Math.max(1, Math.round((RATE_LIMIT_TSTU * left) / f.throttleEvery));
      }
      reply.header('x-ratelimit-resource', 'ATCPU');
      reply.header('x-ratelimit-limit', String(RATE_LIMIT_TSTU));
      reply.header('x-ratelimit-remaining', String(remaining));
      reply.header('x-ratelimit-reset', String(Math.ceil((Date.now() + f.retryAfterSeconds * 1000) / 1000)));
    }
    const patches = reply.statusCode === 200 ? state.patches.filter((p) => p.re.test(rs.entry.path)) : [];
    if (patches.length > 0 && typeof payload === 'string') {
      let body: unknown = JSON.parse(payload);
      for (const p of patches) body = p.edit(body);
      payload = JSON.stringify(body);
    }
    if (rs.cacheKey !== undefined && reply.statusCode === 200 && typeof payload === 'string' && state.responseCache) {
      const headers: Record<string, string> = {};
      for (const h of DATA_HEADERS) {
        const v = reply.getHeader(h);
        if (v !== undefined) headers[h] = String(v);
      }
      state.responseCache.entries.set(rs.cacheKey, { gzipped: gzipSync(payload, { level: 1 }), headers });
    }
    if (rs.truncate && (typeof payload === 'string' || Buffer.isBuffer(payload))) {
      const text = payload.toString();
      return text.slice(0, Math.floor(text.length / 2));
    }
    return payload;
  });

  app.setNotFoundHandler((req, reply) => {
    sendError(reply, errors.route(splitUrl(req.url).path));
  });

  app.setErrorHandler((err: unknown, _req, reply) => {
    if (err instanceof AdoHttpError) return sendError(reply, err);
    const status = typeof (err as { statusCode?: unknown }).statusCode === 'number' ? (err as { statusCode: number }).statusCode : 500;
    const message = err instanceof Error ? err.message : String(err);
    return sendError(reply, new AdoHttpError(status, message, status >= 500 ? 'VssServiceException' : 'ArgumentException'));
  });
}

/** The PAT scope a write needs; undefined for reads (GET, HEAD, and the POSTs that only read). */
export function writeScope(method: string, path: string): string | undefined {
  if (method === 'GET' || method === 'HEAD') return undefined;
  if (/\/_apis\/graph\/memberships\//i.test(path)) return 'vso.graph_manage';
  if (/\/_apis\/(user|group|serviceprincipal)entitlements/i.test(path)) return 'vso.memberentitlementmanagement_write';
  if (/\/_apis\/pipelines\/[^/]+\/runs$/i.test(path)) return 'vso.build_execute';
  return undefined;
}

/**
 * The PAT scope a read needs, where the simulator checks one: only the audit log (vso.auditlog); the other reads are
 * served to any PAT the simulator knows.
 */
export function readScope(method: string, path: string): string | undefined {
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  if (/\/_apis\/audit\/auditlog\/?$/i.test(path)) return 'vso.auditlog';
  return undefined;
}

/** Path (decoded, no query) and its first segment (the organization). */
export function splitUrl(url: string): { path: string; org: string } {
  const rawPath = url.split('?')[0] ?? '/';
  let path = rawPath;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    /* keep the raw path */
  }
  const org = path.split('/').filter(Boolean)[0] ?? '';
  return { path, org };
}

function throttled(): AdoHttpError {
  return new AdoHttpError(
    429,
    `TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource 'ATCPU' in namespace 'User'. For more information on why your request was blocked, see the topic "Rate limits" on the Microsoft Web site.`,
    'RequestBlockedException',
  );
}

/** The password of a Basic credential (any user name is accepted, as the service does for PATs). */
export function patFromAuthorization(header: string | undefined): string | undefined {
  const m = /^Basic\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

function signInPage(base: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8"><title>Azure DevOps Services | Sign In</title></head>',
    '<body><h1>Sign in</h1>',
    `<p>You need to sign in to access ${escapeHtml(base)}.</p>`,
    '<a href="https://login.microsoftonline.com/">Sign in with your account</a>',
    '</body></html>',
  ].join('\n');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
