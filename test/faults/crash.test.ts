/**
 * Fault suite, the catalog side and the process (decision 4 and 8): Port failing in the middle of a resync, and the
 * worker killed (SIGKILL) in the middle of one. Nothing may be deleted, and one clean resync afterwards converges.
 *
 * These faults need writes to happen during the fault run, so the run before it is followed by a loss of the worker's
 * Redis state (every entity is then written again), or the fault run is the very first one.
 */
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { FaultRig, PATHS, Verdict, cleanStart, type FaultCase, type RunOutcome } from './harness.js';

/** Bulk upserts Port accepts before the fault. */
const K = 3;

describe('fault suite: Port outage and SIGKILL mid-resync', () => {
  let rig: FaultRig;
  beforeAll(async () => {
    rig = await FaultRig.start({ name: 'crash' });
  });
  afterAll(async () => {
    await rig?.close();
  });

  /** (b) and (c) after a fault run whose outcome was checked into `v`. */
  async function finish(c: FaultCase, v: Verdict): Promise<void> {
    v.nothingWronglyDeleted('the fault run', c);
    const after = await c.clean();
    v.exit('the next clean resync', after, 0).converged('the next clean resync', c).assert();
  }

  /** Port answers 503 (Retry-After: 0, so the worker's retries run out at once) to everything after K bulk upserts. */
  async function portOutage(c: FaultCase, requests: number | 'all'): Promise<RunOutcome> {
    const proxy = c.portProxy!;
    proxy.setRules([
      {
        name: 'port-outage',
        path: /^\/v1\//,
        active: () => proxy.count('POST', PATHS.portBulkUpsert) >= K,
        when: requests === 'all' ? 'every' : { first: requests },
        action: { type: 'status', status: 503, retryAfter: '0' },
      },
    ]);
    try {
      return await c.run();
    } finally {
      proxy.clear();
    }
  }

  it('a Port outage in the middle of the writes fails the resync', () =>
    rig.withCase(
      'port-outage',
      async (c) => {
        await cleanStart(c);
        await c.dropRedisState();
        const run = await portOutage(c, 'all');
        const v = new Verdict().check(c.portProxy!.fired('port-outage') > 0, 'the Port outage never started').exit('the fault run', run, 1);
        await finish(c, v);
      },
      { portProxy: true },
    ));

  it('a short Port outage in the middle of the writes is absorbed', () =>
    rig.withCase(
      'port-blip',
      async (c) => {
        await cleanStart(c);
        await c.dropRedisState();
        const run = await portOutage(c, 3);
        const v = new Verdict().check(c.portProxy!.fired('port-outage') === 3, 'the Port outage did not happen').exit('the fault run', run, 0);
        await finish(c, v);
      },
      { portProxy: true },
    ));

  it('Port answering 5xx now and then (Port simulator faults) is absorbed', () =>
    rig.withCase('port-5xx', async (c) => {
      await cleanStart(c);
      await c.dropRedisState();
      c.port.setFaults({ serverErrorEvery: 5, serverErrorStatus: 502 });
      const run = await c.run();
      c.port.setFaults({ serverErrorEvery: 0 });
      const v = new Verdict().check(c.port.requests.some((r) => r.status === 502), 'Port never answered 502').exit('the fault run', run, 0);
      await finish(c, v);
    }));

  /** Starts a resync, kills it with SIGKILL once Port has taken `k` more bulk upserts, and checks it died of it. */
  async function killAfterUpserts(c: FaultCase, v: Verdict, k: number): Promise<void> {
    const target = c.bulkUpserts() + k;
    const run = c.spawn();
    // Either Port sees the upserts, or the run ends first (then it was not killed mid-run, which the verdict reports).
    await Promise.race([c.port.untilRequests('POST', PATHS.portBulkUpsert, target), run.exit]);
    run.kill('SIGKILL');
    const out = await run.exit;
    v.attach('the killed resync', out).check(out.signal === 'SIGKILL', `the resync ended (exit ${out.code}) before ${k} bulk upserts, so it was not killed mid-run`);
  }

  it('SIGKILL in the middle of the first resync', () =>
    rig.withCase('sigkill-first', async (c) => {
      const v = new Verdict();
      await killAfterUpserts(c, v, K);
      const after = await c.clean();
      v.exit('the next clean resync', after, 0).converged('the next clean resync', c).assert();
    }));

  it('SIGKILL in the middle of a resync that rewrites everything (Redis state lost)', () =>
    rig.withCase('sigkill-rewrite', async (c) => {
      await cleanStart(c);
      await c.dropRedisState();
      const v = new Verdict();
      await killAfterUpserts(c, v, K);
      await finish(c, v);
    }));
});
