import { describe, expect, it } from '@jest/globals';
import { SYNC_COUNTERS, SyncMetrics, queueRegistry, scrapeRegistry } from '../../src/observability/metrics.js';

const stats = () => ({ requests: 0, retries: 0, throttled: 0, failures: 0, byStatus: new Map<number, number>() });

/** The samples of one metric as `labels value` lines. */
async function samples(metrics: SyncMetrics, name: string): Promise<string[]> {
  const text = await metrics.registry.getSingleMetricAsString(name);
  return text.split('\n').filter((l) => l.startsWith(name)).map((l) => l.slice(name.length));
}

describe('metrics', () => {
  it('declares each name once, under the ado_sync_ prefix', () => {
    const names: string[] = [];
    const walk = (o: object) => Object.values(o).forEach((d: { name?: unknown }) => (typeof d.name === 'string' ? names.push(d.name) : walk(d)));
    walk(SYNC_COUNTERS);
    expect(names.length).toBeGreaterThan(15);
    expect(new Set(names).size).toBe(names.length);
    expect(names.filter((n) => !/^ado_sync_[a-z_]+_total$/.test(n))).toEqual([]);
  });

  it("reads a client's stats as often as asked, counting each request once", async () => {
    const m = new SyncMetrics();
    const a = stats();
    a.requests = 3;
    a.byStatus.set(200, 2).set(429, 1);
    a.throttled = 1;
    a.retries = 1;
    m.recordAdo('org-a', a);
    m.recordAdo('org-a', a);
    a.requests = 5;
    a.failures = 1;
    a.byStatus.set(200, 3).set(500, 1);
    m.recordAdo('org-a', a);
    // Another client of the same organization (one per job) adds to the same series.
    const b = { ...stats(), requests: 2, byStatus: new Map([[200, 2]]) };
    m.recordAdo('org-a', b);
    m.recordPort({ ...stats(), requests: 4, retries: 2, byStatus: new Map([[200, 4]]) });
    expect(await samples(m, 'ado_sync_ado_requests_total')).toEqual(['{org="org-a"} 7']);
    expect(await samples(m, 'ado_sync_ado_retries_total')).toEqual(['{org="org-a"} 1']);
    expect(await samples(m, 'ado_sync_ado_throttled_total')).toEqual(['{org="org-a"} 1']);
    expect(await samples(m, 'ado_sync_ado_failures_total')).toEqual(['{org="org-a"} 1']);
    expect((await samples(m, 'ado_sync_ado_responses_total')).sort()).toEqual(['{org="org-a",status="200"} 5', '{org="org-a",status="429"} 1', '{org="org-a",status="500"} 1']);
    expect(await samples(m, 'ado_sync_port_requests_total')).toEqual([' 4']);
    expect(await samples(m, 'ado_sync_port_retries_total')).toEqual([' 2']);
    expect(await samples(m, 'ado_sync_port_responses_total')).toEqual(['{status="200"} 4']);
  });

  it('counts resources and webhook events by their labels', async () => {
    const m = new SyncMetrics();
    m.recordResource({ kind: 'repository', status: 'ok', rawItems: 5, entities: 4, written: 3 });
    m.recordResource({ kind: 'repository', status: 'failed', rawItems: 1, entities: 0, written: 0 });
    m.webhookReceived('git.push');
    m.webhookHandled('git.push', 'handled');
    expect(await samples(m, 'ado_sync_items_fetched_total')).toEqual(['{kind="repository"} 6']);
    expect(await samples(m, 'ado_sync_items_written_total')).toEqual(['{kind="repository"} 3']);
    expect((await samples(m, 'ado_sync_resource_runs_total')).sort()).toEqual(['{kind="repository",status="failed"} 1', '{kind="repository",status="ok"} 1']);
    expect(await samples(m, 'ado_sync_webhooks_handled_total')).toEqual(['{eventType="git.push",status="handled"} 1']);
  });

  it('reads each queue once per scrape, for both queue gauges', async () => {
    let reads = 0;
    const queues = queueRegistry([
      { name: 'a', counts: async () => (reads++, { waiting: 2, failed: 1 }) },
      { name: 'b', counts: () => Promise.reject(new Error('redis timeout')) },
    ]);
    // Two clusters' registries in one process: each its own series, merged with the process metrics once.
    const text = await scrapeRegistry(queues, new SyncMetrics().registry).metrics();
    expect(reads).toBe(1);
    expect(text).toContain('ado_sync_jobs{queue="a",state="waiting"} 2');
    expect(text).toContain('ado_sync_queue_up{queue="a"} 1');
    expect(text).toContain('ado_sync_queue_up{queue="b"} 0');
    expect(text).not.toContain('ado_sync_jobs{queue="b"');
    await scrapeRegistry(queues).metrics();
    expect(reads).toBe(2);
  });
});
