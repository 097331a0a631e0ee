import { createHash } from 'node:crypto';
import type { Entity } from '../entity.js';

/** JSON with object keys sorted at every level, so equal content always gives equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** sha1 of the canonical JSON of an entity: the "has it changed since the last successful write" fingerprint. */
export function entityHash(entity: Entity): string {
  return createHash('sha1').update(canonicalJson(entity)).digest('hex');
}
