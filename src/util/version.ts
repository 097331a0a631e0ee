import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package's package.json, next to src/ or dist/src/. */
export const PACKAGE_JSON: string | undefined = ['../../package.json', '../../../package.json']
  .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
  .find((path) => existsSync(path));

/** The package version, read once. */
export const VERSION: string = (() => {
  try {
    return PACKAGE_JSON ? (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version : 'unknown';
  } catch {
    return 'unknown';
  }
})();
