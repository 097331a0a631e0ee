import { createHash } from 'node:crypto';
import type { Entity } from '../entity.js';
import { portBody } from './client.js';

/**
 * The entity as it is sent to Port (the bulk route's item). Serialized once per entity: the same text is hashed and
 * becomes part of the request body. The mapping builds every entity's keys in the same order, so equal content gives
 * equal text.
 */
export function entityText(entity: Entity): string {
  return JSON.stringify(portBody(entity));
}

/** sha1 of an entity's text: the "has it changed since the last successful write" fingerprint. */
export function textHash(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}
