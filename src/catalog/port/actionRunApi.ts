import { enc, type PortApi } from './api.js';

/** How a run ended, as Port's action-run API spells it. */
export type RunTermination = 'SUCCESS' | 'FAILURE';

/** A log line of a run; the last one ends it (`terminationStatus`) with a label. */
export interface RunLog {
  message: string;
  terminationStatus?: RunTermination;
  statusLabel?: string;
}

/** `PATCH /v1/actions/runs/:run_id`: the run's status, label and links (e.g. the pipeline run's page). */
export interface RunPatch {
  status?: RunTermination;
  statusLabel?: string;
  /** One or more links shown on the run's page. */
  link?: string | string[];
  summary?: string;
}

/** A run as `GET /v1/actions/runs/:run_id` answers it (the fields this worker reads). */
export interface PortActionRun {
  id: string;
  status?: string;
  statusLabel?: string | null;
  link?: string[];
  action?: { identifier?: string } | string;
  [key: string]: unknown;
}

/** `POST /v1/actions/runs/:run_id/logs`: one log line, and with `terminationStatus` the end of the run. */
export async function addRunLog(api: PortApi, runId: string, log: RunLog): Promise<void> {
  await api.request('POST', `/v1/actions/runs/${enc(runId)}/logs`, { body: log });
}

/** `PATCH /v1/actions/runs/:run_id`. */
export async function patchRun(api: PortApi, runId: string, patch: RunPatch): Promise<void> {
  await api.request('PATCH', `/v1/actions/runs/${enc(runId)}`, { body: patch });
}

/** `GET /v1/actions/runs/:run_id`. */
export async function getRun(api: PortApi, runId: string): Promise<PortActionRun> {
  return (await api.request<{ run: PortActionRun }>('GET', `/v1/actions/runs/${enc(runId)}`)).data.run;
}
