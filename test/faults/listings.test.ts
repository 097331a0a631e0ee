/**
 * Fault suite, listings that answer 200 without proving they are complete (issue 17 item 1, decision 8): the array
 * missing, null or of the wrong type, or disagreeing with `count`. The resync must fail (exit 1) and delete nothing,
 * and the next clean resync must leave the catalog exactly as the reference.
 */
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { FaultRig, PATHS, faultCase } from './harness.js';
import { edits } from './proxy.js';

/** The second page of the project listing (two projects a page: the token is the number already returned). */
const PROJECT_PAGE_2 = (q: URLSearchParams) => q.get('continuationToken') === '2';

describe('fault suite: listings without a complete array', () => {
  let rig: FaultRig;
  beforeAll(async () => {
    rig = await FaultRig.start({ name: 'listings' });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('repository listing: 200 without its array', () =>
    rig.withCase('repos-no-array', (c) =>
      faultCase(c, { rules: [{ name: 'no-array', method: 'GET', path: PATHS.repositories, action: { type: 'json', edit: edits.dropKey('value') } }], exitCode: 1 }),
    ));

  it('repository listing: the array is null', () =>
    rig.withCase('repos-null-array', (c) =>
      faultCase(c, { rules: [{ name: 'null-array', method: 'GET', path: PATHS.repositories, action: { type: 'json', edit: edits.nullKey('value') } }], exitCode: 1 }),
    ));

  it('project listing: page 2 answers 200 without its array', () =>
    rig.withCase('projects-p2-no-array', (c) =>
      faultCase(c, {
        rules: [{ name: 'no-array-page-2', method: 'GET', path: PATHS.projects, query: PROJECT_PAGE_2, action: { type: 'json', edit: edits.dropKey('value') } }],
        exitCode: 1,
      }),
    ));

  it('repository listing: wrong type ("value": "x")', () =>
    rig.withCase('repos-wrong-type', (c) =>
      faultCase(c, { rules: [{ name: 'wrong-type', method: 'GET', path: PATHS.repositories, action: { type: 'json', edit: edits.wrongType('value', 'x') } }], exitCode: 1 }),
    ));

  it('repository listing: count disagrees with the array', () =>
    rig.withCase('repos-wrong-count', (c) =>
      faultCase(c, { rules: [{ name: 'wrong-count', method: 'GET', path: PATHS.repositories, action: { type: 'json', edit: edits.wrongCount(3) } }], exitCode: 1 }),
    ));

  it('repository listing: items missing while count still counts them', () =>
    rig.withCase('repos-short-array', (c) =>
      faultCase(c, { rules: [{ name: 'short-array', method: 'GET', path: PATHS.repositories, action: { type: 'json', edit: edits.shrink(3) } }], exitCode: 1 }),
    ));
});
