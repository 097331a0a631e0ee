import { Agent as HttpAgent, request as httpRequest, type Agent, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { isAscii } from 'node:buffer';
import { brotliDecompress, gunzip, inflate } from 'node:zlib';
import { errorMessage } from '../util/errors.js';
import { TransportError } from './errors.js';

/** A request body that is already text (sent as is, not serialized again), with its content type. */
export class RawBody {
  constructor(
    readonly text: string,
    readonly contentType: string,
  ) {}
}

/** A request body that is already JSON text. */
export class JsonText extends RawBody {
  constructor(text: string) {
    super(text, 'application/json');
  }
}

export interface JsonRequest {
  method: string;
  headers: Record<string, string>;
  /** Serialized with JSON.stringify, unless it is a RawBody (JsonText). */
  body?: unknown;
  signal?: AbortSignal;
  timeoutMs: number;
  /** A connection agent of the caller's (an SDK's proxy agent) instead of the shared keep-alive ones. */
  agent?: Agent;
}

/** Response headers by case-insensitive name (`Headers` fits too). */
export interface HeaderReader {
  get(name: string): string | null;
}

/** The headers of an answer: by name, or all of them (names in lower case). */
export interface ResponseHeaderReader extends HeaderReader {
  toJSON(): Record<string, string>;
}

export interface HttpResponse {
  status: number;
  ok: boolean;
  headers: ResponseHeaderReader;
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

class ResponseHeaders implements ResponseHeaderReader {
  constructor(private readonly raw: IncomingMessage['headers']) {}
  get(name: string): string | null {
    const v = this.raw[name.toLowerCase()];
    if (v === undefined) return null;
    return Array.isArray(v) ? v.join(', ') : v;
  }
  toJSON(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of Object.keys(this.raw)) out[name] = this.get(name)!;
    return out;
  }
}

type Decompress = (compressed: Buffer, options: { chunkSize: number }) => Promise<Buffer>;
const decompressors: Record<string, Decompress> = {
  gzip: promisify(gunzip),
  'x-gzip': promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
};

/**
 * Output chunk for one-shot decompression: each chunk is a thread-pool round trip plus a copy at the end, and with
 * zlib's default 16 KiB a 3.6 MB page took 230 of them and five times the CPU. A gzip body states its size in its
 * last four bytes (ISIZE), so it decompresses into one chunk; otherwise JSON compresses about tenfold.
 */
function chunkSizeFor(encoding: string, compressed: Buffer): number {
  const clamp = (n: number, max: number) => Math.min(max, Math.max(16 << 10, n));
  if (encoding.endsWith('gzip') && compressed.length >= 18) return clamp(compressed.readUInt32LE(compressed.length - 4) + 1, 64 << 20);
  return clamp(compressed.length * 16, 1 << 20);
}

/**
 * The whole body as text. The raw body is gathered, then decompressed in one call on the thread pool with large output
 * chunks: a decompressing stream, and `stream/consumers` (which goes through a Blob), cost a resync several times the
 * CPU of the decompression itself (bench/RESULTS.md). ASCII bodies (nearly every Azure DevOps page) decode as
 * latin1, the same text at half the cost of the UTF-8 decoder.
 */
async function readText(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  let body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  const encoding = (res.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decompress = decompressors[encoding];
  if (decompress) body = await decompress(body, { chunkSize: chunkSizeFor(encoding, body) });
  return body.toString(isAscii(body) ? 'latin1' : 'utf8');
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
    const raw = r.body instanceof RawBody ? r.body : undefined;
    headers['content-type'] = raw ? raw.contentType : 'application/json';
    body = Buffer.from(raw ? raw.text : JSON.stringify(r.body));
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
    const timer = setTimeout(() => fail(new TransportError(`timed out after ${r.timeoutMs} ms`, { timedOut: true })), r.timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      r.signal?.removeEventListener('abort', onAbort);
    };
    r.signal?.addEventListener('abort', onAbort, { once: true });

    const req = (secure ? httpsRequest : httpRequest)(target, { method: r.method, headers, agent: r.agent ?? (secure ? agents.https : agents.http) });
    req.on('error', (err) => {
      cleanup();
      const aborted = r.signal?.aborted === true && err === r.signal.reason;
      const code = typeof (err as NodeJS.ErrnoException).code === 'string' ? (err as NodeJS.ErrnoException).code : undefined;
      reject(err instanceof TransportError || aborted ? err : new TransportError(`network error: ${errorMessage(err)}`, { code }));
    });
    req.on('response', (res) => {
      response = res;
      const text = readText(res)
        .catch((err: unknown) => {
          throw err instanceof TransportError ? err : new TransportError(`response body: ${errorMessage(err)}`);
        })
        .finally(cleanup);
      text.catch(() => {}); // rejected for whoever calls text(); never an unhandled rejection
      const status = res.statusCode ?? 0;
      resolve({ status, ok: status >= 200 && status < 300, headers: new ResponseHeaders(res.headers), text: () => text });
    });
    req.end(body);
  });
}
