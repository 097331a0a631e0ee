import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loadAppConfig } from '../../src/config/appConfig.js';
import { loadSettings } from '../../src/config/settings.js';
import { runFullResync } from '../../src/sync/fullResync.js';
import { buildPortTarget } from '../../src/sync/portTarget.js';
import { buildTargets } from '../../src/sync/targets.js';
import { silentLogger } from '../../src/observability/log.js';
import { startAdoSimulator, type AdoSimulator, type AdoSimulatorOptions } from '../simulators/ado/index.js';
import { startPortSimulator, type PortSimulator } from '../simulators/port/index.js';
import { deleteKeys } from '../helpers/redisKeys.js';

const ORGS = ['orga', 'orgb', 'orgc'];
const dir = mkdtempSync(join(tmpdir(), 'ado-sync-multiorg-'));
const CONFIG = join(dir, 'multi.yml');
writeFileSync(
  CONFIG,
  `resources:
  - kind: project
    selector: { query: 'true' }
    port: { entity: { mappings: { identifier: .__organizationName + "/" + .id, title: .name, blueprint: '"azureDevopsProject"' } } }
  - kind: repository
    selector: { query: 'true' }
    port:
      entity:
        mappings:
          identifier: .__organizationName + "/" + .id
          title: .name
          blueprint: '"azureDevopsRepository"'
          relations: { project: .__organizationName + "/" + .project.id }
`,
);

describe('stale deletion with one failing organization', () => {
  let port: PortSimulator;
  let redis: Redis;
  const identifier = `multiorg-${process.pid}-${Date.now()}`;
  const sims: AdoSimulator[] = [];
  const config = loadAppConfig(CONFIG).config;

  beforeAll(async () => {
    const bp = (name: string) => JSON.parse(readFileSync(join('blueprints', `${name}.json`), 'utf8'));
    port = await startPortSimulator({ blueprints: [bp('azureDevopsProject'), bp('azureDevopsRepository')] });
    redis = new Redis('redis://127.0.0.1:6379');
  });
  afterAll(async () => {
    for (const s of sims) await s.close();
    await port.close();
    await deleteKeys(redis, `ado-sync:${identifier}*`);
    await redis.quit();
  });

  async function resync(projects: number, faults: AdoSimulatorOptions['faults'] = {}) {
    const sim = await startAdoSimulator({ organizations: ORGS, scale: { projects, reposPerProject: 2 }, entra: true, faults });
    sims.push(sim);
    const settings = loadSettings(
      {},
      {
        ADO_ACCOUNT_MODE: 'multiple',
        ADO_ORGANIZATION_URLS: ORGS.map((o) => sim.orgUrl(o)).join(','),
        ADO_CLIENT_ID: sim.entra!.clientId,
        ADO_CLIENT_SECRET: sim.entra!.clientSecret,
        ADO_TENANT_ID: sim.entra!.tenantId,
        ADO_AUTHORITY_HOST: sim.entra!.url,
        ADO_FLAVOR: 'services',
        ADO_MAX_ATTEMPTS: '1',
        PORT_CLIENT_ID: port.clientId,
        PORT_CLIENT_SECRET: port.clientSecret,
        PORT_BASE_URL: port.url,
        INTEGRATION_IDENTIFIER: identifier,
      },
    );
    const target = buildPortTarget(settings, config, silentLogger, redis);
    try {
      return await runFullResync({
        config,
        targets: buildTargets(settings, silentLogger),
        sink: target.sink,
        catalog: target.catalog,
        state: target.state,
        origins: target.origins,
        log: silentLogger,
        poolSize: 1,
        pageSize: 100,
        maxConcurrentOrganizations: 2,
      });
    } finally {
      await target.sink.close();
    }
  }

  const ids = (bp: string, org: string) => port.entities(bp).map((e) => e.identifier).filter((id) => id.startsWith(`${org}/`));

  it('deletes what vanished from the healthy organizations and keeps everything of the failed one', async () => {
    const first = await resync(3);
    expect(first.complete).toBe(true);
    for (const org of ORGS) expect(ids('azureDevopsProject', org)).toHaveLength(3);

    // One project fewer everywhere, and orgb cannot even list its projects.
    const second = await resync(2, { failPaths: [{ pattern: '^/orgb/_apis/projects', status: 500 }] });
    expect(second.complete).toBe(false);
    expect(second.deletion?.skippedReason).toBeUndefined();
    expect(ids('azureDevopsProject', 'orga')).toHaveLength(2);
    expect(ids('azureDevopsProject', 'orgc')).toHaveLength(2);
    expect(ids('azureDevopsProject', 'orgb')).toHaveLength(3);
    expect(ids('azureDevopsRepository', 'orgb')).toHaveLength(6);
  });
});
