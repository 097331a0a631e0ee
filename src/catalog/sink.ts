import type { Entity, EntityOrigin } from './entity.js';

/**
 * Which entities the catalog holds (sync/ownedSnapshot.ts implements it per resync run). A remembered hash lets an
 * entity be skipped only when the catalog still holds it, so an entity deleted behind the worker's back is written again.
 */
export interface CatalogPresence {
  present(blueprint: string, identifiers: string[]): Promise<Set<string>>;
}

export interface UpsertOutcome {
  /** Entities the catalog accepted (or printed, for dry-run). */
  written: number;
  /** Entities not sent because their content is unchanged since the last successful write. */
  unchanged: number;
  /** Entities the catalog refused; a resource with failures is incomplete. */
  failed: Array<{ entity: Entity; error: string }>;
}

/**
 * Where mapped entities go: Port's API, or stdout for dry-run. Implementations batch internally; `upsert` resolves
 * once the batch is durable in the catalog.
 */
export interface CatalogSink {
  readonly name: string;
  /**
   * How many `upsert` calls a resource may have running at once (default 1: one after the other, in order). More lets
   * the next pages be fetched and mapped while earlier ones are still being written.
   */
  readonly concurrentUpserts?: number;
  upsert(entities: Entity[], origin: EntityOrigin): Promise<UpsertOutcome>;
  /** For sinks that skip unchanged entities: which entities the catalog holds (set for a resync run, then cleared). */
  usePresence?(presence: CatalogPresence | undefined): void;
  /** Finishes pending work (retries of entities waiting for a relation target). */
  flush(): Promise<UpsertOutcome>;
  close(): Promise<void>;
}
