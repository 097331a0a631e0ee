import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PatAuth } from '../../src/ado/auth.js';
import { AdoClient } from '../../src/ado/client.js';
import { parseOrganizationUrl } from '../../src/ado/orgUrl.js';
import { startAdoSimulator, type AdoSimulator } from './ado/index.js';

const auth = (pat: string) => ({ authorization: `Basic ${Buffer.from(`:${pat}`).toString('base64')}` });

describe('ado simulator: response cache (benchmarks)', () => {
  let sim: AdoSimulator;
  beforeAll(async () => {
    sim = await startAdoSimulator({ scale: { projects: 3, reposPerProject: 2, pipelinesPerProject: 1, buildsPerPipeline: 7 }, pageLimits: { builds: 3 } });
  });
  afterAll(() => sim.close());

  const buildsUrl = (project: string, token?: string) =>
    `${sim.orgUrl()}/${encodeURIComponent(project)}/_apis/build/builds?$top=3&api-version=7.1${token ? `&continuationToken=${token}` : ''}`;

  it('answers a repeated GET with the same body and continuation header, still logged and delayed, gzipped when accepted', async () => {
    const project = sim.dataset.org('acme')!.projects.record(0).name;
    const first = await fetch(buildsUrl(project), { headers: auth(sim.pat) });
    const firstBody = await first.text();
    const off = sim.cacheResponses((u) => u.replace(/&api-version=[^&]*/, ''));
    const fill = await fetch(buildsUrl(project), { headers: auth(sim.pat) });
    expect(await fill.text()).toBe(firstBody);
    sim.setFaults({ latencyMs: 30 });
    const before = sim.requests.length;
    const started = performance.now();
    // Undici asks for gzip and decodes it; a plain http client would get the same text uncompressed.
    const hit = await fetch(buildsUrl(project), { headers: auth(sim.pat) });
    expect(performance.now() - started).toBeGreaterThanOrEqual(29);
    expect(hit.headers.get('content-encoding')).toBe('gzip');
    expect(await hit.text()).toBe(firstBody);
    expect(hit.headers.get('x-ms-continuationtoken')).toBe(first.headers.get('x-ms-continuationtoken'));
    expect(sim.requests.length).toBe(before + 1);
    const plain = await fetch(buildsUrl(project), { headers: { ...auth(sim.pat), 'accept-encoding': 'identity' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(await plain.text()).toBe(firstBody);
    // Wrong credentials are still refused on a cached URL.
    expect((await fetch(buildsUrl(project), { headers: { ...auth('wrong'), 'x-tfs-fedauthredirect': 'Suppress' } })).status).toBe(401);
    sim.setFaults({});
    off();
  });

  it('caches a WIQL query by its body, and no other POST', async () => {
    const project = sim.dataset.org('acme')!.projects.record(0).name;
    const wiql = (query: string) =>
      fetch(`${sim.orgUrl()}/${encodeURIComponent(project)}/_apis/wit/wiql?api-version=7.1`, {
        method: 'POST',
        headers: { ...auth(sim.pat), 'content-type': 'application/json' },
        body: JSON.stringify({ query }),
      });
    const all = 'SELECT [System.Id] FROM WorkItems ORDER BY [System.Id]';
    const some = "SELECT [System.Id] FROM WorkItems WHERE [System.State] = 'Active' ORDER BY [System.Id]";
    const off = sim.cacheResponses();
    const fill = await wiql(all);
    expect(fill.headers.get('content-encoding')).toBeNull();
    const body = await fill.text();
    const hit = await wiql(all);
    expect(hit.headers.get('content-encoding')).toBe('gzip'); // only cached answers are compressed
    expect(await hit.text()).toBe(body);
    const other = await wiql(some);
    expect(other.headers.get('content-encoding')).toBeNull();
    const otherIds = (JSON.parse(await other.text()) as { workItems: unknown[] }).workItems;
    expect(otherIds.length).toBeLessThan((JSON.parse(body) as { workItems: unknown[] }).workItems.length);
    const lookup = () =>
      fetch(`${sim.orgUrl()}/_apis/graph/subjectlookup?api-version=7.1-preview.1`, {
        method: 'POST',
        headers: { ...auth(sim.pat), 'content-type': 'application/json' },
        body: JSON.stringify({ lookupKeys: [] }),
      });
    await lookup();
    const again = await lookup();
    expect(again.status).toBe(200);
    expect(again.headers.get('content-encoding')).toBeNull();
    off();
  });

  it("the worker's client reads gzipped pages: every build of every project, same as uncached", async () => {
    const org = parseOrganizationUrl(sim.orgUrl(), 'services');
    const client = new AdoClient(org, new PatAuth(sim.pat), { maxAttempts: 1 });
    const listAll = async () => {
      const ids: number[] = [];
      for (let p = 0; p < 3; p++) {
        const project = sim.dataset.org('acme')!.projects.record(p).name;
        let token: string | undefined;
        do {
          const res = await client.get<{ value: Array<{ id: number }> }>(client.url(`${encodeURIComponent(project)}/_apis/build/builds`), {
            $top: '3',
            continuationToken: token,
            'api-version': '7.1',
          });
          ids.push(...res.data.value.map((b) => b.id));
          token = res.headers.get('x-ms-continuationtoken') ?? undefined;
        } while (token);
      }
      return ids;
    };
    const uncached = await listAll();
    const off = sim.cacheResponses();
    await listAll();
    const requestsBefore = sim.requests.length;
    expect(await listAll()).toEqual(uncached);
    expect(uncached.length).toBe(3 * 7);
    expect(sim.requests.length - requestsBefore).toBe(3 * 3);
    off();
  });
});
