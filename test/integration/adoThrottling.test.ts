import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PatAuth } from '../../src/ado/auth.js';
import { AdoClient } from '../../src/ado/client.js';
import { parseOrganizationUrl } from '../../src/ado/orgUrl.js';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';

describe('azure devops client: throttling is pacing, not failure', () => {
  let sim: AdoSimulator;
  beforeAll(async () => {
    sim = await startAdoSimulator({ scale: { projects: 3 } });
  });
  afterAll(() => sim.close());

  const client = (maxAttempts: number) =>
    new AdoClient(parseOrganizationUrl(sim.orgUrl(), 'services'), new PatAuth(sim.pat), { maxAttempts, backoffBaseMs: 1, backoffMaxMs: 5 });
  const projects = (c: AdoClient) =>
    Promise.allSettled(Array.from({ length: 12 }, () => c.get<{ count: number }>(c.url('_apis/projects'), { 'api-version': '7.1' })));

  it('429 answers do not use up the attempts: every request gets through with a budget of one attempt', async () => {
    sim.setFaults({ throttleEvery: 2, retryAfterSeconds: 0 });
    const before = sim.requests.length;
    const c = client(1);
    const results = await projects(c);
    sim.setFaults({});
    expect(results.map((r) => r.status)).toEqual(Array(12).fill('fulfilled'));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value.data.count : 0))).toEqual(Array(12).fill(3));
    // Half the answers were 429s, retried without counting against maxAttempts.
    const throttled = sim.requests.slice(before).filter((q) => q.status === 429).length;
    expect(throttled).toBeGreaterThanOrEqual(11);
    expect(c.stats.throttled).toBe(throttled);
  });

  it('other retryable errors still count: a 503 fails a request whose single attempt it took', async () => {
    sim.setFaults({ unavailableEvery: 2, retryAfterSeconds: 0 });
    const results = await projects(client(1));
    sim.setFaults({});
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed.length).toBeGreaterThanOrEqual(5);
    expect(String((failed[0] as PromiseRejectedResult).reason)).toMatch(/failed after 1 attempt.*HTTP 503/s);
  });
});
