import { HttpError, type HttpErrorOptions } from '../../http/errors.js';

export interface PortErrorOptions extends HttpErrorOptions {
  /** Port's `error` code from the `{ok:false, error, message}` envelope (e.g. `not_found`), when present. */
  code?: string;
  /** Port's `x-trace-id`, to quote to Port support. */
  traceId?: string;
}

/** Any failure talking to Port's API. `retryable` drives the transport's retry policy. */
export class PortApiError extends HttpError {
  override name = 'PortApiError';
  readonly code: string | undefined;
  readonly traceId: string | undefined;

  constructor(message: string, options: PortErrorOptions = {}) {
    super(message, options);
    this.code = options.code;
    this.traceId = options.traceId;
  }
}

/** 401/403, or credentials refused by the token endpoint: never retried beyond one token refresh. */
export class PortAuthError extends PortApiError {
  override name = 'PortAuthError';
}
