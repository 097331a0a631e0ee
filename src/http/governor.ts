import { setTimeout as sleep } from 'node:timers/promises';
import type { HeaderReader } from './fetch.js';

/**
 * Shared pause window of one API identity (an Azure DevOps organization, a Port client). Services throttle per
 * identity, so when one answer says "wait" (Retry-After, a 429's rate-limit reset, or no requests remaining before
 * the reset) every request of that identity waits, not only the one that was told.
 */
export class RateGovernor {
  #pausedUntil = 0;
  /** Total milliseconds requests spent waiting on the window (a metric, summed per waiter). */
  waitedMs = 0;

  constructor(private readonly maxPauseMs: number) {}

  async ready(signal?: AbortSignal): Promise<void> {
    while (true) {
      const wait = this.#pausedUntil - Date.now();
      if (wait <= 0) return;
      this.waitedMs += wait;
      await sleep(wait, undefined, { signal });
    }
  }

  /** Extends (never shortens) the pause window. */
  pauseFor(ms: number): void {
    const until = Date.now() + Math.min(Math.max(ms, 0), this.maxPauseMs);
    if (until > this.#pausedUntil) this.#pausedUntil = until;
  }

  /**
   * Reads the rate-limit headers of any answer, 200 included (Azure DevOps sends them on every status). Returns the
   * wait the answer asked for: Retry-After on any status, the rate-limit reset on a 429. Without either, no requests
   * remaining (`x-ratelimit-remaining: 0`) pauses until the reset too, but asks no wait of this answer.
   */
  observe(headers: HeaderReader, status: number): number | undefined {
    const told = waitFromHeaders(headers, status === 429);
    if (told !== undefined) {
      this.pauseFor(told);
      return told;
    }
    const remaining = headers.get('x-ratelimit-remaining');
    if (remaining !== null && Number(remaining) <= 0) {
      const reset = parseRateLimitReset(headers.get('x-ratelimit-reset'));
      if (reset !== undefined && reset > 0) this.pauseFor(reset);
    }
    return undefined;
  }
}

/** Retry-After is delta-seconds or an HTTP date. Fractional seconds are accepted (simulators use them). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * `x-ratelimit-reset` as a wait: epoch seconds when large (Azure DevOps), else seconds from now (Port); an HTTP date
 * is accepted too.
 */
export function parseRateLimitReset(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const n = Number(value);
  if (Number.isFinite(n)) return Math.max(0, n > 10_000 ? n * 1000 - now : n * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * How long an answer asks us to wait: Retry-After on any status; x-ratelimit-reset only on a 429 (Port sends that
 * header on every response, so elsewhere it says nothing about this answer).
 */
export function waitFromHeaders(headers: HeaderReader, throttled: boolean, now = Date.now()): number | undefined {
  const told = parseRetryAfter(headers.get('retry-after'), now);
  if (told !== undefined || !throttled) return told;
  return parseRateLimitReset(headers.get('x-ratelimit-reset'), now);
}
