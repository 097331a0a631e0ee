/**
 * A fault-injecting HTTP proxy for the fault suite (issue 17). It listens on loopback (ephemeral port) and forwards
 * every request, path and query unchanged, to one upstream base URL (the Azure DevOps simulator, or the Port
 * simulator), except where a rule says otherwise. The worker reaches an organization as `${proxy.url}/${org}`; since
 * the simulator serves the sub-services (vsrm, vssps, …) under the same origin, forwarding every path is enough.
 *
 * A rule matches method + path regex (+ an optional query predicate, + an optional `active()` switch) and fires on
 * every match, the nth match, the first k matches or from the nth on. The first rule that fires decides the answer;
 * a rule that matches without firing lets the request through to the next rules. Every request is logged, and every
 * fired rule is recorded with what it did (the log restarts with each `setRules`), so a test can assert that its fault really happened, and await it
 * (`until`) instead of sleeping.
 *
 * Endless faults (empty continuation chains, ignored `$skip`, repeated pages) carry a safety `limit`: past it the
 * proxy answers 400 and records a `limit` event, so a worker that never stops on its own still ends, and the test sees
 * that the limit was reached (`limitReached()`), which means the worker did not stop by itself.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

/** What a rule sees of a request. `query` is the request's own (before any rewrite). */
export interface ProxyRequest {
  method: string;
  /** Decoded path, without the query string. */
  path: string;
  query: URLSearchParams;
  /** Path and query as received. */
  url: string;
}

/** When a matching rule fires. Counting is per rule, over the requests it matched (1-based). */
export type Occurrence = 'every' | { nth: number } | { first: number } | { from: number };

export type JsonEdit = (body: unknown, req: ProxyRequest) => unknown;

export type FaultAction =
  /** Forward unchanged (useful to count matches, or to shield a request from later rules). */
  | { type: 'pass' }
  /** Forward; a 2xx JSON answer is parsed (decompressed first) and replaced by `edit(body)`, status kept. */
  | { type: 'json'; edit: JsonEdit }
  /** Forward; the body is cut to `keep` (fraction, default 0.5) of its length, status and content-type kept. */
  | { type: 'truncate'; keep?: number }
  /** 200 with an HTML page (`text/html`), e.g. a proxy's or a login portal's page. */
  | { type: 'html' }
  /** 203 Non-Authoritative with the Azure DevOps sign-in page (what a rejected credential gets without the suppress header). */
  | { type: 'signIn' }
  /** This status, with a JSON error body and, when given, a Retry-After header. */
  | { type: 'status'; status: number; retryAfter?: string }
  /** 200 `{count: 0, value: []}` with a new `x-ms-continuationtoken` each time: a chain of empty pages that never ends. */
  | { type: 'emptyChain'; limit: number }
  /** Forward with the continuation token dropped (so the first page again) and answer with a new token: one page repeated under new tokens. */
  | { type: 'repeatChain'; limit: number }
  /** Forward; answer with the continuation token the request carried (or a fixed one on the first page): the token repeats. */
  | { type: 'sameToken' }
  /** Forward with `$skip=0`: a `$top/$skip` server that ignores `$skip`. */
  | { type: 'ignoreSkip'; limit: number }
  /** Never answer; the request ends when the client gives up (its timeout) or the proxy closes. */
  | { type: 'hang' };

export interface FaultRule {
  /** Names the rule in the record (`fired(name)`). */
  name: string;
  /** Method to match (any when omitted). */
  method?: string;
  /** Tested against the decoded path (no query). */
  path: RegExp;
  query?: (q: URLSearchParams) => boolean;
  /** Evaluated when a request arrives; the rule matches only while it returns true. */
  active?: () => boolean;
  /** Default 'every'. */
  when?: Occurrence;
  action: FaultAction;
}

/** One request through the proxy. */
export interface ProxyLogEntry {
  seq: number;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Name of the rule that fired, if any. */
  rule?: string;
  /** What was done: the action type, 'limit' past a safety limit, or 'forward'. */
  action: string;
  /** Status sent to the client (0 while pending, or for a hang the client abandoned). */
  status: number;
  /** For 'hang': set when the client gave up (closed the connection). */
  abandoned?: boolean;
}

export interface FaultProxy {
  readonly url: string;
  /** Every request in arrival order. */
  /** Every request since the rules were last set, in arrival order. */
  readonly log: readonly ProxyLogEntry[];
  /** Replaces the rules and starts a new log (counters, `fired`, `limitReached` start from zero). */
  setRules(rules: FaultRule[]): void;
  /** Removes every rule (the log is kept, so a run's record can still be read after it). */
  clear(): void;
  /** How many times the named rule fired (limit answers included). */
  fired(rule: string): number;
  /** Entries of the named rule. */
  firedEntries(rule: string): ProxyLogEntry[];
  /** Requests so far matching method and path. */
  count(method: string, path: RegExp): number;
  /** Whether any rule hit its safety limit (the worker did not stop an endless fault by itself). */
  limitReached(rule?: string): boolean;
  /** Settles once the named rule has fired `times` times (counting those already recorded). */
  until(rule: string, times: number): Promise<void>;
  /** Settles once the log satisfies `done` (checked now and whenever a request arrives, is answered or abandoned). */
  waitFor(done: (log: readonly ProxyLogEntry[]) => boolean): Promise<void>;
  close(): Promise<void>;
}

interface LiveRule extends FaultRule {
  matches: number;
  /** Fired (answered by this rule) so far. */
  fires: number;
  /** Continuation tokens handed out by chain actions. */
  tokens: number;
}

interface Upstream {
  status: number;
  headers: IncomingHttpHeaders;
  /** Decompressed body. */
  body: Buffer;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding', 'host', 'upgrade']);

/** Starts a proxy in front of `upstream` (a base URL such as `http://127.0.0.1:PORT`; its path is not used). */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  let rules: LiveRule[] = [];
  const log: ProxyLogEntry[] = [];
  let waiters: Array<() => boolean> = [];
  const notify = () => void (waiters = waiters.filter((w) => !w()));
  const hung = new Set<ServerResponse>();

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 502, { message: `fault proxy: ${err instanceof Error ? err.message : String(err)}` });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const parsed = new URL(url, 'http://proxy');
    const info: ProxyRequest = { method: req.method ?? 'GET', path: safeDecode(parsed.pathname), query: parsed.searchParams, url };
    const requestBody = await readAll(req);
    const rule = pick(info);
    const entry: ProxyLogEntry = {
      seq: log.length + 1,
      method: info.method,
      path: info.path,
      query: Object.fromEntries(info.query),
      rule: rule?.name,
      action: rule ? rule.action.type : 'forward',
      status: 0,
    };
    log.push(entry);
    const done = (status: number) => {
      entry.status = status;
      notify();
    };
    if (rule) rule.fires++;
    notify();

    const forward = (rewrite?: (u: URL) => void) => {
      const u = new URL(url, target);
      rewrite?.(u);
      return send(target, u, req, requestBody);
    };
    const action = rule?.action ?? { type: 'pass' as const };
    const limit = 'limit' in action ? action.limit : undefined;
    if (rule && limit !== undefined && rule.fires > limit) {
      entry.action = 'limit';
      sendJson(res, 400, { message: `fault proxy: rule "${rule.name}" reached its safety limit of ${limit} answers; the client did not stop on its own` });
      return done(400);
    }

    switch (action.type) {
      case 'pass': {
        const up = await forward();
        relay(res, up, up.body);
        return done(up.status);
      }
      case 'json': {
        const up = await forward();
        if (up.status < 200 || up.status >= 300) {
          relay(res, up, up.body);
          return done(up.status);
        }
        const edited = action.edit(JSON.parse(up.body.toString('utf8')) as unknown, info);
        relay(res, up, Buffer.from(JSON.stringify(edited)));
        return done(up.status);
      }
      case 'truncate': {
        const up = await forward();
        relay(res, up, up.body.subarray(0, Math.floor(up.body.length * (action.keep ?? 0.5))));
        return done(up.status);
      }
      case 'html':
        sendText(res, 200, 'text/html; charset=utf-8', HTML_PAGE);
        return done(200);
      case 'signIn':
        sendText(res, 203, 'text/html; charset=utf-8', SIGN_IN_PAGE);
        return done(203);
      case 'status': {
        const headers: Record<string, string> = action.retryAfter !== undefined ? { 'retry-after': action.retryAfter } : {};
        sendJson(res, action.status, { $id: '1', message: `fault proxy: injected HTTP ${action.status}`, typeKey: 'InjectedFaultException' }, headers);
        return done(action.status);
      }
      case 'emptyChain':
        sendJson(res, 200, { count: 0, value: [] }, { 'x-ms-continuationtoken': `fault-empty-${++rule!.tokens}` });
        return done(200);
      case 'repeatChain': {
        const up = await forward((u) => u.searchParams.delete('continuationToken'));
        relay(res, up, up.body, { 'x-ms-continuationtoken': `fault-repeat-${++rule!.tokens}` });
        return done(up.status);
      }
      case 'sameToken': {
        const up = await forward();
        relay(res, up, up.body, { 'x-ms-continuationtoken': info.query.get('continuationToken') ?? 'fault-same' });
        return done(up.status);
      }
      case 'ignoreSkip': {
        const up = await forward((u) => {
          for (const k of [...u.searchParams.keys()]) if (k.toLowerCase() === '$skip') u.searchParams.set(k, '0');
        });
        relay(res, up, up.body);
        return done(up.status);
      }
      case 'hang':
        hung.add(res);
        res.on('close', () => {
          hung.delete(res);
          entry.abandoned = true;
          notify();
        });
        return;
    }
  }

  function pick(info: ProxyRequest): LiveRule | undefined {
    for (const r of rules) {
      if (r.method !== undefined && r.method.toUpperCase() !== info.method.toUpperCase()) continue;
      if (!r.path.test(info.path)) continue;
      if (r.query && !r.query(info.query)) continue;
      if (r.active && !r.active()) continue;
      const n = ++r.matches;
      const w = r.when ?? 'every';
      const fires = w === 'every' ? true : 'nth' in w ? n === w.nth : 'first' in w ? n <= w.first : n >= w.from;
      if (fires) return r;
    }
    return undefined;
  }

  function waitFor(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      waiters.push(() => {
        if (!done()) return false;
        resolve();
        return true;
      });
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const entriesOf = (rule: string) => log.filter((e) => e.rule === rule);
  let closed: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    log,
    setRules(next) {
      log.length = 0;
      rules = next.map((r) => ({ ...r, matches: 0, fires: 0, tokens: 0 }));
    },
    clear() {
      rules = [];
    },
    fired: (rule) => entriesOf(rule).length,
    firedEntries: entriesOf,
    count: (method, path) => log.filter((e) => e.method === method && path.test(e.path)).length,
    limitReached: (rule) => log.some((e) => e.action === 'limit' && (rule === undefined || e.rule === rule)),
    until(rule, times) {
      return waitFor(() => entriesOf(rule).length >= times);
    },
    waitFor: (done) => waitFor(() => done(log)),
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const res of hung) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/** Forwards one request upstream (asking for an uncompressed answer) and returns the whole, decompressed answer. */
function send(target: URL, u: URL, req: IncomingMessage, body: Buffer): Promise<Upstream> {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
  headers['accept-encoding'] = 'identity';
  if (body.length > 0) headers['content-length'] = String(body.length);
  return new Promise<Upstream>((resolve, reject) => {
    const out = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: `${u.pathname}${u.search}`, headers },
      (up) => {
        readAll(up)
          .then((raw) => resolve({ status: up.statusCode ?? 502, headers: up.headers, body: decompress(raw, up.headers['content-encoding']) }))
          .catch(reject);
      },
    );
    out.on('error', reject);
    out.end(body);
  });
}

function decompress(raw: Buffer, encoding: string | undefined): Buffer {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(raw);
    case 'deflate':
      return inflateSync(raw);
    case 'br':
      return brotliDecompressSync(raw);
    default:
      return raw;
  }
}

function relay(res: ServerResponse, up: Upstream, body: Buffer, extra: Record<string, string> = {}): void {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
  Object.assign(headers, extra, { 'content-length': String(body.length) });
  res.writeHead(up.status, headers);
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendText(res, status, 'application/json; charset=utf-8', JSON.stringify(body), headers);
}

function sendText(res: ServerResponse, status: number, contentType: string, text: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(text);
  res.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': String(body.length) });
  res.end(body);
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

const HTML_PAGE = '<!DOCTYPE html>\n<html><head><title>Service notice</title></head><body><h1>We will be right back</h1></body></html>\n';
const SIGN_IN_PAGE = [
  '<!DOCTYPE html>',
  '<html lang="en"><head><meta charset="utf-8"><title>Azure DevOps Services | Sign In</title></head>',
  '<body><h1>Sign in</h1><a href="https://login.microsoftonline.com/">Sign in with your account</a></body></html>',
].join('\n');

// ---------------------------------------------------------------------------------------------------- body edits

type JsonObject = Record<string, unknown>;

function objectBody(body: unknown): JsonObject {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('fault proxy: expected a JSON object body');
  return body as JsonObject;
}

/** Body edits for the `json` action. */
export const edits = {
  /** `{"message": "ok"}`-style answer: the array key is gone. */
  dropKey: (key = 'value'): JsonEdit => (body) => {
    const { [key]: _dropped, ...rest } = objectBody(body);
    return Object.keys(rest).length > 0 ? rest : { message: 'ok' };
  },
  /** The array key is null. */
  nullKey: (key = 'value'): JsonEdit => (body) => ({ ...objectBody(body), [key]: null }),
  /** The array key holds a value of the wrong type (`"value": "x"`). */
  wrongType: (key = 'value', value: unknown = 'x'): JsonEdit => (body) => ({ ...objectBody(body), [key]: value }),
  /** `count` disagrees with the array (the array keeps its items). */
  wrongCount: (delta = 3): JsonEdit => (body) => {
    const o = objectBody(body);
    return { ...o, count: (typeof o.count === 'number' ? o.count : 0) + delta };
  },
  /** Drops `n` items from the end of the array, leaving `count` as the server wrote it: a page that shrank. */
  shrink: (n = 1, key = 'value'): JsonEdit => (body) => {
    const o = objectBody(body);
    const items = o[key];
    if (!Array.isArray(items)) throw new Error(`fault proxy: no array in "${key}" to shrink`);
    return { ...o, [key]: items.slice(0, Math.max(0, items.length - n)) };
  },
};
