import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { fetchJson, TransportError } from '../../src/http/index.js';

/**
 * Loopback server: /gzip answers gzipped JSON, /utf8 a body whose multi-byte characters straddle the chunks it is
 * written in, /stall sends half a body and waits, /cut sends half and drops.
 */
const UNICODE = { name: 'Zoë — 北京 🚀', ascii: 'plain' };
let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/gzip') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      return res.end(gzipSync(JSON.stringify({ echo: req.headers['accept-encoding'] })));
    }
    if (req.url === '/utf8') {
      const bytes = Buffer.from(JSON.stringify(UNICODE));
      res.writeHead(200, { 'content-type': 'application/json' });
      // One byte per write: every multi-byte character arrives split.
      for (let i = 0; i < bytes.length; i++) res.write(bytes.subarray(i, i + 1));
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.write('{"value":[1,2', () => {
      if (req.url === '/cut') res.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const get = (path: string, extra: { timeoutMs?: number; signal?: AbortSignal } = {}) =>
  fetchJson(`${base}${path}`, { method: 'GET', headers: {}, timeoutMs: extra.timeoutMs ?? 5000, signal: extra.signal });

describe('fetchJson (node:http)', () => {
  it('asks for and decodes compressed bodies', async () => {
    const res = await get('/gzip');
    expect(res.status).toBe(200);
    expect(JSON.parse(await res.text())).toEqual({ echo: 'gzip, deflate, br' });
  });

  it('decodes UTF-8 split across chunks, and ASCII bodies unchanged', async () => {
    expect(JSON.parse(await (await get('/utf8')).text())).toEqual(UNICODE);
    const ascii = await (await get('/gzip')).text();
    expect(ascii).toBe(JSON.stringify({ echo: 'gzip, deflate, br' }));
  });

  it('the timeout covers the body: a stalled body rejects as timed out', async () => {
    const res = await get('/stall', { timeoutMs: 200 });
    const err = await res.text().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).timedOut).toBe(true);
  });

  it('a body cut off mid-way rejects as a transport error (retryable)', async () => {
    const res = await get('/cut');
    const err = await res.text().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).timedOut).toBe(false);
  });

  it("the caller's abort ends the body with the caller's reason", async () => {
    const ac = new AbortController();
    const res = await get('/stall', { signal: ac.signal });
    const reading = res.text().catch((e: unknown) => e);
    ac.abort(new Error('shutting down'));
    expect(((await reading) as Error).message).toContain('shutting down');
  });

  it('a refused connection is a transport error', async () => {
    const err = await fetchJson('http://127.0.0.1:1/', { method: 'GET', headers: {}, timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
  });
});
