/**
 * Reporting a run: to Port's action-run API (log lines, label and links while it runs; the last log line ends it with
 * SUCCESS or FAILURE), or to a terminal (`ado-sync actions run`). Progress reports are best effort: Port being away
 * never stops a change halfway. The end of the run must arrive: `finish` throws when Port could not be reached, so
 * the job is tried again (its outcome is kept; the action does not run twice). A run Port no longer has (404: deleted)
 * is logged once and reporting stops; other refusals are logged, never retried forever.
 */
import { PortApiError, PortAuthError } from '../catalog/port/errors.js';
import type { RunLog, RunPatch } from '../catalog/port/actionRunApi.js';
import type { Logger } from '../observability/log.js';
import { errorMessage, scrubSecrets } from '../util/errors.js';
import type { ActionOutcome, ActionReport } from './types.js';

/** Port's bodies are limited to 1 MiB; a log line stays far below. */
const MAX_MESSAGE = 8000;
const MAX_LABEL = 80;

/** A report that also ends the run. */
export interface RunReporter extends ActionReport {
  finish(outcome: ActionOutcome): Promise<void>;
}

/** The part of the Port client a report uses. */
export interface RunApi {
  addRunLog(runId: string, log: RunLog): Promise<void>;
  patchRun(runId: string, patch: RunPatch): Promise<void>;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The run's final label: its outcome's first line, short. */
export function outcomeLabel(outcome: ActionOutcome): string {
  const first = outcome.message.split('\n')[0]!.trim();
  return clip(first || (outcome.status === 'SUCCESS' ? 'Succeeded' : 'Failed'), MAX_LABEL);
}

/** Port may not be reached now (no answer, 429, 5xx) or refuses the credentials: worth trying again later. */
function transient(err: unknown): boolean {
  if (err instanceof PortAuthError) return true;
  if (!(err instanceof PortApiError)) return true;
  return err.status === undefined || err.status === 429 || err.status >= 500;
}

export class PortRunReporter implements RunReporter {
  #gone = false;

  constructor(
    private readonly api: RunApi,
    readonly runId: string,
    private readonly logger: Logger,
    private readonly secrets: readonly string[] = [],
  ) {}

  /** Port answered 404 for the run: it was deleted; nothing more is sent. */
  get gone(): boolean {
    return this.#gone;
  }

  async log(message: string): Promise<void> {
    await this.#send('log', () => this.api.addRunLog(this.runId, { message: this.#text(message, MAX_MESSAGE) }), false);
  }

  async update(patch: { statusLabel?: string; links?: string[] }): Promise<void> {
    const body: RunPatch = {};
    if (patch.statusLabel !== undefined) body.statusLabel = this.#text(patch.statusLabel, MAX_LABEL);
    if (patch.links && patch.links.length > 0) body.link = patch.links.map((l) => this.#text(l, MAX_MESSAGE));
    if (Object.keys(body).length > 0) await this.#send('update', () => this.api.patchRun(this.runId, body), false);
  }

  async finish(outcome: ActionOutcome): Promise<void> {
    if (outcome.links && outcome.links.length > 0) {
      const link = outcome.links.map((l) => this.#text(l, MAX_MESSAGE));
      await this.#send('links', () => this.api.patchRun(this.runId, { link }), true);
    }
    const end: RunLog = { message: this.#text(outcome.message || outcome.status, MAX_MESSAGE), terminationStatus: outcome.status, statusLabel: this.#text(outcomeLabel(outcome), MAX_LABEL) };
    await this.#send('end', () => this.api.addRunLog(this.runId, end), true);
  }

  #text(text: string, max: number): string {
    return clip(scrubSecrets(text, this.secrets), max);
  }

  async #send(what: string, call: () => Promise<void>, mustArrive: boolean): Promise<void> {
    if (this.#gone) return;
    try {
      await call();
    } catch (err) {
      const reason = scrubSecrets(errorMessage(err), this.secrets);
      if (err instanceof PortApiError && err.status === 404) {
        this.#gone = true;
        this.logger.warn({ runId: this.runId, reason }, 'the action run no longer exists in Port (deleted?): reporting to it stops; its outcome is in these logs only');
        return;
      }
      if (mustArrive && transient(err)) throw err;
      this.logger.warn({ runId: this.runId, report: what, reason }, mustArrive ? 'Port refused the end of the action run' : 'could not report the progress of an action run to Port');
    }
  }
}

/** `ado-sync actions run`: the report as lines on a stream (stderr), the same lines Port would show. */
export class StreamRunReporter implements RunReporter {
  constructor(
    private readonly write: (line: string) => void,
    private readonly secrets: readonly string[] = [],
  ) {}

  async log(message: string): Promise<void> {
    this.write(`  ${scrubSecrets(message, this.secrets)}`);
  }

  async update(patch: { statusLabel?: string; links?: string[] }): Promise<void> {
    if (patch.statusLabel) this.write(`  [${scrubSecrets(patch.statusLabel, this.secrets)}]`);
    for (const l of patch.links ?? []) this.write(`  link: ${l}`);
  }

  async finish(outcome: ActionOutcome): Promise<void> {
    for (const l of outcome.links ?? []) this.write(`  link: ${l}`);
    this.write(`${outcome.status}: ${scrubSecrets(outcome.message, this.secrets)}`);
  }
}
