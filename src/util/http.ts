import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { pipeline, type Readable, type Transform } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { errorMessage } from './errors.js';

/** A request that got no HTTP response: it timed out, or the connection failed. Always worth a retry. */
export class TransportError extends Error {
  override name = 'TransportError';
  constructor(
    message: string,
    readonly timedOut: boolean,
  ) {
    super(message);
  }
}

/** Timeout and retry knobs shared by the Azure DevOps and Port clients. */
export interface RetryPolicy {
  /** Requests in flight at once. */
  concurrency: number;
  timeoutMs: number;
  /** Attempts per request, the first included. */
  maxAttempts: number;
  /** First backoff step; doubles each attempt, with full jitter. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Upper bound for one Retry-After / rate-limit reset wait. */
  maxPauseMs: number;
}

/** A request body that is already JSON text (sent as is, not serialized again). */
export class JsonText {
  constructor(readonly text: string) {}
}

export interface JsonRequest {
  method: string;
  headers: Record<string, string>;
  /** Serialized with JSON.stringify, unless it is a JsonText. */
  body?: unknown;
  signal?: AbortSignal;
  timeoutMs: number;
}

/** Response headers by case-insensitive name (`Headers` fits too). */
export interface HeaderReader {
  get(name: string): string | null;
}

export interface HttpResponse {
  status: number;
  ok: boolean;
  headers: HeaderReader;
  /** The whole body, decompressed and decoded as UTF-8; rejects when the body is cut off or the timeout passes. */
  text(): Promise<string>;
}

// Keep-alive connections shared by every client of the process: a resync makes tens of thousands of requests to two
// hosts. node:http rather than fetch: fetch's per-request web-stream machinery cost ~1 ms of CPU each on the worker's
// busiest thread (bench/RESULTS.md).
const agents = {
  http: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
  https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
};

class ResponseHeaders implements HeaderReader {
  constructor(private readonly raw: IncomingMessage['headers']) {}
  get(name: string): string | null {
    const v = this.raw[name.toLowerCase()];
    if (v === undefined) return null;
    return Array.isArray(v) ? v.join(', ') : v;
  }
}

function decoded(res: IncomingMessage): Readable {
  const inflate = (z: Transform) => pipeline(res, z, () => {}); // errors (a cut-off body) reach the reader through z
  switch ((res.headers['content-encoding'] ?? '').trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return inflate(createGunzip());
    case 'deflate':
      return inflate(createInflate());
    case 'br':
      return inflate(createBrotliDecompress());
    default:
      return res;
  }
}

/**
 * One HTTP request with a JSON body, a timeout covering the whole exchange (body included) combined with the caller's
 * signal, keep-alive connections and compressed responses accepted.
 */
export function fetchJson(url: string, r: JsonRequest): Promise<HttpResponse> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  if (!secure && target.protocol !== 'http:') return Promise.reject(new TypeError(`unsupported protocol in ${target.protocol}//${target.host}`));
  const headers: Record<string, string> = { 'accept-encoding': 'gzip, deflate, br', ...r.headers };
  let body: Buffer | undefined;
  if (r.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = Buffer.from(r.body instanceof JsonText ? r.body.text : JSON.stringify(r.body));
    headers['content-length'] = String(body.length);
  }
  if (r.signal?.aborted) return Promise.reject(r.signal.reason);

  return new Promise<HttpResponse>((resolve, reject) => {
    let response: IncomingMessage | undefined;
    // Before the response: the request fails with err. After: reading the body does.
    const fail = (err: Error) => {
      cleanup();
      if (response) response.destroy(err);
      else req.destroy(err);
    };
    const onAbort = () => fail(r.signal!.reason instanceof Error ? r.signal!.reason : new Error('aborted'));
    const timer = setTimeout(() => fail(new TransportError(`timed out after ${r.timeoutMs} ms`, true)), r.timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      r.signal?.removeEventListener('abort', onAbort);
    };
    r.signal?.addEventListener('abort', onAbort, { once: true });

    const req = (secure ? httpsRequest : httpRequest)(target, { method: r.method, headers, agent: secure ? agents.https : agents.http });
    req.on('error', (err) => {
      cleanup();
      const aborted = r.signal?.aborted === true && err === r.signal.reason;
      reject(err instanceof TransportError || aborted ? err : new TransportError(`network error: ${errorMessage(err)}`, false));
    });
    req.on('response', (res) => {
      response = res;
      const text = readAll(decoded(res))
        .then((b) => b.toString('utf8'))
        .catch((err: unknown) => {
          throw err instanceof TransportError ? err : new TransportError(`response body: ${errorMessage(err)}`, false);
        })
        .finally(cleanup);
      text.catch(() => {}); // rejected for whoever calls text(); never an unhandled rejection
      const status = res.statusCode ?? 0;
      resolve({ status, ok: status >= 200 && status < 300, headers: new ResponseHeaders(res.headers), text: () => text });
    });
    req.end(body);
  });
}
