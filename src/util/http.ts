import { errorMessage } from './errors.js';

/** A request that got no HTTP response: it timed out, or the connection failed. Always worth a retry. */
export class TransportError extends Error {
  override name = 'TransportError';
  constructor(
    message: string,
    readonly timedOut: boolean,
  ) {
    super(message);
  }
}

/** Timeout and retry knobs shared by the Azure DevOps and Port clients. */
export interface RetryPolicy {
  /** Requests in flight at once. */
  concurrency: number;
  timeoutMs: number;
  /** Attempts per request, the first included. */
  maxAttempts: number;
  /** First backoff step; doubles each attempt, with full jitter. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Upper bound for one Retry-After / rate-limit reset wait. */
  maxPauseMs: number;
}

export interface JsonRequest {
  method: string;
  headers: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
  timeoutMs: number;
}

/** fetch with a per-request timeout (combined with the caller's signal) and a JSON body. */
export async function fetchJson(url: string, r: JsonRequest): Promise<Response> {
  const timeout = AbortSignal.timeout(r.timeoutMs);
  const signal = r.signal ? AbortSignal.any([r.signal, timeout]) : timeout;
  const headers = { ...r.headers };
  let body: string | undefined;
  if (r.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(r.body);
  }
  try {
    return await fetch(url, { method: r.method, headers, body, signal });
  } catch (err) {
    if (timeout.aborted && !r.signal?.aborted) throw new TransportError(`timed out after ${r.timeoutMs} ms`, true);
    if (r.signal?.aborted) throw err;
    throw new TransportError(`network error: ${errorMessage(err)}`, false);
  }
}
