import type { Logger } from '../observability/log.js';
import { errorMessage } from '../util/errors.js';
import {
  describeRequest,
  retryableStatus,
  Transport,
  TransportError,
  withQuery,
  type Answer,
  type FailedRequest,
  type HeaderReader,
  type Query,
  type RetryPolicy,
  type TransportStats,
} from '../http/index.js';
import type { RateGovernor } from '../http/governor.js';
import type { AdoAuth } from './auth.js';
import { AdoAuthError, AdoError, AdoNotFoundError, OrganizationUnreachableError } from './errors.js';
import { serviceUrl, type AdoService, type Organization } from './orgUrl.js';

export type { Query, QueryValue } from '../http/url.js';

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
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** POSTs that only read (WIQL, itemsbatch, subjectlookup) are safe to retry. GET/PUT/DELETE always are. */
  idempotent?: boolean;
  headers?: Record<string, string>;
}

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

/** The scopes writes need (the read scopes above do not cover them). POSTs that only read are not writes. */
const WRITE_SCOPE_HINTS: Array<[RegExp, string]> = [
  [/\/_apis\/graph\/memberships\//i, 'Graph (Read & manage)'],
  [/\/_apis\/(user|group|serviceprincipal)entitlements/i, 'Member Entitlement Management (Read & write)'],
  [/\/_apis\/pipelines\/[^/]+\/runs\b/i, 'Build (Read & execute)'],
];

/** The PAT scope a request to `url` needs: the read scope, or for a write (`method` other than GET/HEAD) the write one. */
export function scopeHint(url: string, method = 'GET'): string | undefined {
  const write = method !== 'GET' && method !== 'HEAD' ? WRITE_SCOPE_HINTS.find(([re]) => re.test(url))?.[1] : undefined;
  return write ?? SCOPE_HINTS.find(([re]) => re.test(url))?.[1];
}

/**
 * One client per organization on its own transport (concurrency, the organization's pause window, the retry policy,
 * stats). What is Azure DevOps's own stays here: the auth headers (and one refresh on a 401), how answers report
 * errors (a 203 sign-in page, HTML instead of JSON, `{message}` bodies), the scope hints, and the first-contact
 * failure that makes the organization unusable. Errors name the organization, never the credential.
 */
export class AdoClient {
  readonly #transport: Transport;
  /** Some request got an HTTP answer from the organization that was not an authentication failure. */
  #reached = false;
  #unusable?: AdoError;

  constructor(
    readonly org: Organization,
    private readonly auth: AdoAuth,
    options: Partial<AdoClientOptions> = {},
    log?: Logger,
  ) {
    this.#transport = new Transport(
      { ...DEFAULT_CLIENT_OPTIONS, ...options },
      // The client's logger already names the organization.
      { service: 'azure devops', log, secrets: () => this.auth.secrets(), describe: (err, r) => this.#describe(err, r) },
    );
  }

  /** How this client authenticates: `pat`, or `entra` (a service principal or managed identity). */
  get authKind(): 'pat' | 'entra' {
    return this.auth.kind;
  }

  /** Counters for /metrics and summaries (requests, retries, throttled, failures, byStatus). */
  get stats(): TransportStats {
    return this.#transport.stats;
  }

  /** The organization's pause window. */
  get governor(): RateGovernor {
    return this.#transport.governor;
  }

  /** Absolute URL of a path on the org (or on a sub-service such as vsrm). */
  url(path: string, service: AdoService = 'core'): string {
    return `${serviceUrl(this.org, service)}/${path.replace(/^\/+/, '')}`;
  }

  get<T>(url: string, query?: Query, signal?: AbortSignal): Promise<AdoResponse<T>> {
    return this.request<T>(url, { query, signal });
  }

  async request<T>(url: string, options: RequestOptions = {}): Promise<AdoResponse<T>> {
    const full = withQuery(url, options.query);
    const method = options.method ?? 'GET';
    const signal = options.signal;
    if (this.#unusable) throw this.#unusable;
    let refreshedAuth = false;
    return this.#transport.send<AdoResponse<T>>({
      method,
      url: full,
      body: options.body,
      signal,
      idempotent: method !== 'POST' && method !== 'PATCH' ? true : options.idempotent === true,
      headers: async () => {
        if (this.#unusable) throw this.#unusable;
        let authorization: string;
        try {
          authorization = await this.auth.header(signal);
        } catch (err) {
          // A credential that could not be had (Entra): retried like a failed request.
          if (signal?.aborted) throw err;
          throw new AdoError(errorMessage(err), { retryable: true });
        }
        // Without x-tfs-fedauthredirect, bad credentials get a 203 HTML sign-in page instead of a 401.
        return { accept: 'application/json', authorization, 'x-tfs-fedauthredirect': 'Suppress', ...options.headers };
      },
      read: (answer) => this.#read<T>(answer),
      settle: async (err) => {
        if (this.#unusable) return this.#unusable;
        if (err instanceof AdoAuthError && err.status === 401 && !refreshedAuth && this.auth.refresh) {
          refreshedAuth = true;
          if (await this.auth.refresh()) return 'again';
        }
        const unusable = this.#firstContactFailure(err, full, method);
        return unusable ? (this.#unusable ??= unusable) : undefined;
      },
    });
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
    return this.#transport.pending;
  }

  #read<T>(res: Answer): AdoResponse<T> {
    const { status, text } = res;
    const contentType = res.headers.get('content-type') ?? '';
    // 203 is how Azure DevOps sends its sign-in page; any other HTML page (a proxy's, a maintenance page) says nothing
    // about the credentials: it is an answer that is not the API's, and may pass.
    if (status === 203) throw new AdoAuthError('answered with a sign-in page (credentials rejected)', { status: 401 });
    if (res.ok && contentType.includes('text/html')) {
      throw new AdoError(`answered HTTP ${status} with an HTML page instead of JSON (a proxy or maintenance page?)`, { status, retryable: true });
    }
    if (status !== 401 && status !== 403) this.#reached = true;
    if (res.ok) {
      if (status === 204 || text.length === 0) return { data: undefined as T, headers: res.headers, status };
      try {
        return { data: JSON.parse(stripBom(text)) as T, headers: res.headers, status };
      } catch {
        throw new AdoError(`truncated or invalid JSON body (${text.length} bytes)`, { status, retryable: true });
      }
    }
    const detail = errorDetail(text);
    const message = `HTTP ${status}${detail ? `: ${detail}` : ''}`;
    if (status === 401 || status === 403) throw new AdoAuthError(message, { status });
    if (status === 404) throw new AdoNotFoundError(message, { status });
    const retryAfterMs = res.retryAfterMs;
    const suffix = retryAfterMs !== undefined ? ` (Retry-After ${Math.round(retryAfterMs)} ms)` : '';
    throw new AdoError(`${message}${suffix}`, { status, retryable: retryableStatus(status), retryAfterMs });
  }

  /**
   * Before the organization ever answered: rejected credentials (a 401 or a sign-in page), a host name that does
   * not exist, or a host that refuses connections. One message naming the organization, the cause and the setting to
   * fix; undefined for anything a retry may mend.
   */
  #firstContactFailure(err: unknown, url: string, method: string): AdoError | undefined {
    if (this.#reached) return undefined;
    const where = `${this.org.name}" (${this.org.url})`;
    // A 403 only says this identity may not call that endpoint; other kinds may still work.
    if (err instanceof AdoAuthError && err.status === 401) {
      return this.#describe(err, { method, url, label: describeRequest(method, url), attempts: 1 });
    }
    const code = err instanceof TransportError || err instanceof AdoError ? err.code : undefined;
    const host = new URL(url).host;
    const unreachable = (cause: string, check: string) =>
      new OrganizationUnreachableError(
        this.#transport.scrub(`Azure DevOps organization "${where}: ${cause}. Check the organization URL (--org / ADO_ORGANIZATION_URL) and ${check}.`),
      );
    if (code === 'ENOTFOUND') return unreachable(`the host ${host} does not exist (DNS: ENOTFOUND)`, "this machine's DNS");
    if (code === 'ECONNREFUSED') return unreachable(`${host} refuses connections (ECONNREFUSED)`, 'that the server is running');
    return undefined;
  }

  #describe(err: unknown, r: FailedRequest): AdoError {
    const where = r.label;
    if (err instanceof AdoAuthError) {
      const scope = scopeHint(r.url, r.method);
      const what = err.status === 403 ? 'is not allowed to' : 'was rejected by';
      const hint =
        this.auth.kind === 'entra'
          ? ` Check that the identity was added to this organization (Organization settings → Users)${scope ? ` with access to "${scope}"` : ''}.`
          : scope
            ? ` Check that the ${this.auth.description} (--pat / ADO_PERSONAL_ACCESS_TOKEN) is valid for this organization and has the "${scope}" scope.`
            : ` Check that the ${this.auth.description} (--pat / ADO_PERSONAL_ACCESS_TOKEN) is valid for this organization.`;
      return new AdoAuthError(
        this.#transport.scrub(`Azure DevOps organization "${this.org.name}" (${this.org.url}): the ${this.auth.description} ${what} ${where}: ${sentence(err.message)}${hint}`),
        { status: err.status },
      );
    }
    const status = err instanceof AdoError || err instanceof TransportError ? err.status : undefined;
    const message = this.#transport.scrub(`Azure DevOps organization "${this.org.name}": ${where} failed after ${r.attempts} attempt(s): ${errorMessage(err)}`);
    if (err instanceof AdoNotFoundError) return new AdoNotFoundError(message, { status: 404 });
    return new AdoError(message, { status });
  }
}

/** A message ending in exactly one full stop (Azure DevOps's own messages often end in one already). */
function sentence(message: string): string {
  const trimmed = message.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
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
