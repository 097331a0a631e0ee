import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PatAuth } from '../../src/ado/auth.js';
import { AdoClient } from '../../src/ado/client.js';
import { parseOrganizationUrl } from '../../src/ado/orgUrl.js';
import type { Entity, EntityOrigin } from '../../src/catalog/entity.js';
import type { CatalogSink, UpsertOutcome } from '../../src/catalog/sink.js';
import { parseAppConfig } from '../../src/config/appConfig.js';
import { resyncOrganization } from '../../src/sync/resync.js';
import { silentLogger } from '../../src/observability/log.js';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';

const config = parseAppConfig(
  `resources:
  - kind: build
    selector: { query: 'true' }
    port:
      entity:
        mappings:
          identifier: .id | tostring
          title: .buildNumber
          blueprint: '"azureDevopsBuild"'
          properties: { status: .status }
`,
  'inline.yml',
).config;

/** Holds every upsert until released (or lets them through once `open`), and counts how many run at once. */
class GatedSink implements CatalogSink {
  readonly name = 'gated';
  readonly concurrentUpserts = 3;
  inFlight = 0;
  maxInFlight = 0;
  calls = 0;
  written = 0;
  open = false;
  failOnCall?: number;
  readonly #held: Array<() => void> = [];
  #full!: () => void;
  /** Resolves once `concurrentUpserts` upserts are running at the same time. */
  readonly full = new Promise<void>((resolve) => (this.#full = resolve));

  async upsert(entities: Entity[], _origin: EntityOrigin): Promise<UpsertOutcome> {
    const call = ++this.calls;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (this.inFlight === this.concurrentUpserts) this.#full();
    if (!this.open) await new Promise<void>((resolve) => this.#held.push(resolve));
    this.inFlight--;
    if (call === this.failOnCall) throw new Error('catalog went away');
    this.written += entities.length;
    return { written: entities.length, unchanged: 0, failed: [] };
  }

  release(): void {
    this.open = true;
    for (const r of this.#held.splice(0)) r();
  }

  async flush(): Promise<UpsertOutcome> {
    return { written: 0, unchanged: 0, failed: [] };
  }
  async close(): Promise<void> {}
}

describe('resync: pages are written concurrently, up to the sink’s limit', () => {
  let sim: AdoSimulator;
  let builds: number;
  beforeAll(async () => {
    sim = await startAdoSimulator({ scale: { projects: 2, reposPerProject: 1, pipelinesPerProject: 2, buildsPerPipeline: 400 } });
    builds = sim.minimumRequests(['build']).items.build ?? 0;
  });
  afterAll(() => sim.close());

  const run = (sink: CatalogSink) => {
    const org = parseOrganizationUrl(sim.orgUrl(), 'services');
    return resyncOrganization({
      config,
      target: { client: new AdoClient(org, new PatAuth(sim.pat), { maxAttempts: 1 }) },
      sink,
      log: silentLogger,
      poolSize: 1,
      pageSize: 1000,
    });
  };

  it('holds the mapper while the limit is reached, then writes every entity', async () => {
    const sink = new GatedSink();
    let finished = false;
    const done = run(sink).then((s) => ((finished = true), s));
    await sink.full;
    expect(sink.inFlight).toBe(3);
    expect(sink.calls).toBe(3);
    expect(finished).toBe(false);
    sink.release();
    const [summary] = await done;
    expect(summary).toMatchObject({ status: 'ok', rawItems: builds, written: builds });
    expect(builds).toBe(1600);
    expect(sink.written).toBe(builds);
    expect(sink.calls).toBeGreaterThanOrEqual(8);
    expect(sink.maxInFlight).toBe(3);
  });

  it('a failed write fails the resource, after the writes already running have finished', async () => {
    const sink = new GatedSink();
    sink.failOnCall = 2;
    const done = run(sink);
    await sink.full;
    sink.release();
    const [summary] = await done;
    expect(sink.inFlight).toBe(0);
    expect(summary).toMatchObject({ status: 'failed', error: 'catalog went away' });
    expect(sink.written).toBeLessThan(builds);
    expect(summary!.written).toBe(sink.written);
  });
});
