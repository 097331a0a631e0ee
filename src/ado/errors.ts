import { HttpError, type HttpErrorOptions } from '../http/errors.js';

export interface AdoErrorOptions extends HttpErrorOptions {
  /** The system error code of a failed connection (`ENOTFOUND`, `ECONNREFUSED`, …). */
  code?: string;
}

/** Any failure talking to Azure DevOps. `retryable` drives the transport's retry policy. */
export class AdoError extends HttpError {
  override name = 'AdoError';
  readonly code: string | undefined;

  constructor(message: string, options: AdoErrorOptions = {}) {
    super(message, options);
    this.code = options.code;
  }
}

/** 401/403 (or a 203 sign-in page): fails fast, the message names the org and the PAT scope likely missing. */
export class AdoAuthError extends AdoError {
  override name = 'AdoAuthError';
}

/** 404: callers decide whether "not found" means "gone" (never silently "empty"). */
export class AdoNotFoundError extends AdoError {
  override name = 'AdoNotFoundError';
}

/**
 * A list answer that does not prove it is complete: its array is missing or mistyped, its `count` disagrees, or its
 * paging never ends. Never retried and never read as "no items": the resource fails, so stale deletion is blocked.
 */
export class IncompleteListingError extends AdoError {
  override name = 'IncompleteListingError';
  constructor(message: string, status?: number) {
    super(`${message}; incomplete listing`, { status });
  }
}

/**
 * The organization's host was never reached: no such host, or connection refused, on its first contact. Like rejected
 * credentials on first contact, it makes every later request of the organization fail at once with this same error,
 * so one mistake stops that organization within a request instead of a minute of retries, and is reported once.
 */
export class OrganizationUnreachableError extends AdoError {
  override name = 'OrganizationUnreachableError';
  constructor(message: string) {
    super(message);
  }
}
