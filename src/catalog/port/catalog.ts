import type { Logger } from '../../util/log.js';
import { silentLogger } from '../../util/log.js';
import { errorMessage } from '../../util/errors.js';
import type { SearchQuery, SearchRule } from '../entity.js';
import type { PortClient } from './client.js';
import { PortApiError } from './errors.js';
import { ownershipRules } from './ownership.js';

/** An entity owned by this integration instance, as listed for stale deletion. */
export interface OwnedEntity {
  blueprint: string;
  identifier: string;
  relations: Record<string, unknown>;
}

export interface DeleteResult {
  deleted: string[];
  failed: Array<{ identifier: string; error: string }>;
}

export interface PortCatalogOptions {
  /** port-app-config `deleteDependentEntities` (default true): passed as `delete_dependents`. */
  deleteDependentEntities?: boolean;
  /** Search page size (Port allows 1..1000). */
  pageSize?: number;
  log?: Logger;
}

/** The read/delete side of Port that stale deletion needs, restricted to entities this instance owns. */
export class PortCatalog {
  readonly deleteDependentEntities: boolean;
  readonly #pageSize: number;
  readonly #log: Logger;
  readonly #relationTargets = new Map<string, Promise<Record<string, string>>>();

  constructor(
    private readonly client: PortClient,
    options: PortCatalogOptions = {},
  ) {
    this.deleteDependentEntities = options.deleteDependentEntities ?? true;
    this.#pageSize = Math.min(1000, Math.max(1, options.pageSize ?? 1000));
    this.#log = options.log ?? silentLogger;
  }

  /**
   * Entities of `blueprint` whose datasource is this integration instance (see ownership.ts), page by page through
   * Port's paginated search. `updatedBefore` keeps out entities written after that time (e.g. by a webhook during the
   * resync). A failure is thrown, never read as "no entities".
   */
  async *listOwned(blueprint: string, opts: { updatedBefore?: Date } = {}): AsyncGenerator<OwnedEntity> {
    const rules: SearchRule[] = ownershipRules(this.client.integrationIdentifier);
    if (opts.updatedBefore) rules.push({ property: '$updatedAt', operator: '<', value: opts.updatedBefore.toISOString() });
    const query: SearchQuery = { combinator: 'and', rules };
    for await (const page of this.client.search(blueprint, query, ['$identifier', '$blueprint', 'relations'], this.#pageSize)) {
      for (const e of page) yield { blueprint, identifier: e.identifier, relations: (e.relations as Record<string, unknown>) ?? {} };
    }
  }

  /** Which of these identifiers exist in `blueprint` and are owned by this instance (live deletions touch only those). */
  async ownedAmong(blueprint: string, identifiers: string[]): Promise<string[]> {
    const found: string[] = [];
    for (let i = 0; i < identifiers.length; i += 100) {
      const rules: SearchRule[] = [...ownershipRules(this.client.integrationIdentifier), { property: '$identifier', operator: 'in', value: identifiers.slice(i, i + 100) }];
      for await (const page of this.client.search(blueprint, { combinator: 'and', rules }, ['$identifier'], this.#pageSize)) {
        for (const e of page) found.push(e.identifier);
      }
    }
    return found;
  }

  /** Relation id → target blueprint, from the blueprint definition (cached per instance). */
  relationTargets(blueprint: string): Promise<Record<string, string>> {
    let p = this.#relationTargets.get(blueprint);
    if (!p) {
      p = this.client.getBlueprint(blueprint).then((bp) =>
        Object.fromEntries(Object.entries(bp?.relations ?? {}).map(([name, rel]) => [name, rel.target])),
      );
      p.catch(() => this.#relationTargets.delete(blueprint));
      this.#relationTargets.set(blueprint, p);
    }
    return p;
  }

  /**
   * Deletes identifiers of one blueprint in bulk calls of at most 100. Port refuses a whole bulk call when an entity
   * has dependents and `delete_dependents` is off; such a batch is retried one entity at a time so only the entities
   * that really have dependents fail. Identifiers Port no longer has are neither deleted nor failed.
   */
  async delete(blueprint: string, identifiers: string[]): Promise<DeleteResult> {
    const result: DeleteResult = { deleted: [], failed: [] };
    const batches: string[][] = [];
    for (let i = 0; i < identifiers.length; i += 100) batches.push(identifiers.slice(i, i + 100));
    await Promise.all(
      batches.map(async (batch) => {
        try {
          result.deleted.push(...(await this.client.bulkDelete(blueprint, batch, this.deleteDependentEntities)));
          return;
        } catch (err) {
          if (!(err instanceof PortApiError) || err.status === undefined || err.status >= 500 || err.status === 429) {
            for (const id of batch) result.failed.push({ identifier: id, error: errorMessage(err) });
            return;
          }
          this.#log.info({ blueprint, size: batch.length, reason: err.message }, 'bulk delete refused, deleting one by one');
        }
        for (const id of batch) {
          try {
            if (await this.client.deleteEntity(blueprint, id, this.deleteDependentEntities)) result.deleted.push(id);
          } catch (err) {
            result.failed.push({ identifier: id, error: errorMessage(err) });
          }
        }
      }),
    );
    return result;
  }
}
