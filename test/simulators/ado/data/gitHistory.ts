/**
 * Mutable repository contents: each repository starts with one commit, "base" (its generated files plus the files
 * seeded with the `repoFiles` option, at the commit id the generated data always had), and tests add commits to any
 * branch with `sim.git.commit`. Branch heads, the items API, itemsbatch, refs and commit diffs read this history.
 * The push event a commit returns follows shared/ado-api-samples/events/git.push.json.
 */
import { createHash, randomUUID } from 'node:crypto';
import { collectionId } from './core.js';
import type { OrgData } from './dataset.js';
import type { RepoFile } from './git.js';
import type { IdentityRef } from './types.js';

/** Files of one commit by path ('/a/b.txt'), in the order listings and `files()` serve them. */
export type Tree = ReadonlyMap<string, RepoFile>;

/** The id git gives a missing object: `oldObjectId` of a push creating a branch. */
export const ZERO_ID = '0'.repeat(40);

/** The id git gives the empty tree. */
export const EMPTY_TREE_ID = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

export interface CommitRecord {
  id: string;
  /** Absent on the base commit. */
  parentId?: string;
  tree: Tree;
  comment: string;
  /** ISO date; the base commit has none. */
  date?: string;
}

export interface BranchHead {
  /** Full ref name, `refs/heads/…`. */
  name: string;
  objectId: string;
}

/** A generated branch as the refs list serves it before any commit (creator drawn from the branch generator). */
export interface GeneratedBranch extends BranchHead {
  creator: IdentityRef;
}

/** What `commit` did: the ref update of its push. */
export interface PushResult {
  branch: string;
  oldObjectId: string;
  newObjectId: string;
  created: boolean;
  commit: CommitRecord;
}

/** git's blob id of a text (sha1 of `blob <bytes>\0<bytes>`). */
export function blobObjectId(content: string): string {
  const buf = Buffer.from(content, 'utf8');
  return createHash('sha1').update(`blob ${buf.length}\0`).update(buf).digest('hex');
}

/** A hash of every file under a folder ('/' = the whole tree), or undefined when nothing is there. */
export function subtreeHash(tree: Tree, folder: string): string | undefined {
  const prefix = folder === '/' ? '/' : `${folder}/`;
  const paths = [...tree.keys()].filter((p) => p.startsWith(prefix)).sort();
  if (paths.length === 0) return undefined;
  const h = createHash('sha1');
  for (const p of paths) h.update(`${p}\0${tree.get(p)!.objectId}\n`);
  return h.digest('hex');
}

/** Folder paths implied by a tree's files (root excluded), sorted. */
export function foldersOf(tree: Tree): string[] {
  const out = new Set<string>();
  for (const path of tree.keys()) {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) out.add(`/${parts.slice(0, i).join('/')}`);
  }
  return [...out].sort();
}

/** A file path as the items API writes it: one leading slash, no trailing one, no empty segment. */
export function filePath(path: string): string {
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0) throw new Error(`ado simulator: "${path}" is not a file path`);
  return `/${parts.join('/')}`;
}

function shortName(ref: string): string {
  return ref.replace(/^refs\/heads\//i, '');
}

function fullName(branch: string): string {
  return `refs/heads/${shortName(branch)}`;
}

/** One repository's commits and branch heads. */
export class RepoHistory {
  readonly base: CommitRecord;
  readonly #commits = new Map<string, CommitRecord>();
  readonly #generated: () => readonly GeneratedBranch[];
  /** Heads moved or created by commits, by lower-cased full ref name. */
  readonly #heads = new Map<string, BranchHead>();
  #counter = 0;

  constructor(baseId: string, base: Tree, generated: () => readonly GeneratedBranch[]) {
    this.base = { id: baseId, tree: base, comment: 'Initial commit' };
    this.#commits.set(baseId, this.base);
    this.#generated = generated;
  }

  get generated(): readonly GeneratedBranch[] {
    return this.#generated();
  }

  /** Branches created by commits (not generated), full names. */
  get createdBranches(): BranchHead[] {
    const generated = new Set(this.generated.map((b) => b.name.toLowerCase()));
    return [...this.#heads.values()].filter((h) => !generated.has(h.name.toLowerCase()));
  }

  /** The head of a branch (`main`, `refs/heads/main`; case-insensitive), or undefined when there is no such branch. */
  branch(name: string): BranchHead | undefined {
    const key = fullName(name).toLowerCase();
    const moved = this.#heads.get(key);
    if (moved) return moved;
    const g = this.generated.find((b) => b.name.toLowerCase() === key);
    return g ? { name: g.name, objectId: g.objectId } : undefined;
  }

  /** A commit by id (case-insensitive); a generated branch's head is a commit with the base files. */
  commit(id: string): CommitRecord | undefined {
    const lower = id.toLowerCase();
    const known = this.#commits.get(lower);
    if (known) return known;
    const g = this.generated.find((b) => b.objectId === lower);
    if (!g) return undefined;
    const alias: CommitRecord = { id: lower, parentId: this.base.id, tree: this.base.tree, comment: `Updated ${shortName(g.name)}` };
    this.#commits.set(lower, alias);
    return alias;
  }

  /** Commit ids from `id` back to the first commit. */
  ancestry(id: string): string[] {
    const out: string[] = [];
    for (let c = this.commit(id); c; c = c.parentId ? this.commit(c.parentId) : undefined) out.push(c.id);
    return out;
  }

  /**
   * A new commit on `branch` (created from `from` when missing) whose files are the branch's files plus `changes`
   * (path → content, null deletes).
   */
  apply(branch: string, from: string, changes: Record<string, string | null>, comment: string | undefined, date: string): PushResult {
    const existing = this.branch(branch);
    const name = existing?.name ?? fullName(branch);
    const parentId = existing?.objectId ?? from;
    const parent = this.commit(parentId);
    if (!parent) throw new Error(`ado simulator: commit ${parentId} is unknown`);
    const tree = new Map(parent.tree);
    const digest = createHash('sha1').update(`${parentId}\n${name}\n${++this.#counter}\n`);
    for (const [raw, content] of Object.entries(changes)) {
      const path = filePath(raw);
      digest.update(`${path}\0${content === null ? '-' : blobObjectId(content)}\n`);
      if (content === null) {
        if (!tree.delete(path)) throw new Error(`ado simulator: cannot delete ${path}: no such file on ${shortName(name)}`);
        continue;
      }
      for (const other of tree.keys()) {
        if (other.startsWith(`${path}/`) || path.startsWith(`${other}/`)) throw new Error(`ado simulator: ${path} conflicts with the file ${other}`);
      }
      tree.set(path, { path, content, objectId: blobObjectId(content) });
    }
    const paths = Object.keys(changes).map(filePath);
    const commit: CommitRecord = {
      id: digest.digest('hex'),
      parentId,
      tree,
      comment: comment ?? `Update ${paths.length === 0 ? 'nothing' : paths.join(', ')}`,
      date,
    };
    this.#commits.set(commit.id, commit);
    this.#heads.set(name.toLowerCase(), { name, objectId: commit.id });
    return { branch: name, oldObjectId: existing?.objectId ?? ZERO_ID, newObjectId: commit.id, created: !existing, commit };
  }
}

/**
 * A repository of an organization by id, `project/name`, or name (which must then be unique in the organization);
 * throws when there is none or the name is ambiguous.
 */
export function findRepo(org: OrgData, ref: string): number {
  const byId = org.repos.findById(ref);
  if (byId !== undefined) return byId;
  const slash = ref.indexOf('/');
  if (slash > 0) {
    const p = org.projects.find(ref.slice(0, slash));
    const i = p === undefined ? undefined : org.repos.findInProject(p, ref.slice(slash + 1));
    if (i !== undefined) return i;
  }
  const lower = ref.toLowerCase();
  const matches: number[] = [];
  for (let i = 0; i < org.repos.count; i++) if (!org.repos.isDeleted(i) && org.repos.record(i).name.toLowerCase() === lower) matches.push(i);
  if (matches.length === 1) return matches[0] as number;
  if (matches.length === 0) throw new Error(`ado simulator: organization "${org.ctx.name}" has no repository "${ref}"`);
  throw new Error(
    `ado simulator: ${matches.length} repositories of "${org.ctx.name}" are named "${ref}"; use its id or "<project>/<name>" (${matches
      .map((i) => `${org.projects.record(org.repos.record(i).projectIndex).name}/${org.repos.record(i).name}`)
      .join(', ')})`,
  );
}

/** A service-hook event envelope (as the worker receives it). */
export interface GitPushEvent {
  id: string;
  eventType: 'git.push';
  publisherId: 'tfs';
  message: { text: string; html: string; markdown: string };
  detailedMessage: { text: string; html: string; markdown: string };
  resource: {
    commits: Array<{ commitId: string; author: GitUserDate; committer: GitUserDate; comment: string; url: string }>;
    refUpdates: Array<{ name: string; oldObjectId: string; newObjectId: string }>;
    repository: {
      id: string;
      name: string;
      url: string;
      project: { id: string; name: string; url: string; state: string };
      defaultBranch?: string;
      remoteUrl: string;
    };
    pushedBy: IdentityRef;
    pushId: number;
    date: string;
    url: string;
    _links: Record<string, { href: string }>;
  };
  resourceVersion: '1.0';
  resourceContainers: { collection: { id: string; baseUrl: string }; account: { id: string; baseUrl: string }; project: { id: string; baseUrl: string } };
  createdDate: string;
  [k: string]: unknown;
}

interface GitUserDate {
  name: string;
  email: string;
  date: string;
}

let pushIds = 1000;

/** The `git.push` event of one commit pushed to a repository (read after the commit: the repository shows the new head). */
export function pushEvent(org: OrgData, repoIndex: number, push: PushResult, pusher: IdentityRef): GitPushEvent {
  const repo = org.repos.repository(repoIndex, false);
  const base = org.ctx.orgUrl();
  const pushId = ++pushIds;
  const date = push.commit.date ?? new Date().toISOString();
  const short = shortName(push.branch);
  const branchUrl = `${repo.webUrl}/#version=GB${encodeURIComponent(short)}`;
  const commitUrl = `${repo.webUrl}/commit/${push.newObjectId}`;
  const who = pusher.displayName;
  const email = pusher.uniqueName;
  const user: GitUserDate = { name: who, email, date };
  const collection = { id: collectionId(org.ctx), baseUrl: `${base}/` };
  return {
    id: randomUUID(),
    eventType: 'git.push',
    publisherId: 'tfs',
    message: {
      text: `${who} pushed updates to branch ${short} of ${repo.name}\r\n(${branchUrl})`,
      html: `${who} pushed updates to branch <a href="${branchUrl}">${short}</a> of <a href="${repo.webUrl}/">${repo.name}</a>`,
      markdown: `${who} pushed updates to branch [${short}](${branchUrl}) of [${repo.name}](${repo.webUrl}/)`,
    },
    detailedMessage: {
      text: `${who} pushed 1 commit to branch ${short} of ${repo.name}\r\n - ${push.commit.comment} ${push.newObjectId.slice(0, 8)} (${commitUrl})`,
      html: `${who} pushed 1 commit to branch <a href="${branchUrl}">${short}</a> of <a href="${repo.webUrl}/">${repo.name}</a>\r\n<ul>\r\n<li>${push.commit.comment} <a href="${commitUrl}">${push.newObjectId.slice(0, 8)}</a></li>\r\n</ul>`,
      markdown: `${who} pushed 1 commit to branch [${short}](${branchUrl}) of [${repo.name}](${repo.webUrl}/)\r\n* ${push.commit.comment} [${push.newObjectId.slice(0, 8)}](${commitUrl})`,
    },
    resource: {
      commits: [{ commitId: push.newObjectId, author: user, committer: user, comment: push.commit.comment, url: `${repo.url}/commits/${push.newObjectId}` }],
      refUpdates: [{ name: push.branch, oldObjectId: push.oldObjectId, newObjectId: push.newObjectId }],
      repository: {
        id: repo.id,
        name: repo.name,
        url: repo.url,
        project: { id: repo.project.id, name: repo.project.name, url: repo.project.url, state: repo.project.state },
        ...(repo.defaultBranch !== undefined ? { defaultBranch: repo.defaultBranch } : {}),
        remoteUrl: repo.remoteUrl,
      },
      pushedBy: pusher,
      pushId,
      date,
      url: `${repo.url}/pushes/${pushId}`,
      _links: {
        self: { href: `${repo.url}/pushes/${pushId}` },
        repository: { href: repo.url },
        commits: { href: `${repo.url}/pushes/${pushId}/commits` },
        pusher: { href: pusher.url },
        refs: { href: `${repo.url}/refs` },
      },
    },
    resourceVersion: '1.0',
    resourceContainers: { collection, account: collection, project: { id: repo.project.id, baseUrl: `${base}/` } },
    createdDate: new Date().toISOString(),
  };
}
