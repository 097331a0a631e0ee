/**
 * What Port holds of this installation's entities, listed once per blueprint per resync run and kept in the run's sets.
 * Two jobs:
 * - the hash cache may skip writing an unchanged entity only if Port still holds it (an entity deleted by hand, by a
 *   cascade or by an earlier fault is written again in the same run: one clean resync converges);
 * - stale deletion's candidates are the listed entities the run did not produce, and its threshold counts every listed
 *   one, rewritten in the run or not.
 * A blueprint is listed when first needed (the sink's first skip check for it, or stale deletion), or earlier through
 * `prefetch`, so the listing overlaps the fetching. Workers of one run share the listing through Redis.
 */
import type { Owner } from '../catalog/port/ownership.js';
import type { CatalogPresence } from '../catalog/sink.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../observability/log.js';
import { RunLedger } from './state.js';

/** The catalog side: identifiers of owned entities, page by page; throws on failure, never yields a partial list silently. */
export interface OwnedLister {
  ownedIdentifiers(blueprint: string, owner: Owner): AsyncIterable<string[]>;
  /** Whether an adopted Ocean installation's entities count as owned. */
  readonly adopts: boolean;
}

const LISTED = 'owned-listed';
const ownedSet = (owner: Owner, blueprint: string) => `owned:${owner}:${blueprint}`;

export class OwnedSnapshot {
  readonly #listings = new Map<string, Promise<void>>();

  constructor(
    private readonly ledger: RunLedger,
    private readonly lister: OwnedLister,
    private readonly log: Logger,
  ) {}

  /** Lists the blueprint's owned entities unless this run already did (here or in another worker). */
  ensure(blueprint: string): Promise<void> {
    let p = this.#listings.get(blueprint);
    if (!p) {
      p = this.#list(blueprint);
      this.#listings.set(blueprint, p);
      // A failed listing is tried again by the next caller; this one sees the error.
      p.catch(() => this.#listings.delete(blueprint));
    }
    return p;
  }

  /** Starts listing these blueprints one after another in the background; a failure surfaces at the next `ensure`. */
  prefetch(blueprints: string[]): void {
    void (async () => {
      for (const bp of blueprints) {
        try {
          await this.ensure(bp);
        } catch (err) {
          this.log.debug({ blueprint: bp, err: errorMessage(err) }, 'owned-entity listing failed; it is retried when needed');
        }
      }
    })();
  }

  async #list(blueprint: string): Promise<void> {
    const sets = this.ledger.sets;
    if ((await sets.has(LISTED, [blueprint]))[0]) return;
    const started = Date.now();
    const owners: Owner[] = this.lister.adopts ? ['ours', 'adopted'] : ['ours'];
    for (const owner of owners) {
      for await (const ids of this.lister.ownedIdentifiers(blueprint, owner)) await sets.add(ownedSet(owner, blueprint), ids);
    }
    await sets.add(LISTED, [blueprint]);
    this.log.debug({ blueprint, owned: await this.owned(blueprint), ms: Date.now() - started }, 'listed owned entities');
  }

  /** Those of `identifiers` that Port held as this installation's own when listed (only they may be skipped as unchanged). */
  async present(blueprint: string, identifiers: string[]): Promise<Set<string>> {
    await this.ensure(blueprint);
    const flags = await this.ledger.sets.has(ownedSet('ours', blueprint), identifiers);
    return new Set(identifiers.filter((_, i) => flags[i]));
  }

  /** Owned entities of the blueprint (ours and adopted) as listed. */
  async owned(blueprint: string): Promise<number> {
    const sizes = await Promise.all((['ours', 'adopted'] as const).map((o) => this.ledger.sets.size(ownedSet(o, blueprint))));
    return sizes[0]! + sizes[1]!;
  }

  /** Listed owned entities the run did not produce, in chunks. */
  async *unproduced(blueprint: string): AsyncGenerator<string[]> {
    await this.ensure(blueprint);
    for (const owner of ['ours', 'adopted'] as const) yield* this.ledger.sets.difference(ownedSet(owner, blueprint), [RunLedger.seenSet(blueprint)]);
  }
}

/**
 * What a resync asks before it skips an unchanged entity. A full run lists every owned entity of each blueprint once,
 * starting with `blueprints` in the background (the same listing then feeds stale deletion). An incremental run writes
 * little and deletes nothing: Port is asked only about the identifiers it would skip.
 */
export function runPresence(o: {
  incremental: boolean;
  ledger: RunLedger;
  catalog: OwnedLister & { ownedAmong(blueprint: string, identifiers: string[]): Promise<string[]> };
  log: Logger;
  blueprints: string[];
}): { presence: CatalogPresence; snapshot?: OwnedSnapshot } {
  if (o.incremental) return { presence: { present: async (blueprint, identifiers) => new Set(await o.catalog.ownedAmong(blueprint, identifiers)) } };
  const snapshot = new OwnedSnapshot(o.ledger, o.catalog, o.log);
  // Listing what Port holds overlaps the first resources' fetching; the sink waits only for a blueprint not listed yet.
  snapshot.prefetch(o.blueprints);
  return { presence: snapshot, snapshot };
}
