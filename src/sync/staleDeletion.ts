/**
 * Stale-entity deletion after a full resync: delete the entities this integration instance owns in the synced
 * blueprints that the run did not produce. Guarded four ways: only after a complete run (every resource of every
 * organization succeeded), never more than `threshold` of the owned entities, never an entity that a produced entity
 * relates to, and never by a cascade that could reach a produced entity.
 */
import type { Logger } from '../observability/log.js';
import { errorMessage } from '../util/errors.js';
import { indexBy, layers } from '../util/layers.js';
import { relationIds } from '../catalog/entity.js';
import type { RunLedger } from './state.js';

export interface OwnedEntityRef {
  blueprint: string;
  identifier: string;
  relations?: Record<string, unknown>;
  /** Port's `$updatedAt`. */
  updatedAt?: string;
}

/** What stale deletion needs from the catalog (PortCatalog implements it). */
export interface StaleDeletionCatalog {
  /** The owned entities among `identifiers` as Port holds them now (gone or no longer owned ones are left out). */
  describeOwned(blueprint: string, identifiers: string[]): Promise<OwnedEntityRef[]>;
  /** `cascade`: Port also deletes the entities that relate to them (`delete_dependents`). */
  delete(blueprint: string, identifiers: string[], opts: { cascade: boolean }): Promise<{ deleted: string[]; failed: Array<{ identifier: string; error: string }> }>;
  /** Every blueprint the catalog has (swept when a resource's blueprint is not a literal). */
  blueprintIdentifiers?(): Promise<string[]>;
}

/** The run's listing of owned entities (ownedSnapshot.ts). */
export interface OwnedListing {
  ensure(blueprint: string): Promise<void>;
  owned(blueprint: string): Promise<number>;
  unproduced(blueprint: string): AsyncIterable<string[]>;
}

export interface StaleDeletionOptions {
  /** Blueprints the resync wrote to (from the mapping), whether or not the run produced anything for them. */
  blueprints: string[];
  ledger: RunLedger;
  snapshot: OwnedListing;
  catalog: StaleDeletionCatalog;
  /** port-app-config `entityDeletionThreshold`: the largest share of owned entities one run may delete. Default 0.9. */
  threshold?: number;
  /** True only when every resource of every organization succeeded (no fetch, mapping or write failure). */
  complete: boolean;
  /** Why the run is incomplete, for the log. */
  incompleteReason?: string;
  /**
   * Resync start. Owned entities updated after it (by a webhook during the run) are left alone: the run could not
   * have produced them.
   */
  runStartedAt?: Date;
  /**
   * port-app-config `deleteDependentEntities` (default true). When true, Port deletes what relates to a deleted entity;
   * this is used only for blueprints no produced entity may relate to unseen (through a search-query relation). When
   * false (or for those blueprints), stale entities are deleted in waves: referrers before the entities they relate to.
   */
  deleteDependentEntities?: boolean;
  /**
   * Identifiers (of one blueprint's stale candidates) that must be kept anyway, e.g. those last produced by an
   * organization that failed in this run.
   */
  keep?: (blueprint: string, identifiers: string[]) => Promise<Set<string>>;
  /** Forget the hashes of deleted entities, so they are re-sent if they come back. */
  state?: { forget(keys: string[]): Promise<void> };
  log: Logger;
}

export type SkippedReason = 'incomplete' | 'threshold';

export interface StaleDeletionResult {
  deleted: number;
  deletedByBlueprint: Record<string, number>;
  /** Owned entities of the synced blueprints in Port (as listed in this run), rewritten in the run or not. */
  owned: number;
  /** Owned, not produced and not protected. */
  stale: number;
  /** Owned, not produced, but kept: a relation target of a produced entity, updated during the run, or held back. */
  protected: number;
  failed: Array<{ blueprint: string; identifier: string; error: string }>;
  skippedReason?: SkippedReason;
  /** Why deletion could not run although the resync was complete (the owned listing failed). */
  error?: string;
}

const key = (blueprint: string, identifier: string) => `${blueprint}\u0000${identifier}`;

export async function deleteStaleEntities(options: StaleDeletionOptions): Promise<StaleDeletionResult> {
  const { ledger, catalog, log } = options;
  const threshold = options.threshold ?? 0.9;
  const result: StaleDeletionResult = { deleted: 0, deletedByBlueprint: {}, owned: 0, stale: 0, protected: 0, failed: [] };
  if (!options.complete) {
    log.warn(
      { reason: options.incompleteReason ?? 'a resource did not complete' },
      'stale entity deletion skipped: the resync was incomplete, so a missing entity may only be one that failed to fetch, map or write',
    );
    return { ...result, skippedReason: 'incomplete' };
  }
  if (!(threshold >= 0 && threshold <= 1)) throw new Error(`entityDeletionThreshold must be between 0 and 1, got ${threshold}`);

  const blueprints = [...new Set(options.blueprints)];
  /** Not produced by the run, by blueprint (deduplicated: a set scan may repeat a member). */
  const unproduced = new Map<string, Set<string>>();
  try {
    for (const blueprint of blueprints) {
      await options.snapshot.ensure(blueprint);
      result.owned += await options.snapshot.owned(blueprint);
      const ids = new Set<string>();
      for await (const chunk of options.snapshot.unproduced(blueprint)) for (const id of chunk) ids.add(id);
      unproduced.set(blueprint, ids);
    }
  } catch (err) {
    const error = `listing the owned entities failed: ${errorMessage(err)}`;
    log.warn({ err: error }, 'stale entity deletion skipped: what Port holds could not be listed completely');
    return { ...result, skippedReason: 'incomplete', error };
  }

  // A relation target of a produced entity is still wanted: deleting it would either cascade to the produced entity or
  // be refused by Port; and stubs created by createMissingRelatedEntities live on this way. Then whatever `keep` holds back.
  let candidates = 0;
  const byBlueprint = new Map<string, string[]>();
  for (const [blueprint, ids] of unproduced) {
    const list = [...ids];
    candidates += list.length;
    if (list.length === 0) continue;
    const targets = await ledger.relationTargetsAmong(blueprint, list);
    let left = list.filter((id) => !targets.has(id));
    if (options.keep && left.length > 0) {
      const kept = await options.keep(blueprint, left);
      left = left.filter((id) => !kept.has(id));
    }
    if (left.length > 0) byBlueprint.set(blueprint, left);
  }
  let stale = [...byBlueprint.values()].reduce((n, ids) => n + ids.length, 0);
  // Judged before re-reading the candidates from Port, so a mass deletion costs no request at all.
  if (stale > 0 && stale / result.owned > threshold) return overThreshold(result, candidates, stale, threshold, log);

  // Re-read the candidates: one updated after the run started (a webhook) is kept, one already gone is no candidate.
  const staleRefs: OwnedEntityRef[] = [];
  let recent = 0;
  for (const [blueprint, ids] of byBlueprint) {
    for (const e of await catalog.describeOwned(blueprint, ids)) {
      if (options.runStartedAt && e.updatedAt && Date.parse(e.updatedAt) >= options.runStartedAt.getTime()) recent++;
      else staleRefs.push(e);
    }
  }
  stale = staleRefs.length;
  result.stale = stale;
  result.protected = candidates - stale;
  if (result.protected > 0) {
    log.info({ protected: result.protected, updatedDuringRun: recent }, 'kept owned entities that produced entities relate to, or that changed during the run');
  }
  if (stale === 0) {
    log.info({ owned: result.owned, blueprints }, 'no stale entities to delete');
    return result;
  }
  if (stale / result.owned > threshold) return overThreshold(result, candidates, stale, threshold, log);

  // A cascade must not reach a produced entity: only where no produced entity may relate to the blueprint unseen (a
  // search-query relation, resolved by Port) does Port delete dependents; elsewhere referrers go first, in waves.
  const cascadeFor = new Map<string, boolean>();
  for (const bp of new Set(staleRefs.map((e) => e.blueprint))) {
    cascadeFor.set(bp, options.deleteDependentEntities !== false && !(await ledger.mayRelateBySearch(bp)));
  }
  const waves = [...cascadeFor.values()].every(Boolean) ? [staleRefs] : deletionWaves(staleRefs);
  for (const wave of waves) {
    const waveByBlueprint = new Map<string, string[]>();
    for (const e of wave) (waveByBlueprint.get(e.blueprint) ?? waveByBlueprint.set(e.blueprint, []).get(e.blueprint)!).push(e.identifier);
    for (const [blueprint, ids] of waveByBlueprint) {
      const cascade = cascadeFor.get(blueprint) === true;
      let res: Awaited<ReturnType<StaleDeletionCatalog['delete']>>;
      try {
        res = await catalog.delete(blueprint, ids, { cascade });
      } catch (err) {
        res = { deleted: [], failed: ids.map((identifier) => ({ identifier, error: errorMessage(err) })) };
      }
      result.deleted += res.deleted.length;
      result.deletedByBlueprint[blueprint] = (result.deletedByBlueprint[blueprint] ?? 0) + res.deleted.length;
      for (const f of res.failed) result.failed.push({ blueprint, ...f });
      if (res.deleted.length > 0) {
        log.info(
          { blueprint, deleted: res.deleted.length, cascade, reason: 'owned by this integration and not produced by the complete resync' },
          'deleted stale entities',
        );
        log.debug({ blueprint, identifiers: res.deleted }, 'deleted stale entity identifiers');
        if (options.state) {
          try {
            await options.state.forget(res.deleted.map((id) => key(blueprint, id)));
          } catch (err) {
            log.warn({ err: errorMessage(err) }, 'could not forget the hashes of deleted entities');
          }
        }
      }
      if (res.failed.length > 0) {
        log.warn({ blueprint, failed: res.failed.length, first: res.failed[0]?.error }, 'some stale entities could not be deleted');
      }
    }
  }
  log.info({ deleted: result.deleted, owned: result.owned, threshold, byBlueprint: result.deletedByBlueprint }, 'stale entity deletion done');
  return result;
}

function overThreshold(result: StaleDeletionResult, candidates: number, stale: number, threshold: number, log: Logger): StaleDeletionResult {
  log.warn(
    { stale, owned: result.owned, share: Number((stale / result.owned).toFixed(4)), threshold },
    'stale entity deletion skipped: the share of owned entities to delete exceeds entityDeletionThreshold',
  );
  return { ...result, stale, protected: candidates - stale, skippedReason: 'threshold' };
}

/**
 * Orders stale entities so that an entity is deleted only after the stale entities relating to it (matched by
 * identifier). A cycle ends in one last wave; Port then refuses what truly has dependents and it is reported.
 */
export function deletionWaves(entities: OwnedEntityRef[]): OwnedEntityRef[][] {
  const byId = indexBy(entities, (e) => e.identifier);
  // An entity waits for the entities that relate to it (its referrers go first).
  const referrers = entities.map(() => new Set<number>());
  entities.forEach((e, i) => {
    for (const id of relationIds(e.relations)) for (const t of byId.get(id) ?? []) referrers[t]!.add(i);
  });
  return layers(entities, (i) => referrers[i]!).layers;
}
