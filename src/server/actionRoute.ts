/**
 * `POST /actions/port`: Port's webhook backend for self-service actions and automations. Port's signature is checked
 * before anything else: the headers (present, timestamp within 5 minutes) before a byte of the body is read, then the
 * HMAC over the raw body before it is parsed. A refused request gets 401, is not parsed and not queued. A signed body
 * is then parsed and validated by the route's schema (400 naming the field), and queued durably under its run id (a
 * redelivery finds its job: one run), answered 202; 503 when Redis cannot take it. The action itself, enabled or not,
 * known or not, is the executor's to judge: it reports a FAILURE to Port rather than a silent refusal here.
 */
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkSignatureHeaders, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyPortSignature } from '../actions/signature.js';
import type { ActionInvocation } from '../actions/types.js';
import type { SyncMetrics } from '../observability/metrics.js';
import { enqueueActionRun } from '../queue/cluster.js';
import { ACTION_ROUTE, schemaErrorFormatter } from './schemas.js';

export const ACTION_PATH = '/actions/port';

export interface ActionRouteDeps {
  queue: Queue;
  /** The Port client secret: Port signs its invocations with it. */
  secret: string;
  metrics?: SyncMetrics;
  /** Bounds the Redis call before answering 503. */
  withTimeout<T>(p: Promise<T>): Promise<T>;
  /** Clock for the timestamp check (tests). */
  now?: () => number;
}

/** A refusal whose message is safe to send (the app's error handler sends it as it is). */
export class RequestRefused extends Error {
  readonly expose = true;
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

const header = (req: FastifyRequest, name: string) => req.headers[name];

export function registerActionRoute(app: FastifyInstance, deps: ActionRouteDeps): void {
  const now = deps.now ?? Date.now;
  /** Requests whose body carried a valid signature: only these reach validation and the handler. */
  const verified = new WeakSet<FastifyRequest>();
  const refuse = (req: FastifyRequest, reply: FastifyReply, reason: string) => {
    req.log.warn({ reason, ip: req.ip }, 'refused an action invocation');
    return reply.code(401).send({ error: reason });
  };

  // Its own scope: the raw-body parser below serves this route alone.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
      const check = verifyPortSignature({ rawBody: body as Buffer, timestamp: header(req, TIMESTAMP_HEADER), signature: header(req, SIGNATURE_HEADER), secret: deps.secret, nowMs: now() });
      if (!check.ok) {
        req.log.warn({ reason: check.reason, ip: req.ip }, 'refused an action invocation');
        done(new RequestRefused(401, check.reason), undefined);
        return;
      }
      verified.add(req);
      try {
        done(null, JSON.parse((body as Buffer).toString('utf8')));
      } catch {
        done(new RequestRefused(400, 'the body is not JSON'), undefined);
      }
    });

    scope.post<{ Body: ActionInvocation }>(
      ACTION_PATH,
      {
        // Before the body is read: no signature headers, or a timestamp out of the window, is refused at once.
        onRequest: async (req, reply) => {
          const check = checkSignatureHeaders(header(req, TIMESTAMP_HEADER), header(req, SIGNATURE_HEADER), now());
          return check.ok ? undefined : refuse(req, reply, check.reason);
        },
        // A request without a body never met the parser, so nothing vouched for it.
        preValidation: async (req, reply) => (verified.has(req) ? undefined : refuse(req, reply, 'invalid signature: the request has no signed body')),
        schema: ACTION_ROUTE,
        schemaErrorFormatter: schemaErrorFormatter(ACTION_ROUTE),
      },
      async (req, reply) => {
        const run = req.body;
        const runId = run.port_context.runId;
        try {
          await deps.withTimeout(enqueueActionRun(deps.queue, run));
        } catch (err) {
          req.log.warn({ err: (err as Error).message, runId }, 'could not queue an action run');
          return reply.code(503).header('retry-after', '5').send({ error: 'queue unavailable, retry later' });
        }
        deps.metrics?.actionReceived(run.action);
        req.log.info({ runId, action: run.action }, 'action run queued');
        return reply.code(202).send({ accepted: true, runId });
      },
    );
  });
}
