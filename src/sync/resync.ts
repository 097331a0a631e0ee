import PQueue from 'p-queue';
import type { AdoClient } from '../ado/client.js';
import type { PortAppConfig, ResourceConfig } from '../config/appConfig.js';
import type { Entity } from '../catalog/entity.js';
import type { CatalogSink } from '../catalog/sink.js';
import { fetchKind, getKind } from '../kinds/registry.js';
import { RunCache } from '../kinds/shared/runCache.js';
import { createFetchContext } from '../kinds/fetchContext.js';
import type { DeclarationClaims, FetchContext, KindDefinition, ProjectChanges, RawItem, RepositoryChanges } from '../kinds/types.js';
import { OutcomeWriter, type OutcomeWriterDeps } from './outcomeWriter.js';
import { ResourceMapper } from '../mapping/engine.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../observability/log.js';
import { runResourcesInOrder } from './resourceOrder.js';
import type { ProgressBoard } from './progress.js';
import type { ChangeCursors } from './changeCursors.js';

export type ResourceStatus = 'ok' | 'failed' | 'skipped';

export interface ResourceSummary {
  organization: string;
  index: number;
  kind: string;
  status: ResourceStatus;
  rawItems: number;
  entities: number;
  filtered: number;
  dropped: number;
  written: number;
  unchanged: number;
  failedWrites: number;
  misconfigured: Array<{ field: string; expr: string; firstError: string; count: number }>;
  /** Parts that could not be fetched; any makes the resource unfit to feed stale deletion. */
  incomplete: string[];
  /** Lines the kind reported for the summary (FetchContext.note). */
  notes?: string[];
  /** When the pass started: the resource's change cursor once the run has written everything (ISO). */
  startedAt?: string;
  /** The pass read only what changed since the cursor. */
  incremental?: boolean;
  /** Entities of items the incremental pass proved gone, deleted (owned by this instance). */
  deleted?: number;
  error?: string;
  durationMs: number;
}

export interface OrgTarget {
  client: AdoClient;
}

export interface ResyncOptions {
  config: PortAppConfig;
  target: OrgTarget;
  sink: CatalogSink;
  log: Logger;
  poolSize: number;
  pageSize: number;
  /** Resources of this organization synced at once, when nothing ties them together (default 1). */
  maxConcurrentResources?: number;
  /** Only resources at these indexes (default: all). */
  resourceIndexes?: number[];
  signal?: AbortSignal;
  /** Called with each page of entities after the sink accepted it (run bookkeeping for stale deletion). */
  onWritten?: (entities: Entity[], resource: ResourceSummary) => Promise<void> | void;
  progressIntervalMs?: number;
  /** Running resources register here (the CLI's live progress line). */
  progress?: ProgressBoard;
  /** Who declares which entity, across runs (GitOps conflicts). */
  claims?: DeclarationClaims;
  /**
   * An incremental run: kinds with a change filter read what changed since their cursor (minus `overlapMs`);
   * `journal` holds the changes service hooks announced (pushes by repository, events by project), for per-repository
   * and per-project passes.
   */
  incremental?: {
    cursors: ChangeCursors;
    overlapMs: number;
    journal?: RepositoryChanges & ProjectChanges;
    /** Where items a pass proved gone are deleted (owned entities only); without it they are only reported. */
    deletions?: OutcomeWriterDeps;
  };
}

/**
 * Every resource of one organization, in config order; independent ones (see resourceOrder.ts) up to
 * `maxConcurrentResources` at a time, so one resource's waits on Azure DevOps and its drain overlap the next one's work.
 */
export async function resyncOrganization(o: ResyncOptions): Promise<ResourceSummary[]> {
  const cache = new RunCache();
  const resources = o.config.resources;
  return runResourcesInOrder({
    config: o.config,
    indexes: [...resources.keys()].filter((i) => !o.resourceIndexes || o.resourceIndexes.includes(i)),
    concurrency: o.maxConcurrentResources ?? 1,
    signal: o.signal,
    run: (index) => syncResource(o, index, resources[index]!, cache),
  });
}

async function syncResource(o: ResyncOptions, index: number, resource: ResourceConfig, cache: RunCache): Promise<ResourceSummary> {
  const org = o.target.client.org;
  const started = Date.now();
  const summary: ResourceSummary = {
    organization: org.name,
    index,
    kind: resource.kind,
    status: 'ok',
    rawItems: 0,
    entities: 0,
    filtered: 0,
    dropped: 0,
    written: 0,
    unchanged: 0,
    failedWrites: 0,
    misconfigured: [],
    incomplete: [],
    durationMs: 0,
  };
  const log = o.log.child({ org: org.name, resource: index, kind: resource.kind });
  const kind = getKind(resource.kind);
  if (!kind) throw new Error(`unknown kind ${resource.kind}`); // config validation rejects these first
  if (org.flavor === 'server' && !kind.serverSupported) {
    log.warn(`kind "${resource.kind}" is not available on Azure DevOps Server; skipped`);
    summary.status = 'skipped';
    return summary;
  }

  const gone: RawItem[] = [];
  const ctx = createFetchContext({
    client: o.target.client,
    log,
    signal: o.signal,
    cache,
    pageSize: o.pageSize,
    markIncomplete: (reason) => {
      summary.incomplete.push(reason);
      log.warn({ reason }, 'part of the data could not be fetched; this resource will not feed stale deletion');
    },
    claims: o.claims,
    repositoryChanges: o.incremental?.journal,
    projectChanges: o.incremental?.journal,
    note: (line) => {
      (summary.notes ??= []).push(line);
      log.info(line);
    },
    gone: (items) => gone.push(...items),
  });
  summary.startedAt = new Date().toISOString();
  const since = await incrementalSince(o, org.name, index, resource, kind, ctx);
  summary.incremental = since !== undefined;
  const mapper = new ResourceMapper(resource, { poolSize: o.poolSize });
  const progress = setInterval(() => {
    log.info({ rawItems: mapper.report.rawItems, entities: mapper.report.entities, written: summary.written }, 'in progress');
  }, o.progressIntervalMs ?? 10_000);
  progress.unref();
  const boardKey = `${org.name}|${index}`;
  o.progress?.start(boardKey, () => ({ organization: org.name, kind: resource.kind, rawItems: mapper.report.rawItems, entities: mapper.report.entities, written: summary.written }));
  try {
    const write = async (entities: Entity[]) => {
      const outcome = await o.sink.upsert(entities, { organization: org.name, resourceIndex: index, kind: resource.kind });
      summary.written += outcome.written;
      summary.unchanged += outcome.unchanged;
      summary.failedWrites += outcome.failed.length;
      for (const f of outcome.failed.slice(0, 5)) log.error({ identifier: f.entity.identifier, blueprint: f.entity.blueprint, error: f.error }, 'catalog refused an entity');
      await o.onWritten?.(entities, summary);
    };
    // Up to `concurrentUpserts` pages are written while the next ones are fetched and mapped; while a page waits for a
    // free slot the mapper (and through it the fetcher) is paused, so memory stays bounded.
    const writes = new PQueue({ concurrency: Math.max(1, o.sink.concurrentUpserts ?? 1) });
    let writeError: unknown;
    try {
      for await (const entities of mapper.mapPages(fetchKind(kind, ctx, resource.selector, org, since))) {
        if (entities.length === 0) continue;
        writes.add(() => write(entities)).catch((err: unknown) => (writeError ??= err));
        await writes.onEmpty();
        if (writeError !== undefined) break;
      }
    } finally {
      // Even when fetching failed, what is being written finishes before the resource is summed up.
      await writes.onIdle();
    }
    if (writeError !== undefined) throw writeError;
    // Only after a pass that read everything it set out to: a part missing may be where a "gone" item still is.
    if (gone.length > 0 && summary.incomplete.length === 0) summary.deleted = await deleteGone(o, index, resource, gone, log);
  } catch (err) {
    // Rejected credentials or an unreachable host on first contact: the organization stops here, reported once.
    const unusable = o.target.client.unusable;
    if (unusable) throw unusable;
    summary.status = 'failed';
    summary.error = errorMessage(err);
    log.error({ err: summary.error }, 'resource failed; it will not feed stale deletion');
  } finally {
    clearInterval(progress);
    o.progress?.end(boardKey);
    await mapper.close();
    const r = mapper.report;
    summary.rawItems = r.rawItems;
    summary.entities = r.entities;
    summary.filtered = r.filtered;
    summary.dropped = r.dropped;
    summary.misconfigured = [...r.fieldErrors].map(([field, v]) => ({ field, ...v }));
    for (const m of summary.misconfigured) {
      log.warn({ field: m.field, expression: m.expr, error: m.firstError, count: m.count }, 'mapping field failed; value set to null');
    }
    for (const [reason, count] of r.dropReasons) log.warn({ reason, count }, 'entities dropped');
    summary.durationMs = Date.now() - started;
  }
  return summary;
}

/**
 * Deletes the entities of items an incremental pass proved gone, once the pass has written everything else: mapped with
 * the resource's mapping, and only those this instance owns (as a live event deletes). Dry-run only reports them.
 */
async function deleteGone(o: ResyncOptions, index: number, resource: ResourceConfig, gone: RawItem[], log: Logger): Promise<number> {
  const writer = new OutcomeWriter(o.incremental?.deletions ?? { sink: o.sink });
  try {
    const result = await writer.write(o.target.client.org, index, resource, { upsert: [], deleted: gone }, log);
    log.info({ gone: gone.length, deleted: result.deleted, notOwned: result.notOwned }, 'incremental: entities of items proven gone deleted');
    return result.deleted;
  } finally {
    await writer.close();
  }
}

/** A resource counts toward a complete resync only if it ran to the end with nothing missing or refused. */
export function isComplete(s: ResourceSummary): boolean {
  return s.status === 'ok' && s.incomplete.length === 0 && s.failedWrites === 0;
}

/** Where an incremental pass starts (its cursor minus the overlap); undefined reads the kind whole, and says why. */
async function incrementalSince(o: ResyncOptions, organization: string, index: number, resource: ResourceConfig, kind: KindDefinition, ctx: FetchContext): Promise<Date | undefined> {
  if (!o.incremental) return undefined;
  if (!kind.incremental) {
    ctx.note?.('incremental: this kind has no change filter; listed whole');
    return undefined;
  }
  const cursor = await o.incremental.cursors.get(organization, index, resource);
  if (!cursor) {
    ctx.note?.('incremental: no cursor yet (never completed, or the resource changed); listed whole');
    return undefined;
  }
  // Server clock skew and items committed late: the overlap reads some twice, which the hash skip makes free.
  const since = new Date(cursor.getTime() - o.incremental.overlapMs);
  ctx.note?.(`incremental: changed since ${since.toISOString()}`);
  return since;
}
