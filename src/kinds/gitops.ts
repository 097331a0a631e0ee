import { AdoNotFoundError, IncompleteListingError } from '../ado/errors.js';
import { getList } from '../ado/paging.js';
import { mergeMap } from '../util/asyncIter.js';
import { API } from './shared/api.js';
import { field, getIfExists } from './shared/events.js';
import { globBase, globToRegExp, hasGlob, PATHS_SCHEMA, trimPath } from './shared/globs.js';
import { parseSpecFile, type SpecEntry } from './shared/gitopsSpec.js';
import { listRepositories, type RepositoryRef } from './shared/listings.js';
import type { EventOutcome, FetchContext, KindDefinition, RawItem, SelectorOf, SelectorSchema, ServiceHookEvent } from './types.js';

/**
 * Entities teams declare in their own repositories (Ocean's GitOps): `specPath` files (`port.yml` by default in Ocean;
 * globs allowed) on the tracked branch of each repository, one entity or a list each, already in Port's shape. Each
 * item is one declared entity plus where it came from (`__repository`, `__specFile`, `__branch`, `__commitId`).
 * A repository costs one Items listing (recursion full, at the branch head) plus one read per matching spec file and
 * per `file://` reference, all at the listing's commit, so a push in the middle cannot mix two versions.
 */
const selectorSchema = {
  type: 'object',
  properties: {
    specPath: {
      ...PATHS_SCHEMA,
      default: 'port.yml',
      description: 'Spec file paths or globs, relative to the repository root (* and ? within a segment, ** across segments)',
    },
    branch: { type: 'string', minLength: 1, default: 'main', description: 'The branch read and followed (Ocean\'s default: main)' },
    useDefaultBranch: { type: ['boolean', 'null'], description: 'true: each repository\'s default branch instead of branch' },
    repos: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'Repository names; default all' },
  },
} as const satisfies SelectorSchema;

type GitopsSelector = SelectorOf<typeof selectorSchema>;

interface GitItem {
  path?: string;
  gitObjectType?: string;
  isFolder?: boolean;
  commitId?: string;
  content?: string;
}

/** What a repository's spec files declare at one commit; `problems` set means the repository is left as it was. */
interface RepositorySpecs {
  commitId?: string;
  files: string[];
  entries: Array<SpecEntry & { specFile: string }>;
  problems: string[];
  references: string[];
}

const ZERO_COMMIT = /^0+$/;

/** The branch tracked in `repo`, as Ocean reads it: `branch` (default `main`), or the repository's default with useDefaultBranch. */
function trackedBranch(repo: RepositoryRef, selector: GitopsSelector): string | undefined {
  if (selector.useDefaultBranch === true) return repo.defaultBranch?.replace(/^refs\/heads\//, '');
  return (selector.branch ?? 'main').replace(/^refs\/heads\//, '');
}

function selects(selector: GitopsSelector): (repo: RepositoryRef) => boolean {
  const wanted = selector.repos?.length ? new Set(selector.repos.map((n) => n.toLowerCase())) : undefined;
  return (repo) => repo.defaultBranch !== undefined && repo.isDisabled !== true && (!wanted || wanted.has(String(repo.name).toLowerCase()));
}

/** The spec paths: literal ones (read directly) and globs (listed from their base folder). */
function patternsOf(selector: GitopsSelector): { literals: string[]; globs: string[] } {
  const list = (Array.isArray(selector.specPath) ? selector.specPath : [selector.specPath ?? 'port.yml']).map(trimPath).filter((p) => p !== '');
  return { literals: [...new Set(list.filter((p) => !hasGlob(p)))].map((p) => `/${p}`), globs: list.filter(hasGlob) };
}

function itemsUrl(ctx: FetchContext, repo: RepositoryRef): string {
  return ctx.client.url(`${encodeURIComponent(repo.project.id)}/_apis/git/repositories/${encodeURIComponent(repo.id)}/items`);
}

interface Version {
  version: string;
  versionType: 'Branch' | 'Commit';
}

/** A file at a version with the commit it was read at; undefined when the path (or the branch) does not exist there. */
async function readAt(ctx: FetchContext, repo: RepositoryRef, at: Version, path: string): Promise<{ text: string; commitId?: string } | undefined> {
  try {
    const res = await ctx.client.get<GitItem>(itemsUrl(ctx, repo), { path, ...at, includeContent: true, 'api-version': API.ga }, ctx.signal);
    if (!res.data || res.data.isFolder || res.data.gitObjectType === 'tree') return undefined;
    return { text: typeof res.data.content === 'string' ? res.data.content : '', commitId: res.data.commitId };
  } catch (err) {
    if (err instanceof AdoNotFoundError) return undefined;
    throw err;
  }
}

/** Blob paths under each glob's base folder matching it, and the commit listed; a missing folder or branch lists nothing. */
async function listGlobs(ctx: FetchContext, repo: RepositoryRef, at: Version, globs: string[]): Promise<{ paths: string[]; commitId?: string }> {
  const bases = new Map<string, boolean>();
  for (const g of globs) {
    const { base, deep } = globBase(g);
    bases.set(base, (bases.get(base) ?? false) || deep);
  }
  const res = globs.map(globToRegExp);
  const paths = new Set<string>();
  let commitId = at.versionType === 'Commit' ? at.version : undefined;
  for (const [base, deep] of bases) {
    let listing: GitItem[];
    try {
      listing = await getList<GitItem>(ctx.client, itemsUrl(ctx, repo), { scopePath: `/${base}`, recursionLevel: deep ? 'Full' : 'OneLevel', ...at, 'api-version': API.ga }, { signal: ctx.signal });
    } catch (err) {
      if (err instanceof AdoNotFoundError) continue;
      throw err;
    }
    for (const item of listing) {
      // The first listing fixes the commit: the later ones and every read are made at it.
      if (commitId === undefined && typeof item.commitId === 'string') {
        commitId = item.commitId;
        at = { version: commitId, versionType: 'Commit' };
      }
      if (item.gitObjectType !== 'blob' || item.isFolder || typeof item.path !== 'string') continue;
      const path = trimPath(item.path);
      if (res.some((re) => re.test(path))) paths.add(`/${path}`);
    }
  }
  return { paths: [...paths], commitId };
}

/**
 * What `repo`'s spec files declare at a version: globs listed from their base folders (one Items listing per distinct
 * base), then every spec file and `file://` reference read at the one commit the first answer names, so a push in
 * the middle cannot mix two versions. A branch or commit that does not exist declares nothing.
 */
async function readSpecs(ctx: FetchContext, repo: RepositoryRef, start: Version, specs: { literals: string[]; globs: string[] }): Promise<RepositorySpecs> {
  const out: RepositorySpecs = { files: [], entries: [], problems: [], references: [] };
  let at = start;
  /** Spec files found, with their text once read (a listed one is read below, at the commit fixed by then). */
  const texts = new Map<string, string | undefined>();
  if (specs.globs.length > 0) {
    const listed = await listGlobs(ctx, repo, at, specs.globs);
    if (listed.paths.length > 0 && !listed.commitId) throw new IncompleteListingError(`repository "${repo.name}": the Items listing names no commit`);
    if (listed.commitId) at = { version: listed.commitId, versionType: 'Commit' };
    out.commitId = listed.commitId;
    for (const p of listed.paths) texts.set(p, undefined);
  }
  for (const path of specs.literals) {
    if (texts.has(path)) continue;
    const file = await readAt(ctx, repo, at, path);
    if (!file) continue;
    if (at.versionType === 'Branch' && file.commitId) {
      at = { version: file.commitId, versionType: 'Commit' };
      out.commitId = file.commitId;
    }
    texts.set(path, file.text);
  }
  out.files = [...texts.keys()].sort();
  const where = `${repo.project.name}/${repo.name}`;
  for (const specFile of out.files) {
    const text = texts.get(specFile) ?? (await readAt(ctx, repo, at, specFile))?.text;
    if (text === undefined) {
      out.problems.push(`${where}${specFile}: listed at ${at.version} but could not be read`);
      continue;
    }
    const parsed = await parseSpecFile(text, specFile, async (path) => (await readAt(ctx, repo, at, path))?.text);
    out.entries.push(...parsed.entries.map((e) => ({ ...e, specFile })));
    out.references.push(...parsed.references);
    for (const p of parsed.problems) out.problems.push(`${where}${p.path}${p.line ? `:${p.line}` : ''}: ${p.entity ? `${p.entity}: ` : ''}${p.message}`);
  }
  return out;
}

/** A repository's claim on what it declares: by name, then project, then organization (the resync's order). */
function claimOf(repo: RepositoryRef, organization: string): string {
  return [repo.name, repo.project.name, organization].map((s) => String(s).toLowerCase()).join('\u0000');
}

const entityKey = (e: { blueprint?: unknown; identifier?: unknown }) => `${String(e.blueprint)}/${String(e.identifier)}`;

function toItem(repo: RepositoryRef, branch: string, specs: RepositorySpecs, e: SpecEntry & { specFile: string }): RawItem {
  return { ...e.entity, __repository: repo, __specFile: e.specFile, __line: e.line, __branch: branch, __commitId: specs.commitId };
}

async function* fetchGitops(ctx: FetchContext, selector: GitopsSelector): AsyncGenerator<RawItem[]> {
  const patterns = patternsOf(selector);
  const repos = (await listRepositories(ctx)).filter(selects(selector));
  // Declarations are few and hand-written: gathered whole, so a conflict resolves the same way every run.
  const read: Array<{ repo: RepositoryRef; branch: string; specs: RepositorySpecs }> = [];
  for await (const r of mergeMap(
    repos,
    async function* (repo) {
      const branch = trackedBranch(repo, selector);
      if (branch) yield { repo, branch, specs: await readSpecs(ctx, repo, { version: branch, versionType: 'Branch' }, patterns) };
    },
    8,
  )) {
    read.push(r);
  }
  // By name, case-insensitively and without locale rules: the same order on every machine.
  const order = (r: RepositoryRef) => claimOf(r, ctx.client.org.name);
  read.sort((a, b) => (order(a.repo) < order(b.repo) ? -1 : order(a.repo) > order(b.repo) ? 1 : 0));
  const owner = new Map<string, string>();
  const claims: Array<[string, string]> = [];
  for (const { repo, branch, specs } of read) {
    if (specs.problems.length > 0) {
      // Nothing of this repository is written, and the run deletes nothing: its entities stay as they were.
      for (const p of specs.problems) ctx.markIncomplete(`gitops: ${p}`);
      continue;
    }
    if (specs.files.length === 0) continue;
    const where = `${repo.project.name}/${repo.name}`;
    const items: RawItem[] = [];
    for (const e of specs.entries) {
      const key = `${e.entity.blueprint}/${e.entity.identifier}`;
      const first = owner.get(key);
      if (first !== undefined) {
        ctx.log.warn({ entity: key, declaredBy: first, alsoIn: `${where}${e.specFile}` }, 'gitops: entity declared in two repositories; the first by repository name is kept');
        continue;
      }
      owner.set(key, `${where}${e.specFile}`);
      claims.push([key, order(repo)]);
      items.push(toItem(repo, branch, specs, e));
    }
    ctx.note?.(`${where}@${branch}: ${specs.files.join(', ')}: ${items.length} entit${items.length === 1 ? 'y' : 'ies'}`);
    if (items.length > 0) yield items;
  }
  // The winners, for pushes to judge conflicts by until the next resync.
  await ctx.claims?.set(claims);
}

/**
 * A push to the tracked branch: the spec files at the new commit are written, and what the old commit declared that
 * the new one does not is deleted. Pushes to other branches change nothing. A spec file the new commit breaks leaves
 * the repository's entities as they were.
 */
async function onPush(ctx: FetchContext, event: ServiceHookEvent, selector: GitopsSelector): Promise<EventOutcome> {
  const none: EventOutcome = { upsert: [], deleted: [] };
  const repoId = field<string>(event.resource, 'repository', 'id');
  const projectId = field<string>(event.resource, 'repository', 'project', 'id');
  if (!repoId) return none;
  const repo = await getIfExists<RepositoryRef>(ctx, ctx.client.url(`${projectId ? `${encodeURIComponent(projectId)}/` : ''}_apis/git/repositories/${encodeURIComponent(repoId)}`), { 'api-version': API.ga });
  if (!repo || !selects(selector)(repo)) return none;
  const branch = trackedBranch(repo, selector);
  const updates = (field<Array<{ name?: string; oldObjectId?: string; newObjectId?: string }>>(event.resource, 'refUpdates') ?? []).filter(
    (u) => u.name?.replace(/^refs\/heads\//, '').toLowerCase() === branch?.toLowerCase(),
  );
  if (!branch || updates.length === 0) return none;
  const patterns = patternsOf(selector);
  const oldCommit = updates[0]!.oldObjectId;
  const newCommit = updates.at(-1)!.newObjectId;
  const now = newCommit && !ZERO_COMMIT.test(newCommit) ? await readSpecs(ctx, repo, { version: newCommit, versionType: 'Commit' }, patterns) : undefined;
  if (now && now.problems.length > 0) {
    for (const p of now.problems) ctx.log.warn({ repository: repo.name, commit: newCommit }, `gitops: ${p}; the repository's entities are left as they were`);
    return none;
  }
  const before = oldCommit && !ZERO_COMMIT.test(oldCommit) ? await readSpecs(ctx, repo, { version: oldCommit, versionType: 'Commit' }, patterns) : undefined;
  const declared = now ? now.entries.map((e) => toItem(repo, branch, now, e)) : [];
  const kept = new Set(declared.map(entityKey));
  const dropped = before ? before.entries.map((e) => toItem(repo, branch, before, e)).filter((e) => !kept.has(entityKey(e))) : [];
  return settleClaims(ctx, claimOf(repo, ctx.client.org.name), declared, dropped);
}

/**
 * What a push may change, judged by the claims the last resync recorded: an entity an earlier repository declares is
 * neither written nor deleted from here (the resync's winner stays, instead of the two flapping), and one this
 * repository dropped while another still declares it stays for that one. The push's own claims are then recorded.
 */
async function settleClaims(ctx: FetchContext, mine: string, declared: RawItem[], dropped: RawItem[]): Promise<EventOutcome> {
  if (!ctx.claims) return { upsert: declared, deleted: dropped };
  const all = [...declared, ...dropped];
  const held = await ctx.claims.get(all.map(entityKey));
  const heldBy = new Map(all.map((e, i) => [entityKey(e), held[i]]));
  const upsert = declared.filter((e) => {
    const other = heldBy.get(entityKey(e));
    if (other === undefined || other === mine || other > mine) return true;
    ctx.log.warn({ entity: entityKey(e), specFile: e.__specFile }, 'gitops: entity declared in two repositories; the first by repository name keeps it, this push does not change it');
    return false;
  });
  const deleted = dropped.filter((e) => {
    const other = heldBy.get(entityKey(e));
    if (other === undefined || other === mine) return true;
    ctx.log.info({ entity: entityKey(e) }, 'gitops: no longer declared here, but another repository declares it: kept');
    return false;
  });
  await ctx.claims.set(upsert.map((e) => [entityKey(e), mine]));
  await ctx.claims.forget(deleted.map(entityKey));
  return { upsert, deleted };
}

export const gitopsKind: KindDefinition<GitopsSelector> = {
  kind: 'gitops',
  description: 'Entities declared in spec files (port.yml) in repositories, as Port entities',
  selectorSchema,
  docs: {
    endpoints:
      'GET _apis/git/repositories (org-level); per selected repository GET {project}/_apis/git/repositories/{repo}/items?scopePath=/&recursionLevel=Full at the branch, then GET .../items?path= at that commit per spec file and file:// reference',
    enrichment: ['__repository', '__specFile', '__line', '__branch', '__commitId'],
  },
  serverSupported: true,
  itemsAreEntities: true,
  fetch: fetchGitops,
  events: { subscriptions: [{ publisherId: 'tfs', eventType: 'git.push' }], handle: onPush },
};
