import type { Entity, EntityOrigin } from './entity.js';
import type { CatalogSink, UpsertOutcome } from './sink.js';

/** Prints entities instead of writing them: NDJSON (one entity a line) or indented JSON for people. */
export class DryRunSink implements CatalogSink {
  readonly name = 'dry-run';
  constructor(
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly pretty = false,
  ) {}

  async upsert(entities: Entity[], _origin: EntityOrigin): Promise<UpsertOutcome> {
    if (entities.length > 0) {
      const text = entities.map((e) => (this.pretty ? JSON.stringify(e, null, 2) : JSON.stringify(e))).join('\n') + '\n';
      // Backpressure: a slow reader of stdout slows the whole pipeline instead of growing a buffer.
      if (!this.out.write(text)) await new Promise<void>((resolve) => this.out.once('drain', resolve));
    }
    return { written: entities.length, unchanged: 0, failed: [] };
  }

  async flush(): Promise<UpsertOutcome> {
    return { written: 0, unchanged: 0, failed: [] };
  }

  async close(): Promise<void> {}
}
