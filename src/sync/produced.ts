/**
 * Run bookkeeping for every page of entities a resync wrote (or found unchanged): which entities the run produced,
 * which organization produced them, and what they relate to. Stale deletion reads it back: produced entities and their
 * relation targets are never deleted.
 */
import { isSearchQuery, type Entity } from '../catalog/entity.js';
import type { EntityOrigins } from './entityOrigins.js';
import { ANY_BLUEPRINT, type RelationTargets, type RunLedger } from './state.js';

export interface ProducedBookkeeping {
  ledger: RunLedger;
  /** Which organization produced each entity, kept across runs (multi-organization runs only). */
  origins?: EntityOrigins;
  /** Relation name → target blueprint of a blueprint (Port's definition). Unknown relations protect their target in any blueprint. */
  relationTargets?: (blueprint: string) => Promise<Record<string, string>>;
}

/** Groups identifiers by blueprint; search-query identifiers resolve in Port and are never swept, so they are left out. */
export function byBlueprint(entities: Array<{ blueprint: string; identifier: unknown }>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of entities) {
    if (typeof e.identifier !== 'string') continue;
    (out.get(e.blueprint) ?? out.set(e.blueprint, []).get(e.blueprint)!).push(e.identifier);
  }
  return out;
}

export async function recordProduced(entities: Entity[], organization: string, o: ProducedBookkeeping): Promise<void> {
  const { targets, unresolved } = await relationsOf(entities, o.relationTargets);
  await Promise.all([
    ...[...byBlueprint(entities)].map(([bp, ids]) => Promise.all([o.ledger.markSeen(bp, ids), o.origins?.record(organization, bp, ids)])),
    targets.size > 0 || unresolved.size > 0 ? o.ledger.markRelations(targets, unresolved) : undefined,
  ]);
}

/**
 * Relation targets named by identifier, by target blueprint; and the target blueprints of search-query relations, whose
 * targets only Port knows (a cascade into those blueprints could reach a produced entity).
 */
async function relationsOf(
  entities: Entity[],
  relationTargets?: ProducedBookkeeping['relationTargets'],
): Promise<{ targets: RelationTargets; unresolved: Set<string> }> {
  const targets: RelationTargets = new Map();
  const unresolved = new Set<string>();
  const definitions = new Map<string, Record<string, string>>();
  for (const e of entities) {
    const relations = Object.entries(e.relations ?? {});
    if (relations.length === 0) continue;
    let defs = definitions.get(e.blueprint);
    if (!defs) {
      defs = relationTargets ? await relationTargets(e.blueprint).catch(() => ({})) : {};
      definitions.set(e.blueprint, defs);
    }
    for (const [name, value] of relations) {
      const target = defs[name] ?? ANY_BLUEPRINT;
      for (const v of Array.isArray(value) ? value : [value]) {
        if (typeof v === 'string') (targets.get(target) ?? targets.set(target, new Set()).get(target)!).add(v);
        else if (isSearchQuery(v)) unresolved.add(target);
      }
    }
  }
  return { targets, unresolved };
}
