import { DEFAULT_REFERENCE_DATE, DEFAULT_SCALE, type AdoScale } from './data/context.js';

export type { AdoScale };

export interface AdoFaults {
  /** Every Nth data request (counted per simulator) -> 429 + Retry-After + TF400733 JSON body; 0 = off. */
  throttleEvery: number;
  /** Value of Retry-After in seconds (may be fractional, written as a decimal string). */
  retryAfterSeconds: number;
  /** Every Nth data request -> 503 (with Retry-After if retryAfterSeconds > 0); 0 = off. */
  unavailableEvery: number;
  /** Every Nth data request -> the body cut to its first half (status unchanged, 200 for successful reads); 0 = off. */
  truncateEvery: number;
  /** Added to every data response. */
  latencyMs: number;
  /** Emit X-RateLimit-Limit/Remaining/Reset/Resource on data responses. */
  rateLimitHeaders: boolean;
  /**
   * Rate throttle: at most this many data requests are served per second (a token bucket holding one second's worth,
   * refilled continuously); a request beyond it gets 429 + TF400733 + a Retry-After (fractional seconds) saying when
   * the next one will be served. Throttled requests do not use up the budget. 0 = off.
   */
  maxRequestsPerSecond: number;
  /** Regex (case-insensitive) on the request path -> always this status. */
  failPaths: Array<{ pattern: string; status: number }>;
}

export const DEFAULT_FAULTS: AdoFaults = {
  throttleEvery: 0,
  retryAfterSeconds: 1,
  unavailableEvery: 0,
  truncateEvery: 0,
  latencyMs: 0,
  rateLimitHeaders: false,
  maxRequestsPerSecond: 0,
  failPaths: [],
};

/**
 * Endpoint families with a page-size cap. Larger `$top` values are silently capped, as the service does.
 * refs (≤ 1000) is documented (research/ado-api.md §3); the others are not documented and 1000 is assumed — the
 * common cap of Azure DevOps list endpoints and the largest page the worker asks for. `minimumRequests` (minimum.ts)
 * uses these same limits, plus the fixed ones: WIQL 20,000 ids, work items by ids 200 per request.
 */
export const DEFAULT_PAGE_LIMITS: Record<string, number> = {
  projects: 1000,
  pullRequests: 1000,
  refs: 1000,
  teams: 1000,
  builds: 1000,
  pipelines: 1000,
  environments: 1000,
  releaseDefinitions: 1000,
  releases: 1000,
};

export interface AdoSimulatorOptions {
  /** Default 'sim-pat'; it has every scope. */
  pat?: string;
  /**
   * More personal access tokens, each with only the scopes listed (`vso.graph_manage`,
   * `vso.memberentitlementmanagement_write`, `vso.build_execute`, …): a write whose scope is missing answers 403, and so
   * does a read of the audit log (`_apis/audit/auditlog`) without `vso.auditlog`; other reads need no scope.
   */
  pats?: Record<string, string[]>;
  /** Default ['acme']; each served under /{org}/... */
  organizations?: string[];
  /** Default 1. */
  seed?: number;
  scale?: Partial<AdoScale>;
  faults?: Partial<AdoFaults>;
  /** Max page size accepted per endpoint family, e.g. { pullRequests: 1000, projects: 1000 }. */
  pageLimits?: Partial<Record<string, number>>;
  /** The fixed "now" of the generated data (ISO string or Date). Default 2025-06-02T12:00:00Z. */
  referenceDate?: string | Date;
  /**
   * Files added to repositories' base commit (the state before any `sim.git.commit`): repository → path → content.
   * The key names a repository of the first organization by id, `<project>/<name>`, or name (when no other repository
   * of the organization has it); prefix `<org>:` for another organization (`"globex:Contoso/web"`). A seeded path
   * replaces a generated file. Empty repositories (no branch) cannot be seeded.
   */
  repoFiles?: Record<string, Record<string, string>>;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
}

export interface ResolvedOptions {
  pat: string;
  pats: Record<string, string[]>;
  organizations: string[];
  seed: number;
  scale: AdoScale;
  faults: AdoFaults;
  pageLimits: Record<string, number>;
  referenceDate: string | Date;
  repoFiles: Record<string, Record<string, string>>;
  host: string;
  port: number;
}

export function mergeFaults(f: Partial<AdoFaults> = {}): AdoFaults {
  const merged: AdoFaults = { ...DEFAULT_FAULTS, failPaths: [] };
  for (const [k, v] of Object.entries(f)) {
    if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  }
  for (const k of ['throttleEvery', 'unavailableEvery', 'truncateEvery', 'latencyMs', 'retryAfterSeconds', 'maxRequestsPerSecond'] as const) {
    const v = merged[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`ado simulator: faults.${k} must be a number >= 0, got ${String(v)}`);
  }
  for (const fp of merged.failPaths) {
    new RegExp(fp.pattern, 'i'); // throws on a bad pattern, at configuration time
    if (!Number.isInteger(fp.status) || fp.status < 100 || fp.status > 599) throw new Error(`ado simulator: failPaths status ${fp.status} is not an HTTP status`);
  }
  return merged;
}

export function resolveOptions(opts: AdoSimulatorOptions = {}): ResolvedOptions {
  const pageLimits: Record<string, number> = { ...DEFAULT_PAGE_LIMITS };
  for (const [k, v] of Object.entries(opts.pageLimits ?? {})) {
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < 1) throw new Error(`ado simulator: pageLimits.${k} must be a positive integer`);
    pageLimits[k] = v;
  }
  return {
    pat: opts.pat ?? 'sim-pat',
    pats: { ...opts.pats },
    organizations: opts.organizations && opts.organizations.length > 0 ? [...opts.organizations] : ['acme'],
    seed: opts.seed ?? 1,
    scale: { ...DEFAULT_SCALE, ...Object.fromEntries(Object.entries(opts.scale ?? {}).filter(([, v]) => v !== undefined)) },
    faults: mergeFaults(opts.faults),
    pageLimits,
    referenceDate: opts.referenceDate ?? DEFAULT_REFERENCE_DATE,
    repoFiles: { ...opts.repoFiles },
    host: opts.host ?? '127.0.0.1',
    port: opts.port ?? 0,
  };
}
