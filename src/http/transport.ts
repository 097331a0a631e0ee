import PQueue from 'p-queue';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../observability/log.js';
import { silentLogger } from '../observability/log.js';
import { errorMessage, scrubSecrets } from '../util/errors.js';
import { HttpError, TransportError } from './errors.js';
import type { Agent } from 'node:http';
import { fetchJson, type ResponseHeaderReader } from './fetch.js';
import { RateGovernor } from './governor.js';
import { describeRequest } from './url.js';

/** Concurrency, timeout and retry knobs of one transport (one per API identity: an organization, a Port client). */
export interface RetryPolicy {
  /** Requests in flight at once (`sendUnqueued` excluded). */
  concurrency: number;
  timeoutMs: number;
  /** Attempts per request, the first included; answers 429 do not count (they have their own budget). */
  maxAttempts: number;
  /** First backoff step; doubles each attempt, with full jitter. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Upper bound for one Retry-After / rate-limit reset wait. */
  maxPauseMs: number;
}

/** Retries one request gets after 429 answers, besides its maxAttempts for other errors. */
export const MAX_THROTTLED_RETRIES = 50;
/**
 * Retries after a Retry-After are spread over at least this long, so that the requests held by one pause do not all
 * hit the limit again at once (bench/RESULTS.md, throttled: 1.05x the bound with half the 429s of a 50 ms spread).
 */
export const TOLD_JITTER_MS = 400;

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Statuses worth asking again: timeouts, throttling, server errors. */
export function retryableStatus(status: number): boolean {
  return RETRYABLE_STATUS.has(status);
}

/** Counters for /metrics and summaries: cumulative since the transport was made. */
export class TransportStats {
  /** Requests sent, every attempt counted. */
  requests = 0;
  retries = 0;
  /** Answers 429. */
  throttled = 0;
  /** Requests that failed for good (retries spent, or not retryable). */
  failures = 0;
  byStatus = new Map<number, number>();
}

/** One HTTP answer, its body read. */
export interface Answer {
  status: number;
  ok: boolean;
  headers: ResponseHeaderReader;
  text: string;
  /** The wait the answer asked for (Retry-After, or the reset of a 429); the pause window already holds it. */
  retryAfterMs?: number;
}

/** One request as a client hands it to the transport. */
export interface Exchange<T> {
  method: string;
  url: string;
  /** Serialized with JSON.stringify, unless it is a RawBody (JsonText). */
  body?: unknown;
  signal?: AbortSignal;
  /** This request's timeout, when it is not the policy's. */
  timeoutMs?: number;
  /** A connection agent of the caller's (an SDK's proxy agent). */
  agent?: Agent;
  /** Names the request in logs and errors (default: the method and the redacted URL). */
  label?: string;
  /** False for a request that must not be sent twice (a POST that writes). */
  idempotent?: boolean;
  /** The headers of one attempt: credentials are fetched here, so the attempt after a refresh carries the new one. */
  headers(): Promise<Record<string, string>> | Record<string, string>;
  /** The caller's value from an answer, or a thrown HttpError (retryable or not) saying why there is none. */
  read(answer: Answer): T;
  /**
   * Looks at a failed attempt before the retry policy does: 'again' sends the request once more at once (a credential
   * was refreshed), an Error ends the request with that error as it is, undefined leaves it to the policy.
   */
  settle?(err: unknown): Promise<'again' | Error | undefined> | 'again' | Error | undefined;
}

/** A request the policy gave up on. */
export interface FailedRequest {
  method: string;
  url: string;
  label: string;
  attempts: number;
}

export interface TransportHooks<S extends TransportStats> {
  /** Names the service in log messages: `azure devops request failed, retrying`. */
  service: string;
  log?: Logger;
  /** The secrets to keep out of every log line and message (asked each time: tokens change). */
  secrets?(): Iterable<string | undefined>;
  /** The error a request ends with once the policy gives up: the client's class, naming the API and the request. */
  describe(err: unknown, request: FailedRequest): Error;
  /** More of a failed attempt for the retry log line (Port's trace id). */
  logFields?(err: unknown): Record<string, unknown>;
  /** Counters to fill (a subclass when the client counts more). */
  stats?: S;
}

/**
 * The one way out (DESIGN.md decision 11): a queue bounding concurrency, a pause window shared by every request of
 * the identity, one retry policy, stats, and secret-free logs. The retry policy: an answer 429 waits for its
 * Retry-After (which holds every request through the pause window) plus a jitter spreading the retries over at least
 * TOLD_JITTER_MS, on a budget of its own (MAX_THROTTLED_RETRIES); other retryable failures (408, 5xx, timeouts,
 * network errors, cut-off or unreadable bodies) back off exponentially with full jitter, up to maxAttempts. Knows no
 * API's shapes: the client reads answers (`read`), handles credentials (`headers`, `settle`) and names errors.
 */
export class Transport<S extends TransportStats = TransportStats> {
  readonly stats: S;
  readonly governor: RateGovernor;
  readonly #queue: PQueue;
  readonly #log: Logger;

  constructor(
    readonly policy: Readonly<RetryPolicy>,
    private readonly hooks: TransportHooks<S>,
  ) {
    this.stats = hooks.stats ?? (new TransportStats() as S);
    this.governor = new RateGovernor(policy.maxPauseMs);
    this.#queue = new PQueue({ concurrency: policy.concurrency });
    this.#log = hooks.log ?? silentLogger;
  }

  /** Sends the request when a slot is free, with the retry policy. */
  send<T>(x: Exchange<T>): Promise<T> {
    return this.#queue.add(() => this.#withRetries(x), { throwOnTimeout: true });
  }

  /**
   * Sends the request without taking a slot (the retry policy and the pause window still apply): for a credential
   * that queued requests wait for, which would otherwise wait behind them.
   */
  sendUnqueued<T>(x: Exchange<T>): Promise<T> {
    return this.#withRetries(x);
  }

  /** Requests waiting for a slot, plus those in flight. */
  get pending(): number {
    return this.#queue.size + this.#queue.pending;
  }

  /** The message with every secret of the client replaced. */
  scrub(message: string): string {
    return this.hooks.secrets ? scrubSecrets(message, this.hooks.secrets()) : message;
  }

  async #withRetries<T>(x: Exchange<T>): Promise<T> {
    let throttled = 0;
    for (let attempt = 1; ; attempt++) {
      await this.governor.ready(x.signal);
      try {
        return await this.#once(x);
      } catch (err) {
        if (x.signal?.aborted) throw err;
        const settled = await x.settle?.(err);
        if (settled === 'again') continue;
        if (settled) {
          this.stats.failures++;
          throw settled;
        }
        const httpErr = err instanceof HttpError ? err : undefined;
        // A 429 is the service pacing the client, not a failure: the pause window already holds every request of the
        // identity for its Retry-After, so it does not use up the attempts (with 8 requests racing for a few tokens a
        // second, one can lose six times in a row); it has a budget of its own.
        if (httpErr?.status === 429) throttled++;
        const canRetry =
          x.idempotent !== false &&
          httpErr?.retryable === true &&
          attempt - throttled < this.policy.maxAttempts &&
          throttled <= MAX_THROTTLED_RETRIES;
        const label = x.label ?? describeRequest(x.method, x.url);
        if (!canRetry) {
          this.stats.failures++;
          throw this.hooks.describe(err, { method: x.method, url: x.url, label, attempts: attempt });
        }
        this.stats.retries++;
        const delay = this.#delay(attempt, httpErr?.retryAfterMs);
        const fields = { request: label, attempt, status: httpErr?.status, delayMs: Math.round(delay), ...this.hooks.logFields?.(err) };
        this.#log.warn({ ...fields, reason: this.scrub(errorMessage(err)) }, `${this.hooks.service} request failed, retrying`);
        // The pause window holds any wait the answer asked for; this is the jitter (or the backoff) on top of it.
        await sleep(delay, undefined, { signal: x.signal });
      }
    }
  }

  /**
   * Told how long to wait: the pause window holds that wait for everyone, and a jitter of the same order spreads the
   * retries. Exponential backoff with full jitter is for failures that came without one.
   */
  #delay(attempt: number, told: number | undefined): number {
    const p = this.policy;
    const backoff =
      told !== undefined ? Math.max(Math.min(told, p.maxPauseMs), TOLD_JITTER_MS) : Math.min(p.backoffMaxMs, p.backoffBaseMs * 2 ** (attempt - 1));
    return Math.random() * backoff;
  }

  async #once<T>(x: Exchange<T>): Promise<T> {
    const headers = await x.headers();
    this.stats.requests++;
    const res = await fetchJson(x.url, {
      method: x.method,
      headers,
      body: x.body,
      signal: x.signal,
      timeoutMs: x.timeoutMs ?? this.policy.timeoutMs,
      agent: x.agent,
    });
    this.stats.byStatus.set(res.status, (this.stats.byStatus.get(res.status) ?? 0) + 1);
    const retryAfterMs = this.governor.observe(res.headers, res.status);
    if (res.status === 429) this.stats.throttled++;
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      if (x.signal?.aborted) throw err;
      const t = err instanceof TransportError ? err : undefined;
      throw new TransportError(`response body interrupted: ${errorMessage(err)}`, { status: res.status, timedOut: t?.timedOut, code: t?.code });
    }
    return x.read({ status: res.status, ok: res.ok, headers: res.headers, text, retryAfterMs });
  }
}
