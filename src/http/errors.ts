/** What every outbound error says about itself; the retry policy reads nothing else. */
export interface HttpErrorOptions {
  /** HTTP status, undefined when no answer came (timeouts, network errors). */
  status?: number;
  /** Worth sending again (default false). The policy still bounds how often. */
  retryable?: boolean;
  /** The wait the answer asked for (Retry-After, or the rate-limit reset of a 429), when it asked. */
  retryAfterMs?: number;
}

/** Any failed outbound request. Each client's errors extend it (AdoError, PortApiError). */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: HttpErrorOptions = {}) {
    super(message);
    this.status = options.status;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export interface TransportErrorOptions {
  timedOut?: boolean;
  /** The system error code when the connection failed (`ENOTFOUND`, `ECONNREFUSED`, `ECONNRESET`, …). */
  code?: string;
  /** Set when the answer came but its body did not (cut off, or the timeout passed while reading it). */
  status?: number;
}

/**
 * A request that got no usable HTTP answer: it timed out, the connection failed, or the body was cut off. Retryable,
 * except for a host name that does not exist: asking again will not change that (unlike a timeout or a reset).
 */
export class TransportError extends HttpError {
  override name = 'TransportError';
  readonly timedOut: boolean;
  readonly code: string | undefined;

  constructor(message: string, options: TransportErrorOptions = {}) {
    super(message, { status: options.status, retryable: options.code !== 'ENOTFOUND' });
    this.timedOut = options.timedOut ?? false;
    this.code = options.code;
  }

  /** The host name does not exist. */
  get hostUnknown(): boolean {
    return this.code === 'ENOTFOUND';
  }
}
