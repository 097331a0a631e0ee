/**
 * Fault suite, transport faults (decision 6 and 8): 429 storms with Retry-After, 5xx answers and requests that never
 * answer. A short storm, one 5xx or one timeout is absorbed by the worker's retries (exit 0, catalog = reference);
 * a fault that outlasts ADO_MAX_ATTEMPTS (or the 429 budget) fails the resync (exit 1) and deletes nothing.
 */
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { FaultRig, PATHS, faultCase } from './harness.js';

const ANY_API = /\/_apis\//i;
const hasToken = (q: URLSearchParams) => q.has('continuationToken');

describe('fault suite: throttling, server errors and timeouts', () => {
  let rig: FaultRig;
  beforeAll(async () => {
    rig = await FaultRig.start({ name: 'transport' });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('a short 429 storm over every endpoint is absorbed', () =>
    rig.withCase('429-short', (c) =>
      faultCase(c, { rules: [{ name: '429-storm', path: ANY_API, when: { first: 6 }, action: { type: 'status', status: 429, retryAfter: '0.2' } }], exitCode: 0 }),
    ));

  it('an endless 429 storm on the repository listing fails the resync', () =>
    rig.withCase('429-endless', (c) =>
      faultCase(c, { rules: [{ name: '429-storm', method: 'GET', path: PATHS.repositories, action: { type: 'status', status: 429, retryAfter: '0' } }], exitCode: 1 }),
    ));

  it('one 503 on a project page is absorbed', () =>
    rig.withCase('503-once', (c) =>
      faultCase(c, { rules: [{ name: '503', method: 'GET', path: PATHS.projects, query: hasToken, when: { nth: 1 }, action: { type: 'status', status: 503 } }], exitCode: 0 }),
    ));

  it('a persistent 503 on page 2 of a pull request listing fails the resync', () =>
    rig.withCase('503-pr-always', (c) =>
      faultCase(c, {
        rules: [{ name: '503', method: 'GET', path: PATHS.pullRequests, query: (q) => q.get('$skip') === '2', action: { type: 'status', status: 503, retryAfter: '0' } }],
        exitCode: 1,
      }),
    ));

  it('one request that never answers is absorbed (ADO_REQUEST_TIMEOUT_MS)', () =>
    rig.withCase('timeout-once', (c) =>
      faultCase(c, {
        rules: [{ name: 'hang', method: 'GET', path: PATHS.repositories, when: { first: 1 }, action: { type: 'hang' } }],
        env: { ADO_REQUEST_TIMEOUT_MS: '1500' },
        exitCode: 0,
      }),
    ));

  it('a project page that never answers fails the resync (ADO_REQUEST_TIMEOUT_MS)', () =>
    rig.withCase('timeout-always', (c) =>
      faultCase(c, {
        rules: [{ name: 'hang', method: 'GET', path: PATHS.projects, query: hasToken, action: { type: 'hang' } }],
        env: { ADO_REQUEST_TIMEOUT_MS: '1500' },
        exitCode: 1,
      }),
    ));
});
