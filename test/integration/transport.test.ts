import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../src/observability/log.js';
import { HttpError, retryableStatus, Transport, TransportError, type Answer, type Exchange, type RetryPolicy } from '../../src/http/index.js';

/**
 * The one retry policy, against a loopback server that answers each path from a script: a step is a status (with
 * headers), or 'cut' (half a body, then the connection dropped). Past the script's end, 200 `{"ok":true}`.
 */
type Step = number | { status: number; headers?: Record<string, string> } | 'cut';
const scripts = new Map<string, Step[]>();
const seen: Array<{ path: string; at: number }> = [];
let server: Server;
let base: string;

function answer(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  seen.push({ path, at: Date.now() });
  const step = scripts.get(path)?.shift() ?? 200;
  if (step === 'cut') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.write('{"value":[1,2', () => res.destroy());
    return;
  }
  const { status, headers } = typeof step === 'number' ? { status: step, headers: {} } : step;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ ok: status < 300, status }));
}

beforeAll(async () => {
  server = createServer(answer);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  scripts.clear();
  seen.length = 0;
  jest.spyOn(Math, 'random').mockReturnValue(0); // no jitter: the tests do not wait for it
});
afterEach(() => {
  jest.restoreAllMocks();
});

const POLICY: RetryPolicy = { concurrency: 4, timeoutMs: 2000, maxAttempts: 3, backoffBaseMs: 1, backoffMaxMs: 5, maxPauseMs: 5000 };

class ApiError extends HttpError {}

/** A client's reading: 2xx is the parsed body, anything else an error retryable by status. */
function read(a: Answer): unknown {
  if (a.ok) return JSON.parse(a.text);
  throw new ApiError(`HTTP ${a.status}`, { status: a.status, retryable: retryableStatus(a.status), retryAfterMs: a.retryAfterMs });
}

function transport(policy: Partial<RetryPolicy> = {}, secrets: string[] = []) {
  const lines: string[] = [];
  const failed: Array<{ label: string; attempts: number }> = [];
  const t = new Transport(
    { ...POLICY, ...policy },
    {
      service: 'test api',
      log: createLogger('debug', { write: (chunk: string) => void lines.push(chunk) }),
      secrets: () => secrets,
      describe: (err, r) => {
        failed.push({ label: r.label, attempts: r.attempts });
        return new ApiError(`${r.label} failed after ${r.attempts} attempt(s): ${(err as Error).message}`, { status: (err as HttpError).status });
      },
    },
  );
  return { t, lines, failed };
}

const get = (path: string, more: Partial<Exchange<unknown>> = {}): Exchange<unknown> => ({
  method: 'GET',
  url: `${base}${path}`,
  headers: () => ({ accept: 'application/json' }),
  read,
  ...more,
});

describe('Transport: one retry policy', () => {
  it('answers 429 have a budget of their own: they do not use up maxAttempts', async () => {
    scripts.set('/a', [429, 429, 429, { status: 429, headers: { 'retry-after': '0' } }]);
    const { t } = transport({ maxAttempts: 1 });
    await expect(t.send(get('/a'))).resolves.toEqual({ ok: true, status: 200 });
    expect(t.stats).toMatchObject({ requests: 5, retries: 4, throttled: 4, failures: 0 });
    expect(t.stats.byStatus.get(429)).toBe(4);
  });

  it('the 429 budget ends too (50 retries)', async () => {
    scripts.set('/always', Array(60).fill(429));
    const { t, failed } = transport({ maxAttempts: 1 });
    await expect(t.send(get('/always'))).rejects.toThrow(/failed after 51 attempt\(s\): HTTP 429/);
    expect(failed).toEqual([{ label: `GET ${base}/always`, attempts: 51 }]);
    expect(t.stats).toMatchObject({ requests: 51, throttled: 51, retries: 50, failures: 1 });
  });

  it('5xx, 408, cut-off bodies and refused connections are retried up to maxAttempts', async () => {
    scripts.set('/flaky', [503, 'cut', 408]);
    const { t } = transport({ maxAttempts: 4 });
    await expect(t.send(get('/flaky'))).resolves.toEqual({ ok: true, status: 200 });
    expect(t.stats).toMatchObject({ requests: 4, retries: 3, failures: 0 });

    scripts.set('/down', [502, 502, 502]);
    await expect(t.send(get('/down', {}))).resolves.toBeDefined(); // 4 attempts: 3 failures, then 200
    const refused = await t.send({ ...get('/'), url: 'http://127.0.0.1:1/' }).catch((e: unknown) => e);
    expect(String(refused)).toMatch(/failed after 4 attempt\(s\): network error/);
  });

  it('what is not retryable fails on its first answer; a request that is not idempotent is never sent twice', async () => {
    scripts.set('/gone', [404]);
    scripts.set('/write', [503]);
    const { t } = transport();
    await expect(t.send(get('/gone'))).rejects.toThrow(/failed after 1 attempt\(s\): HTTP 404/);
    await expect(t.send(get('/write', { method: 'POST', idempotent: false }))).rejects.toThrow(/failed after 1 attempt\(s\): HTTP 503/);
    expect(t.stats).toMatchObject({ requests: 2, retries: 0, failures: 2 });
  });

  it('a Retry-After holds every request of the identity (the pause window), not only the one told', async () => {
    jest.restoreAllMocks();
    scripts.set('/told', [{ status: 429, headers: { 'retry-after': '0.4' } }]);
    const { t } = transport();
    // Resolves when the 429 has come back and opened the identity's pause window.
    const paused = new Promise<void>((resolve) => {
      const pauseFor = t.governor.pauseFor.bind(t.governor);
      t.governor.pauseFor = (ms) => {
        pauseFor(ms);
        resolve();
      };
    });
    const started = Date.now();
    const told = t.send(get('/told'));
    await paused;
    await t.send(get('/other'));
    await told;
    const other = seen.find((s) => s.path === '/other')!;
    expect(other.at - started).toBeGreaterThanOrEqual(390);
    expect(t.governor.waitedMs).toBeGreaterThan(0);
  });

  it("the client's settle: 'again' replays at once (not a retry), an Error ends the request as it is", async () => {
    scripts.set('/auth', [401]);
    const { t } = transport({ maxAttempts: 1 });
    let refreshed = 0;
    const again = await t.send(get('/auth', { settle: (err) => ((err as HttpError).status === 401 && refreshed++ === 0 ? 'again' : undefined) }));
    expect(again).toEqual({ ok: true, status: 200 });
    expect(t.stats.retries).toBe(0);

    scripts.set('/auth', [401]);
    const final = new Error('credentials rejected on first contact');
    await expect(t.send(get('/auth', { settle: () => final }))).rejects.toBe(final);
    expect(t.stats.failures).toBe(1);
  });

  it('retries are logged with the request named, continuation tokens redacted and secrets scrubbed', async () => {
    scripts.set('/page', [500]);
    const { t, lines } = transport({}, ['s3cr3t-value']);
    const read500 = (a: Answer) => {
      if (a.ok) return JSON.parse(a.text);
      throw new ApiError(`HTTP ${a.status} for s3cr3t-value`, { status: a.status, retryable: true });
    };
    await t.send(get('/page?continuationToken=opaque-token-123&api-version=7.1', { read: read500 }));
    const text = lines.join('');
    expect(text).toContain('test api request failed, retrying');
    expect(text).toContain('continuationToken=…');
    expect(text).not.toContain('opaque-token-123');
    expect(text).not.toContain('s3cr3t-value');
    expect(t.scrub('a s3cr3t-value b')).toBe('a [redacted] b');
  });

  it('a transport error is retryable unless the host does not exist', () => {
    expect(new TransportError('timed out', { timedOut: true }).retryable).toBe(true);
    expect(new TransportError('network error', { code: 'ECONNRESET' }).retryable).toBe(true);
    expect(new TransportError('network error', { code: 'ENOTFOUND' }).retryable).toBe(false);
  });
});
