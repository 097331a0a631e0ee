/**
 * What every action shares: reading its inputs, the fetch context its lookups run in, the audit line of a change, the
 * catalog refresh after it, and the failure a person can act on (a permission Azure DevOps or Microsoft Graph refused
 * names the scope or permission that is missing).
 */
import { AdoAuthError } from '../ado/errors.js';
import { createFetchContext } from '../kinds/fetchContext.js';
import type { FetchContext } from '../kinds/types.js';
import { MicrosoftGraphAuthError } from '../msgraph/client.js';
import { errorMessage } from '../util/errors.js';
import { ActionFailure, type ActionContext, type ActionOutcome } from './types.js';

/** Page size of the listings an action reads (a lookup, not a resync). */
const LOOKUP_PAGE = 100;

/** What a refused request needs, per way of signing in. */
export interface PermissionNeed {
  /** The PAT scope, e.g. `vso.graph_manage (Graph: Read & manage)`. */
  pat: string;
  /** What the identity itself needs in Azure DevOps (any auth), e.g. a group's "Manage membership" permission. */
  identity: string;
}

export function success(message: string, links?: string[]): ActionOutcome {
  return links && links.length > 0 ? { status: 'SUCCESS', message, links } : { status: 'SUCCESS', message };
}

export function failure(message: string, links?: string[]): ActionOutcome {
  return links && links.length > 0 ? { status: 'FAILURE', message, links } : { status: 'FAILURE', message };
}

/** A string input (validated by the schema before the action runs); undefined when absent or empty. */
export function input(ctx: ActionContext, name: string): string | undefined {
  const v = ctx.inputs[name];
  if (typeof v === 'string') return v.trim() === '' ? undefined : v.trim();
  if (typeof v === 'number') return String(v);
  return undefined;
}

export function requiredInput(ctx: ActionContext, name: string): string {
  const v = input(ctx, name);
  if (v === undefined) throw new ActionFailure(`bad input: "${name}" is missing`);
  return v;
}

/** The fetch context the kinds' lookups (graph, projects, pipelines) run in, on the action's organization. */
export function lookupContext(ctx: ActionContext): FetchContext {
  return createFetchContext({ client: ctx.client, log: ctx.log, signal: ctx.signal, pageSize: LOOKUP_PAGE });
}

/** `organization "name"`, for messages. */
export function orgName(ctx: ActionContext): string {
  return `organization "${ctx.client.org.name}"`;
}

/**
 * The audit line of a change: the worker's log (the executor's logger carries the run id and who triggered it) and the
 * run's log in Port.
 */
export async function audit(ctx: ActionContext, message: string, fields: Record<string, unknown> = {}): Promise<void> {
  ctx.log.info({ organization: ctx.client.org.name, ...fields }, message);
  await ctx.report.log(message);
}

/**
 * Writes the changed items to the catalog (when the installation gives a refresh: not in a dry-run). The change is
 * done whatever happens here: a refresh that fails is said in the run's log, and the next resync brings the change.
 */
export async function refreshCatalog(ctx: ActionContext, kind: string, hint: Record<string, unknown>): Promise<void> {
  if (!ctx.refresh) return;
  try {
    const { written, deleted } = await ctx.refresh.kindChanged(kind, { organization: ctx.client.org.name, ...hint });
    ctx.log.debug({ kind, written, deleted }, 'catalog refreshed after the change');
  } catch (err) {
    ctx.log.warn({ kind, reason: errorMessage(err) }, 'catalog refresh after an action failed');
    await ctx.report.log(`The change is made, but the catalog could not be refreshed (${errorMessage(err)}); the next resync brings it.`);
  }
}

/**
 * The outcome for what stopped an action: a refused permission names what is missing, an ActionFailure is its own
 * message; anything else is thrown on (the executor reports it).
 */
export function failureFrom(ctx: ActionContext, err: unknown, what: string, need: PermissionNeed): ActionOutcome {
  if (err instanceof ActionFailure) return failure(err.message);
  if (err instanceof AdoAuthError) {
    const who =
      ctx.client.authKind === 'pat'
        ? `the personal access token needs the scope ${need.pat}, and its user ${need.identity}`
        : `the Entra ID identity needs ${need.identity} in ${orgName(ctx)}`;
    return failure(`Azure DevOps refused to ${what} (HTTP ${err.status ?? 403}): ${who}. Nothing was changed.`);
  }
  if (err instanceof MicrosoftGraphAuthError) return failure(`Microsoft Graph refused to ${what} (HTTP ${err.status ?? 403}). ${err.message} Nothing was changed.`);
  throw err;
}
