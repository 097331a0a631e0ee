/** A sink and a catalog that record what the sync asks of them, for tests that check what would be written or deleted. */
import type { Entity, EntityOrigin } from '../../src/catalog/entity.js';
import type { CatalogSink, UpsertOutcome } from '../../src/catalog/sink.js';
import type { LiveCatalog } from '../../src/sync/outcomeWriter.js';

/** Records the entities written, per resource; `key` is `blueprint/identifier`. */
export class RecordingSink implements CatalogSink {
  readonly name = 'recorder';
  readonly written: Array<{ resourceIndex: number; entity: Entity; key: string }> = [];
  async upsert(entities: Entity[], origin: EntityOrigin): Promise<UpsertOutcome> {
    for (const entity of entities) this.written.push({ resourceIndex: origin.resourceIndex, entity, key: `${entity.blueprint}/${String(entity.identifier)}` });
    return { written: entities.length, unchanged: 0, failed: [] };
  }
  async flush(): Promise<UpsertOutcome> {
    return { written: 0, unchanged: 0, failed: [] };
  }
  async close(): Promise<void> {}
}

/** Owns every entity, so the live-event code deletes all it is asked to; records the deletions as `blueprint/identifier`. */
export class RecordingCatalog implements LiveCatalog {
  readonly deleted: string[] = [];
  async ownedAmong(_blueprint: string, identifiers: string[]): Promise<string[]> {
    return identifiers;
  }
  async delete(blueprint: string, identifiers: string[]) {
    this.deleted.push(...identifiers.map((id) => `${blueprint}/${id}`));
    return { deleted: identifiers, failed: [] };
  }
}
