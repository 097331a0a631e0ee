/**
 * Actions: commands from the catalog (Port's self-service actions and automations) that this worker executes in Azure
 * DevOps (and Microsoft Graph), reported back to Port's action-run API. These types are the contract between the
 * receiving side (signature, queue, executor, reporter) and the actions themselves.
 */
import type { AdoClient } from '../ado/client.js';
import type { Logger } from '../observability/log.js';

/** What Port sends for one run (the shipped actions' invocation body): `port_context.runId` names the run. */
export interface ActionInvocation {
  /** The action's identifier, as the shipped definitions send it. */
  action: string;
  port_context: { runId: string; [key: string]: unknown };
  /** The user inputs, validated against the action's input schema before it runs. */
  inputs?: Record<string, unknown>;
  /** The entity a day-2 action runs on, as Port sends it (identifier, blueprint, properties, relations). */
  entity?: Record<string, unknown> | null;
  /** Who triggered it (Port's `trigger`: `by.user.email` …), for the audit line of every change. */
  trigger?: Record<string, unknown>;
  [key: string]: unknown;
}

export type ActionStatus = 'SUCCESS' | 'FAILURE';

/** How a run ended: a message a person can act on, and links (e.g. the pipeline run's page) shown on the run. */
export interface ActionOutcome {
  status: ActionStatus;
  message: string;
  links?: string[];
}

/** Progress of a run, as Port shows it: log lines, and the label and links of the run. */
export interface ActionReport {
  log(message: string): Promise<void>;
  /** A short status label (e.g. "waiting for the pipeline") and links; does not end the run. */
  update(patch: { statusLabel?: string; links?: string[] }): Promise<void>;
}

/**
 * Catalog refresh after a change: the affected items refetched from Azure DevOps and written at once. Implemented by
 * `CatalogRefresher` (src/sync/catalogRefresh.ts).
 */
export interface CatalogRefresh {
  /**
   * Refetches what a kind's live event would for this synthetic service-hook-like event, maps it with every configured
   * resource of that kind and writes it; returns how many entities were written or deleted. `hint.organization` names
   * the organization (`client.org.name`); the other keys are the kind's: `user-entitlement` {userId, entitlement?},
   * `group-member` {groupDescriptor, memberDescriptor?}, `pipeline-run` {projectId, pipelineId, runId}.
   */
  kindChanged(kind: string, hint: Record<string, unknown>): Promise<{ written: number; deleted: number }>;
}

export interface ActionContext {
  run: ActionInvocation;
  /** Inputs after validation and defaults. */
  inputs: Record<string, unknown>;
  /** The organization the action acts on (from the inputs or the only configured one). */
  client: AdoClient;
  /** Microsoft Graph for Entra-sourced groups: only with service-principal (Entra) auth; undefined with a PAT. */
  graph?: MicrosoftGraphApi;
  /** false (`ado-sync actions run` without `--apply`): say what would change, change nothing. */
  apply: boolean;
  /** `ACTIONS_ALLOW_DEPROVISION`: removing users is off unless set. */
  allowDeprovision: boolean;
  report: ActionReport;
  refresh?: CatalogRefresh;
  log: Logger;
  signal?: AbortSignal;
}

/**
 * The part of Microsoft Graph the actions use (direct membership of Entra groups, by Entra object ids). Adding a member
 * who already is one, or removing one who is not, is done (no error). Built by `createMicrosoftGraph` (src/sync/targets.ts).
 */
export interface MicrosoftGraphApi {
  isMember(groupId: string, memberId: string, signal?: AbortSignal): Promise<boolean>;
  addMember(groupId: string, memberId: string, signal?: AbortSignal): Promise<void>;
  removeMember(groupId: string, memberId: string, signal?: AbortSignal): Promise<void>;
}

/** One action: its identifier, its input schema (validated with ajv before `run`), and what it does. */
export interface ActionDefinition {
  identifier: string;
  title: string;
  /** JSON schema of `inputs` (draft-07, ajv). Unknown inputs are refused. */
  inputSchema: { type: 'object'; properties: Record<string, object>; required?: string[]; additionalProperties?: boolean };
  /** Azure DevOps (and Graph) permissions it needs, for the README and the failure messages. */
  permissions: string[];
  /**
   * Running it again has the effect of running it once (default true: adding a member who is one is "already a
   * member"). false (queueing a pipeline run): a run whose worker stopped before the outcome was recorded is not started
   * again; it ends FAILURE asking the user to check Azure DevOps, so nothing happens twice.
   */
  repeatable?: boolean;
  run(ctx: ActionContext): Promise<ActionOutcome>;
}

/**
 * What an installation gives the executor (actions/executor.ts): the actions it knows and, per organization, Microsoft
 * Graph and the catalog refresh. Built once per process (the worker, `ado-sync actions run`); tests build their own.
 * The executor adds to every action's input schema an optional `organization` input (URL or name; default: the only
 * configured organization), so action schemas need not declare it.
 */
export interface ActionToolkit {
  actions: readonly ActionDefinition[];
  /** Microsoft Graph for this organization's actions; undefined without service-principal (Entra) auth. */
  graph?(client: AdoClient): MicrosoftGraphApi | undefined;
  /** The catalog refresh for this organization; undefined when nothing is written (a dry-run). */
  refresh?(client: AdoClient): CatalogRefresh | undefined;
  close?(): Promise<void>;
}

/** A failure that is the user's or the setup's to fix (bad input, missing permission, not enabled): FAILURE, not a crash. */
export class ActionFailure extends Error {
  override name = 'ActionFailure';
}
