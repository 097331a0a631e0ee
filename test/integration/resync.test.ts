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

const dir = mkdtempSync(join(tmpdir(), 'ado-sync-resync-'));
const SCALE = { reposPerProject: 2, pullRequestsPerRepo: 3 };

function config(threshold = 0.9): string {
  const path = join(dir, `config-${threshold}.yml`);
  writeFileSync(
    path,
    `entityDeletionThreshold: ${threshold}
resources:
  - kind: project
    selector: { query: 'true' }
    port: { entity: { mappings: { identifier: .id, title: .name, blueprint: '"azureDevopsProject"', properties: { state: .state } } } }
  - kind: repository
    selector: { query: 'true' }
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"azureDevopsRepository"'
          properties: { url: .remoteUrl }
          relations: { project: .project.id }
`,
  );
  return path;
}

describe('ado-sync resync to the Port simulator', () => {
  let port: PortSimulator;
  let redis: Redis;
  const identifier = `resync-test-${process.pid}-${Date.now()}`;
  const sims: AdoSimulator[] = [];

  beforeAll(async () => {
    port = await startPortSimulator();
    redis = new Redis('redis://127.0.0.1:6379');
  });
  afterAll(async () => {
    for (const s of sims) await s.close();
    await port.close();
    await deleteKeys(redis, `ado-sync:${identifier}*`);
    await redis.quit();
  });

  async function ado(projects: number, faults = {}) {
    const sim = await startAdoSimulator({ pat: 'resync-pat-123456', scale: { projects, ...SCALE }, faults });
    sims.push(sim);
    return sim;
  }

  const run = (sim: AdoSimulator, args: string[] = [], cfg = config()) =>
    runCli(['resync', '--config', cfg, ...args], {
      // Two resources at once: projects and repositories (which relate to them) run side by side.
      env: syncEnv(sim, port, { INTEGRATION_IDENTIFIER: identifier, REDIS_URL: 'redis://127.0.0.1:6379', LOG_LEVEL: 'info', ADO_MAX_CONCURRENT_RESOURCES: '2' }),
    });
  const upserts = () => port.requestsTo('POST', /\/entities\/bulk$/).length + port.requestsTo('POST', /\/entities$/).length;

  it('creates blueprints, entities and relations on the first run', async () => {
    const sim = await ado(5);
    const r = await run(sim);
    expect(r.stderr).toMatch(/blueprints: created [1-9]\d*, kept 0/);
    expect(r.code).toBe(0);
    expect(port.entities('azureDevopsProject')).toHaveLength(5);
    // A project first seen as a relation target of a repository still ends up whole.
    for (const p of port.entities('azureDevopsProject')) expect([p.identifier, typeof p.title, p.properties.state]).toEqual([p.identifier, 'string', 'wellFormed']);
    const repos = port.entities('azureDevopsRepository');
    expect(repos).toHaveLength(10);
    const projectIds = new Set(port.entities('azureDevopsProject').map((e) => e.identifier));
    for (const repo of repos) expect(projectIds.has(repo.relations.project as string)).toBe(true);
    for (const secret of [port.clientSecret, sim.pat]) {
      expect(r.stderr).not.toContain(secret);
      expect(r.stdout).not.toContain(secret);
    }
  });

  it('sends zero upserts when nothing changed', async () => {
    const before = upserts();
    const r = await run(sims[0]!);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/blueprints: created 0, kept [1-9]/);
    expect(upserts() - before).toBe(0);
    expect(r.stderr).toMatch(/repository\s+ok\s+10\s+10\s+0\s+0\s+0\s+10/);
  });

  it('deletes nothing when a resource failed, even though entities disappeared', async () => {
    const sim = await ado(4, { failPaths: [{ pattern: '/_apis/git/repositories$', status: 500 }] });
    const r = await run(sim, ['--max-attempts', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/stale deletion: .*deleted 0 \(skipped: resources\[1\] repository/);
    expect(port.entities('azureDevopsProject')).toHaveLength(5);
    expect(port.entities('azureDevopsRepository')).toHaveLength(10);
  });

  it('deletes nothing when the share to delete crosses entityDeletionThreshold', async () => {
    const sim = await ado(4);
    const r = await run(sim, [], config(0.1));
    expect(r.stderr).toContain('skipped: over entityDeletionThreshold');
    expect(port.entities('azureDevopsProject')).toHaveLength(5);
  });

  it('deletes what disappeared from Azure DevOps after a complete resync', async () => {
    const sim = await ado(4);
    const gone = [...sims[0]!.dataset.projects()].map((p) => p.id).filter((id) => ![...sim.dataset.projects()].some((p) => p.id === id));
    expect(gone).toHaveLength(1);
    const r = await run(sim);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/stale deletion: owned \d+, stale 3, deleted [1-3]/);
    expect(port.entities('azureDevopsProject').map((e) => e.identifier)).not.toContain(gone[0]);
    expect(port.entities('azureDevopsProject')).toHaveLength(4);
    expect(port.entities('azureDevopsRepository')).toHaveLength(8);
  });
});
