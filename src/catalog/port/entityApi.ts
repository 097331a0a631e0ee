import { JsonText } from '../../http/fetch.js';
import { errorMessage } from '../../util/errors.js';
import type { Entity } from '../entity.js';
import { enc, type PortApi, type PortResponse } from './api.js';
import { PortApiError } from './errors.js';

export interface UpsertFlags {
  createMissingRelatedEntities: boolean;
  merge: boolean;
}

/** Result of one entity of an upsert call, at the position of the entity in the caller's array. */
export interface EntityWriteResult {
  index: number;
  ok: boolean;
  /** Identifier Port resolved (differs from the input when the input was a search query). */
  identifier?: string;
  created?: boolean;
  statusCode?: number;
  /** Port's error code, e.g. `not_found` for a missing relation target. */
  error?: string;
  message?: string;
}

/** One entity, through the single-entity route. Never throws for a refusal of the entity; see `ok`. */
export async function upsertEntity(api: PortApi, blueprint: string, entity: Entity, flags: UpsertFlags): Promise<EntityWriteResult> {
  try {
    const res = await api.request<{ entity: { identifier: string } }>('POST', `/v1/blueprints/${enc(blueprint)}/entities`, {
      query: upsertQuery(flags),
      body: portBody(entity),
    });
    return { index: 0, ok: true, identifier: res.data.entity?.identifier, created: res.status === 201 };
  } catch (err) {
    return failure(0, err);
  }
}

/**
 * Upserts entities of one blueprint (already serialized by `entityText`) through the bulk route, in batches of at most
 * `maxBatchEntities` and `maxBatchBytes`, concurrently. Results come back in the order of `texts` (mapped by Port's
 * `index`). A batch refused as too large (413) or malformed (422) is split in halves until the offending entity stands
 * alone; any other batch-level failure (after retries) fails each of its entities. Never throws.
 */
export async function upsertEntityTexts(api: PortApi, blueprint: string, texts: string[], flags: UpsertFlags): Promise<EntityWriteResult[]> {
  const { maxBatchEntities, maxBatchBytes } = api.options;
  const results: EntityWriteResult[] = new Array(texts.length);
  const batches: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  const envelope = 20;
  for (let i = 0; i < texts.length; i++) {
    const size = Buffer.byteLength(texts[i]!) + 1;
    if (current.length > 0 && (current.length >= maxBatchEntities || bytes + size + envelope > maxBatchBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(i);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  await Promise.all(batches.map((b) => bulkUpsert(api, blueprint, b, texts, flags, results)));
  return results;
}

async function bulkUpsert(api: PortApi, blueprint: string, batch: number[], texts: string[], flags: UpsertFlags, results: EntityWriteResult[]): Promise<void> {
  type Bulk = {
    entities?: Array<{ identifier: string; index: number; created?: boolean }>;
    errors?: Array<{ identifier?: string; index: number; statusCode?: number; error?: string; message?: string }>;
  };
  let res: PortResponse<Bulk>;
  try {
    res = await api.request<Bulk>('POST', `/v1/blueprints/${enc(blueprint)}/entities/bulk`, {
      query: upsertQuery(flags),
      body: new JsonText(`{"entities":[${batch.map((i) => texts[i]).join(',')}]}`),
    });
  } catch (err) {
    const status = err instanceof PortApiError ? err.status : undefined;
    if ((status === 413 || status === 422) && batch.length > 1) {
      const half = Math.ceil(batch.length / 2);
      api.log.info({ blueprint, size: batch.length, status }, 'port refused a bulk upsert as a whole, splitting it');
      await Promise.all([
        bulkUpsert(api, blueprint, batch.slice(0, half), texts, flags, results),
        bulkUpsert(api, blueprint, batch.slice(half), texts, flags, results),
      ]);
      return;
    }
    for (const i of batch) results[i] = failure(i, err);
    return;
  }
  for (const ok of res.data.entities ?? []) {
    const i = batch[ok.index];
    if (i === undefined) continue;
    results[i] = { index: i, ok: true, identifier: ok.identifier, created: ok.created };
  }
  for (const e of res.data.errors ?? []) {
    const i = batch[e.index];
    if (i === undefined) continue;
    results[i] = { index: i, ok: false, statusCode: e.statusCode, error: e.error, message: e.message, identifier: e.identifier };
  }
  for (const i of batch) {
    results[i] ??= { index: i, ok: false, error: 'no_result', message: `Port returned no result for this entity (HTTP ${res.status})` };
  }
}

/** Deletes one entity; false when it was already gone (404). */
export async function deleteEntity(api: PortApi, blueprint: string, identifier: string, deleteDependents: boolean): Promise<boolean> {
  try {
    await api.request('DELETE', `/v1/blueprints/${enc(blueprint)}/entities/${enc(identifier)}`, {
      query: { delete_dependents: deleteDependents },
    });
    return true;
  } catch (err) {
    if (err instanceof PortApiError && err.status === 404 && err.code === 'not_found') return false;
    throw err;
  }
}

/** Bulk delete of at most 100 identifiers of one blueprint; returns what Port reports deleted. */
export async function bulkDelete(api: PortApi, blueprint: string, identifiers: string[], deleteDependents: boolean): Promise<string[]> {
  if (identifiers.length === 0) return [];
  if (identifiers.length > 100) throw new Error('bulk delete takes at most 100 identifiers');
  const res = await api.request<{ deletedEntities?: string[] }>('POST', `/v1/blueprints/${enc(blueprint)}/bulk/entities/delete`, {
    query: { delete_dependents: deleteDependents },
    body: { entities: identifiers },
  });
  return res.data.deletedEntities ?? [];
}

function upsertQuery(flags: UpsertFlags): Record<string, boolean> {
  return {
    upsert: true,
    merge: flags.merge,
    create_missing_related_entities: flags.createMissingRelatedEntities,
    validation_only: false,
  };
}

/** The request body Port expects for an entity: the blueprint is in the path; undefined fields are left out. */
export function portBody(e: Entity): Record<string, unknown> {
  const body: Record<string, unknown> = { identifier: e.identifier };
  if (e.title !== undefined) body.title = e.title;
  if (e.icon !== undefined) body.icon = e.icon;
  if (e.team !== undefined) body.team = e.team;
  body.properties = e.properties ?? {};
  body.relations = e.relations ?? {};
  return body;
}

/**
 * The entity as it is sent to Port (the bulk route's item). Serialized once per entity: the same text is hashed and
 * becomes part of the request body. The mapping builds every entity's keys in the same order, so equal content gives
 * equal text.
 */
export function entityText(entity: Entity): string {
  return JSON.stringify(portBody(entity));
}

function failure(index: number, err: unknown): EntityWriteResult {
  if (err instanceof PortApiError) {
    return { index, ok: false, statusCode: err.status, error: err.code ?? 'request_failed', message: err.message };
  }
  return { index, ok: false, error: 'request_failed', message: errorMessage(err) };
}
