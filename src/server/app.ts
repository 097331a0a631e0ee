/**
 * The HTTP face of a replica: Azure DevOps service hooks in, health and metrics out, an admin trigger for a resync.
 * Requests only queue work; a webhook is answered 202 once Redis holds its job, 503 when Redis cannot take it.
 * Credentials are checked in each route's onRequest hook, before fastify reads or parses a byte of the body.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../util/log.js';
import { enqueueWebhookEvent, type TriggerResult, type WebhookEnvelope } from '../queue/cluster.js';
import type { Metrics } from '../queue/metrics.js';
import { jqPoolStats } from '../mapping/jqPool.js';

export interface ServerDeps {
  log: Logger;
  /** Fail-fast Redis connection (no offline queue). */
  redis: Redis;
  webhookQueue: Queue;
  queues: Queue[];
  metrics?: Metrics;
  /** Without it every webhook is refused: events are never taken from an unauthenticated sender. */
  webhookSecret?: string;
  /** The basic-auth user name the service hooks send (default `port`). */
  webhookAuthUsername?: string;
  adminToken?: string;
  /** Bearer token required on GET /metrics; without it /metrics is open. */
  metricsToken?: string;
  /** Reachability of the catalog API; readiness fails while it is false. */
  catalogReachable?: () => Promise<boolean>;
  triggerResync?: (reason: string) => Promise<TriggerResult>;
  bodyLimit?: number;
  /** Time allowed for a Redis call in a request before answering 503. */
  redisTimeoutMs?: number;
}

const EVENT_ID = /^[A-Za-z0-9._-]{1,200}$/;

/** Constant-time equality of two secrets (hashed first, so the length is not revealed either). */
export function secretEquals(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * A service hook authenticates with basic auth (the configured user name and the secret as password) or with the
 * secret in an `X-Webhook-Secret` header. Both are compared in constant time; anything else, including no
 * Authorization header at all, is refused.
 */
function webhookAuthenticated(req: FastifyRequest, secret: string, username: string): boolean {
  const header = req.headers['x-webhook-secret'];
  if (typeof header === 'string' && header) return secretEquals(header, secret);
  const auth = req.headers.authorization;
  if (!auth || !/^basic /i.test(auth)) return false;
  const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  // Both halves are always compared, so the time taken does not tell which one was wrong.
  const userOk = secretEquals(decoded.slice(0, colon), username);
  const passwordOk = secretEquals(decoded.slice(colon + 1), secret);
  return userOk && passwordOk;
}

function bearer(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  return auth && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
}

/** 401 unless the request carries `Authorization: Bearer <expected>` (constant-time comparison). */
function refuseWithoutBearer(req: FastifyRequest, reply: FastifyReply, expected: string): FastifyReply | undefined {
  const token = bearer(req);
  if (token === undefined) return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'credentials required' });
  if (!secretEquals(token, expected)) return reply.code(401).header('www-authenticate', 'Bearer error="invalid_token"').send({ error: 'invalid credentials' });
  return undefined;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error('redis timeout')), ms))),
  ]);
}

export function validateEnvelope(body: unknown): WebhookEnvelope | string {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'the body must be a JSON object';
  const b = body as Record<string, unknown>;
  if (typeof b.id !== 'string' || !EVENT_ID.test(b.id)) return 'id must be a string of letters, digits, ".", "_" or "-"';
  if (typeof b.eventType !== 'string' || !b.eventType) return 'eventType must be a non-empty string';
  if (typeof b.publisherId !== 'string' || !b.publisherId) return 'publisherId must be a non-empty string';
  if (!b.resource || typeof b.resource !== 'object' || Array.isArray(b.resource)) return 'resource must be an object';
  return b as WebhookEnvelope;
}

export function buildServer(deps: ServerDeps): FastifyInstance {
  const timeout = deps.redisTimeoutMs ?? 3000;
  const app = Fastify({ loggerInstance: deps.log.child({ component: 'http' }) as unknown as FastifyBaseLogger, bodyLimit: deps.bodyLimit ?? 1024 * 1024 });

  // Never a stack trace or an internal message in a response.
  app.setErrorHandler((err: { statusCode?: number; message?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err: err.message }, 'request failed');
    void reply.code(status).send({ error: status === 413 ? 'body too large' : status < 500 ? 'bad request' : 'internal error' });
  });

  const unavailable = (reply: FastifyReply) => reply.code(503).header('retry-after', '5').send({ error: 'queue unavailable, retry later' });

  // Authenticated in onRequest, before the body is read: an unauthenticated sender never reaches the JSON parser, whatever
  // it sends (malformed, oversized), and gets 401.
  const webhookAuth = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!deps.webhookSecret || !webhookAuthenticated(req, deps.webhookSecret, deps.webhookAuthUsername ?? 'port')) {
      return reply.code(401).header('www-authenticate', 'Basic realm="webhooks"').send({ error: deps.webhookSecret ? 'invalid or missing credentials' : 'webhooks are disabled: no WEBHOOK_SECRET is configured' });
    }
    return undefined;
  };

  app.post('/webhooks/azure-devops', { onRequest: webhookAuth }, async (req, reply) => {
    const event = validateEnvelope(req.body);
    if (typeof event === 'string') return reply.code(400).send({ error: event });
    try {
      const { jobId } = await withTimeout(enqueueWebhookEvent(deps.webhookQueue, event), timeout);
      deps.metrics?.inc('ado_sync_webhooks_received_total', 'Webhook events accepted', { eventType: event.eventType });
      return reply.code(202).send({ accepted: true, id: jobId });
    } catch (err) {
      req.log.warn({ err: (err as Error).message, eventId: event.id }, 'could not queue a webhook event');
      return unavailable(reply);
    }
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const [redisOk, catalogOk] = await Promise.all([
      withTimeout(deps.redis.ping(), timeout).then(() => true, () => false),
      deps.catalogReachable ? deps.catalogReachable().catch(() => false) : Promise.resolve(true),
    ]);
    const body = { redis: redisOk ? 'ok' : 'unreachable', catalog: catalogOk ? 'ok' : 'unreachable' };
    return reply.code(redisOk && catalogOk ? 200 : 503).send(body);
  });

  const metricsAuth = async (req: FastifyRequest, reply: FastifyReply) => (deps.metricsToken ? refuseWithoutBearer(req, reply, deps.metricsToken) : undefined);

  app.get('/metrics', { onRequest: metricsAuth }, async (_req, reply) => {
    const gauges: Array<{ name: string; help: string; labels: Record<string, string>; value: number }> = [];
    for (const q of deps.queues) {
      try {
        const counts = await withTimeout(q.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'waiting-children', 'prioritized'), timeout);
        for (const [state, value] of Object.entries(counts)) gauges.push({ name: 'ado_sync_jobs', help: 'Jobs by queue and state', labels: { queue: q.name, state }, value });
      } catch {
        gauges.push({ name: 'ado_sync_queue_up', help: 'Whether the queue could be read', labels: { queue: q.name }, value: 0 });
      }
    }
    gauges.push(
      { name: 'ado_sync_jq_processes', help: 'jq processes running in this replica', labels: {}, value: jqPoolStats.processes },
      { name: 'ado_sync_jq_busy_seconds', help: 'Cumulative seconds jq processes of this replica had work queued', labels: {}, value: jqPoolStats.busyMs / 1000 },
      { name: 'ado_sync_jq_items', help: 'Items mapped by jq in this replica', labels: {}, value: jqPoolStats.items },
    );
    return reply.type('text/plain; version=0.0.4').send((deps.metrics?.render(gauges) ?? '') || '\n');
  });

  const adminAuth = async (req: FastifyRequest, reply: FastifyReply) =>
    !deps.adminToken || !deps.triggerResync ? reply.code(404).send({ error: 'not found' }) : refuseWithoutBearer(req, reply, deps.adminToken);

  app.post('/admin/resync', { onRequest: adminAuth }, async (req, reply) => {
    if (!deps.triggerResync) return reply.code(404).send({ error: 'not found' });
    try {
      const r = await withTimeout(deps.triggerResync('admin'), timeout * 3);
      return reply.code(202).send({ runId: r.runId, started: r.started });
    } catch (err) {
      req.log.warn({ err: (err as Error).message }, 'could not trigger a resync');
      return unavailable(reply);
    }
  });

  return app;
}

/** Any HTTP answer from the catalog API's base URL counts as reachable (no credentials are sent). */
export function httpReachable(url: string, timeoutMs = 3000): () => Promise<boolean> {
  return async () => {
    try {
      await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(timeoutMs) });
      return true;
    } catch {
      return false;
    }
  };
}
