import { enc, type PortApi } from './api.js';
import { PortApiError } from './errors.js';

export interface PortBlueprint {
  identifier: string;
  title?: string;
  schema?: { properties: Record<string, unknown>; required?: string[] };
  relations?: Record<string, { target: string; required?: boolean; many?: boolean; title?: string }>;
  [key: string]: unknown;
}

/** The blueprint, or undefined when Port answers 404. */
export async function getBlueprint(api: PortApi, identifier: string): Promise<PortBlueprint | undefined> {
  try {
    const res = await api.request<{ blueprint: PortBlueprint }>('GET', `/v1/blueprints/${enc(identifier)}`);
    return res.data.blueprint;
  } catch (err) {
    if (err instanceof PortApiError && err.status === 404) return undefined;
    throw err;
  }
}

export async function listBlueprints(api: PortApi): Promise<PortBlueprint[]> {
  return (await api.request<{ blueprints: PortBlueprint[] }>('GET', '/v1/blueprints')).data.blueprints;
}

export async function createBlueprint(api: PortApi, blueprint: PortBlueprint): Promise<PortBlueprint> {
  return (await api.request<{ blueprint: PortBlueprint }>('POST', '/v1/blueprints', { body: blueprint })).data.blueprint;
}

export async function patchBlueprint(api: PortApi, identifier: string, patch: Partial<PortBlueprint>): Promise<PortBlueprint> {
  return (await api.request<{ blueprint: PortBlueprint }>('PATCH', `/v1/blueprints/${enc(identifier)}`, { body: patch })).data.blueprint;
}

export async function deleteBlueprint(api: PortApi, identifier: string): Promise<void> {
  await api.request('DELETE', `/v1/blueprints/${enc(identifier)}`);
}
