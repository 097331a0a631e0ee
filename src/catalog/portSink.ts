import type { Logger } from '../observability/log.js';
import { silentLogger } from '../observability/log.js';
import { errorMessage } from '../util/errors.js';
import { indexBy, layers } from '../util/layers.js';
import { entityKey, relationIds, type Entity, type EntityOrigin } from './entity.js';
import type { CatalogPresence, CatalogSink, UpsertOutcome } from './sink.js';
import type { PortClient } from './port/client.js';
import { entityText, type EntityWriteResult, type UpsertFlags } from './port/entityApi.js';
import { PortCatalog } from './port/catalog.js';
import { textHash } from './port/hash.js';

/**
 * Remembers the hash of each entity's last successful write. Implemented by `sync/state.ts` (memory and Redis);
 * declared here so the catalog does not depend on the sync layer.
 */
export interface EntityHashStore {
  /** Keys whose stored hash equals the given one. */
  unchanged(entries: Array<{ key: string; hash: string }>): Promise<Set<string>>;
  remember(entries: Array<{ key: string; hash: string }>): Promise<void>;
  forget(keys: string[]): Promise<void>;
}

export interface PortSinkOptions {
  client: PortClient;
  /** port-app-config `createMissingRelatedEntities` (default true). */
  createMissingRelatedEntities?: boolean;
  /** port-app-config `enableMergeEntity` (default true): merge into the existing entity instead of replacing it. */
  enableMergeEntity?: boolean;
  /** port-app-config `deleteDependentEntities` (default true): used by `catalog` when deleting. */
  deleteDependentEntities?: boolean;
  /** Skip entities whose content is unchanged since their last successful write (and that Port holds: `presence`). */
  state?: EntityHashStore;
  /** Without it nothing is skipped (live events always write); a resync sets it with `usePresence`. */
  presence?: CatalogPresence;
  /** `ADOPT_OCEAN_IDENTIFIER`: used by `catalog` (entities of that Ocean installation count as owned). */
  adoptOceanIdentifier?: string;
  /** Retry passes over entities waiting for a relation target, in `flush()` (default 3; stops early without progress). */
  maxRetryPasses?: number;
  log?: Logger;
}

interface Item {
  entity: Entity;
  origin: EntityOrigin;
  /** The entity as sent (see entityText); its hash is the change fingerprint. */
  text: string;
  key?: string;
  hash?: string;
  lastError?: string;
}

interface SendResult {
  ok: Item[];
  notFound: Item[];
  failed: Array<{ entity: Entity; error: string }>;
}

const isMissingTarget = (r: EntityWriteResult) => !r.ok && r.statusCode === 404 && r.error === 'not_found';

function describe(r: EntityWriteResult): string {
  return `${r.statusCode !== undefined ? `HTTP ${r.statusCode} ` : ''}${r.error ?? 'error'}${r.message ? `: ${r.message}` : ''}`;
}

function label(e: Entity): string {
  return typeof e.identifier === 'string' ? e.identifier : JSON.stringify(e.identifier);
}

/**
 * Writes entities to Port through bulk upserts. Entities refused because a relation target does not exist yet
 * (`404 not_found`) are held back and retried by `flush()` after everything else, in dependency order; whatever still
 * fails is reported in `UpsertOutcome.failed`. With a state store, entities whose canonical content hash matches the
 * last successful write are not sent (and counted as `unchanged`).
 */
export class PortSink implements CatalogSink {
  readonly name = 'port';
  /** Pages are independent bulk writes (the client bounds requests); write order only matters at flush. */
  readonly concurrentUpserts = 4;
  readonly flags: UpsertFlags;
  /** Owned-entity listing and deletion with the same client and `deleteDependentEntities`. */
  readonly catalog: PortCatalog;
  readonly #client: PortClient;
  readonly #state?: EntityHashStore;
  #presence?: CatalogPresence;
  readonly #log: Logger;
  readonly #maxPasses: number;
  #pending: Item[] = [];

  constructor(options: PortSinkOptions) {
    this.#client = options.client;
    this.#state = options.state;
    this.#presence = options.presence;
    this.#log = options.log ?? silentLogger;
    this.#maxPasses = Math.max(1, options.maxRetryPasses ?? 3);
    this.flags = {
      createMissingRelatedEntities: options.createMissingRelatedEntities ?? true,
      merge: options.enableMergeEntity ?? true,
    };
    this.catalog = new PortCatalog(this.#client, {
      deleteDependentEntities: options.deleteDependentEntities ?? true,
      adoptOceanIdentifier: options.adoptOceanIdentifier,
      log: this.#log,
    });
  }

  /** Lets unchanged entities be skipped, for those Port holds (a resync run's owned snapshot). */
  usePresence(presence: CatalogPresence | undefined): void {
    this.#presence = presence;
  }

  /** Entities waiting for a relation target, to be retried by `flush()`. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  async upsert(entities: Entity[], origin: EntityOrigin): Promise<UpsertOutcome> {
    const outcome: UpsertOutcome = { written: 0, unchanged: 0, failed: [] };
    if (entities.length === 0) return outcome;
    const items: Item[] = entities.map((entity) => {
      const key = entityKey(entity);
      const text = entityText(entity);
      return { entity, origin, text, key, hash: key ? textHash(text) : undefined };
    });
    const toSend = await this.#skipUnchanged(items);
    outcome.unchanged = items.length - toSend.length;
    if (toSend.length === 0) return outcome;
    const r = await this.#send(toSend);
    outcome.written = r.ok.length;
    outcome.failed = r.failed;
    if (r.notFound.length > 0) {
      this.#pending.push(...r.notFound);
      this.#log.debug(
        { count: r.notFound.length, kind: origin.kind, organization: origin.organization },
        'entities wait for a relation target; they are retried at flush',
      );
    }
    return outcome;
  }

  async flush(): Promise<UpsertOutcome> {
    const outcome: UpsertOutcome = { written: 0, unchanged: 0, failed: [] };
    let pending = this.#pending;
    this.#pending = [];
    if (pending.length === 0) return outcome;
    this.#log.info({ count: pending.length }, 'retrying entities that waited for a relation target, in dependency order');
    for (let pass = 1; pending.length > 0 && pass <= this.#maxPasses; pass++) {
      const next: Item[] = [];
      let progress = 0;
      for (const level of dependencyLevels(pending, this.#log)) {
        const r = await this.#send(level);
        outcome.written += r.ok.length;
        progress += r.ok.length;
        outcome.failed.push(...r.failed);
        next.push(...r.notFound);
      }
      pending = next;
      if (progress === 0) break;
    }
    for (const item of pending) {
      const error = `relation target still missing after retries: ${item.lastError ?? 'not_found'}`;
      outcome.failed.push({ entity: item.entity, error });
      this.#log.warn({ blueprint: item.entity.blueprint, identifier: label(item.entity), kind: item.origin.kind, error }, 'entity not written');
    }
    return outcome;
  }

  async close(): Promise<void> {
    if (this.#pending.length > 0) {
      this.#log.warn({ count: this.#pending.length }, 'port sink closed with entities never retried (flush() was not called)');
      this.#pending = [];
    }
  }

  async #skipUnchanged(items: Item[]): Promise<Item[]> {
    const state = this.#state;
    const presence = this.#presence;
    if (!state || !presence) return items;
    // A key present twice in one call with different content is always sent: "unchanged" must be unambiguous.
    const hashesByKey = new Map<string, Set<string>>();
    for (const i of items) if (i.key) (hashesByKey.get(i.key) ?? hashesByKey.set(i.key, new Set()).get(i.key)!).add(i.hash!);
    const candidates = items.filter((i) => i.key && hashesByKey.get(i.key)!.size === 1);
    if (candidates.length === 0) return items;
    let same: Set<string>;
    /** Identifiers Port holds, by blueprint. */
    const held = new Map<string, Set<string>>();
    try {
      same = await state.unchanged(candidates.map((i) => ({ key: i.key!, hash: i.hash! })));
      // Port is asked only about what would be skipped: an entity that changed is sent whether Port holds it or not.
      const byBlueprint = new Map<string, string[]>();
      for (const i of candidates) {
        if (typeof i.entity.identifier !== 'string' || !same.has(i.key!)) continue;
        (byBlueprint.get(i.entity.blueprint) ?? byBlueprint.set(i.entity.blueprint, []).get(i.entity.blueprint)!).push(i.entity.identifier);
      }
      await Promise.all([...byBlueprint].map(async ([bp, ids]) => held.set(bp, await presence.present(bp, ids))));
    } catch (err) {
      this.#log.warn({ err: errorMessage(err) }, 'entity state or owned listing unavailable; sending every entity');
      return items;
    }
    const isHeld = (i: Item) => held.get(i.entity.blueprint)?.has(i.entity.identifier as string) === true;
    return items.filter((i) => !(i.key && hashesByKey.get(i.key)!.size === 1 && same.has(i.key) && isHeld(i)));
  }

  /** One bulk upsert per blueprint, concurrently; sorts the results into written, missing-target and failed. */
  async #send(items: Item[]): Promise<SendResult> {
    const out: SendResult = { ok: [], notFound: [], failed: [] };
    const groups = new Map<string, Item[]>();
    for (const i of items) (groups.get(i.entity.blueprint) ?? groups.set(i.entity.blueprint, []).get(i.entity.blueprint)!).push(i);
    await Promise.all(
      [...groups].map(async ([blueprint, group]) => {
        const results = await this.#client.upsertEntityTexts(
          blueprint,
          group.map((g) => g.text),
          this.flags,
        );
        group.forEach((item, idx) => {
          const r = results[idx]!;
          if (r.ok) out.ok.push(item);
          else if (isMissingTarget(r)) out.notFound.push({ ...item, lastError: describe(r) });
          else {
            const error = describe(r);
            out.failed.push({ entity: item.entity, error });
            this.#log.warn({ blueprint, identifier: label(item.entity), kind: item.origin.kind, error }, 'entity not written');
          }
        });
      }),
    );
    const remember = out.ok.filter((i) => i.key).map((i) => ({ key: i.key!, hash: i.hash! }));
    if (this.#state && remember.length > 0) {
      try {
        await this.#state.remember(remember);
      } catch (err) {
        this.#log.warn({ err: errorMessage(err) }, 'entity state store unavailable; written entities will be sent again next time');
      }
    }
    return out;
  }
}


/**
 * Groups items into levels such that every item comes after the items it relates to (matched by identifier, which
 * may over-approximate across blueprints: that only costs ordering). Items in a cycle end up together in a last,
 * unordered level.
 */
export function dependencyLevels<T extends { entity: Entity }>(items: T[], log: Logger = silentLogger): T[][] {
  const byId = indexBy(items, (it) => (typeof it.entity.identifier === 'string' ? it.entity.identifier : undefined));
  const { layers: levels, cyclic } = layers(items, (idx) => relationIds(items[idx]!.entity.relations).flatMap((t) => byId.get(t) ?? []));
  if (cyclic > 0) log.info({ count: cyclic }, 'relation cycle among entities waiting for a target; retrying them unordered');
  return levels;
}
