/** The fault proxy itself: forwarding, occurrences, body edits on gzip answers, chains, limits and hangs. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { edits, startFaultProxy, type FaultProxy } from './proxy.js';

describe('fault proxy', () => {
  let upstream: Server;
  let proxy: FaultProxy;
  const seen: string[] = [];

  beforeAll(async () => {
    // Answers {count, value, echo} gzipped when asked to, with a continuation token on page 1.
    upstream = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers['accept-encoding'] ?? ''}`);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.from(JSON.stringify({ count: 3, value: [1, 2, 3], echo: Buffer.concat(chunks).toString() }));
        const url = new URL(req.url ?? '/', 'http://x');
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (!url.searchParams.has('continuationToken')) headers['x-ms-continuationtoken'] = 'next';
        if (url.searchParams.get('gzip') === '1') {
          res.writeHead(200, { ...headers, 'content-encoding': 'gzip' }).end(gzipSync(body));
        } else {
          res.writeHead(200, headers).end(body);
        }
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    proxy = await startFaultProxy(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise((resolve) => upstream.close(resolve));
  });

  const get = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${proxy.url}${path}`, init);
    return { status: res.status, type: res.headers.get('content-type'), token: res.headers.get('x-ms-continuationtoken'), text: await res.text() };
  };

  it('forwards path, query and body unchanged when no rule fires', async () => {
    proxy.setRules([]);
    const r = await get('/acme/_apis/x?a=1', { method: 'POST', body: 'hello' });
    expect(r).toMatchObject({ status: 200, token: 'next' });
    expect(JSON.parse(r.text)).toEqual({ count: 3, value: [1, 2, 3], echo: 'hello' });
    expect(seen.at(-1)).toBe('POST /acme/_apis/x?a=1 identity');
  });

  it('fires on the nth match only, and edits a gzipped answer', async () => {
    proxy.setRules([{ name: 'drop', path: /\/list$/, when: { nth: 2 }, action: { type: 'json', edit: edits.dropKey('value') } }]);
    const first = await get('/list?gzip=1');
    const second = await get('/list?gzip=1');
    const third = await get('/list?gzip=1');
    expect(JSON.parse(first.text).value).toEqual([1, 2, 3]);
    expect(JSON.parse(second.text)).toEqual({ count: 3, echo: '' });
    expect(JSON.parse(third.text).value).toEqual([1, 2, 3]);
    expect(proxy.fired('drop')).toBe(1);
  });

  it('shrinks a page under its count and truncates a body', async () => {
    proxy.setRules([
      { name: 'shrink', path: /\/a$/, action: { type: 'json', edit: edits.shrink(2) } },
      { name: 'cut', path: /\/b$/, action: { type: 'truncate' } },
    ]);
    expect(JSON.parse((await get('/a')).text)).toMatchObject({ count: 3, value: [1] });
    const cut = await get('/b');
    expect(() => JSON.parse(cut.text)).toThrow();
    expect(cut.status).toBe(200);
  });

  it('answers HTML, sign-in pages and statuses with Retry-After', async () => {
    proxy.setRules([
      { name: 'html', path: /\/html$/, action: { type: 'html' } },
      { name: 'signin', path: /\/signin$/, action: { type: 'signIn' } },
      { name: '429', path: /\/busy$/, when: { first: 1 }, action: { type: 'status', status: 429, retryAfter: '2' } },
    ]);
    expect(await get('/html')).toMatchObject({ status: 200, type: 'text/html; charset=utf-8' });
    expect(await get('/signin')).toMatchObject({ status: 203, type: 'text/html; charset=utf-8' });
    const busy = await fetch(`${proxy.url}/busy`);
    expect([busy.status, busy.headers.get('retry-after')]).toEqual([429, '2']);
    expect((await get('/busy')).status).toBe(200);
  });

  it('chains empty pages under new tokens up to its safety limit', async () => {
    proxy.setRules([{ name: 'chain', path: /\/p$/, query: (q) => q.has('continuationToken'), action: { type: 'emptyChain', limit: 2 } }]);
    expect((await get('/p')).token).toBe('next');
    const a = await get('/p?continuationToken=next');
    const b = await get(`/p?continuationToken=${a.token}`);
    expect([a.token, b.token, JSON.parse(a.text)]).toEqual(['fault-empty-1', 'fault-empty-2', { count: 0, value: [] }]);
    expect(proxy.limitReached()).toBe(false);
    expect((await get(`/p?continuationToken=${b.token}`)).status).toBe(400);
    expect(proxy.limitReached('chain')).toBe(true);
  });

  it('repeats a token, repeats page 1 under new tokens, and forwards $skip as 0', async () => {
    proxy.setRules([
      { name: 'same', path: /\/same$/, query: (q) => q.has('continuationToken'), action: { type: 'sameToken' } },
      { name: 'repeat', path: /\/repeat$/, action: { type: 'repeatChain', limit: 10 } },
      { name: 'skip', path: /\/skip$/, action: { type: 'ignoreSkip', limit: 10 } },
    ]);
    expect((await get('/same?continuationToken=t1')).token).toBe('t1');
    expect((await get('/repeat?continuationToken=abc')).token).toBe('fault-repeat-1');
    expect(seen.at(-1)).toBe('GET /repeat identity');
    await get('/skip?$top=2&$skip=4');
    expect(seen.at(-1)).toBe('GET /skip?%24top=2&%24skip=0 identity');
  });

  it('holds a request until the client gives up, and applies a rule only while it is active', async () => {
    let on = false;
    proxy.setRules([
      { name: 'hang', path: /\/slow$/, action: { type: 'hang' } },
      { name: 'gate', path: /\/gate$/, active: () => on, action: { type: 'status', status: 503 } },
    ]);
    await expect(fetch(`${proxy.url}/slow`, { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    await proxy.waitFor((log) => log.some((e) => e.rule === 'hang' && e.abandoned === true));
    expect((await get('/gate')).status).toBe(200);
    on = true;
    expect((await get('/gate')).status).toBe(503);
    expect(proxy.count('GET', /\/gate$/)).toBe(2);
  });
});
