/**
 * Fault suite, paging that does not end the documented way (issue 17 items 1 and 4, decision 8): continuation chains
 * of empty pages, repeated tokens, one page served again under new tokens, a `$top/$skip` server ignoring `$skip`, and
 * a page that shrinks between runs. The worker must stop on its own (the proxy's safety limit must not be what ends the
 * run), fail the resync (exit 1), delete nothing, and converge on the next clean resync.
 */
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { FaultRig, PATHS, faultCase } from './harness.js';
import { edits } from './proxy.js';

/** Answers past this many are refused by the proxy: far more pages than a listing of this dataset can have. */
const LIMIT = 1000;
const hasToken = (q: URLSearchParams) => q.has('continuationToken');
const activePass = (q: URLSearchParams) => q.get('searchCriteria.status') === 'active';

describe('fault suite: paging', () => {
  let rig: FaultRig;
  beforeAll(async () => {
    rig = await FaultRig.start({ name: 'paging' });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('project listing: a chain of empty pages, each with a new continuation token', () =>
    rig.withCase('empty-chain', (c) =>
      faultCase(c, { rules: [{ name: 'empty-chain', method: 'GET', path: PATHS.projects, query: hasToken, action: { type: 'emptyChain', limit: LIMIT } }], exitCode: 1 }),
    ));

  it('project listing: the continuation token repeats', () =>
    rig.withCase('same-token', (c) =>
      faultCase(c, { rules: [{ name: 'same-token', method: 'GET', path: PATHS.projects, query: hasToken, action: { type: 'sameToken' } }], exitCode: 1 }),
    ));

  it('project listing: the first page again and again, under new tokens', () =>
    rig.withCase('repeat-chain', (c) =>
      faultCase(c, { rules: [{ name: 'repeat-chain', method: 'GET', path: PATHS.projects, query: hasToken, action: { type: 'repeatChain', limit: LIMIT } }], exitCode: 1 }),
    ));

  it('pull request listing: the server ignores $skip', () =>
    rig.withCase('ignored-skip', (c) =>
      faultCase(c, { rules: [{ name: 'ignored-skip', method: 'GET', path: PATHS.pullRequests, action: { type: 'ignoreSkip', limit: LIMIT } }], exitCode: 1 }),
    ));

  // A page that shrank: items are missing while the page's `count` still counts them (the array no longer proves the
  // listing). On a $top/$skip listing a short page also reads as "the last page", cutting off every later page.
  it('pull request listing: the first page shrinks between runs', () =>
    rig.withCase('shrunk-pr-page', (c) =>
      faultCase(c, {
        rules: [{ name: 'shrunk-page', method: 'GET', path: PATHS.pullRequests, query: (q) => activePass(q) && (q.get('$skip') ?? '0') === '0', action: { type: 'json', edit: edits.shrink(1) } }],
        exitCode: 1,
      }),
    ));

  it('project listing: page 2 shrinks between runs', () =>
    rig.withCase('shrunk-project-page', (c) =>
      faultCase(c, {
        rules: [{ name: 'shrunk-page', method: 'GET', path: PATHS.projects, query: (q) => q.get('continuationToken') === '2', action: { type: 'json', edit: edits.shrink(1) } }],
        exitCode: 1,
      }),
    ));
});
