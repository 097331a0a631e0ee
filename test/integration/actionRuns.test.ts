/**
 * Port action runs end to end on real parts: `POST /actions/port` of the fastify server over loopback, the durable
 * BullMQ queue on the real Redis, the action-run worker (queue/actionJobs.ts with the executor) and its reports to the
 * Port simulator's action-run API. The actions are this test's own (the contract of src/actions/types.ts), so what is
 * checked is the receiving, running and reporting side.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { ActionFailure, type ActionContext, type ActionDefinition, type ActionToolkit } from '../../src/actions/types.js';
import type { PortAppConfig } from '../../src/config/appConfig.js';
import { loadSettings } from '../../src/config/settings.js';
import { createActionJobs, type ActionJobs } from '../../src/queue/actionJobs.js';
import { ACTION_QUEUE, producerConnection, workerConnection } from '../../src/queue/cluster.js';
import { buildServer } from '../../src/server/app.js';
import { silentLogger } from '../../src/observability/log.js';
import { startPortSimulator, type PortSimulator } from '../simulators/port/index.js';
import { captureLogger, clientFor, type CapturedLog } from '../simulators/port/testing.js';
import { deleteKeys } from '../helpers/redisKeys.js';

const REDIS = 'redis://127.0.0.1:6379';
const ID = `actions-${process.pid}-${Date.now()}`;
const PREFIX = `ado-sync:${ID}:bull`;
const PAT = 'pat-secret-value-0d9e71';

/** What the test actions saw, per run id. */
const seen = new Map<string, ActionContext[]>();

const touch: ActionDefinition = {
  identifier: 'test_touch',
  title: 'Touch a thing',
  inputSchema: {
    type: 'object',
    properties: { name: { type: 'string', minLength: 1, description: 'the thing to touch' }, mode: { type: 'string', enum: ['soft', 'hard'] }, times: { type: 'integer', minimum: 1 } },
    required: ['name'],
  },
  permissions: ['none'],
  async run(ctx) {
    const runId = ctx.run.port_context.runId;
    seen.set(runId, [...(seen.get(runId) ?? []), ctx]);
    ctx.log.info({ name: ctx.inputs.name }, 'touching');
    await ctx.report.log(`touching ${String(ctx.inputs.name)}`);
    await ctx.report.update({ statusLabel: 'touching', links: ['https://example.com/progress'] });
    if (ctx.inputs.name === 'refused') throw new ActionFailure(`the identity may not touch "refused": it needs the scope vso.touch_manage`);
    if (ctx.inputs.name === 'boom') throw new Error(`HTTP 500 from https://dev.azure.com/acme?token=${PAT}`);
    return { status: 'SUCCESS', message: `touched ${String(ctx.inputs.name)}${ctx.apply ? '' : ' (dry-run)'}`, links: [`https://example.com/things/${String(ctx.inputs.name)}`] };
  },
};
const off: ActionDefinition = { ...touch, identifier: 'test_off', title: 'Not enabled here' };

const toolkit: ActionToolkit = { actions: [touch, off] };

interface Reply {
  status: number;
  body: string;
}

describe('Port action runs: POST /actions/port → queue → executor → report', () => {
  let port: PortSimulator;
  let redis: Redis;
  let queue: Queue;
  let events: QueueEvents;
  let worker: Worker;
  let jobs: ActionJobs;
  let app: FastifyInstance;
  let disabled: FastifyInstance;
  let down: FastifyInstance;
  let downRedis: Redis;
  let downQueue: Queue;
  let capture: CapturedLog;
  /** Attempts that failed (a report that could not reach Port), by run id. */
  const failedAttempts = new Map<string, number>();
  const failedWaiters: Array<() => void> = [];
  /** Connections handed to BullMQ, which does not close a connection it was given. */
  const owned: Redis[] = [];
  const own = (r: Redis): Redis => (owned.push(r), r);

  beforeAll(async () => {
    port = await startPortSimulator();
    redis = producerConnection(REDIS);
    await new Promise((r) => redis.once('ready', r));
    queue = new Queue(ACTION_QUEUE, { connection: redis, prefix: PREFIX });
    events = new QueueEvents(ACTION_QUEUE, { connection: own(workerConnection(REDIS)), prefix: PREFIX });
    await events.waitUntilReady();
    const settings = loadSettings(
      {},
      {
        ADO_ORGANIZATION_URL: 'https://dev.azure.com/acme',
        ADO_PERSONAL_ACCESS_TOKEN: PAT,
        PORT_CLIENT_ID: port.clientId,
        PORT_CLIENT_SECRET: port.clientSecret,
        PORT_BASE_URL: port.url,
        INTEGRATION_IDENTIFIER: ID,
        ACTIONS_ENABLED: 'test_touch',
      },
    );
    capture = captureLogger('info');
    jobs = createActionJobs({
      settings,
      config: { resources: [] } as unknown as PortAppConfig,
      log: capture.log,
      redis,
      toolkit: () => toolkit,
      // Fast retries: the first attempt's report gives up after two tries, and BullMQ tries the job again.
      reports: clientFor(port, { maxAttempts: 2 }),
    });
    worker = new Worker(ACTION_QUEUE, (job) => jobs.process(job), { connection: own(workerConnection(REDIS)), prefix: PREFIX, concurrency: 2 });
    worker.on('failed', (job) => {
      if (!job?.id) return;
      failedAttempts.set(job.id, (failedAttempts.get(job.id) ?? 0) + 1);
      failedWaiters.splice(0).forEach((w) => w());
    });
    app = buildServer({ log: silentLogger, redis, webhookQueue: queue, queues: [queue], actions: { queue, secret: port.clientSecret } });
    disabled = buildServer({ log: silentLogger, redis, webhookQueue: queue, queues: [queue] });
    downRedis = producerConnection('redis://127.0.0.1:1', { disconnectTimeout: 0 });
    downRedis.on('error', () => undefined);
    downQueue = new Queue(ACTION_QUEUE, { connection: downRedis, prefix: PREFIX });
    downQueue.on('error', () => undefined);
    down = buildServer({ log: silentLogger, redis: downRedis, webhookQueue: downQueue, queues: [downQueue], redisTimeoutMs: 500, actions: { queue: downQueue, secret: port.clientSecret } });
    for (const s of [app, disabled, down]) await s.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    for (const s of [app, disabled, down]) await s.close();
    await worker.close();
    await jobs.close();
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
    await downQueue.close().catch(() => undefined);
    downRedis.disconnect();
    await deleteKeys(redis, `ado-sync:${ID}:*`);
    redis.disconnect();
    for (const r of owned) r.disconnect();
    await port.close();
  });

  const url = (s: FastifyInstance) => `http://127.0.0.1:${(s.server.address() as { port: number }).port}/actions/port`;
  const nowTs = () => String(Math.floor(Date.now() / 1000));
  const sign = (body: string, ts: string, secret = port.clientSecret) => `v1,${createHmac('sha256', secret).update(`${ts}.${body}`).digest('base64')}`;
  const invocation = (runId: string, action = 'test_touch', inputs: Record<string, unknown> = { name: 'lamp' }) => ({
    action,
    port_context: { runId, blueprint: 'thing' },
    inputs,
    entity: null,
    trigger: { by: { user: { email: 'jane@example.com' } }, origin: 'UI' },
  });

  /** POSTs as Port does: the body signed with the client secret; `o` overrides the headers or sends another body. */
  async function post(body: unknown, o: { server?: FastifyInstance; ts?: string; signature?: string | null; timestamp?: string | null; sendBody?: string } = {}): Promise<Reply> {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const ts = o.ts ?? nowTs();
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const timestamp = o.timestamp === undefined ? ts : o.timestamp;
    const signature = o.signature === undefined ? sign(text, ts) : o.signature;
    if (timestamp !== null) headers['x-port-timestamp'] = timestamp;
    if (signature !== null) headers['x-port-signature'] = signature;
    const res = await fetch(url(o.server ?? app), { method: 'POST', headers, body: o.sendBody ?? text });
    return { status: res.status, body: await res.text() };
  }

  async function finished(runId: string): Promise<Job> {
    const job = await queue.getJob(runId);
    if (!job) throw new Error(`no job ${runId}`);
    await job.waitUntilFinished(events, 20_000);
    return (await queue.getJob(runId))!;
  }

  it('accepts a run signed with the Port client secret, queues it under its run id, runs it and reports SUCCESS with its logs and links', async () => {
    port.createRun({ action: 'test_touch', id: 'r_ok' });
    const res = await post(invocation('r_ok'));
    expect(res).toEqual({ status: 202, body: JSON.stringify({ accepted: true, runId: 'r_ok' }) });
    const job = await finished('r_ok');
    expect(job.returnvalue).toEqual({ status: 'SUCCESS', message: 'touched lamp', links: ['https://example.com/things/lamp'] });
    const ctx = seen.get('r_ok')!;
    expect(ctx).toHaveLength(1);
    expect(ctx[0]!.apply).toBe(true);
    expect(ctx[0]!.client.org.name).toBe('acme');
    const run = port.run('r_ok')!;
    expect(run.status).toBe('SUCCESS');
    expect(run.terminations).toBe(1);
    expect(run.logs.map((l) => [l.message, l.terminationStatus])).toEqual([['touching lamp', undefined], ['touched lamp', 'SUCCESS']]);
    expect(run.statusLabel).toBe('touched lamp');
    expect(run.link).toEqual(['https://example.com/things/lamp']);
    // Every line the action logged names the run and the Port user who triggered it.
    const touching = capture.records().find((r) => r.msg === 'touching');
    expect(touching).toMatchObject({ runId: 'r_ok', user: 'jane@example.com', action: 'test_touch', name: 'lamp' });
  });

  it('refuses missing, wrong, stale, future and altered signatures with 401 before parsing the body, and queues nothing', async () => {
    const body = (id: string) => JSON.stringify(invocation(id));
    const old = String(Math.floor(Date.now() / 1000) - 301);
    const ahead = String(Math.floor(Date.now() / 1000) + 301);
    const cases: Array<[string, Promise<Reply>]> = [
      ['no headers', post(body('r_bad1'), { signature: null, timestamp: null })],
      ['no signature', post(body('r_bad2'), { signature: null })],
      ['no timestamp', post(body('r_bad3'), { timestamp: null })],
      ['wrong key', post(body('r_bad4'), { signature: sign(body('r_bad4'), nowTs(), 'another-secret') })],
      ['stale timestamp', post(body('r_bad5'), { ts: old })],
      ['future timestamp', post(body('r_bad6'), { ts: ahead })],
      ['body altered', post(body('r_bad7'), { sendBody: body('r_bad7').replace('lamp', 'door') })],
      ['timestamp altered', post(body('r_bad8'), { signature: sign(body('r_bad8'), old) })],
      ['no body', post(body('r_bad9'), { sendBody: '' })],
      // Not JSON and not signed: refused as unsigned (401), never reaching the JSON parser (which would say 400).
      ['garbage', post('{not json', { signature: 'v1,AAAA' })],
    ];
    for (const [what, reply] of cases) {
      const r = await reply;
      expect([what, r.status]).toEqual([what, 401]);
      expect([what, (JSON.parse(r.body) as { error: string }).error]).toEqual([what, expect.stringMatching(/signature|x-port-timestamp|minutes/)]);
    }
    for (let i = 1; i <= 9; i++) expect(await queue.getJob(`r_bad${i}`)).toBeUndefined();
    expect(await queue.getJobCountByTypes('waiting', 'active', 'completed', 'failed', 'delayed')).toBe((await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed'])).length);
    expect((await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed'])).map((j) => j.id).filter((id) => id?.startsWith('r_bad'))).toEqual([]);
  });

  it('answers 400 naming the field for a signed body that is not an invocation', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ action: 'test_touch', inputs: {} }, /^port_context is missing: it must be an object carrying the run id/],
      [{ action: 'test_touch', port_context: {} }, /^port_context\.runId is missing: it must be a string of 1 to 200 letters/],
      [{ action: 'test_touch', port_context: { runId: 'a:b' } }, /^port_context\.runId must be a string of 1 to 200 letters/],
      [{ action: 7, port_context: { runId: 'r_x' } }, /^action must be the action identifier/],
      [{ action: 'test_touch', port_context: { runId: 'r_x' }, inputs: 'all' }, /^inputs must be an object/],
      ['{"action": ', /^the body is not JSON$/],
      ['[1,2]', /^the body must be a JSON object$/],
    ];
    for (const [body, error] of cases) {
      const r = await post(body);
      expect([body, r.status]).toEqual([body, 400]);
      expect([body, (JSON.parse(r.body) as { error: string }).error]).toEqual([body, expect.stringMatching(error)]);
    }
    expect(await queue.getJob('r_x')).toBeUndefined();
  });

  it('has no route while actions are not enabled, and answers 503 when Redis cannot take the run', async () => {
    expect((await post(invocation('r_disabled'), { server: disabled })).status).toBe(404);
    const r = await post(invocation('r_down'), { server: down });
    expect(r.status).toBe(503);
    expect(await queue.getJob('r_disabled')).toBeUndefined();
    expect(await queue.getJob('r_down')).toBeUndefined();
  });

  it('runs a redelivered run (the same run id, signed again) once', async () => {
    port.createRun({ action: 'test_touch', id: 'r_twice' });
    const body = invocation('r_twice', 'test_touch', { name: 'bell' });
    const replies = await Promise.all([post(body), post(body), post(body, { ts: String(Math.floor(Date.now() / 1000) - 10) })]);
    expect(replies.map((r) => r.status)).toEqual([202, 202, 202]);
    await finished('r_twice');
    // Port redelivers after the first was handled: still the same job, not a second run.
    expect((await post(body)).status).toBe(202);
    await finished('r_twice');
    expect(seen.get('r_twice')).toHaveLength(1);
    expect(port.run('r_twice')!.terminations).toBe(1);
  });

  it('reports an unknown action, an action not enabled and a bad input as FAILURE naming the cause', async () => {
    const cases: Array<[string, ReturnType<typeof invocation>, RegExp]> = [
      ['r_unknown', invocation('r_unknown', 'test_tuch'), /^unknown action "test_tuch" \(did you mean "test_touch"\?\); this installation knows: test_touch, test_off$/],
      ['r_off', invocation('r_off', 'test_off'), /^action "test_off" is not enabled on this installation \(enabled: test_touch\); to allow it, add it to ACTIONS_ENABLED/],
      ['r_missing', invocation('r_missing', 'test_touch', {}), /^bad input: "name" is missing \(the thing to touch\)$/],
      ['r_enum', invocation('r_missing', 'test_touch', { name: 'x', mode: 'medium' }), /^bad input: "mode" must be equal to one of the allowed values: "soft", "hard"$/],
      ['r_type', invocation('r_type', 'test_touch', { name: 'x', times: '3' }), /^bad input: "times" must be integer$/],
      ['r_extra', invocation('r_extra', 'test_touch', { name: 'x', colour: 'red' }), /^bad input: "colour" is not an input of test_touch \(its inputs: name, mode, times, organization\)$/],
      ['r_org', invocation('r_org', 'test_touch', { name: 'x', organization: 'https://dev.azure.com/other' }), /^bad input: organization "https:\/\/dev.azure.com\/other" is not configured on this installation \(configured: acme\)$/],
    ];
    for (const [id, body] of cases) {
      port.createRun({ action: body.action, id });
      expect((await post({ ...body, port_context: { runId: id } })).status).toBe(202);
    }
    for (const [id, , message] of cases) {
      const job = await finished(id);
      expect([id, job.returnvalue?.status]).toEqual([id, 'FAILURE']);
      const run = port.run(id)!;
      expect([id, run.status, run.terminations]).toEqual([id, 'FAILURE', 1]);
      expect([id, run.logs.at(-1)!.message]).toEqual([id, expect.stringMatching(message)]);
      expect([id, run.logs.at(-1)!.terminationStatus]).toEqual([id, 'FAILURE']);
      expect(seen.has(id)).toBe(false);
    }
    // The organization named by URL (trailing slash and case aside) is the configured one.
    port.createRun({ action: 'test_touch', id: 'r_org_ok' });
    await post({ ...invocation('r_org_ok', 'test_touch', { name: 'x', organization: 'HTTPS://dev.azure.com/ACME/' }) });
    expect((await finished('r_org_ok')).returnvalue?.status).toBe('SUCCESS');
  });

  it('reports an ActionFailure with its message and any other error as a FAILURE without the secrets', async () => {
    port.createRun({ action: 'test_touch', id: 'r_refused' });
    port.createRun({ action: 'test_touch', id: 'r_boom' });
    await post(invocation('r_refused', 'test_touch', { name: 'refused' }));
    await post(invocation('r_boom', 'test_touch', { name: 'boom' }));
    await finished('r_refused');
    await finished('r_boom');
    expect(port.run('r_refused')!.logs.at(-1)).toMatchObject({ terminationStatus: 'FAILURE', message: 'the identity may not touch "refused": it needs the scope vso.touch_manage' });
    const boom = port.run('r_boom')!.logs.at(-1)!;
    expect(boom).toMatchObject({ terminationStatus: 'FAILURE', message: expect.stringContaining('Touch a thing failed: HTTP 500 from https://dev.azure.com/acme?token=[redacted]') });
    expect(JSON.stringify(port.requests)).not.toContain(PAT);
    expect(capture.text()).not.toContain(PAT);
  });

  it('logs a run Port no longer has (404) once, without retrying the job', async () => {
    // No run r_deleted in Port: it was deleted after Port sent it.
    expect((await post(invocation('r_deleted'))).status).toBe(202);
    const job = await finished('r_deleted');
    expect(job.returnvalue?.status).toBe('SUCCESS');
    expect(job.attemptsMade).toBe(1);
    const calls = port.requestsTo('POST', '/v1/actions/runs/r_deleted/logs');
    expect(calls.map((c) => c.status)).toEqual([404]);
    expect(capture.records().some((r) => r.runId === 'r_deleted' && String(r.msg).includes('no longer exists in Port'))).toBe(true);
  });

  it('tries again only the report when Port cannot be reached, without running the action again', async () => {
    port.createRun({ action: 'test_touch', id: 'r_retry' });
    // Every run log answers 503 for now: progress lines are given up, the end of the run fails the attempt.
    port.setFaults({ serverErrorEvery: 1, serverErrorStatus: 503 });
    const firstFailure = new Promise<void>((r) => failedWaiters.push(r));
    expect((await post(invocation('r_retry', 'test_touch', { name: 'gong' }))).status).toBe(202);
    await firstFailure;
    port.setFaults({ serverErrorEvery: 0 });
    const job = await finished('r_retry');
    expect(failedAttempts.get('r_retry')).toBe(1);
    expect(job.attemptsMade).toBe(2);
    expect(seen.get('r_retry')).toHaveLength(1);
    const run = port.run('r_retry')!;
    expect(run.status).toBe('SUCCESS');
    expect(run.terminations).toBe(1);
    expect(run.logs.map((l) => l.message)).toEqual(['touched gong']);
  });
});
