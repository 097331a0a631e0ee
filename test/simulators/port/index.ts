/**
 * A Port-compatible catalog API served over loopback, built from Port's documented contract (see
 * ../shared/research/port-api.md): token endpoint, blueprints, single and bulk upsert with schema and relation-target
 * validation, paginated and cross-blueprint search, single and bulk delete with dependents, 429/5xx injection, an
 * expiring-token switch and a log of every request for assertions; self-service actions, their runs and run logs
 * (actions.ts).
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { PortStore, SimError, publicEntity, type UpsertFlags } from './store.js';
import { isQuery, type Query } from './query.js';
import type { Blueprint, PortFaults, RecordedRequest, StoredEntity } from './types.js';
import { ActionStore, type InvokeOptions, type InvokeResult, type SimAction, type SimRun } from './actions.js';

export type { Blueprint, PortFaults, RecordedRequest, StoredEntity } from './types.js';
export { PortStore, SimError } from './store.js';
export { portSignature, type InvokeOptions, type InvokeResult, type SimAction, type SimRun, type SimRunLog } from './actions.js';

export interface PortSimulatorOptions {
  clientId?: string;
  clientSecret?: string;
  faults?: PortFaults;
  /** Blueprints to create at start, in order (relations must target earlier ones or themselves). */
  blueprints?: Blueprint[];
  host?: string;
  port?: number;
  /** Clock for entity timestamps ($createdAt/$updatedAt); default Date.now. */
  now?: () => number;
}

export interface PortSimulator {
  /** Base URL, e.g. `http://127.0.0.1:PORT` (routes live under /v1 as on Port). */
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Every request in arrival order. */
  readonly requests: RecordedRequest[];
  readonly blueprints: Map<string, Blueprint>;
  readonly store: PortStore;
  /** Access tokens handed out so far (distinct values). */
  readonly tokensIssued: number;
  /** The token values handed out, for tests asserting they never leak. */
  issuedTokens(): string[];
  entities(blueprint: string): StoredEntity[];
  /** Self-service action definitions, by identifier. */
  actions(): SimAction[];
  /** Creates an action run, as Port does when someone runs an action (a synchronized run's status is Port's). */
  createRun(o: { action: string; id?: string; synchronized?: boolean }): SimRun;
  /** A run with its status, label, links and logs (a copy), or undefined. */
  run(id: string): SimRun | undefined;
  /** Runs an action as Port does: creates the run, renders the webhook body, signs it and POSTs it to the action's URL. */
  invoke(action: string, o?: InvokeOptions): Promise<InvokeResult>;
  entity(blueprint: string, identifier: string): StoredEntity | undefined;
  /** Requests whose method and path match, e.g. `requestsTo('POST', /\/entities\/bulk$/)`. */
  requestsTo(method: string, path: RegExp | string): RecordedRequest[];
  /** Settles once `count` requests matching method and path have arrived (counting those already logged). */
  untilRequests(method: string, path: RegExp | string, count: number): Promise<void>;
  setFaults(faults: PortFaults): void;
  /** Makes every token issued so far expired: the next call with one answers 401. */
  expireTokens(): void;
  clearRequests(): void;
  close(): Promise<void>;
}

const bool = (v: unknown): boolean => v === 'true' || v === true;

interface TokenInfo {
  clientId: string;
  expiresAt: number;
}

export async function startPortSimulator(opts: PortSimulatorOptions = {}): Promise<PortSimulator> {
  const clientId = opts.clientId ?? `sim-client-${randomBytes(4).toString('hex')}`;
  const clientSecret = opts.clientSecret ?? `sim-secret-${randomBytes(16).toString('hex')}`;
  const store = new PortStore(opts.now);
  const actionStore = new ActionStore(store);
  for (const bp of opts.blueprints ?? []) store.createBlueprint(bp);
  let faults: PortFaults = { ...opts.faults };
  const requests: RecordedRequest[] = [];
  const records = new WeakMap<FastifyRequest, RecordedRequest>();
  const matches = (r: RecordedRequest, method: string, path: RegExp | string) =>
    r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path));
  /** untilRequests() callers: each is told of every arrival and answers whether it is satisfied. */
  let waiters: Array<(r: RecordedRequest) => boolean> = [];
  const tokens = new Map<string, TokenInfo>();
  let counter = 0;

  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    const limit = faults.bodyLimitBytes ?? 1024 * 1024;
    if (Buffer.byteLength(text) > limit) {
      done(new SimError(413, 'request_too_large', `Request body is too large (limit is ${limit} bytes)`), undefined);
      return;
    }
    if (text.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new SimError(400, 'invalid_json', 'Request body is not valid JSON'), undefined);
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof SimError) return reply.code(err.status).send(err.body());
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    return reply.code(status).send({ ok: false, error: status === 500 ? 'internal_error' : 'invalid_request', message: err.message });
  });

  app.addHook('onRequest', async (req) => {
    const url = new URL(req.url, 'http://sim');
    const rec: RecordedRequest = {
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: undefined,
      userAgent: req.headers['user-agent'] ?? '',
      status: 0,
    };
    requests.push(rec);
    records.set(req, rec);
    waiters = waiters.filter((arrived) => !arrived(rec));
  });

  // Faults and auth run once the body is parsed, so the request log shows what a refused request carried.
  app.addHook('preHandler', async (req, reply) => {
    const path = records.get(req)?.path ?? req.url;
    counter++;
    if (faults.throttleEvery && counter % faults.throttleEvery === 0) {
      if (faults.retryAfterSeconds !== undefined) reply.header('retry-after', String(faults.retryAfterSeconds));
      return reply.code(429).send({ ok: false, error: 'rate_limit_exceeded', message: 'Too many requests' });
    }
    if (faults.serverErrorEvery && counter % faults.serverErrorEvery === 0) {
      const status = faults.serverErrorStatus ?? 503;
      return reply.code(status).send({ ok: false, error: 'internal_error', message: 'Injected server error' });
    }
    if (path === '/v1/auth/access_token') return;
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(auth);
    const info = m ? tokens.get(m[1]!) : undefined;
    if (!info || info.expiresAt <= Date.now()) {
      return reply.code(401).send({ ok: false, error: 'unauthorized', message: info ? 'Token expired' : 'Invalid token' });
    }
  });

  app.addHook('onSend', async (_req, reply, payload) => {
    if (faults.rateLimitResetSeconds !== undefined) {
      reply.header('x-ratelimit-reset', String(faults.rateLimitResetSeconds));
    }
    reply.header('x-trace-id', randomBytes(8).toString('hex'));
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    const rec = records.get(req);
    if (!rec) return;
    rec.status = reply.statusCode;
    rec.body = req.body;
  });

  // ------------------------------------------------------------------ auth
  app.post('/v1/auth/access_token', async (req, reply) => {
    const body = (req.body ?? {}) as { clientId?: unknown; clientSecret?: unknown };
    if (body.clientId !== clientId || body.clientSecret !== clientSecret) {
      return reply.code(401).send({ ok: false, error: 'unauthorized', message: 'Invalid client credentials' });
    }
    const ttl = faults.tokenTtlSeconds ?? 10_800;
    // Like Port: one active token per credential pair; asking again before expiry returns the same token.
    const now = Date.now();
    let token = [...tokens.entries()].find(([, t]) => t.clientId === clientId && t.expiresAt > now)?.[0];
    if (!token) {
      token = `sim.${randomBytes(24).toString('base64url')}`;
      tokens.set(token, { clientId, expiresAt: now + ttl * 1000 });
    }
    const expiresIn = Math.max(0, Math.round((tokens.get(token)!.expiresAt - now) / 1000));
    return { ok: true, accessToken: token, expiresIn, tokenType: 'Bearer' };
  });

  // ------------------------------------------------------------------ blueprints
  app.get('/v1/blueprints', async () => ({ ok: true, blueprints: [...store.blueprints.values()].map((b) => structuredClone(b)) }));
  app.get<{ Params: { id: string } }>('/v1/blueprints/:id', async (req) => ({
    ok: true,
    blueprint: structuredClone(store.blueprint(req.params.id)),
  }));
  app.post('/v1/blueprints', async (req, reply) => reply.code(201).send({ ok: true, blueprint: store.createBlueprint(req.body) }));
  app.patch<{ Params: { id: string } }>('/v1/blueprints/:id', async (req) => ({
    ok: true,
    blueprint: store.patchBlueprint(req.params.id, req.body),
  }));
  app.delete<{ Params: { id: string } }>('/v1/blueprints/:id', async (req) => {
    store.deleteBlueprint(req.params.id);
    return { ok: true };
  });

  // ------------------------------------------------------------------ entities
  const flagsOf = (q: Record<string, unknown>): UpsertFlags => ({
    upsert: bool(q.upsert),
    merge: bool(q.merge),
    createMissingRelatedEntities: bool(q.create_missing_related_entities),
    validationOnly: bool(q.validation_only),
  });
  const ua = (req: FastifyRequest): string => req.headers['user-agent'] ?? '';

  app.post<{ Params: { bp: string }; Querystring: Record<string, string> }>('/v1/blueprints/:bp/entities', async (req, reply) => {
    const { entity, created } = store.upsertEntity(req.params.bp, req.body, flagsOf(req.query), ua(req));
    return reply.code(created ? 201 : 200).send({ ok: true, entity: publicEntity(entity) });
  });

  app.post<{ Params: { bp: string }; Querystring: Record<string, string> }>('/v1/blueprints/:bp/entities/bulk', async (req, reply) => {
    store.blueprint(req.params.bp);
    const list = (req.body as { entities?: unknown } | undefined)?.entities;
    if (!Array.isArray(list) || list.length < 1 || list.length > 20) {
      throw new SimError(422, 'invalid_request', 'body.entities must be an array of 1 to 20 entities');
    }
    const flags = flagsOf(req.query);
    const entities: Array<{ identifier: string; index: number; created: boolean }> = [];
    const errors: Array<{ identifier: string; index: number; statusCode: number; error: string; message: string }> = [];
    list.forEach((input, index) => {
      try {
        const { entity, created } = store.upsertEntity(req.params.bp, input, flags, ua(req));
        entities.push({ identifier: entity.identifier, index, created });
      } catch (err) {
        if (!(err instanceof SimError)) throw err;
        const raw = (input as { identifier?: unknown } | null)?.identifier;
        errors.push({ identifier: typeof raw === 'string' ? raw : 'unknown', index, statusCode: err.status, error: err.error, message: err.message });
      }
    });
    return reply.code(errors.length > 0 ? 207 : 200).send({ ok: errors.length === 0, entities, errors });
  });

  app.get<{ Params: { bp: string; id: string } }>('/v1/blueprints/:bp/entities/:id', async (req) => {
    const e = store.entityMap(req.params.bp).get(req.params.id);
    if (!e) throw new SimError(404, 'not_found', `Entity "${req.params.id}" of blueprint "${req.params.bp}" was not found`);
    return { ok: true, entity: publicEntity(e) };
  });

  app.post<{ Params: { bp: string } }>('/v1/blueprints/:bp/entities/search', async (req) => {
    const body = (req.body ?? {}) as { query?: unknown; include?: unknown; exclude?: unknown; limit?: unknown; from?: unknown };
    if (body.query !== undefined && !isQuery(body.query)) throw new SimError(422, 'invalid_request', 'query must be {combinator, rules}');
    const limit = body.limit === undefined ? 200 : Number(body.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new SimError(422, 'invalid_request', 'limit must be 1..1000');
    let after: string | undefined;
    if (body.from !== undefined && body.from !== null) {
      if (typeof body.from !== 'string') throw new SimError(422, 'invalid_request', 'from must be a string');
      after = Buffer.from(body.from, 'base64url').toString('utf8');
    }
    const { entities: page, more } = store.searchPage(req.params.bp, body.query as Query | undefined, after, limit);
    const next = more ? Buffer.from(page[page.length - 1]!.identifier, 'utf8').toString('base64url') : null;
    return { ok: true, entities: page.map((e) => project(e, body.include, body.exclude)), next };
  });

  app.post<{ Querystring: Record<string, string | string[]> }>('/v1/entities/search', async (req) => {
    const body = req.body;
    if (!isQuery(body)) throw new SimError(422, 'invalid_request', 'body must be {combinator, rules}');
    const include = req.query.include ?? req.query['include[]'];
    const exclude = req.query.exclude ?? req.query['exclude[]'];
    const found = store.searchAll(body);
    return {
      ok: true,
      matchingBlueprints: [...new Set(found.map((e) => e.blueprint))],
      failedBlueprints: [],
      entities: found.map((e) => project(e, asList(include), asList(exclude))),
    };
  });

  app.delete<{ Params: { bp: string; id: string }; Querystring: Record<string, string> }>(
    '/v1/blueprints/:bp/entities/:id',
    async (req) => {
      if (!store.entityMap(req.params.bp).has(req.params.id)) {
        throw new SimError(404, 'not_found', `Entity "${req.params.id}" of blueprint "${req.params.bp}" was not found`);
      }
      store.deleteEntities(req.params.bp, [req.params.id], bool(req.query.delete_dependents));
      return { ok: true };
    },
  );

  app.post<{ Params: { bp: string }; Querystring: Record<string, string> }>('/v1/blueprints/:bp/bulk/entities/delete', async (req) => {
    const ids = (req.body as { entities?: unknown } | undefined)?.entities;
    if (!Array.isArray(ids) || ids.length < 1 || ids.length > 100 || ids.some((x) => typeof x !== 'string')) {
      throw new SimError(422, 'invalid_request', 'body.entities must be an array of 1 to 100 identifiers');
    }
    const deletedEntities = store.deleteEntities(req.params.bp, ids as string[], bool(req.query.delete_dependents));
    return { ok: true, deletedEntities };
  });

  actionStore.register(app);

  app.setNotFoundHandler((req, reply: FastifyReply) =>
    reply.code(404).send({ ok: false, error: 'not_found', message: `Route ${req.method} ${req.url} not found` }),
  );

  await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
  const addr = app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('port simulator did not bind a TCP port');
  const url = `http://${opts.host ?? '127.0.0.1'}:${addr.port}`;

  return {
    url,
    clientId,
    clientSecret,
    requests,
    store,
    blueprints: store.blueprints,
    get tokensIssued() {
      return tokens.size;
    },
    issuedTokens: () => [...tokens.keys()],
    entities: (bp) => [...(store.entities.get(bp)?.values() ?? [])].map((e) => structuredClone(e)),
    entity: (bp, id) => {
      const e = store.entities.get(bp)?.get(id);
      return e ? structuredClone(e) : undefined;
    },
    actions: () => [...actionStore.actions.values()].map((a) => structuredClone(a)),
    createRun: (o) => structuredClone(actionStore.createRun(o)),
    run: (id) => {
      const r = actionStore.runs.get(id);
      return r ? structuredClone(r) : undefined;
    },
    invoke: (action, o) => actionStore.invoke(action, clientSecret, o),
    requestsTo: (method, path) => requests.filter((r) => matches(r, method, path)),
    untilRequests: (method, path, count) => {
      let seen = requests.filter((r) => matches(r, method, path)).length;
      if (seen >= count) return Promise.resolve();
      return new Promise<void>((resolve) => {
        waiters.push((r) => {
          if (matches(r, method, path)) seen++;
          if (seen < count) return false;
          resolve();
          return true;
        });
      });
    },
    setFaults: (f) => {
      faults = { ...faults, ...f };
    },
    expireTokens: () => {
      for (const t of tokens.values()) t.expiresAt = 0;
    },
    clearRequests: () => {
      requests.length = 0;
    },
    close: async () => {
      await app.close();
    },
  };
}

function asList(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.map(String) : [String(v)];
}

/** Applies Port's `include` / `exclude` field selection (meta-properties may carry a `$` prefix). */
function project(e: StoredEntity, include: unknown, exclude: unknown): Record<string, unknown> {
  const paths = (v: unknown) => (Array.isArray(v) ? v.map((p) => String(p).replace(/^\$/, '').split('.')) : undefined);
  const inc = paths(include);
  // With `include`, only the picked values are copied (a listing of owned entities asks for three of them).
  const { datasource: _ignored, ...view } = e;
  const full = (inc && inc.length > 0 ? view : publicEntity(e)) as unknown as Record<string, unknown>;
  let out: Record<string, unknown> = full;
  if (inc && inc.length > 0) {
    out = {};
    for (const p of inc) {
      let src: unknown = full;
      let dst: Record<string, unknown> = out;
      p.forEach((key, i) => {
        if (typeof src !== 'object' || src === null) return;
        const value = (src as Record<string, unknown>)[key];
        if (i === p.length - 1) {
          if (value !== undefined) dst[key] = structuredClone(value);
        } else {
          dst[key] ??= {};
          dst = dst[key] as Record<string, unknown>;
          src = value;
        }
      });
    }
  }
  for (const p of paths(exclude) ?? []) {
    let dst: unknown = out;
    p.forEach((key, i) => {
      if (typeof dst !== 'object' || dst === null) return;
      if (i === p.length - 1) delete (dst as Record<string, unknown>)[key];
      else dst = (dst as Record<string, unknown>)[key];
    });
  }
  return out;
}
