import type { Logger } from '../../observability/log.js';
import { silentLogger } from '../../observability/log.js';
import { errorMessage } from '../../util/errors.js';
import {
  HttpError,
  retryableStatus,
  Transport,
  TransportStats,
  withQuery,
  type Answer,
  type Exchange,
  type FailedRequest,
  type Query,
  type RetryPolicy,
} from '../../http/index.js';
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

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface PortRequestOptions {
  query?: Query;
  body?: unknown;
  /** Send a bearer token (everything but the token endpoint). */
  auth?: boolean;
  signal?: AbortSignal;
}

export interface PortResponse<T> {
  status: number;
  data: T;
}

export class PortClientStats extends TransportStats {
  tokenRefreshesAfter401 = 0;
}

const TOKEN_PATH = '/v1/auth/access_token';

/** A path segment (a blueprint or entity identifier) in a route. */
export function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/**
 * Port's API on the shared transport (bounded concurrency, the pause window, the retry policy). What is Port's own
 * stays here: the token (cached, refreshed early, fetched again and the request replayed once after a 401), the
 * stable User-Agent that stamps ownership (see ownership.ts), how Port reports errors (`{ok:false, error, message}`,
 * `x-trace-id`), and errors that name the route and the trace id, never the credentials or the token. Requests to
 * Port resources (blueprints, entities, search) are built on `request`.
 */
export class PortApi {
  readonly baseUrl: string;
  readonly userAgent: string;
  readonly integrationIdentifier: string;
  readonly stats = new PortClientStats();
  readonly options: Readonly<PortClientOptions>;
  readonly #transport: Transport<PortClientStats>;
  readonly #tokens: TokenCache;

  constructor(
    settings: PortSettings,
    options: Partial<PortClientOptions> = {},
    readonly log: Logger = silentLogger,
  ) {
    if (!settings.clientId || !settings.clientSecret) throw new Error('Port client id and client secret are required');
    this.baseUrl = resolvePortBaseUrl(settings);
    this.userAgent = userAgent(settings.integrationIdentifier, settings.version);
    this.integrationIdentifier = settings.integrationIdentifier;
    const opts = { ...DEFAULT_PORT_CLIENT_OPTIONS, ...options };
    opts.maxBatchEntities = Math.max(1, Math.min(20, opts.maxBatchEntities));
    this.options = opts;
    const credentials = { clientId: settings.clientId, clientSecret: settings.clientSecret };
    this.#transport = new Transport(opts, {
      service: 'port',
      log,
      stats: this.stats,
      secrets: () => [settings.clientSecret, settings.clientId, this.#tokens.current()],
      describe: (err, r) => this.#describe(err, r),
      logFields: (err) => (err instanceof PortApiError && err.traceId ? { traceId: err.traceId } : {}),
    });
    this.#tokens = new TokenCache(async () => {
      // Not queued: the requests holding the slots may be the ones waiting for this token.
      const res = await this.#transport.sendUnqueued(this.#exchange<PortToken & { ok?: boolean }>('POST', TOKEN_PATH, { body: credentials, auth: false }));
      const t = res.data;
      if (!t || typeof t.accessToken !== 'string' || typeof t.expiresIn !== 'number') {
        throw new PortApiError('Port token endpoint answered without an access token', { status: res.status });
      }
      return t;
    }, opts.tokenRefreshMarginMs);
  }

  /** Access tokens fetched so far (initial + refreshes). */
  get tokenFetches(): number {
    return this.#tokens.fetches;
  }

  /** Requests waiting for a slot plus those in flight. */
  get pending(): number {
    return this.#transport.pending;
  }

  request<T>(method: Method, path: string, options: PortRequestOptions = {}): Promise<PortResponse<T>> {
    return this.#transport.send(this.#exchange<T>(method, path, options));
  }

  #exchange<T>(method: Method, path: string, options: PortRequestOptions): Exchange<PortResponse<T>> {
    const auth = options.auth ?? true;
    let token: string | undefined;
    let tokenFailure: Error | undefined;
    let replayedAfter401 = false;
    return {
      method,
      url: withQuery(this.baseUrl + path, options.query),
      body: options.body,
      signal: options.signal,
      label: `${method} ${path}`,
      headers: async () => {
        const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.userAgent };
        if (!auth) return headers;
        try {
          const t = await this.#tokens.get();
          token = t.token;
          headers.authorization = t.header;
        } catch (err) {
          tokenFailure = err instanceof Error ? err : new Error(String(err));
          throw tokenFailure;
        }
        return headers;
      },
      read: readAnswer<T>,
      settle: (err) => {
        // A token fetch has its own retries and a complete error message: let its failure through as is.
        if (tokenFailure && err === tokenFailure) return tokenFailure;
        if (err instanceof PortAuthError && err.status === 401 && token && !replayedAfter401) {
          // The token expired or was revoked: fetch a new one and replay this request once.
          replayedAfter401 = true;
          this.stats.tokenRefreshesAfter401++;
          this.#tokens.invalidate(token);
          this.log.info({ method, path }, 'port token rejected, fetching a new one and replaying the request');
          return 'again';
        }
        return undefined;
      },
    };
  }

  #describe(err: unknown, r: FailedRequest): PortApiError {
    const scrub = (message: string) => this.#transport.scrub(message);
    if (err instanceof PortAuthError) {
      const what =
        r.url === this.baseUrl + TOKEN_PATH
          ? 'Port refused the client credentials (check the Port client id and secret)'
          : `Port refused ${r.label}${err.status === 403 ? ' (the credentials lack permission)' : ''}`;
      return new PortAuthError(scrub(`${what}: ${err.message}`), { status: err.status, code: err.code, traceId: err.traceId });
    }
    const api = err instanceof PortApiError ? err : undefined;
    const trace = api?.traceId ? ` (trace id ${api.traceId})` : '';
    return new PortApiError(scrub(`Port ${r.label} failed after ${r.attempts} attempt(s): ${errorMessage(err)}${trace}`), {
      status: err instanceof HttpError ? err.status : undefined,
      code: api?.code,
      traceId: api?.traceId,
    });
  }
}

/** The body of a 2xx answer, or the error Port's `{ok:false, error, message}` envelope reports. */
function readAnswer<T>(res: Answer): PortResponse<T> {
  const { status, text } = res;
  const traceId = res.headers.get('x-trace-id') ?? undefined;
  let data: unknown;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      if (res.ok) throw new PortApiError(`invalid JSON body (${text.length} bytes)`, { status, retryable: true, traceId });
    }
  }
  if (res.ok) return { status, data: data as T };

  const envelope = (typeof data === 'object' && data !== null ? data : {}) as { error?: unknown; message?: unknown };
  const code = typeof envelope.error === 'string' ? envelope.error : undefined;
  const detail = typeof envelope.message === 'string' ? envelope.message.slice(0, 500) : text.slice(0, 200).replace(/\s+/g, ' ');
  const message = `HTTP ${status}${code ? ` ${code}` : ''}${detail ? `: ${detail}` : ''}`;
  if (status === 401 || status === 403) throw new PortAuthError(message, { status, code, traceId });
  const retryable = retryableStatus(status);
  throw new PortApiError(message, { status, code, retryable, retryAfterMs: retryable ? res.retryAfterMs : undefined, traceId });
}
