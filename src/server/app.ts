/**
 * The HTTP face of a replica: Azure DevOps service hooks and Port action runs (actionRoute.ts, only when actions are
 * enabled) in, health and metrics out, an admin trigger for a resync.
 * Requests only queue work; a webhook is answered 202 once Redis holds its job, 503 when Redis cannot take it.
 * Credentials are checked in each route's onRequest hook, before fastify reads or parses a byte of the body; the body
 * is then validated by the route's JSON schema (schemas.ts), and a failure is a 400 naming the field.
 */
import { journalMarks } from '../sync/changeJournal.js';
import { timingSafeEqual, createHash } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../observability/log.js';
import { enqueueWebhookEvent, type ClusterKeys, type ResyncMode, type TriggerResult, type WebhookEnvelope } from '../queue/cluster.js';
import { queueRegistry, scrapeRegistry, type SyncMetrics } from '../observability/metrics.js';
import { ADMIN_RESYNC_ROUTE, WEBHOOK_ROUTE, schemaErrorFormatter } from './schemas.js';
import { registerActionRoute } from './actionRoute.js';

export interface ServerDeps {
  log: Logger;
  /** Fail-fast Redis connection (no offline queue). */
  redis: Redis;
  webhookQueue: Queue;
  /**
   * The cluster's keys: with them, an event whose subject already has a queued job that has not started is covered by
   * that job instead of getting its own (enqueueWebhookEvent). Without them every event gets a job.
   */
  coalesceKeys?: Pick<ClusterKeys, 'eventCover' | 'eventCovered'>;
  /** The journal of announced pushes: a repository event accepted here marks its repository (incremental runs). */
  /** The journal of announced changes (sync/changeJournal.ts) that incremental runs read. */
  journal?: { mark(o: ReturnType<typeof journalMarks>): Promise<void> };
  queues: Queue[];
  /** The cluster's counters, served on /metrics with the process's and the queues' job counts. */
  metrics?: SyncMetrics;
  /** Without it every webhook is refused: events are never taken from an unauthenticated sender. */
  webhookSecret?: string;
  /** The basic-auth user name the service hooks send (default `port`). */
  webhookAuthUsername?: string;
  adminToken?: string;
  /** Bearer token required on GET /metrics; without it /metrics is open. */
  metricsToken?: string;
  /** Reachability of the catalog API; readiness fails while it is false. */
  catalogReachable?: () => Promise<boolean>;
  /** Starts a resync (POST /admin/resync; `?incremental=true` asks for an incremental one) unless one is running. */
  triggerResync?: (reason: string, mode?: ResyncMode) => Promise<TriggerResult>;
  /**
   * Port action runs (`POST /actions/port`): the action-run queue and the Port client secret the invocations are signed
   * with. Without it (no ACTIONS_ENABLED) the route does not exist.
   */
  actions?: { queue: Queue; secret: string; now?: () => number };
  bodyLimit?: number;
  /** Time allowed for a Redis call in a request before answering 503. */
  redisTimeoutMs?: number;
}

/** The job states /metrics reports for each queue. */
const JOB_STATES = ['waiting', 'active', 'delayed', 'completed', 'failed', 'waiting-children', 'prioritized'] as const;

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

export function buildServer(deps: ServerDeps): FastifyInstance {
  const timeout = deps.redisTimeoutMs ?? 3000;
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'http' }) as unknown as FastifyBaseLogger,
    bodyLimit: deps.bodyLimit ?? 1024 * 1024,
    // A number where the schema wants a string is refused, not turned into one.
    ajv: { customOptions: { coerceTypes: false } },
  });

  // Never a stack trace or an internal message in a response; a schema failure says which field (schemas.ts).
  app.setErrorHandler((err: { statusCode?: number; message?: string; validation?: unknown; expose?: boolean }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err: err.message }, 'request failed');
    const error = status === 413 ? 'body too large' : status >= 500 ? 'internal error' : (err.validation || err.expose) && err.message ? err.message : 'bad request';
    void reply.code(status).send({ error });
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

  const webhook = { onRequest: webhookAuth, schema: WEBHOOK_ROUTE, schemaErrorFormatter: schemaErrorFormatter(WEBHOOK_ROUTE) };
  app.post<{ Body: WebhookEnvelope }>('/webhooks/azure-devops', webhook, async (req, reply) => {
    const event = req.body;
    try {
      const coalesce = deps.coalesceKeys ? { redis: deps.redis, keys: deps.coalesceKeys, metrics: deps.metrics, log: req.log } : undefined;
      const { jobId, coalesced } = await withTimeout(enqueueWebhookEvent(deps.webhookQueue, event, coalesce), timeout);
      // After the event is safe in the queue: a mark without its event would only cost a re-read.
      if (deps.journal) await withTimeout(deps.journal.mark(journalMarks(event)), timeout);
      deps.metrics?.webhookReceived(event.eventType);
      return reply.code(202).send({ accepted: true, id: jobId, ...(coalesced ? { coalesced } : {}) });
    } catch (err) {
      req.log.warn({ err: (err as Error).message, eventId: event.id }, 'could not queue a webhook event');
      return unavailable(reply);
    }
  });

  if (deps.actions) {
    const { queue, secret, now } = deps.actions;
    registerActionRoute(app, { queue, secret, now, metrics: deps.metrics, withTimeout: (p) => withTimeout(p, timeout) });
  }

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

  // The queues' job counts are read from Redis when /metrics is scraped, each call bounded like any other.
  const queues = queueRegistry(deps.queues.map((q) => ({ name: q.name, counts: () => withTimeout(q.getJobCounts(...JOB_STATES), timeout) })));
  const scrape = scrapeRegistry(queues, deps.metrics?.registry);
  app.get('/metrics', { onRequest: metricsAuth }, async (_req, reply) => reply.type(scrape.contentType).send(await scrape.metrics()));

  const adminAuth = async (req: FastifyRequest, reply: FastifyReply) =>
    !deps.adminToken || !deps.triggerResync ? reply.code(404).send({ error: 'not found' }) : refuseWithoutBearer(req, reply, deps.adminToken);

  app.post('/admin/resync', { onRequest: adminAuth, schema: ADMIN_RESYNC_ROUTE }, async (req, reply) => {
    if (!deps.triggerResync) return reply.code(404).send({ error: 'not found' });
    // `?incremental=true`: only what changed since each resource's cursor, nothing deleted. Either mode starts nothing
    // while a resync of either mode runs (one lock): the answer names the running run, `started: false`.
    const incremental = (req.query as Record<string, unknown> | undefined)?.incremental;
    if (incremental !== undefined && incremental !== 'true' && incremental !== 'false') return reply.code(400).send({ error: 'incremental must be true or false' });
    try {
      const r = await withTimeout(deps.triggerResync('admin', incremental === 'true' ? 'incremental' : 'full'), timeout * 3);
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

/** The repository a push or repository event (`git.push`, `git.repo.*`) is about, or undefined. */
