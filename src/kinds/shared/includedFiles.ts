import { readFile } from '../repository.js';
import type { FetchContext } from '../types.js';
import type { RepositoryRef } from './listings.js';
import { trimPath } from './globs.js';

/**
 * Ocean's `includedFiles` path resolution for file and folder items: relative to `base` (the file's folder or the
 * folder itself); a leading `/` does not force the root; a path already under `base` is not joined twice; `.` = root.
 */
export function resolveIncludedPath(base: string, requested: string): string {
  const b = trimPath(base) === '.' ? '' : trimPath(base);
  const q = requested.replace(/^\/+/, '');
  if (b === '' || q === b || q.startsWith(`${b}/`)) return q;
  return `${b}/${q}`;
}

/**
 * Reads included files for the items of one repository and branch, each distinct path once. Values are keyed by the
 * requested path: content, `""` for an empty file, null when absent. Other failures throw (never silently null).
 */
export class IncludedFilesReader {
  readonly #cache = new Map<string, Promise<string | null>>();

  constructor(
    private readonly ctx: FetchContext,
    private readonly repo: RepositoryRef,
    private readonly branch: string,
  ) {}

  async read(base: string, requested: string[]): Promise<Record<string, string | null>> {
    const entries = await Promise.all(
      requested.map(async (p) => {
        const path = resolveIncludedPath(base, p);
        let pending = this.#cache.get(path);
        if (!pending) {
          pending = readFile(this.ctx, this.repo, path, this.branch);
          this.#cache.set(path, pending);
        }
        return [p, await pending] as const;
      }),
    );
    return Object.fromEntries(entries);
  }
}

export const includedFilesSchema = {
  type: 'array',
  items: { type: 'string', minLength: 1 },
  description: 'Paths read into __includedFiles, relative to the item\'s folder (Ocean\'s resolution rules)',
} as const;
