/**
 * One action run, start to end: find the action, check that this installation enables it, validate its inputs, pick
 * the organization, build its context and run it. Whatever happens, the answer is an outcome (SUCCESS or FAILURE with
 * a message a person can act on), never a throw: an unknown action, one not enabled, a bad input, a missing permission
 * or any error becomes a FAILURE naming the cause. Secrets never reach a message. Every line an action logs carries the
 * run id and the Port user who triggered it.
 */
import type { AdoClient } from '../ado/client.js';
import { howToSet } from '../config/settings.js';
import type { Logger } from '../observability/log.js';
import type { OrgTarget } from '../sync/resync.js';
import { errorMessage, scrubSecrets, UserInputError } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';
import { ORGANIZATION_INPUT, validateInputs } from './inputs.js';
import {
  ActionFailure,
  type ActionContext,
  type ActionDefinition,
  type ActionInvocation,
  type ActionOutcome,
  type ActionReport,
  type ActionToolkit,
  type CatalogRefresh,
} from './types.js';

export interface ExecutorOptions {
  toolkit: ActionToolkit;
  /** The configured organizations (sync/targets.ts buildTargets). */
  targets: readonly OrgTarget[];
  /** ACTIONS_ENABLED. */
  enabled: readonly string[];
  /** ACTIONS_ALLOW_DEPROVISION. */
  allowDeprovision: boolean;
  /** Values scrubbed from every message and link. */
  secrets: readonly string[];
  log: Logger;
}

export interface ExecuteOptions {
  /** false: say what would change, change nothing. */
  apply: boolean;
  signal?: AbortSignal;
}

const failure = (message: string): ActionOutcome => ({ status: 'FAILURE', message });

/** Who triggered the run, as Port sends it (`trigger.by.user.email`), for the audit line of every change. */
export function triggeredBy(run: ActionInvocation): string | undefined {
  const by = (run.trigger as { by?: { user?: { email?: unknown } | string; userId?: unknown } } | undefined)?.by;
  const user = by?.user;
  if (user && typeof user === 'object' && typeof user.email === 'string') return user.email;
  if (typeof user === 'string') return user;
  return typeof by?.userId === 'string' ? by.userId : undefined;
}

/** A name in ACTIONS_ENABLED that no action has is a typo: the replica does not start with it. */
export function assertEnabledKnown(enabled: readonly string[], actions: readonly ActionDefinition[]): void {
  const known = actions.map((a) => a.identifier);
  const unknown = enabled.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    const first = unknown[0]!;
    throw new UserInputError(`ACTIONS_ENABLED (--actions-enabled) names unknown action "${first}"${didYouMean(first, known)}${unknown.length > 1 ? ` (and ${unknown.slice(1).join(', ')})` : ''}; the actions are: ${known.join(', ') || 'none'}`);
  }
}

export class ActionExecutor {
  readonly #byId: Map<string, ActionDefinition>;

  constructor(private readonly o: ExecutorOptions) {
    this.#byId = new Map(o.toolkit.actions.map((a) => [a.identifier, a]));
  }

  /** The action a run names, if this installation knows it. */
  action(identifier: string): ActionDefinition | undefined {
    return this.#byId.get(identifier);
  }

  /** Runs one invocation; always resolves with an outcome whose message and links are free of secrets. */
  async execute(run: ActionInvocation, report: ActionReport, x: ExecuteOptions): Promise<ActionOutcome> {
    const runId = run.port_context?.runId;
    const user = triggeredBy(run);
    const log = this.o.log.child({ runId, action: run.action, user: user ?? 'unknown' });
    let outcome: ActionOutcome;
    try {
      outcome = await this.#execute(run, report, x, log);
    } catch (err) {
      outcome = failure(`${run.action} failed: ${errorMessage(err)}`);
    }
    outcome = this.#clean(outcome);
    const level = outcome.status === 'SUCCESS' ? 'info' : 'warn';
    log[level]({ status: outcome.status, apply: x.apply, message: outcome.message, links: outcome.links }, 'action run ended');
    return outcome;
  }

  async #execute(run: ActionInvocation, report: ActionReport, x: ExecuteOptions, log: Logger): Promise<ActionOutcome> {
    const name = typeof run.action === 'string' ? run.action : '';
    const known = [...this.#byId.keys()];
    const def = this.#byId.get(name);
    if (!def) {
      return failure(`unknown action "${name}"${didYouMean(name, known)}; this installation knows: ${known.join(', ') || 'none'}`);
    }
    if (!this.o.enabled.includes(def.identifier)) {
      const enabled = this.o.enabled.length > 0 ? this.o.enabled.join(', ') : 'none';
      return failure(`action "${def.identifier}" is not enabled on this installation (enabled: ${enabled}); to allow it, add it to ACTIONS_ENABLED (${howToSet('actionsEnabled')})`);
    }
    const checked = validateInputs(def, run.inputs);
    if (!checked.ok) return failure(checked.message);
    const client = this.#organization(checked.inputs[ORGANIZATION_INPUT]);
    if (typeof client === 'string') return failure(client);

    log.info({ organization: client.org.name, apply: x.apply }, x.apply ? 'action run started' : 'action run started (dry-run: nothing is changed)');
    const ctx: ActionContext = {
      run,
      inputs: checked.inputs,
      client,
      graph: this.o.toolkit.graph?.(client),
      apply: x.apply,
      allowDeprovision: this.o.allowDeprovision,
      report,
      refresh: x.apply ? this.#refresh(client, report, log) : undefined,
      log,
      signal: x.signal,
    };
    try {
      const outcome = await def.run(ctx);
      if (!outcome || (outcome.status !== 'SUCCESS' && outcome.status !== 'FAILURE') || typeof outcome.message !== 'string') {
        return failure(`${def.identifier} ended without an outcome (an error in the action; see the worker's log)`);
      }
      return outcome;
    } catch (err) {
      if (err instanceof ActionFailure) return failure(err.message);
      log.warn({ err: scrubSecrets(errorMessage(err), this.o.secrets) }, 'action failed');
      return failure(`${def.title || def.identifier} failed: ${errorMessage(err)}`);
    }
  }

  /** The organization the inputs name (URL or name), or the only configured one; a string says what is wrong. */
  #organization(given: unknown): AdoClient | string {
    const clients = this.o.targets.map((t) => t.client);
    const names = clients.map((c) => c.org.name).join(', ');
    if (given === undefined) {
      if (clients.length === 1) return clients[0]!;
      return `bad input: "${ORGANIZATION_INPUT}" is missing: this installation has ${clients.length} organizations (${names}); name one by its URL or name`;
    }
    const wanted = String(given).trim().replace(/\/+$/, '').toLowerCase();
    const found = clients.find((c) => c.org.name.toLowerCase() === wanted || c.org.url.toLowerCase() === wanted);
    return found ?? `bad input: organization "${String(given)}" is not configured on this installation (configured: ${names})`;
  }

  /**
   * The catalog refresh, made safe: the change already happened, so a refresh that fails does not turn the run into a
   * FAILURE; it is logged on the run (the next resync brings the catalog up to date).
   */
  #refresh(client: AdoClient, report: ActionReport, log: Logger): CatalogRefresh | undefined {
    const inner = this.o.toolkit.refresh?.(client);
    if (!inner) return undefined;
    return {
      kindChanged: async (kind, hint) => {
        try {
          return await inner.kindChanged(kind, hint);
        } catch (err) {
          const reason = scrubSecrets(errorMessage(err), this.o.secrets);
          log.warn({ kind, reason }, 'catalog refresh after an action failed');
          await report.log(`The catalog could not be updated at once (${kind}): ${reason}. The next resync brings it up to date.`).catch(() => undefined);
          return { written: 0, deleted: 0 };
        }
      },
    };
  }

  #clean(outcome: ActionOutcome): ActionOutcome {
    const scrub = (s: string) => scrubSecrets(s, this.o.secrets);
    return { status: outcome.status, message: scrub(outcome.message), ...(outcome.links && outcome.links.length > 0 ? { links: outcome.links.map(scrub) } : {}) };
  }
}
