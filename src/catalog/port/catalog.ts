import type { Logger } from '../../observability/log.js';
import { silentLogger } from '../../observability/log.js';
import { errorMessage } from '../../util/errors.js';
import type { SearchQuery } from '../entity.js';
import type { PortClient } from './client.js';
import { PortApiError } from './errors.js';
import { ownedByAnyQuery, oceanOwnershipQuery, ownershipQuery, type Owner } from './ownership.js';

/** An owned entity as stale deletion re-reads it just before deleting: what it relates to, and when it last changed. */
export interface OwnedEntity {
  blueprint: string;
  identifier: string;
  relations: Record<string, unknown>;
  updatedAt?: string;
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
  /** `ADOPT_OCEAN_IDENTIFIER`: entities of the Ocean Azure DevOps installation with this identifier count as owned. */
  adoptOceanIdentifier?: string;
  log?: Logger;
}

/** Identifiers per `$identifier in [...]` search. */
const IN_CHUNK = 100;

/** The read/delete side of Port that stale deletion and live events need, restricted to entities this instance owns. */
export class PortCatalog {
  readonly deleteDependentEntities: boolean;
  readonly adoptOceanIdentifier?: string;
  readonly #pageSize: number;
  readonly #log: Logger;
  readonly #relationTargets = new Map<string, Promise<Record<string, string>>>();

  constructor(
    private readonly client: PortClient,
    options: PortCatalogOptions = {},
  ) {
    this.deleteDependentEntities = options.deleteDependentEntities ?? true;
    this.adoptOceanIdentifier = options.adoptOceanIdentifier;
    this.#pageSize = Math.min(1000, Math.max(1, options.pageSize ?? 1000));
    this.#log = options.log ?? silentLogger;
  }

  /** Every blueprint in Port: where a resource's blueprint is computed per item, any of them may hold its entities. */
  async blueprintIdentifiers(): Promise<string[]> {
    return (await this.client.listBlueprints()).map((b) => b.identifier);
  }

  /** Whether entities of an adopted Ocean installation count as owned. */
  get adopts(): boolean {
    return this.adoptOceanIdentifier !== undefined;
  }

  /**
   * Identifiers of `blueprint`'s entities last written by this instance (`ours`) or by the adopted Ocean installation
   * (`adopted`), page by page through Port's paginated search. A failure is thrown, never read as "no entities".
   */
  async *ownedIdentifiers(blueprint: string, owner: Owner): AsyncGenerator<string[]> {
    const query = owner === 'ours' ? ownershipQuery(this.client.integrationIdentifier) : oceanOwnershipQuery(this.#adopted());
    for await (const page of this.client.search(blueprint, query, ['$identifier'], this.#pageSize)) {
      yield page.map((e) => e.identifier);
    }
  }

  /** The owned (ours or adopted) entities among `identifiers`, as Port holds them now: relations and last update. */
  async describeOwned(blueprint: string, identifiers: string[]): Promise<OwnedEntity[]> {
    const out: OwnedEntity[] = [];
    for (const e of await this.#ownedAmong(blueprint, identifiers, ['$identifier', 'relations', '$updatedAt'])) {
      out.push({ blueprint, identifier: e.identifier, relations: (e.relations as Record<string, unknown>) ?? {}, updatedAt: e.updatedAt });
    }
    return out;
  }

  /** Which of these identifiers exist in `blueprint` and are owned by this instance (live deletions touch only those). */
  async ownedAmong(blueprint: string, identifiers: string[]): Promise<string[]> {
    return (await this.#ownedAmong(blueprint, identifiers, ['$identifier'])).map((e) => e.identifier);
  }

  async #ownedAmong(blueprint: string, identifiers: string[], include: string[]) {
    const owned = ownedByAnyQuery(this.client.integrationIdentifier, this.adoptOceanIdentifier);
    const found = [];
    for (let i = 0; i < identifiers.length; i += IN_CHUNK) {
      const query: SearchQuery = { combinator: 'and', rules: [owned, { property: '$identifier', operator: 'in', value: identifiers.slice(i, i + IN_CHUNK) }] };
      for await (const page of this.client.search(blueprint, query, include, this.#pageSize)) found.push(...page);
    }
    return found;
  }

  #adopted(): string {
    if (!this.adoptOceanIdentifier) throw new Error('no Ocean installation is adopted (ADOPT_OCEAN_IDENTIFIER)');
    return this.adoptOceanIdentifier;
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
   * Deletes identifiers of one blueprint in bulk calls of at most 100, with Port deleting their dependents too when
   * `cascade` (default: `deleteDependentEntities`). Port refuses a whole bulk call when an entity has dependents and
   * `delete_dependents` is off; such a batch is retried one entity at a time so only the entities that really have
   * dependents fail. Identifiers Port no longer has are neither deleted nor failed.
   */
  async delete(blueprint: string, identifiers: string[], opts: { cascade?: boolean } = {}): Promise<DeleteResult> {
    const cascade = opts.cascade ?? this.deleteDependentEntities;
    const result: DeleteResult = { deleted: [], failed: [] };
    const batches: string[][] = [];
    for (let i = 0; i < identifiers.length; i += 100) batches.push(identifiers.slice(i, i + 100));
    await Promise.all(
      batches.map(async (batch) => {
        try {
          result.deleted.push(...(await this.client.bulkDelete(blueprint, batch, cascade)));
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
            if (await this.client.deleteEntity(blueprint, id, cascade)) result.deleted.push(id);
          } catch (err) {
            result.failed.push({ identifier: id, error: errorMessage(err) });
          }
        }
      }),
    );
    return result;
  }
}
