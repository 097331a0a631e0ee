/**
 * Microsoft Graph, for what Azure DevOps cannot change itself: the members of Entra ID groups (Azure DevOps shows them
 * as `aadgp.` groups of origin `aad`; their `originId` is the Entra object id). On the one transport (retries, pause
 * window, stats, secret-free errors); the bearer token comes from the Entra credential the Azure DevOps clients use,
 * asked for `https://graph.microsoft.com/.default` (see `createMicrosoftGraph` in src/sync/targets.ts).
 */
import type { Logger } from '../observability/log.js';
import { errorMessage } from '../util/errors.js';
import { HttpError, retryableStatus, Transport, withQuery, type Answer, type FailedRequest, type Query, type RetryPolicy, type TransportStats } from '../http/index.js';

/** The application permission that member-only writes need (least privilege), granted with admin consent. */
export const GROUP_MEMBER_PERMISSION = 'GroupMember.ReadWrite.All';

/** Where the token comes from: an Entra credential for the Graph resource (EntraAuth fits). */
export interface GraphBearer {
  /** For messages, e.g. "Entra ID service principal". */
  readonly description: string;
  header(signal?: AbortSignal): Promise<string>;
  /** Called on a 401: true when a fresh token was obtained. */
  refresh?(): Promise<boolean>;
  secrets(): string[];
}

export const GRAPH_POLICY: RetryPolicy = {
  concurrency: 4,
  timeoutMs: 30_000,
  maxAttempts: 4,
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  maxPauseMs: 300_000,
};

/** A failed Microsoft Graph request; `code` is Graph's own (`Request_ResourceNotFound`, `Authorization_RequestDenied`, …). */
export class MicrosoftGraphError extends HttpError {
  override name = 'MicrosoftGraphError';
  constructor(
    message: string,
    options: { status?: number; retryable?: boolean; retryAfterMs?: number },
    readonly code?: string,
  ) {
    super(message, options);
  }
}

/** 401/403: the identity may not do this (a missing permission or consent). */
export class MicrosoftGraphAuthError extends MicrosoftGraphError {
  override name = 'MicrosoftGraphAuthError';
}

interface GraphErrorBody {
  error?: { code?: unknown; message?: unknown };
}

/** Microsoft Graph's answer to adding a member twice (400 Request_BadRequest). */
const ALREADY_MEMBER = /added object references already exist/i;

export class MicrosoftGraphClient {
  readonly #transport: Transport;
  readonly #base: string;

  constructor(
    baseUrl: string,
    private readonly auth: GraphBearer,
    options: Partial<RetryPolicy> = {},
    log?: Logger,
  ) {
    this.#base = baseUrl.replace(/\/+$/, '');
    this.#transport = new Transport(
      { ...GRAPH_POLICY, ...options },
      { service: 'microsoft graph', log, secrets: () => this.auth.secrets(), describe: (err, r) => this.#describe(err, r) },
    );
  }

  get stats(): TransportStats {
    return this.#transport.stats;
  }

  /** Whether `memberId` is a direct member of the group (an advanced query: `$filter` on the members, `$count`). */
  async isMember(groupId: string, memberId: string, signal?: AbortSignal): Promise<boolean> {
    const body = await this.#request<{ value?: Array<{ id?: unknown }> }>('GET', `groups/${enc(groupId)}/members`, {
      query: { $filter: `id eq '${memberId.replace(/'/g, "''")}'`, $select: 'id', $count: 'true' },
      headers: { consistencylevel: 'eventual' },
      signal,
    });
    if (!Array.isArray(body?.value)) throw new MicrosoftGraphError(`Microsoft Graph: the members of group ${groupId} came without a value array`, {});
    return body.value.some((m) => typeof m?.id === 'string' && m.id.toLowerCase() === memberId.toLowerCase());
  }

  /** Adds a direct member; one that already is counts as done (Graph answers 400 "… already exist"). */
  async addMember(groupId: string, memberId: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.#request('POST', `groups/${enc(groupId)}/members/$ref`, { body: { '@odata.id': `${this.#base}/directoryObjects/${enc(memberId)}` }, signal });
    } catch (err) {
      if (err instanceof MicrosoftGraphError && err.status === 400 && ALREADY_MEMBER.test(err.message)) return;
      throw err;
    }
  }

  /** Removes a direct member; one that is not (a 404 naming the member, not the group) counts as done. */
  async removeMember(groupId: string, memberId: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.#request('DELETE', `groups/${enc(groupId)}/members/${enc(memberId)}/$ref`, { signal });
    } catch (err) {
      if (err instanceof MicrosoftGraphError && err.status === 404 && err.message.includes(`'${memberId}'`)) return;
      throw err;
    }
  }

  #request<T>(method: string, path: string, o: { query?: Query; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal }): Promise<T> {
    const url = withQuery(`${this.#base}/${path}`, o.query);
    let refreshed = false;
    return this.#transport.send<T>({
      method,
      url,
      body: o.body,
      signal: o.signal,
      // A POST of a reference is safe to send again: a second one answers "already exist", read as done.
      idempotent: true,
      headers: async () => ({ accept: 'application/json', authorization: await this.auth.header(o.signal), ...o.headers }),
      read: (answer) => read<T>(answer),
      settle: async (err) => {
        if (err instanceof MicrosoftGraphAuthError && err.status === 401 && !refreshed && this.auth.refresh) {
          refreshed = true;
          if (await this.auth.refresh()) return 'again';
        }
        return undefined;
      },
    });
  }

  #describe(err: unknown, r: FailedRequest): Error {
    const scrub = (m: string) => this.#transport.scrub(m);
    if (err instanceof MicrosoftGraphAuthError) {
      const what = err.status === 403 ? 'is not allowed to' : 'was rejected by Microsoft Graph for';
      return new MicrosoftGraphAuthError(
        scrub(
          `Microsoft Graph: the ${this.auth.description} ${what} ${r.label}: ${err.message.replace(/\.$/, '')}. The app registration needs the Microsoft Graph application permission ${GROUP_MEMBER_PERMISSION}, with admin consent.`,
        ),
        { status: err.status },
        err.code,
      );
    }
    const status = err instanceof HttpError ? err.status : undefined;
    const code = err instanceof MicrosoftGraphError ? err.code : undefined;
    return new MicrosoftGraphError(scrub(`Microsoft Graph: ${r.label} failed after ${r.attempts} attempt(s): ${errorMessage(err)}`), { status }, code);
  }
}

function enc(id: string): string {
  return encodeURIComponent(id);
}

function read<T>(res: Answer): T {
  if (res.ok) {
    if (res.status === 204 || res.text.length === 0) return undefined as T;
    try {
      return JSON.parse(res.text) as T;
    } catch {
      throw new MicrosoftGraphError(`truncated or invalid JSON body (${res.text.length} bytes)`, { status: res.status, retryable: true });
    }
  }
  let code: string | undefined;
  let detail = res.text.slice(0, 200).replace(/\s+/g, ' ');
  try {
    const body = JSON.parse(res.text) as GraphErrorBody;
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') detail = body.error.message.slice(0, 500);
  } catch {
    /* not JSON */
  }
  const message = `HTTP ${res.status}${code ? ` ${code}` : ''}${detail ? `: ${detail}` : ''}`;
  const options = { status: res.status, retryable: retryableStatus(res.status), retryAfterMs: res.retryAfterMs };
  if (res.status === 401 || res.status === 403) throw new MicrosoftGraphAuthError(message, { status: res.status }, code);
  throw new MicrosoftGraphError(message, options, code);
}
