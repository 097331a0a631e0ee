/** Port access token returned by POST /v1/auth/access_token. */
export interface PortToken {
  accessToken: string;
  /** Seconds the token stays valid from the moment it was handed out. */
  expiresIn: number;
  tokenType: string;
}

interface Cached {
  header: string;
  token: string;
  expiresAt: number;
}

/**
 * Caches one token, refreshes it shortly before it expires and after a 401. Concurrent callers share one fetch.
 * Port hands back the same token until it expires (one active token per credential pair), so an early refresh may
 * return the same value with a shorter `expiresIn`; the 401 path covers the remaining gap.
 */
export class TokenCache {
  #cached: Cached | undefined;
  #inflight: Promise<Cached> | undefined;
  fetches = 0;

  constructor(
    private readonly fetchToken: () => Promise<PortToken>,
    /** Refresh this long before expiry (capped at a tenth of the token's lifetime). */
    private readonly refreshMarginMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** `Authorization` header value and the raw token it carries (to invalidate exactly that one on 401). */
  async get(): Promise<{ header: string; token: string }> {
    const c = this.#cached && this.now() < this.#cached.expiresAt ? this.#cached : await this.#refresh();
    return { header: c.header, token: c.token };
  }

  /** Drops the cached token if it is still `token` (a newer one fetched meanwhile is kept). */
  invalidate(token: string): void {
    if (this.#cached?.token === token) this.#cached = undefined;
  }

  /** The cached token, for scrubbing from messages. */
  current(): string | undefined {
    return this.#cached?.token;
  }

  #refresh(): Promise<Cached> {
    this.#inflight ??= (async () => {
      try {
        const t = await this.fetchToken();
        this.fetches++;
        const lifetimeMs = Math.max(0, t.expiresIn * 1000);
        const margin = Math.min(this.refreshMarginMs, lifetimeMs / 10);
        const cached: Cached = {
          header: `${t.tokenType || 'Bearer'} ${t.accessToken}`,
          token: t.accessToken,
          expiresAt: this.now() + lifetimeMs - margin,
        };
        this.#cached = cached;
        return cached;
      } finally {
        this.#inflight = undefined;
      }
    })();
    return this.#inflight;
  }
}
