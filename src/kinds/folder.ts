import { AdoNotFoundError } from '../ado/errors.js';
import { getList } from '../ado/paging.js';
import { mergeMap } from '../util/asyncIter.js';
import { API } from './shared/api.js';
import { globBase, globToRegExp, trimPath } from './shared/globs.js';
import { IncludedFilesReader, includedFilesSchema } from './shared/includedFiles.js';
import { listRepositories, repositoriesPushedSince, type RepositoryRef } from './shared/listings.js';
import type { FetchContext, KindDefinition, RawItem, SelectorOf, SelectorSchema } from './types.js';

const selectorSchema = {
  type: 'object',
  properties: {
    // Ocean's snake_case key (no camelCase alias there either).
    project_name: { type: 'string', minLength: 1, description: 'Only repositories of this project (name or id)' },
    folders: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path'],
        additionalProperties: false,
        properties: {
          path: { type: 'string', minLength: 1, description: 'Folder path; * matches within a segment, ** across segments' },
          repos: {
            type: 'array',
            items: {
              type: 'object',
              required: ['name'],
              additionalProperties: false,
              properties: { name: { type: 'string', minLength: 1 }, branch: { type: 'string', minLength: 1 } },
            },
            description: 'Repositories (by name) and branches to search; default every repository on its default branch',
          },
        },
      },
    },
    includedFiles: includedFilesSchema,
  },
} as const satisfies SelectorSchema;

type FolderSelector = SelectorOf<typeof selectorSchema>;

interface Target {
  pattern: string;
  repo: RepositoryRef;
  branch: string;
}

interface GitItem {
  gitObjectType?: string;
  path?: string;
}

/**
 * Folders matching `folders[].path` (`*` within a segment, `**` across) in the named repositories (`repos[].name`,
 * default every repository; `project_name` narrows to one project) on `repos[].branch` or the default branch. One
 * items listing per (pattern, repository): `oneLevel` under the folder before the first glob, `full` when the glob is
 * not in the last segment. A missing folder or branch (404) matches nothing.
 */
/** An incremental pass: the folders of the repositories pushed to since then (every repository without a journal). */
async function* foldersSince(ctx: FetchContext, selector: FolderSelector, since: Date): AsyncGenerator<RawItem[]> {
  const pushed = await repositoriesPushedSince(ctx, since);
  if (pushed) ctx.note?.(`incremental: folders of the repositories pushed to since then (${pushed.size} in the journal)`);
  yield* fetchFolders(ctx, selector, pushed);
}

async function* fetchFolders(ctx: FetchContext, selector: FolderSelector, onlyRepositories?: Set<string>): AsyncGenerator<RawItem[]> {
  const project = selector.project_name?.toLowerCase();
  const repos = (await listRepositories(ctx)).filter(
    (r) => (!project || r.project?.name?.toLowerCase() === project || r.project?.id?.toLowerCase() === project) && (!onlyRepositories || onlyRepositories.has(r.id.toLowerCase())),
  );
  const byName = new Map(repos.map((r) => [String(r.name).toLowerCase(), r]));
  const targets: Target[] = [];
  for (const folder of selector.folders ?? []) {
    const pattern = trimPath(folder?.path ?? '');
    if (pattern === '') continue;
    const named = (folder.repos ?? []).filter((r) => typeof r?.name === 'string');
    if (named.length === 0) {
      for (const repo of repos) if (repo.defaultBranch) targets.push({ pattern, repo, branch: shortBranch(repo.defaultBranch) });
      continue;
    }
    for (const entry of named) {
      const repo = byName.get(String(entry.name).toLowerCase());
      if (!repo) {
        // An incremental pass leaves out the repositories not pushed to: not a missing one.
        if (!onlyRepositories) ctx.log.warn({ repository: entry.name, project: selector.project_name }, 'folder: repository not found');
        continue;
      }
      const branch = entry.branch ? shortBranch(entry.branch) : repo.defaultBranch ? shortBranch(repo.defaultBranch) : undefined;
      if (branch) targets.push({ pattern, repo, branch });
    }
  }
  const included = selector.includedFiles ?? [];
  yield* mergeMap(targets, (t) => matchFolders(ctx, t, included), 8);
}

async function* matchFolders(ctx: FetchContext, t: Target, included: string[]): AsyncGenerator<RawItem[]> {
  const { base, depth, deep } = globBase(t.pattern);
  const re = globToRegExp(t.pattern);
  let items: GitItem[];
  try {
    items = await getList<GitItem>(
      ctx.client,
      ctx.client.url(`${encodeURIComponent(t.repo.project.id)}/_apis/git/repositories/${encodeURIComponent(t.repo.id)}/items`),
      { scopePath: `/${base}`, recursionLevel: deep ? 'Full' : 'OneLevel', versionType: 'Branch', version: t.branch, 'api-version': API.ga },
      { signal: ctx.signal },
    );
  } catch (err) {
    if (err instanceof AdoNotFoundError) return; // folder or branch absent in this repository
    throw err;
  }
  const out: RawItem[] = [];
  for (const item of items) {
    if (item?.gitObjectType !== 'tree' || typeof item.path !== 'string') continue;
    const path = trimPath(item.path);
    if (path === '' || (!t.pattern.includes('**') && path.split('/').length !== depth) || !re.test(path)) continue;
    out.push({ ...item, __repository: t.repo, __branch: t.branch, __pattern: t.pattern });
  }
  if (included.length > 0) {
    const reader = new IncludedFilesReader(ctx, t.repo, t.branch);
    await Promise.all(out.map(async (f) => (f.__includedFiles = await reader.read(String(f.path), included))));
  }
  if (out.length > 0) yield out;
}

function shortBranch(ref: string): string {
  return ref.replace(/^refs\/heads\//, '');
}

export const folderKind: KindDefinition<FolderSelector> = {
  kind: 'folder',
  description: 'Folders matching path patterns in chosen repositories and branches',
  serverSupported: true,
  docs: {
    endpoints: 'GET _apis/git/repositories (org-level); GET {project}/_apis/git/repositories/{repo}/items?scopePath=&recursionLevel= per pattern and repository',
    enrichment: ['__repository', '__branch', '__pattern', '__includedFiles'],
  },
  selectorSchema,
  fetch: fetchFolders,
  incremental: { reads: 'the folders of the repositories with a `git.push` since the cursor (the journal `serve` keeps); with no journal covering the window, every repository', since: foldersSince },
};
