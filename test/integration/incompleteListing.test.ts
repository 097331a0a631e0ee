import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';
import { startPortSimulator, type PortSimulator } from '../simulators/port/index.js';
import { runCli } from '../helpers/cli.js';
import { syncEnv } from '../helpers/env.js';
import { deleteKeys } from '../helpers/redisKeys.js';

const dir = mkdtempSync(join(tmpdir(), 'ado-sync-incomplete-'));
const config = join(dir, 'config.yml');
writeFileSync(
  config,
  `resources:
  - kind: project
    selector: { query: 'true' }
    port: { entity: { mappings: { identifier: .id, title: .name, blueprint: '"azureDevopsProject"' } } }
  - kind: repository
    selector: { query: 'true' }
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"azureDevopsRepository"'
          relations: { project: .project.id }
`,
);

/** Issue 17, item 1: `GET _apis/git/repositories` answered `200 {"message":"ok"}` made the resync delete every repository. */
describe('a listing answered 200 without its array, through the CLI', () => {
  let ado: AdoSimulator;
  let port: PortSimulator;
  let redis: Redis;
  const identifier = `incomplete-listing-${process.pid}-${Date.now()}`;
  const resync = () =>
    runCli(['resync', '--config', config], {
      env: syncEnv(ado, port, { INTEGRATION_IDENTIFIER: identifier, REDIS_URL: 'redis://127.0.0.1:6379', LOG_LEVEL: 'info' }),
    });

  beforeAll(async () => {
    ado = await startAdoSimulator({ pat: 'incomplete-pat-123456', scale: { projects: 3, reposPerProject: 2, pullRequestsPerRepo: 0 } });
    port = await startPortSimulator();
    redis = new Redis('redis://127.0.0.1:6379');
  });
  afterAll(async () => {
    await ado.close();
    await port.close();
    await deleteKeys(redis, `ado-sync:${identifier}*`);
    await redis.quit();
  });

  it('fails the repository resource as incomplete, exits 1 and deletes nothing', async () => {
    const first = await resync();
    expect(first.code).toBe(0);
    const repositories = port.entities('azureDevopsRepository').length;
    expect(repositories).toBeGreaterThan(0);
    const projects = port.entities('azureDevopsProject').length;

    const unpatch = ado.patchResponses('/_apis/git/repositories$', () => ({ message: 'ok' }));
    try {
      const r = await resync();
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/_apis\/git\/repositories\?api-version=7\.1: the answer has no "value" array \(keys: message\); incomplete listing/);
      expect(r.stderr).toMatch(/repository\s+failed/);
      expect(r.stderr).toMatch(/stale deletion: .*deleted 0 \(skipped: resources\[1\] repository/);
    } finally {
      unpatch();
    }
    expect(port.requestsTo('DELETE', /\/entities/)).toHaveLength(0);
    expect(port.entities('azureDevopsRepository')).toHaveLength(repositories);
    expect(port.entities('azureDevopsProject')).toHaveLength(projects);
  });
});
