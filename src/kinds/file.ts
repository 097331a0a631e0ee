import yaml from 'js-yaml';
import { AdoNotFoundError, IncompleteListingError } from '../ado/errors.js';
import { getList, postList } from '../ado/paging.js';
import { mergeMap } from '../util/asyncIter.js';
import { API } from './shared/api.js';
import { globBase, globToRegExp, hasGlob, PATHS_SCHEMA, trimPath } from './shared/globs.js';
import { IncludedFilesReader, includedFilesSchema } from './shared/includedFiles.js';
import { listRepositories, repositoriesPushedSince, type RepositoryRef } from './shared/listings.js';
import { field, getIfExists, missing, nothing } from './shared/events.js';
import type { EventOutcome, FetchContext, KindDefinition, RawItem, SelectorOf, SelectorSchema, ServiceHookEvent } from './types.js';

/** Files larger than this are skipped (as Ocean does): they would bloat the catalog and the jq pipe. */
export const MAX_FILE_BYTES = 1024 * 1024;

const selectorSchema = {
  type: 'object',
  properties: {
    files: {
      type: 'object',
      required: ['path'],
      additionalProperties: false,
      properties: {
        path: {
          ...PATHS_SCHEMA,
          description: 'Repository-relative paths or globs (* and ? within a segment, ** across segments)',
        },
        repos: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'Repository names; default all' },
      },
    },
    includedFiles: includedFilesSchema,
  },
} as const satisfies SelectorSchema;

type FileSelector = SelectorOf<typeof selectorSchema>;

interface GitItem {
  objectId?: string;
  gitObjectType?: string;
  commitId?: string;
  path?: string;
  isFolder?: boolean;
  size?: number;
  content?: string;
  contentMetadata?: Record<string, unknown>;
}

/**
 * Files matching `files.path` (literal paths or globs, relative to the repository root) on the default branch of each
 * repository (`files.repos` names, default all; disabled ones included, empty ones skipped as Ocean does). Literal paths
 * are read directly; globs are listed with one itemsbatch per repository, then each match is read. One page per repository.
 */
/**
 * The repositories the resync reads files from, declared once for the listing and for pushes: not empty (a default
 * branch; disabled ones included, as Ocean does) and named in `files.repos` when it is given.
 */
function selectsRepository(files: NonNullable<FileSelector['files']>): (repo: RepositoryRef) => boolean {
  const wanted = files.repos?.length ? new Set(files.repos.map((n) => n.toLowerCase())) : undefined;
  return (repo) => repo.defaultBranch !== undefined && (!wanted || wanted.has(String(repo.name).toLowerCase()));
}

/** An incremental pass: the files of the repositories pushed to since then (every repository without a journal). */
async function* filesSince(ctx: FetchContext, selector: FileSelector, since: Date): AsyncGenerator<RawItem[]> {
  const pushed = await repositoriesPushedSince(ctx, since);
  if (pushed) ctx.note?.(`incremental: files of the repositories pushed to since then (${pushed.size} in the journal)`);
  yield* fetchFiles(ctx, selector, pushed);
}

async function* fetchFiles(ctx: FetchContext, selector: FileSelector, onlyRepositories?: Set<string>): AsyncGenerator<RawItem[]> {
  const files = selector.files;
  if (!files?.path) throw new Error('file: the selector needs files.path (a path, a glob or a list of them)');
  const patterns = (Array.isArray(files.path) ? files.path : [files.path]).map(trimPath).filter((p) => p !== '');
  const wanted = files.repos?.length ? new Set(files.repos.map((n) => n.toLowerCase())) : undefined;
  const repos = (await listRepositories(ctx)).filter(selectsRepository(files)).filter((r) => !onlyRepositories || onlyRepositories.has(r.id.toLowerCase()));
  if (wanted && !onlyRepositories) {
    const found = new Set(repos.map((r) => String(r.name).toLowerCase()));
    const missing = [...wanted].filter((n) => !found.has(n));
    if (missing.length > 0) ctx.log.warn({ repos: missing }, 'file: repositories named in files.repos not found (or empty)');
  }
  if (patterns.length === 0) return;
  yield* mergeMap(repos, (repo) => repositoryFiles(ctx, repo, patterns, selector.includedFiles ?? []), 8);
}

async function* repositoryFiles(ctx: FetchContext, repo: RepositoryRef, patterns: string[], included: string[]): AsyncGenerator<RawItem[]> {
  const branch = (repo.defaultBranch ?? '').replace(/^refs\/heads\//, '');
  const paths = new Set(patterns.filter((p) => !hasGlob(p)));
  const globs = patterns.filter(hasGlob);
  if (globs.length > 0) for (const p of await listMatches(ctx, repo, branch, globs)) paths.add(p);
  const items = await readFiles(ctx, repo, branch, paths, included);
  if (items.length > 0) yield items;
}

/** The files that exist among `paths` on the branch, with content and (when asked) `__includedFiles`. */
async function readFiles(ctx: FetchContext, repo: RepositoryRef, branch: string, paths: Iterable<string>, included: string[]): Promise<RawItem[]> {
  const items: RawItem[] = [];
  for await (const item of mergeMap(paths, (p) => readOne(ctx, repo, branch, p), 8)) items.push(item);
  if (included.length > 0) {
    const reader = new IncludedFilesReader(ctx, repo, branch);
    await Promise.all(
      items.map(async (item) => {
        const path = (item.file as { path: string }).path;
        item.__includedFiles = await reader.read(path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '', included);
      }),
    );
  }
  return items;
}

/** Blob paths (without the leading `/`) matching any glob: one itemsbatch with a descriptor per distinct base folder. */
async function listMatches(ctx: FetchContext, repo: RepositoryRef, branch: string, globs: string[]): Promise<string[]> {
  const bases = new Map<string, boolean>();
  for (const g of globs) {
    const { base, deep } = globBase(g);
    bases.set(base, (bases.get(base) ?? false) || deep);
  }
  const descriptors = [...bases].map(([base, deep]) => ({ path: `/${base}`, recursionLevel: deep ? 'full' : 'oneLevel', version: branch, versionType: 'branch' }));
  let listings: unknown[];
  try {
    listings = await postList<unknown>(ctx.client, repoUrl(ctx, repo, 'itemsbatch'), { itemDescriptors: descriptors, includeContentMetadata: true }, {
      query: { 'api-version': API.ga },
      signal: ctx.signal,
    });
    // One listing per descriptor, each an array: anything else is as incomplete as a missing `value`.
    if (listings.length !== descriptors.length || !listings.every(Array.isArray)) {
      throw new IncompleteListingError(`repository "${repo.name}": itemsbatch answered ${listings.length} listings for ${descriptors.length} folders, or one that is not an array`);
    }
  } catch (err) {
    if (!(err instanceof AdoNotFoundError)) throw err;
    // One missing base folder fails the whole batch: list each base on its own; a missing folder has no matches.
    listings = [];
    for (const d of descriptors) {
      try {
        listings.push(
          await getList<GitItem>(
            ctx.client,
            repoUrl(ctx, repo, 'items'),
            { scopePath: d.path, recursionLevel: d.recursionLevel, versionType: 'Branch', version: branch, 'api-version': API.ga },
            { signal: ctx.signal },
          ),
        );
      } catch (inner) {
        if (!(inner instanceof AdoNotFoundError)) throw inner;
      }
    }
  }
  const res = globs.map(globToRegExp);
  const out = new Set<string>();
  for (const list of listings as GitItem[][]) {
    for (const item of list) {
      if (item?.gitObjectType !== 'blob' || typeof item.path !== 'string' || item.isFolder) continue;
      if (typeof item.size === 'number' && item.size > MAX_FILE_BYTES) continue;
      const path = trimPath(item.path);
      if (res.some((re) => re.test(path))) out.add(path);
    }
  }
  return [...out];
}

/** One file with its content; nothing when it does not exist or is larger than 1 MiB. */
async function* readOne(ctx: FetchContext, repo: RepositoryRef, branch: string, path: string): AsyncGenerator<RawItem> {
  let item: GitItem | undefined;
  try {
    const res = await ctx.client.get<GitItem>(
      repoUrl(ctx, repo, 'items'),
      { path: `/${path}`, versionType: 'Branch', version: branch, includeContent: true, includeContentMetadata: true, 'api-version': API.ga },
      ctx.signal,
    );
    item = res.data;
  } catch (err) {
    if (err instanceof AdoNotFoundError) return; // the path is absent from this repository
    throw err;
  }
  if (!item || item.gitObjectType === 'tree' || item.isFolder) return;
  const raw = typeof item.content === 'string' ? item.content : '';
  const size = Buffer.byteLength(raw, 'utf8');
  if (size > MAX_FILE_BYTES) {
    ctx.log.info({ repository: repo.name, path, size }, 'file: skipped, larger than 1 MiB');
    return;
  }
  const { content: _content, contentMetadata, ...rest } = item;
  yield {
    file: { ...rest, ...(contentMetadata ?? {}), path, size, isFolder: false, content: { raw, parsed: parseContent(raw) } },
    repo,
  };
}

/** JSON, else YAML (all documents when it starts with `---`), else the raw text. */
export function parseContent(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    // not JSON
  }
  try {
    if (raw.trimStart().startsWith('---')) {
      const docs = yaml.loadAll(raw);
      return docs.length === 1 ? docs[0] : docs;
    }
    const doc = yaml.load(raw);
    return doc === undefined ? raw : doc;
  } catch {
    return raw;
  }
}

function repoUrl(ctx: FetchContext, repo: RepositoryRef, leaf: string): string {
  return ctx.client.url(`${encodeURIComponent(repo.project.id)}/_apis/git/repositories/${encodeURIComponent(repo.id)}/${leaf}`);
}

export const fileKind: KindDefinition<FileSelector> = {
  kind: 'file',
  description: 'Files (literal paths or globs) on the default branch of each repository, with raw and parsed content',
  serverSupported: true,
  docs: {
    endpoints: 'GET _apis/git/repositories (org-level); globs: POST .../itemsbatch per repository; content: GET .../items?path= per file',
    enrichment: ['file', 'repo', '__includedFiles'],
  },
  selectorSchema,
  fetch: fetchFiles,
  incremental: { reads: 'the files of the repositories with a `git.push` since the cursor (the journal `serve` keeps); with no journal covering the window, every repository', since: filesSince },
  events: {
    subscriptions: [{ publisherId: 'tfs', eventType: 'git.push' }],
    handle: filesOfPush,
  },
};

interface CommitDiffs {
  allChangesIncluded?: boolean;
  changes?: Array<{ item?: GitItem; changeType?: string; sourceServerItem?: string }>;
}

/** Changes per request of the commit diff (the service's default is 100). */
const DIFF_PAGE = 1000;

/**
 * Files a push to the default branch touched, over every commit of the push: the diff between the branch's old and new
 * commit (Ocean reads only the head commit's changes, so files changed earlier in a multi-commit push are missed).
 * Each matching path is then read at the branch head — the truth, should a later push have changed it again — and a
 * path no longer there is removed. A push that creates the default branch lists the repository's files afresh.
 */
async function filesOfPush(ctx: FetchContext, event: ServiceHookEvent, selector: FileSelector): Promise<EventOutcome> {
  const files = selector.files;
  if (!files?.path) return nothing();
  const repoId = field<string>(event.resource, 'repository', 'id');
  if (!repoId) throw missing(event, 'resource.repository.id');
  const repo = await getIfExists<RepositoryRef>(ctx, ctx.client.url(`_apis/git/repositories/${encodeURIComponent(repoId)}`));
  if (!repo?.defaultBranch) return nothing();
  // A repository the resync reads no files from (left out of `files.repos`): what the push touched is removed.
  const selected = selectsRepository(files)(repo);
  const update = (field<Array<{ name?: string; oldObjectId?: string; newObjectId?: string }>>(event.resource, 'refUpdates') ?? []).find((u) => u?.name === repo.defaultBranch);
  if (!update?.newObjectId || /^0+$/.test(update.newObjectId)) return nothing();
  const patterns = (Array.isArray(files.path) ? files.path : [files.path]).map(trimPath).filter((p) => p !== '');
  const included = selector.includedFiles ?? [];
  if (!update.oldObjectId || /^0+$/.test(update.oldObjectId)) {
    const outcome = nothing();
    for await (const page of repositoryFiles(ctx, repo, patterns, included)) (selected ? outcome.upsert : outcome.deleted).push(...page);
    return outcome;
  }
  const matchers = patterns.map(globToRegExp); // a literal path compiles to an exact match
  const touched = new Set<string>();
  for await (const change of pushChanges(ctx, repo, update.oldObjectId, update.newObjectId)) {
    const paths = [change.item?.path, change.changeType?.includes('rename') ? change.sourceServerItem : undefined];
    if (change.item?.isFolder || change.item?.gitObjectType === 'tree') continue;
    for (const p of paths) if (typeof p === 'string' && matchers.some((re) => re.test(trimPath(p)))) touched.add(trimPath(p));
  }
  const gone = (path: string): RawItem => ({ file: { path, isFolder: false }, repo });
  if (!selected) return { upsert: [], deleted: [...touched].map(gone) };
  const branch = repo.defaultBranch.replace(/^refs\/heads\//, '');
  const current = await readFiles(ctx, repo, branch, touched, included);
  const present = new Set(current.map((f) => (f.file as { path: string }).path));
  return { upsert: current, deleted: [...touched].filter((p) => !present.has(p)).map(gone) };
}

async function* pushChanges(ctx: FetchContext, repo: RepositoryRef, base: string, target: string): AsyncGenerator<NonNullable<CommitDiffs['changes']>[number]> {
  for (let skip = 0; ; skip += DIFF_PAGE) {
    const res = await ctx.client.get<CommitDiffs>(
      repoUrl(ctx, repo, 'diffs/commits'),
      { baseVersion: base, baseVersionType: 'commit', targetVersion: target, targetVersionType: 'commit', diffCommonCommit: false, $top: DIFF_PAGE, $skip: skip, 'api-version': API.ga },
      ctx.signal,
    );
    const changes = res.data?.changes ?? [];
    yield* changes;
    if (res.data?.allChangesIncluded !== false || changes.length === 0) return;
  }
}
