import PQueue from 'p-queue';
import type { PortAppConfig } from '../config/appConfig.js';
import type { CatalogSink } from '../catalog/sink.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { deleteStaleEntities, type StaleDeletionCatalog, type StaleDeletionResult } from './staleDeletion.js';
import { MemoryRunLedger, type RunLedger } from './state.js';
import type { EntityOrigins } from './entityOrigins.js';
import { isComplete, resyncOrganization, type OrgTarget, type ResourceSummary } from './resync.js';

export interface FullResyncOptions {
  config: PortAppConfig;
  targets: OrgTarget[];
  sink: CatalogSink;
  log: Logger;
  poolSize: number;
  pageSize: number;
  /** Only these resources (a `--kinds` run): such a partial run never deletes anything. */
  resourceIndexes?: number[];
  /** Where stale entities are looked up and deleted; without it (dry-run) nothing is deleted. */
  catalog?: StaleDeletionCatalog;
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
  // Organizations run side by side, at most `maxConcurrentOrganizations` at once, each through its own client (own
  // request concurrency and rate-limit window). One that fails is reported and the others go on; its failure makes the
  // run incomplete, so nothing is deleted.
  const orgQueue = new PQueue({ concurrency: Math.max(1, o.maxConcurrentOrganizations ?? 1) });
  const perOrg: ResourceSummary[][] = o.targets.map(() => []);
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
            signal: o.signal,
            onWritten: async (entities) => {
              await markSeen(ledger, entities);
              if (o.origins) await recordOrigins(o.origins, org.name, entities);
            },
          });
        } catch (err) {
          o.log.error({ org: org.name, err: errorMessage(err) }, 'organization failed; the others go on, and nothing will be deleted');
          perOrg[i] = [organizationFailure(org.name, err)];
        }
      }),
    ),
  );
  for (const s of perOrg) summaries.push(...s);
  const flushed = await o.sink.flush();
  for (const f of flushed.failed.slice(0, 20)) o.log.error({ identifier: f.entity.identifier, blueprint: f.entity.blueprint, error: f.error }, 'entity could not be written');

  const reason = incompleteReason(summaries, flushed.failed.length, o);
  const result: FullResyncResult = { summaries, flushFailures: flushed.failed.length, complete: reason === undefined, incompleteReason: reason, startedAt, finishedAt: startedAt };
  // Failed organizations alone (nothing aborted, nothing refused at flush, at least one organization fine) still let
  // the others' stale entities go, when origins say which entity belongs to whom.
  const failedOrgs = new Set(summaries.filter((s) => s.status !== 'skipped' && !isComplete(s)).map((s) => s.organization));
  const scoped =
    reason !== undefined && o.origins !== undefined && !o.signal?.aborted && flushed.failed.length === 0 && failedOrgs.size < o.targets.length;
  if (o.catalog && !o.resourceIndexes) {
    if (scoped) o.log.warn({ failed: [...failedOrgs] }, 'some organizations failed: their entities (and any of unknown origin) are kept');
    result.deletion = await deleteStaleEntities({
      blueprints: syncedBlueprints(o.config, summaries, await ledger.blueprints()),
      ledger,
      catalog: o.catalog,
      keep: scoped
        ? async (blueprint, ids) => {
            const orgs = await o.origins!.lookup(blueprint, ids);
            return new Set(ids.filter((_, i) => orgs[i] === undefined || failedOrgs.has(orgs[i]!)));
          }
        : undefined,
      threshold: o.config.entityDeletionThreshold,
      complete: result.complete || scoped,
      incompleteReason: reason,
      runStartedAt: startedAt,
      deleteDependentEntities: o.config.deleteDependentEntities,
      state: o.state,
      log: o.log,
    });
  }
  result.finishedAt = new Date();
  return result;
}

/** A summary standing for an organization that failed outside any resource (it blocks stale deletion). */
function organizationFailure(organization: string, err: unknown): ResourceSummary {
  return {
    organization, index: -1, kind: '(organization)', status: 'failed', rawItems: 0, entities: 0, filtered: 0, dropped: 0,
    written: 0, unchanged: 0, failedWrites: 0, misconfigured: [], incomplete: [], error: errorMessage(err), durationMs: 0,
  };
}

async function recordOrigins(origins: EntityOrigins, organization: string, entities: Array<{ blueprint: string; identifier: unknown }>): Promise<void> {
  const byBlueprint = new Map<string, string[]>();
  for (const e of entities) if (typeof e.identifier === 'string') (byBlueprint.get(e.blueprint) ?? byBlueprint.set(e.blueprint, []).get(e.blueprint)!).push(e.identifier);
  for (const [bp, ids] of byBlueprint) await origins.record(organization, bp, ids);
}

async function markSeen(ledger: RunLedger, entities: Array<{ blueprint: string; identifier: unknown }>): Promise<void> {
  const byBlueprint = new Map<string, string[]>();
  for (const e of entities) {
    if (typeof e.identifier !== 'string') continue; // search-query identifiers resolve in Port; never swept
    const ids = byBlueprint.get(e.blueprint) ?? [];
    ids.push(e.identifier);
    byBlueprint.set(e.blueprint, ids);
  }
  for (const [bp, ids] of byBlueprint) await ledger.markSeen(bp, ids);
}

function incompleteReason(summaries: ResourceSummary[], flushFailures: number, o: FullResyncOptions): string | undefined {
  if (o.signal?.aborted) return 'the run was aborted';
  const bad = summaries.filter((s) => s.status !== 'skipped' && !isComplete(s));
  if (bad.length > 0) {
    return bad.map((s) => `resources[${s.index}] ${s.kind} (${s.organization}): ${s.error ?? (s.incomplete[0] ?? `${s.failedWrites} entities refused`)}`).join('; ');
  }
  if (flushFailures > 0) return `${flushFailures} entities could not be written`;
  return undefined;
}

/**
 * Blueprints the run is responsible for: those with a literal blueprint in a resource that ran (so a blueprint whose
 * every item disappeared is still swept), plus any the run produced.
 */
export function syncedBlueprints(config: PortAppConfig, summaries: ResourceSummary[], produced: string[]): string[] {
  const ran = new Set(summaries.filter((s) => s.status !== 'skipped').map((s) => s.index));
  const out = new Set(produced);
  config.resources.forEach((r, i) => {
    const literal = /^\s*"([^"\\]+)"\s*$/.exec(r.port.entity.mappings.blueprint);
    if (literal && ran.has(i)) out.add(literal[1]!);
  });
  return [...out].sort();
}
