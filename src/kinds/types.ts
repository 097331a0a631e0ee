import type { AdoClient } from '../ado/client.js';
import type { Logger } from '../util/log.js';
import type { RunCache } from './shared/runCache.js';

/** A raw Azure DevOps payload, possibly enriched with `__*` fields. */
export type RawItem = Record<string, unknown>;

/** The selector as written in port-app-config, after defaults and coercion by the kind's schema. */
export interface Selector {
  query: string;
  [option: string]: unknown;
}

export interface FetchContext {
  client: AdoClient;
  log: Logger;
  signal?: AbortSignal;
  /** Listings shared by kinds within one run (projects, repositories), so they are fetched once. */
  cache: RunCache;
  /** Page size for list endpoints that accept one; each kind caps it at what its endpoint allows. */
  pageSize: number;
  /**
   * Report a part of the data that could not be fetched but did not stop the kind (a repository whose branches
   * failed). The run then counts as incomplete: no stale deletion.
   */
  markIncomplete(reason: string): void;
}

/** JSON schema (draft-07 subset used by ajv) for the kind-specific selector options. */
export interface SelectorSchema {
  type: 'object';
  properties: Record<string, object>;
  additionalProperties?: boolean;
}

export interface KindDefinition<S extends Selector = Selector> {
  kind: string;
  description: string;
  /** Options beyond `query`; unknown options are rejected at config load. */
  selectorSchema: SelectorSchema;
  /** For the README's kinds table: the endpoints called, and the `__*` fields added to each item. */
  docs: { endpoints: string; enrichment: string[] };
  /** Kinds the on-premises Server API lacks are skipped there with one warning. */
  serverSupported: boolean;
  /** Streams pages of raw items, already enriched (`__project`, `__repository`, …). Never collects a whole org. */
  fetch(ctx: FetchContext, selector: S): AsyncIterable<RawItem[]>;
}
