import { describe, expect, it } from '@jest/globals';
import type { PortAppConfig, ResourceConfig } from '../../src/config/appConfig.js';
import { isIndependent, runResourcesInOrder } from '../../src/sync/resourceOrder.js';

const res = (blueprint: string, relations: Record<string, string> = {}) =>
  ({ kind: 'project', selector: { query: 'true' }, port: { entity: { mappings: { identifier: '.id', blueprint, properties: {}, relations } } } }) as unknown as ResourceConfig;
const cfg = (resources: ResourceConfig[], createMissingRelatedEntities = true) => ({ resources, createMissingRelatedEntities }) as Pick<PortAppConfig, 'resources' | 'createMissingRelatedEntities'>;

/** A controllable run: records start order, and each resource ends only when the test says so. */
function harness() {
  const events: string[] = [];
  const enders = new Map<number, (v: string) => void>();
  const failers = new Map<number, (e: Error) => void>();
  const startedSignal: Array<() => void> = [];
  const run = (index: number) =>
    new Promise<string>((resolve, reject) => {
      events.push(`start ${index}`);
      enders.set(index, (v) => {
        events.push(`end ${index}`);
        resolve(v);
      });
      failers.set(index, reject);
      startedSignal.shift()?.();
    });
  /** Resolves once the next resource has started (or at once if `index` already has). */
  const started = (index: number) => (enders.has(index) ? Promise.resolve() : new Promise<void>((r) => startedSignal.push(r)));
  return { events, run, started, end: (i: number) => enders.get(i)!(`r${i}`), fail: (i: number, e: Error) => failers.get(i)!(e) };
}

describe('which resources may run beside the others', () => {
  it('needs a unique literal blueprint, and literal blueprints everywhere else', () => {
    expect(isIndependent(cfg([res('"a"'), res('"b"')]), 1)).toBe(true);
    expect(isIndependent(cfg([res("'a'"), res('"b"')]), 0)).toBe(true);
    expect(isIndependent(cfg([res('"a"'), res('"a"')]), 1)).toBe(false);
    expect(isIndependent(cfg([res('"a"'), res('if .x then "a" else "b" end')]), 0)).toBe(false);
    expect(isIndependent(cfg([res('"a"'), res('.kind')]), 1)).toBe(false);
  });

  it('lets a resource with relations run beside the others only when the catalog creates missing targets', () => {
    const resources = [res('"p"'), res('"r"', { project: '.project.id' })];
    expect(isIndependent(cfg(resources, true), 1)).toBe(true);
    expect(isIndependent(cfg(resources, false), 1)).toBe(false);
    expect(isIndependent(cfg(resources, false), 0)).toBe(true);
  });
});

describe('running resources in config order', () => {
  it('runs independent resources up to the limit at once, starting them in config order', async () => {
    const h = harness();
    const done = runResourcesInOrder({ config: cfg([res('"a"'), res('"b"'), res('"c"')]), indexes: [0, 1, 2], concurrency: 2, run: h.run });
    await h.started(1);
    expect(h.events).toEqual(['start 0', 'start 1']);
    h.end(1);
    await h.started(2);
    expect(h.events).toEqual(['start 0', 'start 1', 'end 1', 'start 2']);
    h.end(2);
    h.end(0);
    expect(await done).toEqual(['r0', 'r1', 'r2']);
  });

  it('starts a dependent resource only after everything before it, and holds back everything after it', async () => {
    const h = harness();
    const resources = [res('"a"'), res('"b"', { a: '.a' }), res('"c"')];
    const done = runResourcesInOrder({ config: cfg(resources, false), indexes: [0, 1, 2], concurrency: 3, run: h.run });
    await h.started(0);
    h.end(0);
    await h.started(1);
    h.end(1);
    await h.started(2);
    h.end(2);
    expect(h.events).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
    expect(await done).toEqual(['r0', 'r1', 'r2']);
  });

  it('runs only the indexes asked for, one at a time with a limit of 1', async () => {
    const h = harness();
    const done = runResourcesInOrder({ config: cfg([res('"a"'), res('"b"'), res('"c"')]), indexes: [0, 2], concurrency: 1, run: h.run });
    await h.started(0);
    expect(h.events).toEqual(['start 0']);
    h.end(0);
    await h.started(2);
    h.end(2);
    expect(await done).toEqual(['r0', 'r2']);
    expect(h.events).toEqual(['start 0', 'end 0', 'start 2', 'end 2']);
  });

  it('lets the running resources finish before raising a failure, and starts nothing once aborted', async () => {
    const h = harness();
    const abort = new AbortController();
    const done = runResourcesInOrder({ config: cfg([res('"a"'), res('"b"'), res('"c"')]), indexes: [0, 1, 2], concurrency: 2, signal: abort.signal, run: h.run });
    let settled = false;
    done.then(() => (settled = true), () => (settled = true));
    await h.started(1);
    abort.abort();
    h.fail(0, new Error('boom'));
    await Promise.resolve();
    expect(settled).toBe(false); // resource 1 is still running
    h.end(1);
    await expect(done).rejects.toThrow('boom');
    expect(h.events).toEqual(['start 0', 'start 1', 'end 1']);
  });

  it('starts nothing after a resource has failed, as the one-at-a-time loop did', async () => {
    const h = harness();
    const done = runResourcesInOrder({ config: cfg([res('"a"'), res('"b"'), res('"c"')]), indexes: [0, 1, 2], concurrency: 2, run: h.run });
    await h.started(1);
    h.fail(0, new Error('boom'));
    h.end(1);
    await expect(done).rejects.toThrow('boom');
    expect(h.events).toEqual(['start 0', 'start 1', 'end 1']);
  });
});
