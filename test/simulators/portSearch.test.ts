import { describe, expect, it } from '@jest/globals';
import { PortStore } from './port/index.js';
import { projectBlueprint } from './port/fixtures.js';

const FLAGS = { createMissingRelatedEntities: false, merge: false, upsert: true, validationOnly: false };

/** Every page of `searchPage`, as the search route serves them. */
function pages(store: PortStore, limit: number, query?: Parameters<PortStore['searchPage']>[1]): string[][] {
  const out: string[][] = [];
  let after: string | undefined;
  for (;;) {
    const { entities, more } = store.searchPage('project', query, after, limit);
    out.push(entities.map((e) => e.identifier));
    if (!more) return out;
    after = entities[entities.length - 1]!.identifier;
  }
}

describe('Port simulator: paged search over the sorted index', () => {
  it('pages in identifier order, follows creations and deletions, and filters by the query', () => {
    const store = new PortStore();
    store.createBlueprint(projectBlueprint);
    const ids = Array.from({ length: 25 }, (_, i) => `p-${String((i * 7) % 25).padStart(2, '0')}`);
    for (const id of ids) store.upsertEntity('project', { identifier: id, properties: { visibility: Number(id.slice(2)) % 2 ? 'odd' : 'even' } }, FLAGS, 'ua');

    const sorted = [...ids].sort();
    expect(pages(store, 10)).toEqual([sorted.slice(0, 10), sorted.slice(10, 20), sorted.slice(20)]);
    expect(pages(store, 25)).toEqual([sorted]);
    expect(store.search('project', undefined).map((e) => e.identifier)).toEqual(sorted);

    // A deletion and a creation between pages are seen by the next page.
    const first = store.searchPage('project', undefined, undefined, 5);
    store.deleteEntities('project', ['p-06'], false);
    store.upsertEntity('project', { identifier: 'p-05a', properties: { visibility: 'odd' } }, FLAGS, 'ua');
    const next = store.searchPage('project', undefined, first.entities.at(-1)!.identifier, 3);
    expect(next.entities.map((e) => e.identifier)).toEqual(['p-05', 'p-05a', 'p-07']);
    expect(next.more).toBe(true);

    const odd = pages(store, 4, { combinator: 'and', rules: [{ property: 'visibility', operator: '=', value: 'odd' }] }).flat();
    expect(odd).toEqual(store.search('project', { combinator: 'and', rules: [{ property: 'visibility', operator: '=', value: 'odd' }] }).map((e) => e.identifier));
    expect(odd).toContain('p-05a');
    expect(odd).not.toContain('p-06');
  });
});
