import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import fastify, { type FastifyInstance } from 'fastify';
import { PatAuth } from '../../src/ado/auth.js';
import { AdoClient } from '../../src/ado/client.js';
import { IncompleteListingError } from '../../src/ado/errors.js';
import { parseOrganizationUrl } from '../../src/ado/orgUrl.js';
import { getList, MAX_EMPTY_PAGES_IN_A_ROW, pagesByContinuation, pagesByTopSkip } from '../../src/ado/paging.js';
import { listRepositories, projectPages } from '../../src/kinds/shared/listings.js';
import { repositoryKind } from '../../src/kinds/repository.js';
import { createFetchContext } from '../../src/kinds/fetchContext.js';
import { RunCache } from '../../src/kinds/shared/runCache.js';
import type { FetchContext } from '../../src/kinds/types.js';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';
import { runKind } from '../helpers/kindRun.js';

/** What a scripted answer holds: the page body, and the continuation token header when there is one. */
interface Answer {
  status?: number;
  token?: string;
  body?: unknown;
}

/**
 * A loopback server whose every answer comes from `script(query, n)` (n = 1 for the first request of the test): the
 * paging shapes Azure DevOps should never send, which the simulator does not make.
 */
let app: FastifyInstance;
let script: (query: Record<string, string>, n: number) => Answer;
let requests: Array<Record<string, string>>;
let client: AdoClient;
let base: string;

beforeAll(async () => {
  app = fastify({ logger: false });
  app.all('/acme/*', async (req, reply) => {
    const query = req.query as Record<string, string>;
    requests.push(query);
    const a = script(query, requests.length);
    if (a.token !== undefined) reply.header('x-ms-continuationtoken', a.token);
    reply.code(a.status ?? 200).header('content-type', 'application/json');
    return a.body === undefined ? reply.send() : reply.send(JSON.stringify(a.body));
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  base = `http://127.0.0.1:${port}/acme`;
  client = new AdoClient(parseOrganizationUrl(base, 'services'), new PatAuth('paging-test-pat'), { maxAttempts: 1 });
});
afterAll(() => app.close());
beforeEach(() => {
  requests = [];
});

const page = (ids: number[], key = 'id') => ({ count: ids.length, value: ids.map((id) => ({ [key]: id })) });

async function all<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const p of pages) out.push(...p);
  return out;
}

describe('paging: a continuation chain', () => {
  it('fails after MAX_EMPTY_PAGES_IN_A_ROW empty pages that each carry a new token, and names the URL without the token', async () => {
    script = (_q, n) => ({ token: `secret-token-${n}`, body: { count: 0, value: [] } });
    const err = await all(pagesByContinuation(client, `${base}/_apis/build/builds`, { query: { 'api-version': '7.1' } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IncompleteListingError);
    expect((err as IncompleteListingError).retryable).toBe(false);
    expect(String((err as Error).message)).toMatch(/\/acme\/_apis\/build\/builds\?api-version=7\.1&continuationToken=…: 10 empty pages in a row, each with a new continuation token .*; incomplete listing$/);
    expect(String((err as Error).message)).not.toContain('secret-token');
    expect(requests).toHaveLength(MAX_EMPTY_PAGES_IN_A_ROW);
  });

  it('goes on past a few empty pages that still lead somewhere', async () => {
    const answers: Answer[] = [{ token: 'a', body: page([1, 2]) }, { token: 'b', body: page([]) }, { token: 'c', body: page([]) }, { body: page([3]) }];
    script = (_q, n) => answers[n - 1] as Answer;
    const items = await all(pagesByContinuation<{ id: number }>(client, `${base}/_apis/build/builds`));
    expect(items.map((i) => i.id)).toEqual([1, 2, 3]);
  });

  it('fails on a page that repeats only items already listed, drops the repeats of a page that also has new ones', async () => {
    script = (_q, n) => ({ token: `t${n}`, body: page(n === 1 ? [1, 2] : n === 2 ? [2, 3] : [2, 3]) });
    const seen: number[] = [];
    const err = await (async () => {
      for await (const p of pagesByContinuation<{ id: number }>(client, `${base}/_apis/policy/configurations`)) seen.push(...p.map((i) => i.id));
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IncompleteListingError);
    expect(String((err as Error).message)).toContain('the page repeats only items already listed');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('fails once the listing holds more items than the endpoint can', async () => {
    script = (_q, n) => ({ token: `t${n}`, body: page([2 * n, 2 * n + 1]) });
    const err = await all(pagesByContinuation(client, `${base}/_apis/build/builds`, { maxItems: 5 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IncompleteListingError);
    expect(String((err as Error).message)).toContain('more than 5 items, the most this endpoint can hold');
    expect(requests).toHaveLength(3);
  });
});

describe('paging: $top/$skip', () => {
  it('fails when the server ignores $skip (the same full page again), using the per-call key', async () => {
    script = () => ({ body: page([7, 8, 9], 'pullRequestId') });
    const err = await all(pagesByTopSkip<{ pullRequestId: number }>(client, `${base}/_apis/git/pullrequests`, { top: 3, idOf: (pr) => pr.pullRequestId })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IncompleteListingError);
    expect(String((err as Error).message)).toMatch(/\$skip=3: the page repeats only items already listed: the server ignored \$skip; incomplete listing$/);
    expect(requests).toHaveLength(2);
  });

  it('tolerates a window shifted by an item inserted while paging: the repeat is dropped, the listing goes on', async () => {
    // Newest first, 3 a page; 10 is created between the first and the second request, pushing 7 onto page 2.
    let list = [9, 8, 7, 6, 5, 4, 3];
    script = (q, n) => {
      if (n === 2) list = [10, ...list];
      const skip = Number(q.$skip);
      return { body: page(list.slice(skip, skip + Number(q.$top))) };
    };
    const items = await all(pagesByTopSkip<{ id: number }>(client, `${base}/_apis/git/pullrequests`, { top: 3 }));
    expect(items.map((i) => i.id)).toEqual([9, 8, 7, 6, 5, 4, 3]);
  });

  it('ends on a short last page of nothing but repeats (items inserted ahead of it), without failing', async () => {
    let list = [3, 2, 1];
    script = (q, n) => {
      if (n === 2) list = [4, ...list];
      const skip = Number(q.$skip);
      return { body: page(list.slice(skip, skip + Number(q.$top))) };
    };
    const items = await all(pagesByTopSkip<{ id: number }>(client, `${base}/_apis/teams`, { top: 3 }));
    expect(items.map((i) => i.id)).toEqual([3, 2, 1]);
  });

  it('does not take items without a key as repeats', async () => {
    script = (q) => ({ body: { count: Number(q.$skip) === 0 ? 2 : 1, value: Number(q.$skip) === 0 ? [{ n: 1 }, { n: 1 }] : [{ n: 1 }] } });
    expect(await all(pagesByTopSkip(client, `${base}/_apis/teams`, { top: 2 }))).toHaveLength(3);
  });
});

describe('paging: one answer proves itself', () => {
  const list = (answer: Answer, opts = {}) => {
    script = () => answer;
    return getList(client, `${base}/_apis/git/repositories`, { 'api-version': '7.1' }, opts);
  };

  it.each([
    [{ message: 'ok' }, /\/_apis\/git\/repositories\?api-version=7\.1: the answer has no "value" array \(keys: message\); incomplete listing$/],
    [{ count: 0, value: null }, /: "value" is null, not an array; incomplete listing$/],
    [{ count: 1, value: 'repo' }, /: "value" is a string, not an array; incomplete listing$/],
    [{ count: 1, value: { id: 'r' } }, /: "value" is an object, not an array; incomplete listing$/],
    [{ count: 3, value: [{ id: 'a' }, { id: 'b' }] }, /: the answer says count 3 but "value" holds 2 items; incomplete listing$/],
    [[{ id: 'a' }], /: the answer is an array, not an object with a "value" array; incomplete listing$/],
    [undefined, /: the answer has no body; incomplete listing$/],
  ])('fails %j as incomplete', async (body, message) => {
    const err = await list({ body }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IncompleteListingError);
    expect(String((err as Error).message)).toMatch(message);
    expect(String((err as Error).message)).toMatch(/^Azure DevOps organization "acme": GET http:\/\/127\.0\.0\.1:\d+\/acme\//);
  });

  it('reads an answer without count, and one whose count agrees', async () => {
    expect(await list({ body: { value: [{ id: 'a' }] } })).toEqual([{ id: 'a' }]);
    expect(await list({ body: { count: 1, value: [{ id: 'a' }] } })).toEqual([{ id: 'a' }]);
  });

  it('checks count only on the {count, value} collection', async () => {
    expect(await list({ body: { count: 99, records: [{ id: 'a' }] } }, { itemsKey: 'records' })).toEqual([{ id: 'a' }]);
  });

  it('reads 204 as no items only where the endpoint says so (a timeline before its build starts); a 200 without records fails', async () => {
    expect(await list({ status: 204 }, { itemsKey: 'records', noContentIsEmpty: true })).toEqual([]);
    await expect(list({ status: 204 }, { itemsKey: 'records' })).rejects.toThrow(/the answer has no body; incomplete listing/);
    await expect(list({ body: { id: 'timeline' } }, { itemsKey: 'records', noContentIsEmpty: true })).rejects.toThrow(
      /the answer has no "records" array \(keys: id\); incomplete listing/,
    );
  });

  it('fails an answer with more items than the endpoint documents (pipeline runs: 10,000)', async () => {
    await expect(list({ body: page([1, 2, 3]) }, { maxItems: 2 })).rejects.toThrow(/3 items, more than the 2 this endpoint can hold; incomplete listing/);
  });
});

describe('paging: against the Azure DevOps simulator', () => {
  let sim: AdoSimulator;
  let ctx: FetchContext;
  beforeAll(async () => {
    sim = await startAdoSimulator({ scale: { projects: 8, reposPerProject: 1, pullRequestsPerRepo: 0 } });
  });
  afterAll(() => sim.close());
  beforeEach(() => {
    const org = parseOrganizationUrl(sim.orgUrl(), 'services');
    ctx = createFetchContext({ client: new AdoClient(org, new PatAuth(sim.pat), { maxAttempts: 1 }), pageSize: 3 });
  });

  type Body = Record<string, unknown>;
  it.each([
    ['200 without the array', () => ({ message: 'ok' }), /the answer has no "value" array \(keys: message\)/],
    ['a null array', (b: Body) => ({ ...b, value: null }), /"value" is null, not an array/],
    ['a wrongly typed array', (b: Body) => ({ ...b, value: 'none' }), /"value" is a string, not an array/],
    ['a count that disagrees', (b: Body) => ({ ...b, value: (b.value as unknown[]).slice(1) }), /the answer says count (\d+) but "value" holds (\d+) items/],
  ])('fails the repository listing answered with %s, never reading it as no repositories', async (_what, edit, message) => {
    const all = (await listRepositories(ctx)).length;
    expect(all).toBeGreaterThan(0);
    const unpatch = sim.patchResponses('/_apis/git/repositories$', edit);
    try {
      await expect(listRepositories({ ...ctx, cache: new RunCache() })).rejects.toThrow(message);
      await expect(runKind(sim, repositoryKind)).rejects.toThrow(/_apis\/git\/repositories\?api-version=7\.1: .*; incomplete listing$/);
    } finally {
      unpatch();
    }
    expect(await listRepositories({ ...ctx, cache: new RunCache() })).toHaveLength(all);
  });

  it('fails the project listing whose second page comes without its array, after yielding only the first', async () => {
    let answered = 0;
    const unpatch = sim.patchResponses('/_apis/projects$', (b) => (++answered === 2 ? { message: 'ok' } : b));
    const pages: number[] = [];
    try {
      const err = await (async () => {
        for await (const p of projectPages(ctx)) pages.push(p.length);
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IncompleteListingError);
      expect(String((err as Error).message)).toMatch(/_apis\/projects\?api-version=7\.1&\$top=3&continuationToken=…: the answer has no "value" array/);
    } finally {
      unpatch();
    }
    expect(pages).toEqual([3]);
  });
});
