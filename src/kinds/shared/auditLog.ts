/**
 * The organization's audit log (`auditservice…/_apis/audit/auditlog`), read by incremental runs: identity and structure
 * changes (memberships, licenses, projects, repositories, pipelines) since a cursor, newest first, paged by
 * `continuationToken` while `hasMore` is true. It needs the "View audit log" permission (PAT scope `vso.auditlog`) and an
 * organization backed by Microsoft Entra ID; Azure DevOps Server has none. When it cannot be read, the answer says why
 * and the kinds that use it list themselves whole: an audit log that is not there is never taken as "nothing changed".
 */
import { AdoAuthError, AdoNotFoundError, IncompleteListingError } from '../../ado/errors.js';
import { errorMessage } from '../../util/errors.js';
import type { FetchContext } from '../types.js';
import { API } from './api.js';

export interface AuditEntry {
  id: string;
  /** `Git.RepositoryDeleted`, `Group.UpdateGroupMembership.Add`, `Licensing.Modified`, … */
  actionId: string;
  timestamp: string;
  projectId?: string | null;
  projectName?: string | null;
  /** The event's own fields (`RepoId`, `GroupId`, `MemberId`, `UserIdentifier`, …): Microsoft's event templates name them. */
  data: Record<string, unknown>;
}

export type AuditView = { entries: AuditEntry[] } | { unavailable: string };

/** Entries per page: the audit log's own default batch is small, and incremental windows hold few entries. */
const BATCH_SIZE = 1000;
/** More entries than an incremental window should ever hold; past it the kinds list themselves whole. */
const MAX_ENTRIES = 100_000;

/** The window starts on a whole minute: resources whose cursors fall within one minute share a read. */
const WINDOW_STEP_MS = 60_000;

/**
 * Every entry since `since` (from the minute it falls in: a few more entries only re-read what they name), read once
 * per run and window. Never throws for an audit log that cannot be read: the view names the reason instead.
 */
export function auditLogSince(ctx: FetchContext, since: Date): Promise<AuditView> {
  const from = new Date(Math.floor(since.getTime() / WINDOW_STEP_MS) * WINDOW_STEP_MS);
  return ctx.cache.memo(`audit-log:${ctx.client.org.url}:${from.toISOString()}`, () => readAuditLog(ctx, from));
}

async function readAuditLog(ctx: FetchContext, since: Date): Promise<AuditView> {
  if (ctx.client.org.flavor === 'server') return { unavailable: 'Azure DevOps Server has no audit log API' };
  const url = ctx.client.url('_apis/audit/auditlog', 'auditservice');
  const entries: AuditEntry[] = [];
  const tokens = new Set<string>();
  let token: string | undefined;
  try {
    for (;;) {
      const query = { startTime: since.toISOString(), batchSize: BATCH_SIZE, skipAggregation: true, 'api-version': API.audit, ...(token ? { continuationToken: token } : {}) };
      const res = await ctx.client.get<unknown>(url, query, ctx.signal);
      const page = readPage(res.data);
      entries.push(...page.entries);
      if (!page.hasMore) break;
      // More is promised: only a new token can deliver it, and a token seen before would loop.
      if (!page.token || tokens.has(page.token)) throw new IncompleteListingError(`audit log: hasMore without a new continuationToken`, res.status);
      if (entries.length > MAX_ENTRIES) throw new IncompleteListingError(`audit log: more than ${MAX_ENTRIES} entries since ${since.toISOString()}`, res.status);
      tokens.add(page.token);
      token = page.token;
    }
  } catch (err) {
    if (ctx.signal?.aborted) throw err;
    return { unavailable: whyUnavailable(err) };
  }
  return { entries };
}

function readPage(body: unknown): { entries: AuditEntry[]; hasMore: boolean; token?: string } {
  const b = body as { decoratedAuditLogEntries?: unknown; hasMore?: unknown; continuationToken?: unknown } | null;
  if (!b || typeof b !== 'object' || !Array.isArray(b.decoratedAuditLogEntries) || typeof b.hasMore !== 'boolean') {
    throw new IncompleteListingError('audit log: the answer has no decoratedAuditLogEntries array or no hasMore');
  }
  const entries = b.decoratedAuditLogEntries.filter(
    (e): e is AuditEntry => !!e && typeof e === 'object' && typeof (e as AuditEntry).actionId === 'string',
  );
  if (entries.length !== b.decoratedAuditLogEntries.length) throw new IncompleteListingError('audit log: an entry without an actionId');
  for (const e of entries) if (!e.data || typeof e.data !== 'object') e.data = {};
  return { entries, hasMore: b.hasMore, token: typeof b.continuationToken === 'string' && b.continuationToken !== '' ? b.continuationToken : undefined };
}

function whyUnavailable(err: unknown): string {
  if (err instanceof AdoAuthError) return `no permission to read it (${errorMessage(err)}): grant "View audit log" (PAT scope Audit Log: Read, vso.auditlog)`;
  if (err instanceof AdoNotFoundError) return `the organization has none (${errorMessage(err)}): auditing needs an organization backed by Microsoft Entra ID`;
  return `it could not be read: ${errorMessage(err)}`;
}

/** The first of these data fields that holds a non-empty string (or a number, as a string). */
export function auditField(entry: AuditEntry, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = entry.data[n];
    if (typeof v === 'string' && v !== '') return v;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  }
  return undefined;
}
