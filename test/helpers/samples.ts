import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROOT } from './cli.js';

/** Real Azure DevOps payloads from Microsoft's REST specs, kept in test/fixtures/ado-samples (copied from shared/). */
export function sample<T = unknown>(relPath: string): T {
  const local = resolve(ROOT, 'test/fixtures/ado-samples', relPath);
  const file = existsSync(local) ? local : resolve(ROOT, '../shared/ado-api-samples', relPath);
  const text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  return JSON.parse(text) as T;
}

/** The response body of an x-ms-examples spec file. */
export function sampleBody<T = unknown>(relPath: string, status = '200'): T {
  const spec = sample<{ responses: Record<string, { body: T }> }>(relPath);
  return spec.responses[status]!.body;
}
