import { RedisChangeJournal } from '../../src/sync/changeJournal.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildServer, secretEquals } from '../../src/server/app.js';
import { producerConnection } from '../../src/queue/cluster.js';
import { SyncMetrics } from '../../src/observability/metrics.js';
import { planResyncFlow } from '../../src/queue/plan.js';
import type { PortAppConfig } from '../../src/config/appConfig.js';
import { silentLogger } from '../../src/observability/log.js';

const prefix = `ado-sync:server-unit-${process.pid}-${Date.now()}:bull`;
const event = { id: 'evt-0001', eventType: 'git.pullrequest.created', publisherId: 'tfs', resource: { pullRequestId: 1 } };
interface Reply {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  json(): unknown;
}

/** Requests over loopback (fastify's inject() cannot load its ESM-only cookie dependency under jest). */
async function call(server: FastifyInstance, o: { method: string; url: string; payload?: unknown; headers?: Record<string, string> }): Promise<Reply> {
  const address = server.server.address() as { port: number };
  const headers: Record<string, string> = { ...o.headers };
  let body: string | undefined;
  if (o.payload !== undefined) {
    body = typeof o.payload === 'string' ? o.payload : JSON.stringify(o.payload);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`http://127.0.0.1:${address.port}${o.url}`, { method: o.method, headers, body });
  const text = await res.text();
  return { statusCode: res.status, headers: Object.fromEntries(res.headers), body: text, json: () => JSON.parse(text) as unknown };
}

const basic = (password: string, user = 'port') => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('fastify server', () => {
  let redis: Redis;
  let queue: Queue;
  let app: FastifyInstance;
  let downRedis: Redis;
  let downQueue: Queue;
  let down: FastifyInstance;
  const triggers: string[] = [];
  /** Requests (by their x-test-id header) whose body fastify started to read: preParsing runs right before the parser. */
  const parsing: string[] = [];
  /** Every log line of `guarded`, a server with METRICS_TOKEN set, logging everything (no redaction). */
  const logLines: string[] = [];
  let guarded: FastifyInstance;
  const METRICS_TOKEN = 'metrics-token-5f1c9a7e';

  beforeAll(async () => {
    redis = producerConnection('redis://127.0.0.1:6379');
    await new Promise((r) => redis.once('ready', r));
    queue = new Queue('webhook-events', { connection: redis, prefix });
    const metrics = new SyncMetrics();
    metrics.recordResource({ kind: 'repository', status: 'ok', rawItems: 5, entities: 4, written: 4 });
    app = buildServer({
      log: silentLogger,
      redis,
      webhookQueue: queue,
      queues: [queue],
      metrics,
      webhookSecret: 'hook-secret',
      adminToken: 'admin-secret',
      bodyLimit: 10_000,
      journal: new RedisChangeJournal(redis, prefix),
      triggerResync: async (reason) => {
        triggers.push(reason);
        return { runId: 'run-1', started: triggers.length === 1 };
      },
    });
    // Nothing listens on port 1: every Redis call fails at once. Its refused socket never emits "close" again, so
    // disconnect() would otherwise hold a 2 s timer (ioredis's disconnectTimeout) past the end of the file.
    downRedis = producerConnection('redis://127.0.0.1:1', { disconnectTimeout: 0 });
    downRedis.on('error', () => undefined);
    downQueue = new Queue('webhook-events', { connection: downRedis, prefix });
    downQueue.on('error', () => undefined);
    down = buildServer({ log: silentLogger, redis: downRedis, webhookQueue: downQueue, queues: [downQueue], redisTimeoutMs: 500, webhookSecret: 'hook-secret' });
    app.addHook('preParsing', async (req, _reply, payload) => {
      const id = req.headers['x-test-id'];
      if (typeof id === 'string') parsing.push(id);
      return payload;
    });
    const capture = new Writable({ write: (chunk: Buffer, _enc, done) => (logLines.push(chunk.toString('utf8')), done()) });
    guarded = buildServer({ log: pino({ level: 'trace' }, capture), redis, webhookQueue: queue, queues: [queue], metrics, webhookSecret: 'hook-secret', metricsToken: METRICS_TOKEN });
    await app.listen({ port: 0, host: '127.0.0.1' });
    await down.listen({ port: 0, host: '127.0.0.1' });
    await guarded.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    await down.close();
    await guarded.close();
    await queue.obliterate({ force: true });
    await queue.close();
    await redis.del(`${prefix}:changed-repositories`, `${prefix}:changed-projects`, `${prefix}:change-journal`);
    await downQueue.close().catch(() => undefined);
    downRedis.disconnect();
    redis.disconnect();
  });

  const post = (server: FastifyInstance, payload: unknown, headers: Record<string, string> = {}) =>
    call(server, { method: 'POST', url: '/webhooks/azure-devops', payload, headers });

  it('asks for credentials, refuses wrong ones, accepts the basic-auth password or the header', async () => {
    const none = await post(app, event);
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toContain('Basic');
    expect((await post(app, event, { authorization: basic('wrong') })).statusCode).toBe(401);
    expect((await post(app, event, { authorization: basic('hook-secret', 'someone-else') })).statusCode).toBe(401);
    expect((await post(app, event, { authorization: `Bearer hook-secret` })).statusCode).toBe(401);
    expect((await post(app, event, { authorization: `Basic ${Buffer.from('hook-secret').toString('base64')}` })).statusCode).toBe(401);
    expect((await post(app, event, { 'x-webhook-secret': 'hook-secret-but-longer' })).statusCode).toBe(401);
    expect((await post(app, { ...event, id: 'evt-h' }, { 'x-webhook-secret': 'hook-secret' })).statusCode).toBe(202);
    expect(secretEquals('a', 'a')).toBe(true);
    expect(secretEquals('a', 'ab')).toBe(false);
  });

  it('authenticates a webhook before reading its body: an unauthenticated sender never reaches the JSON parser', async () => {
    const raw = (id: string, body: string, headers: Record<string, string> = {}) =>
      call(app, { method: 'POST', url: '/webhooks/azure-devops', payload: body, headers: { 'content-type': 'application/json', 'x-test-id': id, ...headers } });
    const none = await raw('no-credentials', '{not json');
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toContain('Basic');
    expect((await raw('wrong-password', '{not json', { authorization: basic('wrong') })).statusCode).toBe(401);
    expect((await raw('wrong-header', '{not json', { 'x-webhook-secret': 'nope' })).statusCode).toBe(401);
    // Over the body limit too: refused for its credentials, not for its size.
    expect((await raw('oversized', `{"blob":"${'x'.repeat(20_000)}"}`)).statusCode).toBe(401);
    expect(parsing).toEqual([]);
    const authenticated = await raw('authenticated', '{not json', { authorization: basic('hook-secret') });
    expect(authenticated.statusCode).toBe(400);
    expect(authenticated.body).not.toMatch(/SyntaxError|\n\s+at /);
    expect(parsing).toEqual(['authenticated']);
  });

  it('refuses every webhook when no secret is configured', async () => {
    const open = buildServer({ log: silentLogger, redis, webhookQueue: queue, queues: [queue] });
    await open.listen({ port: 0, host: '127.0.0.1' });
    try {
      const r = await post(open, { ...event, id: 'evt-no-secret' });
      expect(r.statusCode).toBe(401);
      expect(r.body).toMatch(/WEBHOOK_SECRET/);
      expect(await queue.getJob('evt-no-secret')).toBeUndefined();
    } finally {
      await open.close();
    }
  });

  it("validates the envelope against the route's schema: 400 naming the field, nothing queued", async () => {
    const auth = { authorization: basic('hook-secret') };
    const { resource: _, ...noResource } = event;
    const cases: Array<[unknown, RegExp]> = [
      [{ ...event, id: 'a:b' }, /^id must be a string of 1 to 200 letters, digits/],
      [{ ...event, id: 'x'.repeat(201) }, /^id must be/],
      [{ ...event, id: 42 }, /^id must be/],
      [{ ...event, eventType: '' }, /^eventType must be a non-empty string$/],
      [{ ...event, publisherId: 3 }, /^publisherId must be a non-empty string$/],
      [{ ...event, resource: 'x' }, /^resource must be an object$/],
      [{ ...event, resource: [] }, /^resource must be an object$/],
      [noResource, /^resource is missing: it must be an object$/],
      [[event], /^the body must be a JSON object$/],
    ];
    for (const [bad, message] of cases) {
      const r = await post(app, bad, auth);
      expect([bad, r.statusCode, (r.json() as { error: string }).error]).toEqual([bad, 400, expect.stringMatching(message)]);
    }
    expect(await queue.getJob('a:b')).toBeUndefined();
    // The fields the schema does not name are kept as sent.
    const extra = { ...event, id: 'evt-extra', resourceContainers: { project: { id: 'p' } }, createdDate: '2024-01-01T00:00:00Z' };
    expect((await post(app, extra, auth)).statusCode).toBe(202);
    expect((await queue.getJob('evt-extra'))?.data).toEqual(extra);
  });

  it('checks credentials before the schema: an unauthenticated envelope that fails it gets 401, unparsed', async () => {
    const bad = JSON.stringify({ ...event, id: 'a:b' });
    const headers = (id: string, more: Record<string, string> = {}) => ({ 'content-type': 'application/json', 'x-test-id': id, ...more });
    const none = await call(app, { method: 'POST', url: '/webhooks/azure-devops', payload: bad, headers: headers('schema-no-credentials') });
    expect(none.statusCode).toBe(401);
    expect(none.body).not.toContain('id must be');
    const wrong = await call(app, { method: 'POST', url: '/webhooks/azure-devops', payload: bad, headers: headers('schema-wrong', { authorization: basic('wrong') }) });
    expect(wrong.statusCode).toBe(401);
    expect(parsing).not.toContain('schema-no-credentials');
    expect(parsing).not.toContain('schema-wrong');
    const authenticated = await call(app, { method: 'POST', url: '/webhooks/azure-devops', payload: bad, headers: headers('schema-authenticated', { authorization: basic('hook-secret') }) });
    expect(authenticated.statusCode).toBe(400);
    expect(parsing).toContain('schema-authenticated');
  });

  it('queues a redelivered event once, under its own id', async () => {
    const auth = { authorization: basic('hook-secret') };
    const [a, b] = [await post(app, event, auth), await post(app, event, auth)];
    expect([a.statusCode, b.statusCode]).toEqual([202, 202]);
    expect(a.json()).toEqual({ accepted: true, id: event.id });
    const job = await queue.getJob(event.id);
    expect(job?.data).toEqual(event);
    expect((await queue.getJobs(['waiting'])).filter((j) => j.id === event.id)).toHaveLength(1);
  });

  it('journals what an accepted event announces (for incremental runs): a push by repository, an event by project for the kinds that subscribe to it', async () => {
    // Events the tests above accepted started a journal already: this one starts from none.
    await redis.del(`${prefix}:changed-repositories`, `${prefix}:changed-projects`, `${prefix}:change-journal`);
    const journal = new RedisChangeJournal(redis, prefix);
    const before = new Date(Date.now() - 1000);
    const auth = { authorization: basic('hook-secret') };
    const push = { id: 'evt-push-journal-1', eventType: 'git.push', publisherId: 'tfs', resource: { repository: { id: 'A1B2C3D4-0000-4000-8000-00000000REPO' } } };
    expect((await post(app, push, auth)).statusCode).toBe(202);
    // The journal began with that first event: a window starting before it is not covered.
    expect(await journal.since(before)).toBeUndefined();
    expect((await journal.projects('pull-request', before)).reason).toMatch(/begins at .*, after the cursor/);
    const from = new Date();
    const project = 'F00DF00D-0000-4000-8000-0000000PROJ';
    const pr = { ...event, id: 'evt-pr-journal-1', resourceContainers: { project: { id: project } } };
    expect((await post(app, { ...push, id: 'evt-push-journal-2' }, auth)).statusCode).toBe(202);
    expect((await post(app, pr, auth)).statusCode).toBe(202);
    expect(await journal.since(from)).toEqual(new Set(['a1b2c3d4-0000-4000-8000-00000000repo']));
    expect((await journal.projects('pull-request', from)).projectIds).toEqual(new Set([project.toLowerCase()]));
    // A kind that does not subscribe to the event, and an event without a project, mark nothing.
    expect((await journal.projects('build', from)).projectIds).toEqual(new Set());
    expect((await journal.projects('pull-request', new Date(Date.now() + 60_000))).projectIds).toEqual(new Set());
  });

  it('answers 413 to an oversized body and 500s without internals', async () => {
    const r = await post(app, { ...event, resource: { blob: 'x'.repeat(20_000) } }, { authorization: basic('hook-secret') });
    expect(r.statusCode).toBe(413);
    expect(r.body).not.toMatch(/\n\s+at /);
    const broken = await call(app, { method: 'POST', url: '/webhooks/azure-devops', payload: '{not json', headers: { 'content-type': 'application/json', authorization: basic('hook-secret') } });
    expect(broken.statusCode).toBe(400);
    expect(broken.body).not.toMatch(/\n\s+at |SyntaxError/);
  });

  it('answers 503 when Redis cannot take the event, and /readyz says so', async () => {
    const r = await post(down, event, { authorization: basic('hook-secret') });
    expect(r.statusCode).toBe(503);
    expect((await call(down, { method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    expect((await call(down, { method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await call(app, { method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });

  it('admin resync needs the token and reports coalescing', async () => {
    expect((await call(app, { method: 'POST', url: '/admin/resync' })).statusCode).toBe(401);
    const unparsed = await call(app, { method: 'POST', url: '/admin/resync', payload: '{not json', headers: { 'x-test-id': 'admin-no-credentials' } });
    expect(unparsed.statusCode).toBe(401);
    expect(parsing).not.toContain('admin-no-credentials');
    expect((await call(app, { method: 'POST', url: '/admin/resync', headers: { authorization: 'Bearer nope' } })).statusCode).toBe(401);
    const ok = await call(app, { method: 'POST', url: '/admin/resync', headers: { authorization: 'Bearer admin-secret' } });
    expect(ok.statusCode).toBe(202);
    expect(ok.json()).toEqual({ runId: 'run-1', started: true });
    const again = await call(app, { method: 'POST', url: '/admin/resync', headers: { authorization: 'Bearer admin-secret' } });
    expect(again.json()).toEqual({ runId: 'run-1', started: false });
    expect((await call(down, { method: 'POST', url: '/admin/resync' })).statusCode).toBe(404);
  });

  it('serves Prometheus text', async () => {
    const r = await call(app, { method: 'GET', url: '/metrics' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toContain('text/plain');
    expect(r.body).toContain('ado_sync_items_fetched_total{kind="repository"} 5');
    expect(r.body).toMatch(/ado_sync_jobs\{queue="webhook-events",state="waiting"\} \d+/);
    expect(r.body).toContain('ado_sync_queue_up{queue="webhook-events"} 1');
    expect(r.body).toMatch(/^ado_sync_webhooks_received_total\{eventType="git\.pullrequest\.created"\} [1-9]\d*$/m);
  });

  it('serves every metric name dashboards know, and Node process metrics', async () => {
    const body = (await call(app, { method: 'GET', url: '/metrics' })).body;
    const types = new Map([...body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    const names = [
      ['ado_sync_items_fetched_total', 'counter'],
      ['ado_sync_items_mapped_total', 'counter'],
      ['ado_sync_items_written_total', 'counter'],
      ['ado_sync_resource_runs_total', 'counter'],
      ['ado_sync_ado_requests_total', 'counter'],
      ['ado_sync_ado_retries_total', 'counter'],
      ['ado_sync_ado_throttled_total', 'counter'],
      ['ado_sync_webhooks_received_total', 'counter'],
      ['ado_sync_webhooks_handled_total', 'counter'],
      ['ado_sync_jobs', 'gauge'],
      ['ado_sync_queue_up', 'gauge'],
      ['ado_sync_jq_processes', 'gauge'],
      ['ado_sync_jq_busy_seconds', 'counter'],
      ['ado_sync_jq_items', 'counter'],
      ['process_cpu_seconds_total', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['process_start_time_seconds', 'gauge'],
      ['nodejs_heap_size_used_bytes', 'gauge'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
      ['nodejs_version_info', 'gauge'],
    ];
    expect(names.filter(([name, type]) => types.get(name!) !== type)).toEqual([]);
    expect(body).toMatch(/^process_cpu_seconds_total \d/m);
    expect(body).toMatch(/^process_resident_memory_bytes [1-9]/m);
    // Each name once, with its help text, whatever registries it comes from.
    expect(body.match(/^# HELP ado_sync_items_fetched_total Raw items fetched from Azure DevOps$/gm)).toHaveLength(1);
    expect(body.match(/^# HELP process_cpu_seconds_total /gm)).toHaveLength(1);
  });

  it('reports a queue it cannot read as down, and still serves the rest', async () => {
    const r = await call(down, { method: 'GET', url: '/metrics' });
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain('ado_sync_queue_up{queue="webhook-events"} 0');
    expect(r.body).not.toMatch(/^ado_sync_jobs\{/m);
    expect(r.body).toMatch(/^process_cpu_seconds_total \d/m);
  });

  it('asks for METRICS_TOKEN on /metrics when it is set, and never logs it', async () => {
    const metricsCall = (headers: Record<string, string> = {}) => call(guarded, { method: 'GET', url: '/metrics', headers });
    const none = await metricsCall();
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(none.body).not.toContain('ado_sync');
    for (const authorization of ['Bearer wrong-token', `Bearer ${METRICS_TOKEN}x`, `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}`, METRICS_TOKEN]) {
      const r = await metricsCall({ authorization });
      expect([authorization, r.statusCode]).toEqual([authorization, 401]);
      expect(r.body).not.toContain('ado_sync');
    }
    const ok = await metricsCall({ authorization: `Bearer ${METRICS_TOKEN}` });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('ado_sync_items_fetched_total{kind="repository"} 5');
    // The other endpoints are not behind it.
    expect((await call(guarded, { method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    // Every request was logged (fastify's request log, trace level), and never with the token.
    expect(logLines.filter((l) => l.includes('/metrics')).length).toBeGreaterThanOrEqual(6);
    expect(logLines.filter((l) => l.includes(METRICS_TOKEN))).toEqual([]);
  });

  it('reports jq pool use', async () => {
    const { ResourceMapper } = await import('../../src/mapping/engine.js');
    const { parseAppConfig } = await import('../../src/config/appConfig.js');
    const res = parseAppConfig(`resources:\n  - kind: project\n    selector: { query: 'true' }\n    port: { entity: { mappings: { identifier: .id, blueprint: '"p"' } } }\n`, 'm.yml').config.resources[0]!;
    const mapper = new ResourceMapper(res, { poolSize: 2 });
    try {
      await mapper.mapItems([{ id: 'a' }, { id: 'b' }]);
      const r = await call(app, { method: 'GET', url: '/metrics' });
      expect(r.body).toMatch(/^ado_sync_jq_processes [2-9]\d*$/m);
      expect(r.body).toMatch(/^ado_sync_jq_items [1-9]\d*$/m);
      expect(r.body).toMatch(/^ado_sync_jq_busy_seconds \d/m);
    } finally {
      await mapper.close();
    }
  });
});

describe('resync flow plan', () => {
  const res = (kind: string, blueprint: string, relations?: Record<string, string>) =>
    ({ kind, selector: { query: 'true' }, port: { entity: { mappings: { identifier: '.id', blueprint, ...(relations ? { relations } : {}) } } } }) as unknown;
  const plan = (resources: unknown[], organizations = ['a'], createMissingRelatedEntities = false) =>
    planResyncFlow({ queueName: 'q', runId: 'run-x', config: { resources, createMissingRelatedEntities } as unknown as PortAppConfig, organizations, reason: 't', attempts: 3, backoffMs: 10 });

  it('runs independent resources side by side and orders dependent ones after everything before them', () => {
    const flow = plan([res('project', '"p"'), res('repository', '"r"'), res('pull-request', '"pr"', { repository: '.repo' }), res('repository', '"p"')]);
    expect(flow.opts?.jobId).toBe('run-x');
    const heads = flow.children!;
    expect(heads).toHaveLength(1);
    const idx = (j: { data?: { index: number } }) => j.data!.index;
    expect(idx(heads[0]!)).toBe(3);
    const level2 = heads[0]!.children!;
    expect(level2.map(idx)).toEqual([2]);
    expect(level2[0]!.children!.map(idx)).toEqual([0, 1]);
  });

  it('runs resources with relations side by side when the catalog creates missing relation targets', () => {
    const flow = plan([res('project', '"p"'), res('repository', '"r"', { project: '.p' }), res('repository', '"x"', { project: '.p' })], ['a'], true);
    expect(flow.children!.map((c) => c.data.index)).toEqual([0, 1, 2]);
    expect(flow.children!.every((c) => c.children === undefined)).toBe(true);
  });

  it('gives every organization its own chain', () => {
    const flow = plan([res('project', '"p"'), res('repository', '"r"', { project: '.p' })], ['a', 'b']);
    expect(flow.children!.map((c) => c.data.organization)).toEqual(['a', 'b']);
    for (const c of flow.children!) expect(c.children!.map((x) => x.data.index)).toEqual([0]);
  });
});
