import { enc, type PortApi } from './api.js';
import { PortApiError } from './errors.js';

/**
 * A self-service action (or automation) as `POST /v1/actions` and `PUT /v1/actions/:identifier` take it: identifier,
 * title, `trigger` (`{type: 'self-service', operation: 'CREATE' | 'DAY-2' | 'DELETE', blueprintIdentifier, userInputs}`)
 * and `invocationMethod` (`{type: 'WEBHOOK', url, synchronized, method, body}`). Only the identifier is read here; the
 * rest is Port's.
 */
export interface PortAction {
  identifier: string;
  title?: string;
  trigger?: Record<string, unknown>;
  invocationMethod?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The action, or undefined when Port answers 404. */
export async function getAction(api: PortApi, identifier: string): Promise<PortAction | undefined> {
  try {
    return (await api.request<{ action: PortAction }>('GET', `/v1/actions/${enc(identifier)}`)).data.action;
  } catch (err) {
    if (err instanceof PortApiError && err.status === 404) return undefined;
    throw err;
  }
}

export async function createAction(api: PortApi, action: PortAction): Promise<PortAction> {
  return (await api.request<{ action: PortAction }>('POST', '/v1/actions', { body: action })).data.action;
}

/** Replaces the whole definition (`PUT`). */
export async function updateAction(api: PortApi, action: PortAction): Promise<PortAction> {
  return (await api.request<{ action: PortAction }>('PUT', `/v1/actions/${enc(action.identifier)}`, { body: action })).data.action;
}
