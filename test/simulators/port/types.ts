export interface BlueprintRelation {
  target: string;
  required?: boolean;
  many?: boolean;
  title?: string;
}

export interface Blueprint {
  identifier: string;
  title: string;
  description?: string;
  icon?: string;
  schema: { properties: Record<string, Record<string, unknown>>; required?: string[] };
  relations?: Record<string, BlueprintRelation>;
  [key: string]: unknown;
}

export interface StoredEntity {
  identifier: string;
  blueprint: string;
  title?: string | null;
  icon?: string | null;
  team?: string | string[] | null;
  properties: Record<string, unknown>;
  relations: Record<string, string | string[] | null>;
  createdAt: string;
  updatedAt: string;
  createdBy: string;
  updatedBy: string;
  /** The User-Agent of the last write: Port's ownership stamp. */
  datasource: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  userAgent: string;
  /** Set when the response is sent. */
  status: number;
}

export interface PortFaults {
  /** Answer every Nth request (counting all routes, 1-based) with 429. 0/undefined: never. */
  throttleEvery?: number;
  /** Retry-After header (seconds) on injected 429s; omitted when undefined. */
  retryAfterSeconds?: number;
  /** x-ratelimit-reset header (seconds) on every response; lets tests check the client ignores it except on 429. */
  rateLimitResetSeconds?: number;
  /** Answer every Nth request with this 5xx (`serverErrorEvery` + `serverErrorStatus`, default 503). */
  serverErrorEvery?: number;
  serverErrorStatus?: number;
  /** Lifetime of issued tokens (default 10800, Port's 3 h). */
  tokenTtlSeconds?: number;
  /** Request body limit in bytes (default 1 MiB, Port's limit). */
  bodyLimitBytes?: number;
}
