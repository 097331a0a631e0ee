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

/** Catalog refresh after a change: the affected items refetched from Azure DevOps and written at once. */
export interface CatalogRefresh {
  /**
   * Refetches what a kind's live event would for this synthetic service-hook-like event, maps it with every configured
   * resource of that kind and writes it; returns how many entities were written or deleted.
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

/** The part of Microsoft Graph the actions use (group membership of Entra groups). */
export interface MicrosoftGraphApi {
  isMember(groupId: string, memberId: string): Promise<boolean>;
  addMember(groupId: string, memberId: string): Promise<void>;
  removeMember(groupId: string, memberId: string): Promise<void>;
}

/** One action: its identifier, its input schema (validated with ajv before `run`), and what it does. */
export interface ActionDefinition {
  identifier: string;
  title: string;
  /** JSON schema of `inputs` (draft-07, ajv). Unknown inputs are refused. */
  inputSchema: { type: 'object'; properties: Record<string, object>; required?: string[]; additionalProperties?: boolean };
  /** Azure DevOps (and Graph) permissions it needs, for the README and the failure messages. */
  permissions: string[];
  run(ctx: ActionContext): Promise<ActionOutcome>;
}

/** A failure that is the user's or the setup's to fix (bad input, missing permission, not enabled): FAILURE, not a crash. */
export class ActionFailure extends Error {
  override name = 'ActionFailure';
}
