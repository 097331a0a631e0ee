import PQueue from 'p-queue';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../util/log.js';
import { silentLogger } from '../util/log.js';
import { scrubSecrets, errorMessage } from '../util/errors.js';
import { fetchJson, TransportError, type HeaderReader, type HttpResponse, type RetryPolicy } from '../util/http.js';
import type { AdoAuth } from './auth.js';
import { AdoAuthError, AdoError, AdoNotFoundError, OrganizationUnreachableError } from './errors.js';
import { RateGovernor } from './governor.js';
import { serviceUrl, type AdoService, type Organization } from './orgUrl.js';

export type QueryValue = string | number | boolean | undefined | null;
export type Query = Record<string, QueryValue>;

/** `concurrency` counts requests in flight to this one organization. */
export type AdoClientOptions = RetryPolicy;

export const DEFAULT_CLIENT_OPTIONS: AdoClientOptions = {
  concurrency: 8,
  timeoutMs: 60_000,
  maxAttempts: 6,
  backoffBaseMs: 500,
  backoffMaxMs: 60_000,
  maxPauseMs: 300_000,
};

export interface AdoResponse<T> {
  data: T;
  headers: HeaderReader;
  status: number;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** POSTs that only read (WIQL, itemsbatch, subjectlookup) are safe to retry. GET/PUT/DELETE always are. */
  idempotent?: boolean;
  headers?: Record<string, string>;
}

/** Counters for /metrics and summaries. */
export class AdoClientStats {
  requests = 0;
  retries = 0;
  throttled = 0;
  failures = 0;
  byStatus = new Map<number, number>();
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
/** Retries one request gets after 429 answers, besides its maxAttempts for other errors. */
const MAX_THROTTLED_RETRIES = 50;
/**
 * Retries after a Retry-After are spread over at least this long, so that the requests held by one pause do not all
 * hit the limit again at once (bench/RESULTS.md, throttled: 1.05x the bound with half the 429s of a 50 ms spread).
 */
const TOLD_JITTER_MS = 400;

const SCOPE_HINTS: Array<[RegExp, string]> = [
  [/\/_apis\/(git|policy)\//i, 'Code (Read)'],
  [/\/_apis\/(build|pipelines)\b/i, 'Build (Read)'],
  [/\/_apis\/release\//i, 'Release (Read)'],
  [/\/_apis\/(wit|work)\//i, 'Work Items (Read)'],
  [/\/_apis\/(graph|identities)\//i, 'Graph (Read)'],
  [/\/_apis\/(user|group|serviceprincipal)entitlements/i, 'Member Entitlement Management (Read)'],
  [/\/_apis\/test\//i, 'Test Management (Read)'],
  [/\/_apis\/distributedtask\/environments/i, 'Environment (Read & manage)'],
  [/\/_apis\/hooks\//i, 'Service Hooks (Read & write)'],
  [/\/_apis\/wiki\//i, 'Wiki (Read)'],
  [/\/_apis\/alert\//i, 'Advanced Security (Read)'],
  [/\/_apis\/(projects|teams)\b/i, 'Project and Team (Read)'],
];

export function scopeHint(url: string): string | undefined {
  return SCOPE_HINTS.find(([re]) => re.test(url))?.[1];
}

/**
 * One client per organization: auth, a request queue bounding concurrency, a shared rate-limit window, retries with
 * exponential backoff and jitter, and errors that name the organization (and never the credential).
 */
export class AdoClient {
  readonly stats = new AdoClientStats();
  readonly governor: RateGovernor;
  readonly #queue: PQueue;
  readonly #opts: AdoClientOptions;
  /** Some request got an HTTP answer from the organization that was not an authentication failure. */
  #reached = false;
  #unusable?: AdoError;

  constructor(
    readonly org: Organization,
    private readonly auth: AdoAuth,
    options: Partial<AdoClientOptions> = {},
    private readonly log: Logger = silentLogger,
  ) {
    this.#opts = { ...DEFAULT_CLIENT_OPTIONS, ...options };
    this.#queue = new PQueue({ concurrency: this.#opts.concurrency });
    this.governor = new RateGovernor(this.#opts.maxPauseMs);
  }

  /** Absolute URL of a path on the org (or on a sub-service such as vsrm). */
  url(path: string, service: AdoService = 'core'): string {
    return `${serviceUrl(this.org, service)}/${path.replace(/^\/+/, '')}`;
  }

  get<T>(url: string, query?: Query, signal?: AbortSignal): Promise<AdoResponse<T>> {
    return this.request<T>(url, { query, signal });
  }

  async request<T>(url: string, options: RequestOptions = {}): Promise<AdoResponse<T>> {
    const full = buildUrl(url, options.query);
    if (this.#unusable) throw this.#unusable;
    return this.#queue.add(() => (this.#unusable ? Promise.reject(this.#unusable) : this.#withRetries<T>(full, options)), { throwOnTimeout: true });
  }

  /**
   * Set when the organization's first contact failed in a way no retry or other request can mend: credentials
   * rejected, a host that does not exist or refuses connections. Every request then fails at once with it.
   */
  get unusable(): AdoError | undefined {
    return this.#unusable;
  }

  /** Requests waiting for a slot, plus those in flight. */
  get pending(): number {
    return this.#queue.size + this.#queue.pending;
  }

  async #withRetries<T>(url: string, options: RequestOptions): Promise<AdoResponse<T>> {
    const method = options.method ?? 'GET';
    const retryable = method !== 'POST' && method !== 'PATCH' ? true : options.idempotent === true;
    let refreshedAuth = false;
    let throttled = 0;
    for (let attempt = 1; ; attempt++) {
      await this.governor.ready(options.signal);
      try {
        return await this.#once<T>(url, method, options);
      } catch (err) {
        if (options.signal?.aborted) throw err;
        if (this.#unusable) throw this.#unusable;
        if (err instanceof AdoAuthError && err.status === 401 && !refreshedAuth && this.auth.refresh) {
          refreshedAuth = true;
          if (await this.auth.refresh()) continue;
        }
        const unusable = this.#firstContactFailure(err, url, method);
        if (unusable) {
          this.stats.failures++;
          throw (this.#unusable ??= unusable);
        }
        const adoErr = err instanceof AdoError ? err : undefined;
        // A 429 is Azure DevOps pacing the client, not a failure: the governor already holds every request of the
        // organization for its Retry-After, so it does not use up the attempts (with 8 requests racing for a few tokens
        // a second, one can lose six times in a row); it has a budget of its own.
        if (adoErr?.status === 429) throttled++;
        const canRetry =
          retryable &&
          (adoErr ? adoErr.retryable : true) &&
          attempt - throttled < this.#opts.maxAttempts &&
          throttled <= MAX_THROTTLED_RETRIES;
        if (!canRetry) {
          this.stats.failures++;
          throw this.#describe(err, url, method, attempt);
        }
        this.stats.retries++;
        // Told how long to wait: the governor holds that wait for everyone, and a jitter of the same order spreads
        // the retries; exponential backoff is for failures that came without one.
        const told = adoErr?.retryAfterMs;
        const backoff = told !== undefined ? Math.max(told, TOLD_JITTER_MS) : Math.min(this.#opts.backoffMaxMs, this.#opts.backoffBaseMs * 2 ** (attempt - 1));
        const delay = Math.random() * backoff;
        this.log.warn(
          // The client's logger already names the organization.
          { url: redactQuery(url), attempt, delayMs: Math.round(delay), reason: errorMessage(err) },
          'azure devops request failed, retrying',
        );
        // The governor already holds any Retry-After the response asked for; this is the extra jittered backoff.
        await sleep(delay, undefined, { signal: options.signal });
      }
    }
  }

  async #once<T>(url: string, method: string, options: RequestOptions): Promise<AdoResponse<T>> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: await this.auth.header(options.signal),
      // Without this, bad credentials get a 203 HTML sign-in page instead of a 401.
      'x-tfs-fedauthredirect': 'Suppress',
      ...options.headers,
    };
    this.stats.requests++;
    let res: HttpResponse;
    try {
      res = await fetchJson(url, { method, headers, body: options.body, signal: options.signal, timeoutMs: this.#opts.timeoutMs });
    } catch (err) {
      // A host that does not exist stays so: not retried like a timeout or a reset.
      if (err instanceof TransportError) throw new AdoError(err.message, undefined, !err.hostUnknown, undefined, err.code);
      throw err;
    }
    this.stats.byStatus.set(res.status, (this.stats.byStatus.get(res.status) ?? 0) + 1);
    const retryAfterMs = this.governor.observe(res.headers);
    if (res.status === 429) this.stats.throttled++;

    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new AdoError(`response body interrupted: ${errorMessage(err)}`, res.status, true);
    }
    const contentType = res.headers.get('content-type') ?? '';
    // 203 is how Azure DevOps sends its sign-in page; any other HTML page (a proxy's, a maintenance page) says nothing
    // about the credentials: it is an answer that is not the API's, and may pass.
    if (res.status === 203) throw new AdoAuthError('answered with a sign-in page (credentials rejected)', 401, false);
    if (res.ok && contentType.includes('text/html')) {
      throw new AdoError(`answered HTTP ${res.status} with an HTML page instead of JSON (a proxy or maintenance page?)`, res.status, true);
    }
    if (res.status !== 401 && res.status !== 403) this.#reached = true;
    if (res.ok) {
      if (res.status === 204 || text.length === 0) return { data: undefined as T, headers: res.headers, status: res.status };
      try {
        return { data: JSON.parse(stripBom(text)) as T, headers: res.headers, status: res.status };
      } catch {
        throw new AdoError(`truncated or invalid JSON body (${text.length} bytes)`, res.status, true);
      }
    }
    const detail = errorDetail(text);
    if (res.status === 401 || res.status === 403) {
      throw new AdoAuthError(`HTTP ${res.status}${detail ? `: ${detail}` : ''}`, res.status, false);
    }
    if (res.status === 404) throw new AdoNotFoundError(`HTTP 404${detail ? `: ${detail}` : ''}`, 404, false);
    const suffix = retryAfterMs !== undefined ? ` (Retry-After ${Math.round(retryAfterMs)} ms)` : '';
    throw new AdoError(`HTTP ${res.status}${detail ? `: ${detail}` : ''}${suffix}`, res.status, RETRYABLE_STATUS.has(res.status), retryAfterMs);
  }

  /**
   * Before the organization ever answered: rejected credentials (a 401 or a sign-in page), a host name that does
   * not exist, or a host that refuses connections. One message naming the organization, the cause and the setting to
   * fix; undefined for anything a retry may mend.
   */
  #firstContactFailure(err: unknown, url: string, method: string): AdoError | undefined {
    if (this.#reached) return undefined;
    const secrets = this.auth.secrets();
    const where = `${this.org.name}" (${this.org.url})`;
    // A 403 only says this identity may not call that endpoint; other kinds may still work.
    if (err instanceof AdoAuthError && err.status === 401) {
      return this.#describe(err, url, method, 1) as AdoAuthError;
    }
    const code = err instanceof AdoError ? err.code : undefined;
    const host = new URL(url).host;
    if (code === 'ENOTFOUND') {
      return new OrganizationUnreachableError(
        scrubSecrets(`Azure DevOps organization "${where}: the host ${host} does not exist (DNS: ENOTFOUND). Check the organization URL (--org / ADO_ORGANIZATION_URL) and this machine's DNS.`, secrets),
      );
    }
    if (code === 'ECONNREFUSED') {
      return new OrganizationUnreachableError(
        scrubSecrets(`Azure DevOps organization "${where}: ${host} refuses connections (ECONNREFUSED). Check the organization URL (--org / ADO_ORGANIZATION_URL) and that the server is running.`, secrets),
      );
    }
    return undefined;
  }

  #describe(err: unknown, url: string, method: string, attempts: number): Error {
    const where = `${method} ${redactQuery(url)}`;
    const secrets = this.auth.secrets();
    if (err instanceof AdoAuthError) {
      const scope = scopeHint(url);
      const what = err.status === 403 ? 'is not allowed to' : 'was rejected by';
      const hint = this.auth.kind === 'entra'
        ? ` Check that the identity was added to this organization (Organization settings → Users)${scope ? ` with access to "${scope}"` : ''}.`
        : scope
          ? ` Check that the ${this.auth.description} (--pat / ADO_PERSONAL_ACCESS_TOKEN) is valid for this organization and has the "${scope}" scope.`
          : ` Check that the ${this.auth.description} (--pat / ADO_PERSONAL_ACCESS_TOKEN) is valid for this organization.`;
      return new AdoAuthError(
        scrubSecrets(`Azure DevOps organization "${this.org.name}" (${this.org.url}): the ${this.auth.description} ${what} ${where}: ${sentence(err.message)}${hint}`, secrets),
        err.status,
        false,
      );
    }
    const status = err instanceof AdoError ? err.status : undefined;
    const message = scrubSecrets(
      `Azure DevOps organization "${this.org.name}": ${where} failed after ${attempts} attempt(s): ${errorMessage(err)}`,
      secrets,
    );
    if (err instanceof AdoNotFoundError) return new AdoNotFoundError(message, 404, false);
    return new AdoError(message, status, false);
  }
}

/** A message ending in exactly one full stop (Azure DevOps's own messages often end in one already). */
function sentence(message: string): string {
  const trimmed = message.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

export function buildUrl(url: string, query?: Query): string {
  if (!query) return url;
  const u = new URL(url);
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null) continue;
    u.searchParams.set(k, String(v));
  }
  return u.toString();
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function errorDetail(text: string): string {
  if (!text) return '';
  try {
    const body = JSON.parse(stripBom(text)) as { message?: unknown };
    if (typeof body.message === 'string') return body.message.slice(0, 500);
  } catch {
    /* not JSON */
  }
  return text.slice(0, 200).replace(/\s+/g, ' ');
}

/** Continuation tokens can be long and opaque; keep logs and messages readable. */
export function redactQuery(url: string): string {
  const u = new URL(url);
  if (u.searchParams.has('continuationToken')) u.searchParams.set('continuationToken', '…');
  return decodeURIComponent(u.toString());
}
