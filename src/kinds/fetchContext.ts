import type { AdoClient } from '../ado/client.js';
import { silentLogger, type Logger } from '../observability/log.js';
import { RunCache } from './shared/runCache.js';
import type { DeclarationClaims, FetchContext, ProjectChanges, RawItem, RepositoryChanges } from './types.js';

export interface FetchContextOptions {
  client: AdoClient;
  /** Page size for list endpoints that accept one (the `pageSize` setting). */
  pageSize: number;
  /** Default: silent. */
  log?: Logger;
  signal?: AbortSignal;
  /** Share one between the kinds of a run so that parent listings are fetched once; default: a fresh one. */
  cache?: RunCache;
  /** Default: a warning in `log`. */
  markIncomplete?: (reason: string) => void;
  /** Lines for the run's summary; default: info in `log`. */
  note?: (line: string) => void;
  claims?: DeclarationClaims;
  repositoryChanges?: RepositoryChanges;
  projectChanges?: ProjectChanges;
  gone?: (items: RawItem[]) => void;
}

/** The context a kind fetches in: the one place a FetchContext is put together (sync, live events, hooks, bench, tests). */
export function createFetchContext(o: FetchContextOptions): FetchContext {
  const log = o.log ?? silentLogger;
  return {
    client: o.client,
    log,
    signal: o.signal,
    cache: o.cache ?? new RunCache(),
    pageSize: o.pageSize,
    markIncomplete: o.markIncomplete ?? ((reason) => log.warn({ reason }, 'part of the data could not be fetched')),
    note: o.note ?? ((line) => log.info(line)),
    claims: o.claims,
    repositoryChanges: o.repositoryChanges,
    projectChanges: o.projectChanges,
    gone: o.gone,
  };
}
