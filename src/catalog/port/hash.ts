import { createHash } from 'node:crypto';

/** sha1 of an entity's text (`entityText`): the "has it changed since the last successful write" fingerprint. */
export function textHash(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}
