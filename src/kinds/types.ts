import type { AdoClient } from '../ado/client.js';
import type { Logger } from '../observability/log.js';
import type { RunCache } from './shared/runCache.js';
import type { FromSchema } from '../util/schemaType.js';

/** A raw Azure DevOps payload, possibly enriched with `__*` fields. */
export type RawItem = Record<string, unknown>;

/** The selector as written in port-app-config, after defaults and coercion by the kind's schema. */
export interface Selector {
  query: string;
  [option: string]: unknown;
}

/** The selector options of every kind, beside its own (`exportEnvVariables` is Ocean's, accepted and unused). */
export const SELECTOR_BASE_PROPERTIES = {
  query: { type: 'string', minLength: 1 },
  exportEnvVariables: { type: 'array', items: { type: 'string' } },
} as const;

/** A kind's selector, typed from its selectorSchema (declared `as const`): the base options and the kind's own. */
export type SelectorOf<S extends SelectorSchema> = FromSchema<{
  type: 'object';
  required: ['query'];
  properties: typeof SELECTOR_BASE_PROPERTIES & S['properties'];
}>;

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
  /** A line for the run's summary under this resource (what a kind read, e.g. each repository's spec files). */
  note?(line: string): void;
  /** Who declares each entity, kept across runs (cluster mode: Redis), for kinds whose items people declare in several places. */
  claims?: DeclarationClaims;
  /** The repositories Azure DevOps announced pushes for (service hooks), for per-repository incremental passes. */
  repositoryChanges?: RepositoryChanges;
  /** The projects Azure DevOps announced each kind's events for, for per-project incremental passes. */
  projectChanges?: ProjectChanges;
  /**
   * Incremental passes only: items proven gone (an audit log deletion, a refetch answering 404). Once the pass has
   * completed, the run deletes their entities if this instance owns them; nothing else is deleted by such a run.
   */
  gone?(items: RawItem[]): void;
}

/** How an incremental run reads a kind (see KindDefinition.incremental). */
export interface IncrementalPass<S extends Selector = Selector> {
  /** For the README: the query. */
  reads: string;
  since(ctx: FetchContext, selector: S, since: Date): AsyncIterable<RawItem[]>;
}

export interface RepositoryChanges {
  /** Ids (lower case) of the repositories with an announced push since then; undefined when no journal covers it. */
  since(since: Date): Promise<Set<string> | undefined>;
}

/** The projects Azure DevOps announced events for (service hooks), per kind, for per-project incremental passes. */
export interface ProjectChanges {
  /** Ids (lower case) of the projects with an event of the kind since then; without them, why the journal cannot say. */
  projects(kind: string, since: Date): Promise<{ projectIds?: Set<string>; reason: string }>;
}

/**
 * Entity key (`blueprint/identifier`) → the claim of the place that declares it (a string; the lowest one wins a
 * conflict). A resync records the winners; an event about one place checks them before writing or deleting.
 */
export interface DeclarationClaims {
  get(keys: string[]): Promise<Array<string | undefined>>;
  set(entries: Array<[key: string, claim: string]>): Promise<void>;
  forget(keys: string[]): Promise<void>;
}

/**
 * JSON schema (draft-07 subset used by ajv) for the kind-specific selector options. Declare it `as const satisfies
 * SelectorSchema` and take the selector's type from it with SelectorOf, so the two cannot disagree.
 */
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
  /**
   * The items are Port entities already (declared by people): title, icon, team, properties and relations a resource
   * does not map are taken from the item as they are, and left out when the item has none.
   */
  itemsAreEntities?: boolean;
  /** Streams pages of raw items, already enriched (`__project`, `__repository`, …). Never collects a whole org. */
  fetch(ctx: FetchContext, selector: S): AsyncIterable<RawItem[]>;
  /**
   * How an incremental run reads the kind: `since` streams every item that may have changed since then (and those whose
   * state moves without a timestamp, e.g. builds in progress), as `fetch` would enrich them. Without it an incremental
   * run lists the kind whole (the summary says so). `reads` documents the query for the README.
   */
  incremental?: IncrementalPass<S>;
  /** The service-hook events that touch this kind, and how one event becomes the kind's current items. */
  events?: KindEvents<S>;
  /**
   * Refetches the items a change this worker made (an action) touched, named by `hint` (each kind documents its keys):
   * the same outcome an event gives, with the kind's resync filters applied. Kinds without it are not refreshed.
   */
  refetch?(ctx: FetchContext, selector: S, hint: RefetchHint): Promise<EventOutcome>;
}

/** What a change touched, in the kind's own terms (`{userId}`, `{groupDescriptor, memberDescriptor}`, `{projectId, pipelineId, runId}`). */
export type RefetchHint = Record<string, unknown>;

/** Service-hook publishers: `tfs` and `pipelines` live on the organization host, `rm` on vsrm, `advsec` on advsec. */
export type EventPublisher = 'tfs' | 'pipelines' | 'rm' | 'advsec';

export interface EventSubscription {
  publisherId: EventPublisher;
  eventType: string;
}

/** A service-hook delivery (the documented envelope; `resource` is a hint, never the truth). */
export interface ServiceHookEvent {
  id: string;
  eventType: string;
  publisherId: string;
  subscriptionId?: string;
  resource: Record<string, unknown>;
  resourceContainers?: Record<string, { id?: string; baseUrl?: string } | undefined>;
  createdDate?: string;
  [k: string]: unknown;
}

/**
 * What one event means for a kind, after refetching from Azure DevOps: items as they are now (mapped and upserted;
 * those failing selector.query are removed from the catalog) and items that no longer exist or that the kind's resync
 * filters leave out (their entities deleted). An event never upserts what the next resync would not produce.
 */
export interface EventOutcome {
  upsert: RawItem[];
  deleted: RawItem[];
}

export interface KindEvents<S extends Selector = Selector> {
  subscriptions: EventSubscription[];
  handle(ctx: FetchContext, event: ServiceHookEvent, selector: S): Promise<EventOutcome>;
}
