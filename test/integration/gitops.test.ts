/**
 * GitOps (#22) on real parts: spec files committed to the Azure DevOps simulator's repositories, `ado-sync resync`
 * spawned against it and the Port simulator (which checks entities against their blueprints), and pushes handled by the
 * live-event handler writing through the real Port sink: declared entities written, changed, removed; pushes to
 * other branches ignored; bad spec files reported with their place and nothing deleted; conflicts resolved by
 * repository name; entities whose spec file is gone deleted by the next complete resync.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PatAuth } from '../../src/ado/auth.js';
import { AdoClient } from '../../src/ado/client.js';
import { parseOrganizationUrl } from '../../src/ado/orgUrl.js';
import { loadAppConfig } from '../../src/config/appConfig.js';
import { loadSettings } from '../../src/config/settings.js';
import { silentLogger } from '../../src/observability/log.js';
import { LiveEventHandler } from '../../src/sync/liveEvent.js';
import { buildPortTarget, type PortTarget } from '../../src/sync/portTarget.js';
import type { ServiceHookEvent } from '../../src/kinds/types.js';
import { runCli } from '../helpers/cli.js';
import { deleteKeys } from '../helpers/redisKeys.js';
import { syncEnv } from '../helpers/env.js';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';
import { startPortSimulator, type Blueprint, type PortSimulator } from '../simulators/port/index.js';

const BLUEPRINTS: Blueprint[] = [
  { identifier: 'database', title: 'Database', schema: { properties: { engine: { type: 'string' } } } },
  {
    identifier: 'service',
    title: 'Service',
    schema: { properties: { language: { type: 'string' }, readme: { type: 'string' }, openapi: { type: 'object' }, tier: { type: 'string' } } },
    relations: { database: { title: 'Database', target: 'database', required: false, many: false } },
  },
];

const dir = mkdtempSync(join(tmpdir(), 'ado-sync-gitops-'));
const CONFIG = join(dir, 'config.yml');
// Ocean's top-level keys, nothing else: the gitops resource comes from them.
writeFileSync(CONFIG, 'specPath: [port.yml, "services/**/port.yml"]\nuseDefaultBranch: true\nresources: []\n');

interface Repo {
  id: string;
  name: string;
}

describe('GitOps: entities declared in port.yml files', () => {
  let sim: AdoSimulator;
  let port: PortSimulator;
  let target: PortTarget;
  let handler: LiveEventHandler;
  /** Three repositories sorted by name: the first wins a conflict. */
  let first: Repo;
  let second: Repo;
  let third: Repo;
  const identifier = `gitops-${process.pid}-${Date.now()}`;
  // With Redis, as in cluster mode: the resync's claims (who declares what) are there for the pushes.
  const env = () => syncEnv(sim, port, { INTEGRATION_IDENTIFIER: identifier, PORT_APP_CONFIG: CONFIG, LOG_LEVEL: 'warn', REDIS_URL: 'redis://127.0.0.1:6379' });
  const resync = () => runCli(['resync'], { env: env() });
  const entity = (bp: string, id: string) => port.entity(bp, id);
  const ids = (bp: string) => port.entities(bp).map((e) => e.identifier).sort();

  beforeAll(async () => {
    sim = await startAdoSimulator({ scale: { projects: 2, reposPerProject: 3 } });
    port = await startPortSimulator({ blueprints: BLUEPRINTS });
    const repos = sim.dataset.org('acme')!.repos;
    const usable: Repo[] = [];
    for (let i = 0; i < repos.count; i++) {
      const r = repos.record(i);
      // Distinct names, so "first by repository name" is one repository.
      if (!r.isEmpty && !r.isDisabled && !usable.some((u) => u.name === r.name)) usable.push({ id: r.id, name: r.name });
    }
    usable.sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : 1));
    expect(usable.length).toBeGreaterThanOrEqual(3);
    [first, second, third] = usable as [Repo, Repo, Repo];

    sim.git.commit(first.id, {
      '/port.yml': 'identifier: payments\ntitle: Payments\nblueprint: service\nproperties:\n  language: TypeScript\n  readme: file://docs/intro.md\n  openapi: file:///api/openapi.json\nrelations:\n  database: payments-db\n',
      '/docs/intro.md': '# Payments\nTakes the money.\n',
      '/api/openapi.json': '{"openapi": "3.1.0", "info": {"title": "Payments"}}',
    });
    // A list (Port's documented second form) and a nested spec file found by the glob.
    sim.git.commit(second.id, {
      '/port.yml': '- identifier: orders\n  title: Orders\n  blueprint: service\n  properties:\n    language: Go\n- identifier: orders-db\n  blueprint: database\n  properties:\n    engine: postgres\n',
      '/services/search/port.yml': 'identifier: search\nblueprint: service\nproperties:\n  language: Rust\n',
    });
    // Declares `payments` too: the first repository by name keeps it.
    sim.git.commit(third.id, { '/port.yml': 'identifier: payments\ntitle: Payments (copy)\nblueprint: service\nproperties:\n  language: Java\n' });

    const settings = loadSettings({}, env());
    const config = loadAppConfig(CONFIG).config;
    target = buildPortTarget(settings, config, silentLogger);
    const org = parseOrganizationUrl(sim.orgUrl(), 'services');
    handler = new LiveEventHandler({
      config,
      targets: [{ client: new AdoClient(org, new PatAuth(sim.pat), { maxAttempts: 1 }) }],
      sink: target.sink,
      catalog: target.catalog,
      state: target.state,
      origins: target.origins,
      claims: target.claims,
      log: silentLogger,
      pageSize: 100,
    });
  });

  afterAll(async () => {
    await handler?.close();
    if (target?.redis) await deleteKeys(target.redis, `ado-sync:${identifier}:*`);
    await target?.close();
    await sim.close();
    await port.close();
  });

  const push = async (event: ServiceHookEvent) => expect((await handler.handle(event)).status).toBe('handled');

  it('a resync writes what the spec files declare: single and list forms, nested paths, file:// text and JSON, and a conflict resolved by repository name', async () => {
    const r = await resync();
    expect(r.code).toBe(0);
    expect(ids('service')).toEqual(['orders', 'payments', 'search']);
    expect(entity('database', 'orders-db')?.properties).toEqual({ engine: 'postgres' });
    expect(entity('service', 'payments')).toMatchObject({
      title: 'Payments',
      properties: { language: 'TypeScript', readme: '# Payments\nTakes the money.\n', openapi: { openapi: '3.1.0', info: { title: 'Payments' } } },
      relations: { database: 'payments-db' },
    });
    const conflict = r.stderr.split('\n').find((l) => l.includes('entity declared in two repositories'));
    expect(JSON.parse(conflict!)).toMatchObject({ entity: 'service/payments', declaredBy: expect.stringMatching(new RegExp(`/${first.name}/port\\.yml$`)), alsoIn: expect.stringMatching(new RegExp(`/${third.name}/port\\.yml$`)) });
    // The summary lists each repository's spec files and entity count.
    expect(r.stderr).toContain(`/${second.name}@`);
    expect(r.stderr).toMatch(new RegExp(`/${second.name}@\\S+: /port\\.yml, /services/search/port\\.yml: 3 entities`));
  });

  it('a push to the tracked branch adds, changes and removes; a push to another branch changes nothing', async () => {
    const changed = sim.git.commit(second.id, {
      '/port.yml': '- identifier: orders\n  title: Orders v2\n  blueprint: service\n  properties:\n    language: Go\n- identifier: inventory\n  blueprint: service\n',
    });
    await push(changed.event as unknown as ServiceHookEvent);
    expect(entity('service', 'orders')?.title).toBe('Orders v2');
    expect(entity('service', 'inventory')).toBeDefined();
    expect(entity('database', 'orders-db')).toBeUndefined();
    expect(entity('service', 'search')).toBeDefined();

    // The repository that lost the conflict cannot take `payments` over, nor delete it, by pushing.
    const loser = sim.git.commit(third.id, { '/port.yml': 'identifier: payments\ntitle: Payments (taken over)\nblueprint: service\n' });
    await push(loser.event as unknown as ServiceHookEvent);
    expect(entity('service', 'payments')?.title).toBe('Payments');
    const gone = sim.git.commit(third.id, { '/port.yml': 'identifier: refunds\nblueprint: service\n' });
    await push(gone.event as unknown as ServiceHookEvent);
    expect(entity('service', 'payments')?.title).toBe('Payments');
    expect(entity('service', 'refunds')).toBeDefined();
    // The winner's own push does change it.
    const winner = sim.git.commit(first.id, { '/port.yml': 'identifier: payments\ntitle: Payments v2\nblueprint: service\n' });
    await push(winner.event as unknown as ServiceHookEvent);
    expect(entity('service', 'payments')?.title).toBe('Payments v2');

    const elsewhere = sim.git.commit(second.id, { '/port.yml': 'identifier: orders\ntitle: Not on main\nblueprint: service\n' }, { branch: 'feature/rename' });
    await push(elsewhere.event as unknown as ServiceHookEvent);
    expect(entity('service', 'orders')?.title).toBe('Orders v2');
    expect(entity('service', 'inventory')).toBeDefined();
  });

  it('a bad spec file is reported with its place and nothing is deleted; once fixed, a complete resync deletes what no spec file declares', async () => {
    // The nested spec file goes away: `search` is now stale.
    sim.git.commit(second.id, { '/services/search/port.yml': null });
    // The first repository's spec breaks (YAML error on line 3), and a file:// reference is missing in the third's.
    const broken = sim.git.commit(first.id, { '/port.yml': 'identifier: payments\nblueprint: service\nproperties: [unclosed\n' });
    await push(broken.event as unknown as ServiceHookEvent);
    expect(entity('service', 'payments')?.title).toBe('Payments v2');
    sim.git.commit(third.id, { '/port.yml': 'identifier: billing\nblueprint: service\nproperties:\n  readme: file://MISSING.md\n' });
    // A blueprint Port does not have: Port refuses that entity, which is reported as a failed write.
    const ordersSpec = sim.git.files(second.id)['/port.yml']!;
    sim.git.commit(second.id, { '/port.yml': `${ordersSpec}- identifier: ghost\n  blueprint: nosuchblueprint\n` });

    const bad = await resync();
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(new RegExp(`${first.name}/port\\.yml:\\d+: .*YAML`));
    expect(bad.stderr).toMatch(new RegExp(`${third.name}/port\\.yml:4: billing: .*MISSING\\.md`));
    const refused = bad.stderr.split('\n').find((l) => l.includes('"identifier":"ghost"') && l.includes('entity not written'));
    expect(JSON.parse(refused!)).toMatchObject({ blueprint: 'nosuchblueprint', kind: 'gitops', error: expect.stringContaining('nosuchblueprint') });
    expect(bad.stderr).toMatch(/stale deletion: deleted 0 \(skipped/);
    // Everything stays: the broken repositories' entities and the stale one alike.
    expect(ids('service')).toEqual(['inventory', 'orders', 'payments', 'refunds', 'search']);

    sim.git.commit(first.id, { '/port.yml': 'identifier: payments\ntitle: Payments\nblueprint: service\n' });
    sim.git.commit(third.id, { '/port.yml': 'identifier: billing\nblueprint: service\n' });
    sim.git.commit(second.id, { '/port.yml': ordersSpec });
    const good = await resync();
    expect(good.code).toBe(0);
    expect(ids('service')).toEqual(['billing', 'inventory', 'orders', 'payments']);
  });

  it('the last entity of a blueprint no spec file declares any more is deleted too', async () => {
    sim.git.commit(third.id, { '/port.yml': '- identifier: billing\n  blueprint: service\n- identifier: billing-db\n  blueprint: database\n' });
    expect((await resync()).code).toBe(0);
    expect(entity('database', 'billing-db')).toBeDefined();

    // No spec file declares a database now: the blueprint is no longer produced, and is still swept.
    sim.git.commit(third.id, { '/port.yml': 'identifier: billing\nblueprint: service\n' });
    expect((await resync()).code).toBe(0);
    expect(port.entities('database').filter((e) => e.identifier.startsWith('billing') || e.identifier === 'orders-db')).toEqual([]);
    expect(ids('service')).toEqual(['billing', 'inventory', 'orders', 'payments']);
  });

  it('a partial run (--kinds gitops) leaves the entities of the resources that did not run, even with no deletion threshold', async () => {
    const both = join(dir, 'both.yml');
    writeFileSync(
      both,
      // No threshold to hide behind.
      'entityDeletionThreshold: 1\nspecPath: [port.yml, "services/**/port.yml"]\nuseDefaultBranch: true\nresources:\n  - kind: project\n    selector: {query: "true"}\n    port: {entity: {mappings: {identifier: .id, title: .name, blueprint: \'"database"\'}}}\n',
    );
    const projects = sim.dataset.org('acme')!.projects;
    const projectIds = [projects.record(0).id, projects.record(1).id];
    expect((await runCli(['resync', '--config', both], { env: env() })).code).toBe(0);
    for (const id of projectIds) expect(entity('database', id)).toBeDefined();

    const partial = await runCli(['resync', '--config', both, '--kinds', 'gitops'], { env: env() });
    expect(partial.code).toBe(0);
    for (const id of projectIds) expect(entity('database', id)).toBeDefined();
    expect(ids('service')).toEqual(['billing', 'inventory', 'orders', 'payments']);
  });
});
