import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { startPortSimulator, type PortSimulator } from '../simulators/port/index.js';
import { defaultBlueprints } from '../simulators/port/fixtures.js';
import { clientFor, project, repo } from '../simulators/port/testing.js';
import { PortAuthError } from '../../src/catalog/port/errors.js';
import { PortClient } from '../../src/catalog/port/client.js';
import { PortCatalog } from '../../src/catalog/port/catalog.js';

const flags = { createMissingRelatedEntities: false, merge: true };
const bulkPath = (bp: string) => `/v1/blueprints/${bp}/entities/bulk`;

let sim: PortSimulator;

beforeEach(async () => {
  sim = await startPortSimulator({ blueprints: defaultBlueprints() });
});

afterEach(async () => {
  await sim.close();
});

describe('PortClient against the Port simulator', () => {
  test('bulk upsert creates entities and relations, with the ownership User-Agent and upsert flags', async () => {
    const client = clientFor(sim);
    const projects = await client.upsertEntities('project', [project('p1'), project('p2')], flags);
    expect(projects.map((r) => r.ok)).toEqual([true, true]);
    const repos = await client.upsertEntities(
      'repository',
      [repo('r1', { relations: { project: 'p1' } }), repo('r2', { relations: { project: 'p2' } })],
      flags,
    );
    expect(repos).toEqual([
      expect.objectContaining({ index: 0, ok: true, identifier: 'r1', created: true }),
      expect.objectContaining({ index: 1, ok: true, identifier: 'r2', created: true }),
    ]);
    expect(sim.entity('repository', 'r1')).toMatchObject({ relations: { project: 'p1' }, properties: { defaultBranch: 'main' } });
    expect(sim.entity('repository', 'r2')?.datasource).toBe('ado-catalog-sync/9.9.9/test-instance/exporter');

    const bulk = sim.requestsTo('POST', bulkPath('repository'));
    expect(bulk).toHaveLength(1);
    expect(bulk[0]!.query).toMatchObject({ upsert: 'true', merge: 'true', create_missing_related_entities: 'false' });
    expect(bulk[0]!.userAgent).toBe('ado-catalog-sync/9.9.9/test-instance/exporter');
    expect(sim.requestsTo('POST', '/v1/auth/access_token')).toHaveLength(1);
  });

  test('per-entity errors map back to the position of the entity that caused them', async () => {
    const client = clientFor(sim);
    await client.upsertEntities('project', [project('p1')], flags);
    const input = [
      repo('ok-1', { relations: { project: 'p1' } }),
      repo('bad-type', { properties: { url: 'https://x.example/a', size: 'big' } }),
      repo('ok-2'),
      repo('missing-target', { relations: { project: 'nope' } }),
      repo('no-url', { properties: { defaultBranch: 'main' } }),
      { ...repo('x'), identifier: 'has space' },
    ];
    const results = await client.upsertEntities('repository', input, flags);
    expect(results.map((r) => [r.index, r.ok, r.statusCode, r.error])).toEqual([
      [0, true, undefined, undefined],
      [1, false, 422, 'invalid_request'],
      [2, true, undefined, undefined],
      [3, false, 404, 'not_found'],
      [4, false, 422, 'invalid_request'],
      [5, false, 422, 'invalid_request'],
    ]);
    expect(results[3]!.message).toContain('nope');
    expect(sim.entities('repository').map((e) => e.identifier).sort()).toEqual(['ok-1', 'ok-2']);
    expect(sim.requestsTo('POST', bulkPath('repository'))[0]!.status).toBe(207);
  });

  test('batches hold at most 20 entities and stay under the byte budget', async () => {
    const client = clientFor(sim, { maxBatchBytes: 20_000 });
    const many = Array.from({ length: 45 }, (_, i) => repo(`r${String(i).padStart(2, '0')}`));
    const results = await client.upsertEntities('repository', many, flags);
    expect(results.every((r) => r.ok)).toBe(true);
    const sizes = sim.requestsTo('POST', bulkPath('repository')).map((r) => (r.body as { entities: unknown[] }).entities.length);
    expect(sizes.sort((a, b) => b - a)).toEqual([20, 20, 5]);

    const big = Array.from({ length: 10 }, (_, i) => repo(`big${i}`, { properties: { url: 'https://x.example/a', readme: 'x'.repeat(6_000) } }));
    sim.clearRequests();
    expect((await client.upsertEntities('repository', big, flags)).every((r) => r.ok)).toBe(true);
    const bigBatches = sim.requestsTo('POST', bulkPath('repository'));
    expect(bigBatches.length).toBeGreaterThanOrEqual(4);
    for (const r of bigBatches) expect(Buffer.byteLength(JSON.stringify(r.body))).toBeLessThanOrEqual(20_000);
  });

  test('a batch refused with 413 is split until it fits; an entity too large on its own fails alone', async () => {
    sim.setFaults({ bodyLimitBytes: 8_000 });
    const client = clientFor(sim); // default 700 KB budget: the simulator's small limit forces 413s
    const input = Array.from({ length: 12 }, (_, i) => repo(`r${i}`, { properties: { url: 'https://x.example/a', readme: 'y'.repeat(1_500) } }));
    input.splice(5, 0, repo('huge', { properties: { url: 'https://x.example/a', readme: 'z'.repeat(9_000) } }));
    const results = await client.upsertEntities('repository', input, flags);
    expect(results[5]).toMatchObject({ ok: false, statusCode: 413 });
    expect(results.filter((r) => r.ok)).toHaveLength(12);
    expect(sim.entities('repository')).toHaveLength(12);
    const statuses = sim.requestsTo('POST', bulkPath('repository')).map((r) => r.status);
    expect(statuses[0]).toBe(413);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(1);
  });

  test('a token expiring mid-run is refreshed once and the batch is replayed, nothing lost', async () => {
    const client = clientFor(sim);
    const first = await client.upsertEntities('project', [project('p1'), project('p2')], flags);
    sim.expireTokens();
    const second = await client.upsertEntities('project', [project('p3'), project('p4')], flags);
    expect([...first, ...second].every((r) => r.ok)).toBe(true);
    expect(sim.entities('project').map((e) => e.identifier).sort()).toEqual(['p1', 'p2', 'p3', 'p4']);
    expect(client.tokenFetches).toBe(2);
    expect(client.stats.tokenRefreshesAfter401).toBe(1);
    const seq = sim.requests.map((r) => `${r.method} ${r.path} ${r.status}`);
    expect(seq).toEqual([
      'POST /v1/auth/access_token 200',
      'POST /v1/blueprints/project/entities/bulk 200',
      'POST /v1/blueprints/project/entities/bulk 401',
      'POST /v1/auth/access_token 200',
      'POST /v1/blueprints/project/entities/bulk 200',
    ]);
    expect(sim.requests[4]!.body).toEqual(sim.requests[2]!.body);
  });

  test('a 429 storm (every 2nd request) completes without loss', async () => {
    sim.setFaults({ throttleEvery: 2, retryAfterSeconds: 0 });
    const client = clientFor(sim, { concurrency: 4 });
    const input = Array.from({ length: 200 }, (_, i) => project(`p${i}`));
    const results = await client.upsertEntities('project', input, flags);
    expect(results.filter((r) => r.ok)).toHaveLength(200);
    expect(sim.entities('project')).toHaveLength(200);
    expect(client.stats.throttled).toBeGreaterThan(0);
    expect(sim.requests.filter((r) => r.status === 429).length).toBe(client.stats.throttled);
  });

  test('Retry-After is honoured on a 429', async () => {
    sim.setFaults({ throttleEvery: 2, retryAfterSeconds: 1 });
    const client = clientFor(sim);
    const started = Date.now();
    const [r] = await client.upsertEntities('project', [project('p1')], flags);
    expect(r!.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(sim.requests.map((x) => x.status)).toEqual([200, 429, 200]);
  });

  test('x-ratelimit-reset is ignored on 5xx (exponential backoff instead)', async () => {
    sim.setFaults({ serverErrorEvery: 2, serverErrorStatus: 502, rateLimitResetSeconds: 60 });
    const client = clientFor(sim);
    const started = Date.now();
    const [r] = await client.upsertEntities('project', [project('p1')], flags);
    expect(r!.ok).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sim.requests.map((x) => x.status)).toEqual([200, 502, 200]);
  });

  test('bad credentials fail fast with an error that names neither the id nor the secret', async () => {
    const client = new PortClient(
      { clientId: 'my-client-id-123', clientSecret: 'super-secret-value-xyz', baseUrl: sim.url, integrationIdentifier: 'x' },
      { backoffBaseMs: 1 },
    );
    const err = await client.listBlueprints().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PortAuthError);
    const message = (err as Error).message;
    expect(message).toMatch(/client credentials/);
    expect(message).not.toContain('super-secret-value-xyz');
    expect(message).not.toContain('my-client-id-123');
    expect(sim.requests).toHaveLength(1);
  });

  test('ownedIdentifiers pages through this instance\'s entities only; delete goes in batches of 100', async () => {
    const mine = clientFor(sim);
    const other = clientFor(sim, {}, undefined, 'other-instance');
    const older = new PortClient(
      { clientId: sim.clientId, clientSecret: sim.clientSecret, baseUrl: sim.url, integrationIdentifier: 'test-instance', version: '0.0.1' },
      { backoffBaseMs: 1 },
    );
    await mine.upsertEntities('project', Array.from({ length: 140 }, (_, i) => project(`m${String(i).padStart(3, '0')}`)), flags);
    await older.upsertEntities('project', [project('old-version')], flags);
    await other.upsertEntities('project', [project('theirs')], flags);
    const catalog = new PortCatalog(mine, { pageSize: 50 });
    const owned: string[] = [];
    for await (const page of catalog.ownedIdentifiers('project', 'ours')) owned.push(...page);
    expect(owned).toHaveLength(141);
    expect(owned).toContain('old-version');
    expect(owned).not.toContain('theirs');
    expect(sim.requestsTo('POST', '/v1/blueprints/project/entities/search')).toHaveLength(3);

    const res = await catalog.delete('project', owned);
    expect(res.deleted.sort()).toEqual([...owned].sort());
    expect(res.failed).toEqual([]);
    const deletes = sim.requestsTo('POST', '/v1/blueprints/project/bulk/entities/delete');
    expect(deletes.map((d) => (d.body as { entities: string[] }).entities.length).sort((a, b) => b - a)).toEqual([100, 41]);
    expect(deletes[0]!.query.delete_dependents).toBe('true');
    expect(sim.entities('project').map((e) => e.identifier)).toEqual(['theirs']);
  });

  test('search asks for the next page while the caller is still on the current one, and no page beyond the last', async () => {
    const client = clientFor(sim);
    await client.upsertEntities('project', Array.from({ length: 120 }, (_, i) => project(`p${String(i).padStart(3, '0')}`)), flags);
    const searchPath = '/v1/blueprints/project/entities/search';
    const pages = client.search('project', undefined, ['$identifier'], 50)[Symbol.asyncIterator]();
    const first = await pages.next();
    expect(first.value).toHaveLength(50);
    // Settles only if page 2 was asked for before the caller asked for it.
    let timer: NodeJS.Timeout | undefined;
    const noReadAhead = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('page 2 was not requested before the caller asked for it')), 5000);
    });
    await Promise.race([sim.untilRequests('POST', searchPath, 2), noReadAhead]).finally(() => clearTimeout(timer));
    const ids = (first.value as Array<{ identifier: string }>).map((e) => e.identifier);
    for (let r = await pages.next(); !r.done; r = await pages.next()) ids.push(...r.value.map((e) => e.identifier));
    expect(ids).toHaveLength(120);
    expect(new Set(ids).size).toBe(120);
    expect(sim.requestsTo('POST', searchPath).map((r) => (r.body as { from?: string }).from === undefined)).toEqual([true, false, false]);
  });

  test('with deleteDependentEntities off, a refused bulk delete falls back to one by one', async () => {
    const client = clientFor(sim);
    await client.upsertEntities('project', [project('p1'), project('p2')], flags);
    await client.upsertEntities('repository', [repo('r1', { relations: { project: 'p1' } })], flags);
    const catalog = new PortCatalog(client, { deleteDependentEntities: false });
    const res = await catalog.delete('project', ['p1', 'p2']);
    expect(res.deleted).toEqual(['p2']);
    expect(res.failed).toEqual([{ identifier: 'p1', error: expect.stringContaining('has_dependents') }]);
    expect(sim.entity('repository', 'r1')).toBeDefined();
  });
});
