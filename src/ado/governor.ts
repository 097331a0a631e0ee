import { setTimeout as sleep } from 'node:timers/promises';
import type { HeaderReader } from '../util/http.js';

/**
 * Shared pause window for one organization. Azure DevOps throttles per identity, so when one response says
 * "wait" (Retry-After, or no TSTUs remaining) every request to that org waits, not only the one that was told.
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

  /** Reads the rate-limit headers that Azure DevOps sends on any status, 200 included. Returns the Retry-After delay. */
  observe(headers: HeaderReader): number | undefined {
    const retryAfter = parseRetryAfter(headers.get('retry-after'));
    if (retryAfter !== undefined) {
      this.pauseFor(retryAfter);
      return retryAfter;
    }
    const remaining = headers.get('x-ratelimit-remaining');
    const reset = Number(headers.get('x-ratelimit-reset'));
    if (remaining !== null && Number(remaining) <= 0 && Number.isFinite(reset) && reset > 0) {
      this.pauseFor(reset * 1000 - Date.now());
    }
    return undefined;
  }
}

/** Retry-After is delta-seconds or an HTTP date. Fractional seconds are accepted (simulators use them). */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - Date.now());
}
