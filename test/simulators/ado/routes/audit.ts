/**
 * Audit log (auditservice.dev.azure.com/{org} in the cloud, served on the org URL here like vssps and vsaex):
 * `GET _apis/audit/auditlog?startTime=&endTime=&batchSize=&continuationToken=&skipAggregation=` answers the
 * `AuditLogQueryResult` itself, not wrapped in `value`: `{decoratedAuditLogEntries, continuationToken, hasMore}`, newest
 * first. startTime is inclusive and endTime exclusive; either may be absent (no bound: entries written with a future
 * `at` are served too). A window whose start is not before its end is empty. batchSize defaults to 200 and is capped at
 * 1000 (and at `pageLimits.auditLog` when set); 0 counts as 1. The token is the id of the page's last entry; it is kept
 * on the last page (hasMore false), as the service does. skipAggregation is accepted: the simulator writes no
 * access-log (AuditLog.AccessLog) entries, so there is nothing to aggregate. A PAT needs the scope vso.auditlog
 * (checked in http/pipeline.ts).
 */
import type { FastifyInstance } from 'fastify';
import { auditOf, isoTicks, tokenPosition } from '../data/audit.js';
import { errors } from '../http/errors.js';
import { orgOf, queryOf, sendJson } from '../http/pipeline.js';
import type { RouteContext } from './context.js';

export const DEFAULT_AUDIT_BATCH = 200;
export const MAX_AUDIT_BATCH = 1000;

export function registerAuditRoutes(app: FastifyInstance, rc: RouteContext): void {
  app.get('/:org/_apis/audit/auditlog', async (req, reply) => {
    const q = queryOf(req);
    const time = (name: string) => {
      const v = q.get(name);
      if (v === undefined || v === '') return undefined;
      const ticks = isoTicks(v);
      if (ticks === undefined) throw errors.badRequest(`The value '${v}' is not valid for ${name}: expected an ISO 8601 date-time.`, 'InvalidArgumentValueException');
      return ticks;
    };
    const startTicks = time('startTime');
    const endTicks = time('endTime');
    const token = q.get('continuationToken');
    let after: bigint | undefined;
    if (token !== undefined && token !== '') {
      after = tokenPosition(token);
      if (after === undefined) throw errors.badRequest(`The continuation token '${token}' is not valid.`, 'InvalidContinuationTokenException');
    }
    const batchSize = Math.max(1, Math.min(q.int('batchSize') ?? DEFAULT_AUDIT_BATCH, MAX_AUDIT_BATCH, rc.pageLimit('auditLog')));
    const page = auditOf(orgOf(req)).query({ startTicks, endTicks, after, batchSize });
    return sendJson(reply, 200, page);
  });
}
