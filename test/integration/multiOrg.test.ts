import { afterAll, describe, expect, it } from '@jest/globals';
import { loadAppConfig } from '../../src/config/appConfig.js';
import { loadSettings } from '../../src/config/settings.js';
import type { Entity, EntityOrigin } from '../../src/catalog/entity.js';
import type { CatalogSink, UpsertOutcome } from '../../src/catalog/sink.js';
import { runFullResync } from '../../src/sync/fullResync.js';
import { buildTargets } from '../../src/sync/targets.js';
import { silentLogger } from '../../src/observability/log.js';
import { startAdoSimulator, type AdoSimulator, type AdoSimulatorOptions } from '../simulators/ado/index.js';
import type { RequestLogEntry } from '../simulators/ado/http/pipeline.js';

const ORGS = ['orga', 'orgb', 'orgc'];
const SCALE = { projects: 2, reposPerProject: 2, pullRequestsPerRepo: 2, workItemsPerProject: 3 };
const config = loadAppConfig('mappings/examples/multi-org.yml').config;

/** Keeps every entity, and lets a test act after the Nth upsert. */
class MemorySink implements CatalogSink {
  readonly name = 'memory';
  readonly entities: Entity[] = [];
  upserts = 0;
  constructor(private readonly onUpsert?: (n: number) => void) {}
  async upsert(entities: Entity[], _origin: EntityOrigin): Promise<UpsertOutcome> {
    this.entities.push(...entities);
    this.onUpsert?.(++this.upserts);
    return { written: entities.length, unchanged: 0, failed: [] };
  }
  async flush(): Promise<UpsertOutcome> {
    return { written: 0, unchanged: 0, failed: [] };
  }
  async close(): Promise<void> {}
}

const sims: AdoSimulator[] = [];
afterAll(async () => {
  for (const s of sims) await s.close();
});

async function simulator(opts: AdoSimulatorOptions & { entra?: boolean | { tokenLifetimeSeconds?: number; memberOf?: string[] } } = {}): Promise<AdoSimulator> {
  const sim = await startAdoSimulator({ organizations: ORGS, scale: SCALE, entra: true, ...opts });
  sims.push(sim);
  return sim;
}

function settingsFor(sim: AdoSimulator, extra: Record<string, string> = {}) {
  const entra = sim.entra!;
  return loadSettings(
    {},
    {
      OCEAN__INTEGRATION__CONFIG__ACCOUNT_MODE: 'Multiple Accounts',
      OCEAN__INTEGRATION__CONFIG__ORGANIZATION_URLS: ORGS.map((o) => sim.orgUrl(o)).join(','),
      OCEAN__INTEGRATION__CONFIG__CLIENT_ID: entra.clientId,
      OCEAN__INTEGRATION__CONFIG__CLIENT_SECRET: entra.clientSecret,
      OCEAN__INTEGRATION__CONFIG__TENANT_ID: entra.tenantId,
      ADO_AUTHORITY_HOST: entra.url,
      ADO_FLAVOR: 'services',
      ADO_MAX_CONCURRENT_ORGANIZATIONS: '2',
      ...extra,
    },
  );
}

async function resync(sim: AdoSimulator, sink: CatalogSink, extra: Record<string, string> = {}) {
  const settings = settingsFor(sim, extra);
  const targets = buildTargets(settings, silentLogger);
  return runFullResync({
    config,
    targets,
    sink,
    log: silentLogger,
    poolSize: 1,
    pageSize: 100,
    maxConcurrentOrganizations: settings.maxConcurrentOrganizations,
  });
}

/** Most organizations with requests in flight at once: each org spans its first to its last logged request. */
function maxOrganizationsInFlight(requests: RequestLogEntry[]): number {
  const spans = new Map<string, { from: number; to: number }>();
  for (const r of requests) {
    if (!r.at) continue;
    const s = spans.get(r.org) ?? { from: r.at, to: r.at };
    s.from = Math.min(s.from, r.at);
    s.to = Math.max(s.to, r.at);
    spans.set(r.org, s);
  }
  const events = [...spans.values()].flatMap((s) => [{ t: s.from, d: 1 }, { t: s.to, d: -1 }]).sort((a, b) => a.t - b.t || a.d - b.d); // at a tie, one ends before the next starts (ms clock)
  let now = 0;
  let max = 0;
  for (const e of events) max = Math.max(max, (now += e.d));
  return max;
}

const ids = (sink: MemorySink, blueprint: string) => sink.entities.filter((e) => e.blueprint === blueprint).map((e) => e.identifier as string);

describe('multiple organizations with an Entra ID service principal', () => {
  it('syncs three organizations, two at a time, with organization-qualified identifiers', async () => {
    const sim = await simulator({ faults: { latencyMs: 5 } });
    const sink = new MemorySink();
    const result = await resync(sim, sink);
    expect(result.incompleteReason).toBeUndefined();
    expect(result.complete).toBe(true);

    for (const org of ORGS) {
      const projects = ids(sink, 'azureDevopsProject').filter((id) => id.startsWith(`${org}/`));
      expect(projects).toHaveLength(sim.dataset.counts(org).projects);
      expect(ids(sink, 'azureDevopsRepository').filter((id) => id.startsWith(`${org}/`)).length).toBeGreaterThan(0);
      expect(ids(sink, 'azureDevopsPullRequest').filter((id) => id.startsWith(`${org}/`)).length).toBeGreaterThan(0);
      expect(ids(sink, 'azureDevopsWorkItem').filter((id) => id.startsWith(`${org}/`)).length).toBeGreaterThan(0);
    }
    // Every identifier carries its organization, and none collides across organizations.
    const all = sink.entities.map((e) => `${e.blueprint}:${e.identifier as string}`);
    expect(sink.entities.every((e) => ORGS.some((o) => (e.identifier as string).startsWith(`${o}/`)))).toBe(true);
    expect(new Set(all).size).toBe(all.length);
    // Equal raw ids exist in several organizations (work item 1, pull request 1 …), yet the catalog ids differ.
    const bareWorkItemIds = ids(sink, 'azureDevopsWorkItem').map((id) => id.split('/').pop());
    expect(new Set(bareWorkItemIds).size).toBeLessThan(bareWorkItemIds.length);

    expect(maxOrganizationsInFlight(sim.requests)).toBe(2);
    // Only bearer tokens from the stand-in were used, and one token served all organizations.
    expect(sim.requests.every((r) => r.status !== 401 && r.status !== 203)).toBe(true);
    expect(sim.entra!.issued).toHaveLength(1);
  });

  it('an organization answering 500 does not stop the other two, and the run is incomplete', async () => {
    const sim = await simulator({ faults: { failPaths: [{ pattern: '^/orgb/', status: 500 }] } });
    const sink = new MemorySink();
    const result = await resync(sim, sink, { ADO_MAX_ATTEMPTS: '2' });
    expect(result.complete).toBe(false);
    expect(result.incompleteReason).toMatch(/\(orgb\)/);
    expect(result.incompleteReason).not.toMatch(/\(orga\)|\(orgc\)/);
    for (const org of ['orga', 'orgc']) {
      expect(ids(sink, 'azureDevopsProject').filter((id) => id.startsWith(`${org}/`))).toHaveLength(sim.dataset.counts(org).projects);
      expect(ids(sink, 'azureDevopsRepository').filter((id) => id.startsWith(`${org}/`)).length).toBeGreaterThan(0);
    }
    expect(sink.entities.filter((e) => (e.identifier as string).startsWith('orgb/'))).toHaveLength(0);
    expect(sim.requests.some((r) => r.org === 'orgb' && r.status === 500)).toBe(true);
    expect(JSON.stringify(result)).not.toContain(sim.entra!.clientSecret);
  });

  it('an organization the service principal was not added to is reported, the others synced', async () => {
    const sim = await simulator({ entra: { memberOf: ['orga', 'orgb'] } });
    const sink = new MemorySink();
    const result = await resync(sim, sink);
    expect(result.complete).toBe(false);
    expect(result.incompleteReason).toMatch(/\(orgc\): Azure DevOps organization "orgc".*Entra ID service principal was rejected.*HTTP 401.*added to this organization/);
    expect(ids(sink, 'azureDevopsProject').filter((id) => id.startsWith('orga/') || id.startsWith('orgb/'))).toHaveLength(4);
    expect(sink.entities.filter((e) => (e.identifier as string).startsWith('orgc/'))).toHaveLength(0);
  });

  it('a token expiring mid-run is refreshed and no request is lost', async () => {
    const baselineSim = await simulator();
    const baseline = new MemorySink();
    await resync(baselineSim, baseline);

    const sim = await simulator({ faults: { latencyMs: 5 }, entra: { tokenLifetimeSeconds: 3600 } });
    // After the third page written, every token issued so far lapses (as if its hour had run out early).
    const sink = new MemorySink((n) => {
      if (n === 3) sim.entra!.expireAll();
    });
    const result = await resync(sim, sink);
    expect(result.incompleteReason).toBeUndefined();
    expect(result.complete).toBe(true);

    const rejected = sim.requests.filter((r) => r.status === 401);
    expect(rejected.length).toBeGreaterThan(0);
    expect(sim.entra!.issued.length).toBeGreaterThanOrEqual(2);
    // Every rejected request was sent again with the new token and answered.
    const key = (r: RequestLogEntry) => `${r.method} ${r.path} ${JSON.stringify(r.query)}`;
    for (const r of rejected) {
      const i = sim.requests.indexOf(r);
      expect(sim.requests.slice(i + 1).some((later) => key(later) === key(r) && later.status === 200)).toBe(true);
    }
    const sorted = (s: MemorySink) => s.entities.map((e) => `${e.blueprint}:${e.identifier as string}`).sort();
    expect(sorted(sink)).toEqual(sorted(baseline));
  });

  it('short-lived tokens are renewed before they expire', async () => {
    const sim = await simulator({ faults: { latencyMs: 80 }, entra: { tokenLifetimeSeconds: 1 } });
    const sink = new MemorySink();
    const result = await resync(sim, sink);
    expect(result.complete).toBe(true);
    const span = Math.max(...sim.requests.map((r) => r.at)) - Math.min(...sim.requests.map((r) => r.at));
    expect(span).toBeGreaterThan(600); // renewal is due after 500 ms
    expect(sim.entra!.issued.length).toBeGreaterThanOrEqual(2);
    // Renewed at half-life, so no request went out with a lapsed token.
    expect(sim.requests.filter((r) => r.status === 401)).toHaveLength(0);
  });
});
