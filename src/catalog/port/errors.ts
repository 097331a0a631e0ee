/** Any failure talking to Port's API. `retryable` drives the client's retry loop. */
export class PortApiError extends Error {
  override name = 'PortApiError';
  constructor(
    message: string,
    /** HTTP status, undefined for network errors and timeouts. */
    readonly status: number | undefined,
    /** Port's `error` code from the `{ok:false, error, message}` envelope (e.g. `not_found`), when present. */
    readonly code: string | undefined,
    readonly retryable: boolean,
    /** How long the response asked us to wait (Retry-After, or x-ratelimit-reset on a 429). */
    readonly retryAfterMs?: number,
    /** Port's `x-trace-id`, to quote to Port support. */
    readonly traceId?: string,
  ) {
    super(message);
  }
}

/** 401/403, or credentials refused by the token endpoint: never retried beyond one token refresh. */
export class PortAuthError extends PortApiError {
  override name = 'PortAuthError';
}
