/**
 * Fault suite, answers that are not JSON listings at all (decision 8): truncated JSON, an HTML page with 200, and the
 * 203 sign-in redirect. None may read as a listing; a fault that a retry does not clear fails the resync (exit 1)
 * without deleting anything, one that a retry clears is absorbed (exit 0).
 */
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { FaultRig, PATHS, faultCase } from './harness.js';

const hasToken = (q: URLSearchParams) => q.has('continuationToken');

describe('fault suite: truncated, HTML and sign-in answers', () => {
  let rig: FaultRig;
  beforeAll(async () => {
    rig = await FaultRig.start({ name: 'answers' });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('repository listing: truncated JSON on every attempt', () =>
    rig.withCase('repos-truncated', (c) =>
      faultCase(c, { rules: [{ name: 'truncated', method: 'GET', path: PATHS.repositories, action: { type: 'truncate' } }], exitCode: 1 }),
    ));

  it('project listing: truncated JSON once (absorbed by a retry)', () =>
    rig.withCase('projects-truncated-once', (c) =>
      faultCase(c, { rules: [{ name: 'truncated-once', method: 'GET', path: PATHS.projects, query: hasToken, when: { nth: 1 }, action: { type: 'truncate' } }], exitCode: 0 }),
    ));

  it('repository listing: HTML page with 200', () =>
    rig.withCase('repos-html', (c) => faultCase(c, { rules: [{ name: 'html', method: 'GET', path: PATHS.repositories, action: { type: 'html' } }], exitCode: 1 })));

  // An HTML page says nothing about the credentials (a proxy's, a maintenance page): retried like a 503, it passes.
  it('pull request listing: HTML page with 200 once', () =>
    rig.withCase('prs-html', (c) => faultCase(c, { rules: [{ name: 'html', method: 'GET', path: PATHS.pullRequests, when: { nth: 2 }, action: { type: 'html' } }], exitCode: 0 })));

  it('project listing page 2: 203 sign-in redirect', () =>
    rig.withCase('projects-sign-in', (c) =>
      faultCase(c, { rules: [{ name: 'sign-in', method: 'GET', path: PATHS.projects, query: (q) => q.get('continuationToken') === '2', action: { type: 'signIn' } }], exitCode: 1 }),
    ));
});
