/**
 * Stale-entity deletion after a full resync: delete the entities this integration instance owns in the synced
 * blueprints that the run did not produce. Guarded three ways: only after a complete run (every resource of every
 * organization succeeded), never more than `threshold` of the owned entities, and never an entity that a produced
 * entity relates to.
 */
import type { Logger } from '../util/log.js';
import { errorMessage } from '../util/errors.js';
import type { RunLedger } from './state.js';

export interface OwnedEntityRef {
  blueprint: string;
  identifier: string;
  relations?: Record<string, unknown>;
}

/** What stale deletion needs from the catalog (PortCatalog implements it). */
export interface StaleDeletionCatalog {
  /** Owned entities of a blueprint; must throw on failure, never yield a partial list silently. */
  listOwned(blueprint: string, opts?: { updatedBefore?: Date }): AsyncIterable<OwnedEntityRef>;
  delete(blueprint: string, identifiers: string[]): Promise<{ deleted: string[]; failed: Array<{ identifier: string; error: string }> }>;
  /** Relation id → target blueprint. Without it, a relation target is protected by identifier in every blueprint. */
  relationTargets?(blueprint: string): Promise<Record<string, string>>;
}

export interface StaleDeletionOptions {
  /** Blueprints the resync wrote to (from the mapping), whether or not the run produced anything for them. */
  blueprints: string[];
  ledger: RunLedger;
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
   * port-app-config `deleteDependentEntities` (default true). When false, Port refuses to delete an entity others
   * relate to, so stale entities are deleted in waves: referrers before the entities they relate to.
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
  /** Owned entities considered (in the synced blueprints, updated before the run started). */
  owned: number;
  /** Owned, not produced and not protected. */
  stale: number;
  /** Owned, not produced, but a relation target of a produced entity. */
  protected: number;
  failed: Array<{ blueprint: string; identifier: string; error: string }>;
  skippedReason?: SkippedReason;
}

const PAGE = 500;
const ANY = '*';
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
  const unseen: OwnedEntityRef[] = [];
  /** Relation targets of produced entities: `blueprint\0id`, or `*\0id` when the target blueprint is unknown. */
  const targets = new Set<string>();

  for (const blueprint of blueprints) {
    const relTargets = catalog.relationTargets ? await catalog.relationTargets(blueprint) : {};
    let page: OwnedEntityRef[] = [];
    const drain = async () => {
      if (page.length === 0) return;
      const notSeen = new Set(await ledger.filterUnseen(blueprint, page.map((e) => e.identifier)));
      for (const e of page) {
        if (notSeen.has(e.identifier)) {
          unseen.push({ blueprint, identifier: e.identifier, relations: e.relations });
          continue;
        }
        for (const [rel, value] of Object.entries(e.relations ?? {})) {
          const tbp = relTargets[rel] ?? ANY;
          for (const id of relationIds(value)) targets.add(key(tbp, id));
        }
      }
      page = [];
    };
    for await (const e of catalog.listOwned(blueprint, { updatedBefore: options.runStartedAt })) {
      result.owned++;
      page.push(e);
      if (page.length >= PAGE) await drain();
    }
    await drain();
  }

  // A relation target of a produced entity is still wanted: deleting it would either cascade to the produced entity
  // (deleteDependentEntities) or be refused by Port; and stubs created by createMissingRelatedEntities live on this way.
  let stale = unseen.filter((e) => !targets.has(key(e.blueprint, e.identifier)) && !targets.has(key(ANY, e.identifier)));
  if (options.keep) {
    const kept = new Set<string>();
    const byBlueprint = new Map<string, string[]>();
    for (const e of stale) (byBlueprint.get(e.blueprint) ?? byBlueprint.set(e.blueprint, []).get(e.blueprint)!).push(e.identifier);
    for (const [bp, ids] of byBlueprint) for (const id of await options.keep(bp, ids)) kept.add(key(bp, id));
    stale = stale.filter((e) => !kept.has(key(e.blueprint, e.identifier)));
  }
  result.protected = unseen.length - stale.length;
  result.stale = stale.length;
  if (result.protected > 0) {
    log.info({ protected: result.protected }, 'kept owned entities that produced entities relate to');
  }
  if (stale.length === 0) {
    log.info({ owned: result.owned, blueprints }, 'no stale entities to delete');
    return result;
  }
  const share = stale.length / result.owned;
  if (share > threshold) {
    log.warn(
      { stale: stale.length, owned: result.owned, share: Number(share.toFixed(4)), threshold },
      'stale entity deletion skipped: the share of owned entities to delete exceeds entityDeletionThreshold',
    );
    return { ...result, skippedReason: 'threshold' };
  }

  const waves = options.deleteDependentEntities === false ? deletionWaves(stale) : [stale];
  for (const wave of waves) {
    const byBlueprint = new Map<string, string[]>();
    for (const e of wave) (byBlueprint.get(e.blueprint) ?? byBlueprint.set(e.blueprint, []).get(e.blueprint)!).push(e.identifier);
    for (const [blueprint, ids] of byBlueprint) {
      let res: Awaited<ReturnType<StaleDeletionCatalog['delete']>>;
      try {
        res = await catalog.delete(blueprint, ids);
      } catch (err) {
        res = { deleted: [], failed: ids.map((identifier) => ({ identifier, error: errorMessage(err) })) };
      }
      result.deleted += res.deleted.length;
      result.deletedByBlueprint[blueprint] = (result.deletedByBlueprint[blueprint] ?? 0) + res.deleted.length;
      for (const f of res.failed) result.failed.push({ blueprint, ...f });
      if (res.deleted.length > 0) {
        log.info(
          { blueprint, deleted: res.deleted.length, reason: 'owned by this integration and not produced by the complete resync' },
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

function relationIds(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((x): x is string => typeof x === 'string');
  return [];
}

/**
 * Orders stale entities so that an entity is deleted only after the stale entities relating to it (matched by
 * identifier). A cycle ends in one last wave; Port then refuses what truly has dependents and it is reported.
 */
export function deletionWaves(entities: OwnedEntityRef[]): OwnedEntityRef[][] {
  const referrers = new Map<number, Set<number>>();
  const byId = new Map<string, number[]>();
  entities.forEach((e, i) => (byId.get(e.identifier) ?? byId.set(e.identifier, []).get(e.identifier)!).push(i));
  entities.forEach((e, i) => {
    for (const v of Object.values(e.relations ?? {})) {
      for (const id of relationIds(v)) {
        for (const t of byId.get(id) ?? []) {
          if (t === i) continue;
          (referrers.get(t) ?? referrers.set(t, new Set()).get(t)!).add(i);
        }
      }
    }
  });
  const done = new Set<number>();
  const waves: OwnedEntityRef[][] = [];
  let remaining = entities.map((_, i) => i);
  while (remaining.length > 0) {
    const ready = remaining.filter((i) => [...(referrers.get(i) ?? [])].every((r) => done.has(r)));
    if (ready.length === 0) {
      waves.push(remaining.map((i) => entities[i]!));
      break;
    }
    for (const i of ready) done.add(i);
    waves.push(ready.map((i) => entities[i]!));
    remaining = remaining.filter((i) => !done.has(i));
  }
  return waves;
}
