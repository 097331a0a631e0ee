import type { OutcomeWriterDeps } from './outcomeWriter.js';
import PQueue from 'p-queue';
import type { PortAppConfig } from '../config/appConfig.js';
import type { CatalogSink } from '../catalog/sink.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../observability/log.js';
import { deleteStaleEntities, type OwnedListing, type StaleDeletionCatalog, type StaleDeletionResult } from './staleDeletion.js';
import { MemoryRunLedger, type RunLedger } from './state.js';
import { runPresence, type OwnedLister } from './ownedSnapshot.js';
import { recordProduced } from './produced.js';
import type { EntityOrigins } from './entityOrigins.js';
import { isComplete, resyncOrganization, type OrgTarget, type ResourceSummary } from './resync.js';
import { getKind } from '../kinds/registry.js';
import type { DeclarationClaims, ProjectChanges, RepositoryChanges } from '../kinds/types.js';
import type { ChangeCursors } from './changeCursors.js';
import { literalBlueprint } from './resourceOrder.js';
import type { ProgressBoard } from './progress.js';

export interface FullResyncOptions {
  config: PortAppConfig;
  targets: OrgTarget[];
  sink: CatalogSink;
  log: Logger;
  poolSize: number;
  pageSize: number;
  /** Only these resources (a `--kinds` run): such a partial run never deletes anything. */
  resourceIndexes?: number[];
  /**
   * Where owned entities are listed (so unchanged ones are skipped only while Port holds them) and stale ones deleted;
   * without it (dry-run) nothing is deleted.
   */
  catalog?: ResyncCatalog;
  /** What the run produced; shared in Redis when several workers serve one run. */
  ledger?: RunLedger;
  state?: { forget(keys: string[]): Promise<void> };
  /**
   * Which organization produced each entity, across runs. With it, one failing organization holds back only its own
   * (and unattributed) entities from deletion; without it, any failure stops all deletion.
   */
  origins?: EntityOrigins;
  signal?: AbortSignal;
  /** Organizations synced at once (default 1). */
  maxConcurrentOrganizations?: number;
  /** Independent resources of one organization synced at once (default 1). */
  maxConcurrentResources?: number;
  /** Running resources register here (the CLI's live progress line). */
  progress?: ProgressBoard;
  /** Who declares which entity, across runs (GitOps conflicts). */
  claims?: DeclarationClaims;
  /**
   * Change cursors: every resource that completed (and whose entities were all written) moves its cursor to the start
   * of its pass, in a full run as in an incremental one.
   */
  cursors?: ChangeCursors;
  /** Read only what changed since each resource's cursor (needs `cursors`); such a run deletes nothing. */
  incremental?: { overlapMs: number; journal?: RepositoryChanges & ProjectChanges; deletions?: OutcomeWriterDeps };
}

/** The catalog side of a resync (PortCatalog): listing and deleting owned entities, relation definitions. */
export interface ResyncCatalog extends StaleDeletionCatalog, OwnedLister {
  relationTargets(blueprint: string): Promise<Record<string, string>>;
  /** The identifiers among these that this installation owns in Port. */
  ownedAmong(blueprint: string, identifiers: string[]): Promise<string[]>;
}

export interface FullResyncResult {
  summaries: ResourceSummary[];
  /** Entities still refused after the end-of-run retries (missing relation targets). */
  flushFailures: number;
  complete: boolean;
  incompleteReason?: string;
  deletion?: StaleDeletionResult;
  startedAt: Date;
  finishedAt: Date;
}

/**
 * One full resync: every resource of every organization, then (only if all of it succeeded) stale-entity deletion.
 * A failed fetch, an incomplete listing, a refused write or an aborted run all leave the catalog's extra entities alone.
 */
export async function runFullResync(o: FullResyncOptions): Promise<FullResyncResult> {
  const startedAt = new Date();
  const ledger = o.ledger ?? new MemoryRunLedger();
  const summaries: ResourceSummary[] = [];
  const catalog = o.catalog;
  const presence = catalog ? runPresence({ incremental: o.incremental !== undefined, ledger, catalog, log: o.log, blueprints: resourceBlueprints(o.config, o.resourceIndexes) }) : undefined;
  const snapshot = presence?.snapshot;
  if (presence) o.sink.usePresence?.(presence.presence);
  // Organizations run side by side, at most `maxConcurrentOrganizations` at once, each through its own client (own
  // request concurrency and rate-limit window). One that fails is reported and the others go on; its failure makes the
  // run incomplete, so nothing is deleted.
  const orgQueue = new PQueue({ concurrency: Math.max(1, o.maxConcurrentOrganizations ?? 1) });
  const perOrg: ResourceSummary[][] = o.targets.map(() => []);
  // Origins only matter when one of several organizations fails; a single organization's failure stops all deletion.
  const origins = o.targets.length > 1 ? o.origins : undefined;
  await Promise.all(
    o.targets.map((target, i) =>
      orgQueue.add(async () => {
        const org = target.client.org;
        try {
          perOrg[i] = await resyncOrganization({
            config: o.config,
            target,
            sink: o.sink,
            log: o.log,
            poolSize: o.poolSize,
            pageSize: o.pageSize,
            resourceIndexes: o.resourceIndexes,
            maxConcurrentResources: o.maxConcurrentResources,
            signal: o.signal,
            progress: o.progress,
            claims: o.claims,
            incremental: o.incremental && o.cursors ? { cursors: o.cursors, ...o.incremental } : undefined,
            onWritten: (entities) => recordProduced(entities, org.name, { ledger, origins, relationTargets: catalog && ((bp) => catalog.relationTargets(bp)) }),
          });
        } catch (err) {
          const consequences = [o.targets.length > 1 && 'the others go on', catalog && !o.resourceIndexes && 'nothing will be deleted'].filter(Boolean);
          o.log.error({ org: org.name, err: errorMessage(err) }, ['organization failed', ...consequences].join('; '));
          perOrg[i] = [organizationFailure(org.name, err)];
        }
      }),
    ),
  );
  for (const s of perOrg) summaries.push(...s);
  const flushed = await o.sink.flush();
  o.sink.usePresence?.(undefined);
  for (const f of flushed.failed.slice(0, 20)) o.log.error({ identifier: f.entity.identifier, blueprint: f.entity.blueprint, error: f.error }, 'entity could not be written');
  if (o.cursors && flushed.failed.length === 0 && o.signal?.aborted !== true) await advanceCursors(o.cursors, o.config, summaries, o.log);

  const outcome = await finishRun({
    config: o.config,
    summaries,
    flushFailures: flushed.failed.length,
    aborted: o.signal?.aborted === true,
    organizations: o.targets.length,
    ledger,
    startedAt,
    // A `--kinds` run covers part of the config, an incremental one part of the items: neither deletes.
    catalog: o.resourceIndexes || o.incremental ? undefined : catalog,
    snapshot,
    state: o.state,
    origins,
    log: o.log,
  });
  const result: FullResyncResult = { summaries, flushFailures: flushed.failed.length, ...outcome, startedAt, finishedAt: startedAt };
  result.finishedAt = new Date();
  return result;
}

/**
 * Moves the cursor of each resource whose pass completed to where the pass started. Called only when every entity
 * was written (nothing refused at the end-of-run retries): a cursor never passes an item that did not reach the catalog.
 * Cluster mode's run job (queue/runJob.ts) calls it too: there each resource job flushed its own sink and counted its
 * refusals in its summary's failedWrites, so isComplete alone answers for them.
 */
export async function advanceCursors(cursors: ChangeCursors, config: PortAppConfig, summaries: ResourceSummary[], log: Logger): Promise<void> {
  for (const s of summaries) {
    const resource = config.resources[s.index];
    if (!resource || !s.startedAt || !isComplete(s)) continue;
    try {
      await cursors.set(s.organization, s.index, resource, new Date(s.startedAt));
    } catch (err) {
      // The next incremental run then reads from the older cursor: more than needed, nothing missed.
      log.warn({ org: s.organization, resource: s.index, err: errorMessage(err) }, 'change cursor not saved');
    }
  }
}

/** A summary standing for an organization that failed outside any resource (it blocks stale deletion). */
export function organizationFailure(organization: string, err: unknown): ResourceSummary {
  return {
    organization, index: -1, kind: '(organization)', status: 'failed', rawItems: 0, entities: 0, filtered: 0, dropped: 0,
    written: 0, unchanged: 0, failedWrites: 0, misconfigured: [], incomplete: [], error: errorMessage(err), durationMs: 0,
  };
}

export interface FinishRunOptions {
  config: PortAppConfig;
  summaries: ResourceSummary[];
  flushFailures: number;
  aborted: boolean;
  /** How many organizations the run covered. */
  organizations: number;
  ledger: RunLedger;
  startedAt: Date;
  /** Without a catalog (dry-run, partial runs) nothing is deleted. */
  catalog?: StaleDeletionCatalog;
  /** The run's listing of owned entities (required with a catalog). */
  snapshot?: OwnedListing;
  state?: { forget(keys: string[]): Promise<void> };
  origins?: EntityOrigins;
  log: Logger;
}

/**
 * Decides whether a finished resync is complete and runs stale deletion accordingly. When only some organizations
 * failed (nothing aborted, nothing refused at flush) and origins are known, the healthy organizations' stale entities
 * still go, while whatever the failed ones (or an unknown one) produced is kept.
 */
export async function finishRun(o: FinishRunOptions): Promise<{ complete: boolean; incompleteReason?: string; deletion?: StaleDeletionResult }> {
  const reason = incompleteReason(o.summaries, o.flushFailures, o.aborted);
  if (!o.catalog || !o.snapshot) return { complete: reason === undefined, incompleteReason: reason };
  const failedOrgs = new Set(o.summaries.filter((s) => s.status !== 'skipped' && !isComplete(s)).map((s) => s.organization));
  const scoped = reason !== undefined && o.origins !== undefined && !o.aborted && o.flushFailures === 0 && failedOrgs.size < o.organizations;
  if (scoped) o.log.warn({ failed: [...failedOrgs] }, 'some organizations failed: their entities (and any of unknown origin) are kept');
  const origins = o.origins;
  const deletion = await deleteStaleEntities({
    blueprints: await sweptBlueprints(o),
    ledger: o.ledger,
    snapshot: o.snapshot,
    catalog: o.catalog,
    keep:
      scoped && origins
        ? async (blueprint, ids) => {
            const orgs = await origins.lookup(blueprint, ids);
            return new Set(ids.filter((_, i) => orgs[i] === undefined || failedOrgs.has(orgs[i]!)));
          }
        : undefined,
    threshold: o.config.entityDeletionThreshold,
    complete: reason === undefined || scoped,
    incompleteReason: reason,
    runStartedAt: o.startedAt,
    // Declared entities are merged as written: a relation a spec file dropped may still be in Port, unseen by the
    // run, so a cascade could reach an entity the run produced. Referrers then go first, without cascade.
    deleteDependentEntities: o.config.deleteDependentEntities && !o.config.resources.some((r) => getKind(r.kind)?.itemsAreEntities),
    state: o.state,
    log: o.log,
  });
  // A listing of what Port holds that failed leaves the catalog unconverged: the run is not complete.
  if (deletion.error && reason === undefined) return { complete: false, incompleteReason: deletion.error, deletion };
  return { complete: reason === undefined, incompleteReason: reason, deletion };
}

/** Literal blueprints of the resources a run syncs, in config order (what it will write, known before it starts). */
export function resourceBlueprints(config: PortAppConfig, indexes?: number[]): string[] {
  const out = new Set<string>();
  config.resources.forEach((r, i) => {
    const literal = literalBlueprint(r);
    if (literal && (!indexes || indexes.includes(i))) out.add(literal);
  });
  return [...out];
}

function incompleteReason(summaries: ResourceSummary[], flushFailures: number, aborted: boolean): string | undefined {
  if (aborted) return 'the run was aborted';
  const bad = summaries.filter((s) => s.status !== 'skipped' && !isComplete(s));
  if (bad.length > 0) {
    return bad.map((s) => `resources[${s.index}] ${s.kind} (${s.organization}): ${s.error ?? (s.incomplete[0] ?? `${s.failedWrites} entities refused`)}`).join('; ');
  }
  if (flushFailures > 0) return `${flushFailures} entities could not be written`;
  return undefined;
}

/**
 * syncedBlueprints, and when a resource that ran computes its blueprint per item (gitops, a jq expression), every
 * blueprint in the catalog: the last entity of a blueprint no longer produced must still go.
 */
async function sweptBlueprints(o: FinishRunOptions): Promise<string[]> {
  const synced = syncedBlueprints(o.config, o.summaries, await o.ledger.blueprints());
  const ran = new Set(o.summaries.filter((s) => s.status !== 'skipped').map((s) => s.index));
  const computed = o.config.resources.some((r, i) => ran.has(i) && literalBlueprint(r) === undefined);
  // Only a run of every resource answers for every blueprint: a partial one (--kinds) never sweeps the others'.
  const everyResource = o.config.resources.every((_, i) => ran.has(i));
  if (!computed || !everyResource || !o.catalog?.blueprintIdentifiers) return synced;
  return [...new Set([...synced, ...(await o.catalog.blueprintIdentifiers())])].sort();
}

/**
 * Blueprints the run is responsible for: those with a literal blueprint in a resource that ran (so a blueprint whose
 * every item disappeared is still swept), plus any the run produced.
 */
export function syncedBlueprints(config: PortAppConfig, summaries: ResourceSummary[], produced: string[]): string[] {
  const ran = new Set(summaries.filter((s) => s.status !== 'skipped').map((s) => s.index));
  const out = new Set(produced);
  config.resources.forEach((r, i) => {
    const literal = literalBlueprint(r);
    if (literal && ran.has(i)) out.add(literal);
  });
  return [...out].sort();
}
