import { Stream, rngFor } from '../random.js';
import type { OrgContext } from './context.js';
import type { ProjectsArea } from './core.js';
import type { IdentitiesArea } from './identities.js';
import { extraFiles, generatedBranches } from './gitRefs.js';
import { blobObjectId, EMPTY_TREE_ID, filePath, RepoHistory, subtreeHash, type PushResult, type Tree } from './gitHistory.js';
import type { GitItem, GitRepository, GitRepositoryRef } from './types.js';
import { REPO_NAMES, SENTENCES } from './words.js';

export interface RepoRecord {
  /** Organization-wide index: projectIndex * reposPerProject + indexInProject. */
  index: number;
  projectIndex: number;
  indexInProject: number;
  id: string;
  name: string;
  /** Absent on an empty repository (no commits, no branches). */
  defaultBranch?: string;
  size: number;
  isDisabled: boolean;
  isEmpty: boolean;
  hasReadme: boolean;
  hasCodeowners: boolean;
  /** Head of the default branch (moves with `sim.git.commit`); absent when empty. */
  headCommit?: string;
}

export interface RepoFile {
  path: string;
  content: string;
  objectId: string;
}

/**
 * Deterministic special cases, by organization-wide index (never the project's first repository):
 * index % 17 === 3 is disabled, index % 17 === 7 is empty. With the default scale (3 × 4) that is
 * repository 3 (4th of the first project) and repository 7 (4th of the second project).
 */
export function isDisabledIndex(index: number, indexInProject: number): boolean {
  return indexInProject !== 0 && index % 17 === 3;
}
export function isEmptyIndex(index: number, indexInProject: number): boolean {
  return indexInProject !== 0 && index % 17 === 7;
}

export class RepositoriesArea {
  readonly #ctx: OrgContext;
  readonly #projects: ProjectsArea;
  readonly #identities: IdentitiesArea;
  readonly #records: Array<RepoRecord | undefined>;
  #byId: Map<string, number> | undefined;
  /** Files seeded into the base commit (option `repoFiles`), by repository index. */
  readonly #seeds = new Map<number, Map<string, string>>();
  readonly #histories = new Map<number, RepoHistory>();
  /**
   * Repositories deleted by `sim.changes.deleteRepository` (an overlay on the generated ones; a rename changes the
   * memoised record's name, records being kept for the simulator's lifetime). A deleted repository is left out of the
   * listings and not found by id or name, so every route that looks a repository up (GET, refs, items, itemsbatch, pull
   * requests under it, commits, diffs, its Advanced Security alerts) answers the service's 404 (TF401019); its pull
   * requests leave the pull-request listings and GET pullrequests/{id}. What merely embeds or names it stays as generated
   * (pipelines' repository, code wikis, branch policies scoped to its id). Its index keeps its place, so no other
   * generated item moves.
   */
  readonly #deleted = new Set<number>();

  constructor(ctx: OrgContext, projects: ProjectsArea, identities: IdentitiesArea) {
    this.#ctx = ctx;
    this.#projects = projects;
    this.#identities = identities;
    this.#records = new Array<RepoRecord | undefined>(this.count);
  }

  get count(): number {
    return this.#ctx.scale.projects * this.#ctx.scale.reposPerProject;
  }

  get perProject(): number {
    return this.#ctx.scale.reposPerProject;
  }

  record(index: number): RepoRecord {
    let rec = this.#records[index];
    if (!rec) {
      rec = this.#build(index);
      this.#records[index] = rec;
    }
    return rec;
  }

  /** By id anywhere in the organization. */
  findById(id: string): number | undefined {
    if (!this.#byId) {
      this.#byId = new Map();
      for (let i = 0; i < this.count; i++) this.#byId.set(this.record(i).id, i);
    }
    const i = this.#byId.get(id.toLowerCase());
    return i === undefined || this.#deleted.has(i) ? undefined : i;
  }

  isDeleted(index: number): boolean {
    return this.#deleted.has(index);
  }

  get deletedCount(): number {
    return this.#deleted.size;
  }

  /** Renames a repository (no other repository of its project may have the name); returns the previous name. */
  rename(index: number, name: string): string {
    const rec = this.record(index);
    if (this.#deleted.has(index)) throw new Error(`ado simulator: repository "${rec.name}" was deleted`);
    if (name.trim() === '') throw new Error('ado simulator: a repository name cannot be empty');
    const other = this.findInProject(rec.projectIndex, name);
    if (other !== undefined && other !== index) throw new Error(`ado simulator: project ${this.#projects.record(rec.projectIndex).name} already has a repository "${name}"`);
    const previous = rec.name;
    rec.name = name;
    return previous;
  }

  delete(index: number): void {
    this.#deleted.add(index);
  }

  /** By id or (case-insensitive) name within a project. */
  findInProject(projectIndex: number, idOrName: string): number | undefined {
    const byId = this.findById(idOrName);
    if (byId !== undefined) return this.record(byId).projectIndex === projectIndex ? byId : undefined;
    const lower = idOrName.toLowerCase();
    const start = projectIndex * this.perProject;
    for (let i = start; i < start + this.perProject; i++) {
      if (!this.#deleted.has(i) && this.record(i).name.toLowerCase() === lower) return i;
    }
    return undefined;
  }

  /** The GitRepository payload (lists and single GET). */
  repository(index: number, includeLinks: boolean): GitRepository {
    const rec = this.record(index);
    const project = this.#projects.reference(rec.projectIndex);
    const base = this.#ctx.orgUrl();
    const url = `${base}/${project.id}/_apis/git/repositories/${rec.id}`;
    const webUrl = `${base}/${encodeURIComponent(project.name)}/_git/${encodeURIComponent(rec.name)}`;
    const remote = new URL(webUrl);
    remote.username = this.#ctx.name;
    const sshUrl = `git@ssh.${this.#ctx.hostname()}:v3/${this.#ctx.name}/${encodeURIComponent(project.name)}/${encodeURIComponent(rec.name)}`;
    const links = includeLinks
      ? {
          _links: {
            self: { href: url },
            project: { href: project.url },
            web: { href: webUrl },
            ssh: { href: sshUrl },
            commits: { href: `${url}/commits` },
            refs: { href: `${url}/refs` },
            pullRequests: { href: `${url}/pullRequests` },
            items: { href: `${url}/items` },
            pushes: { href: `${url}/pushes` },
          },
        }
      : {};
    const repo: GitRepository = {
      id: rec.id,
      name: rec.name,
      url,
      project,
      ...(rec.defaultBranch !== undefined ? { defaultBranch: rec.defaultBranch } : {}),
      size: rec.size,
      remoteUrl: remote.toString(),
      sshUrl,
      webUrl,
      ...links,
      isDisabled: rec.isDisabled,
      isInMaintenance: false,
    };
    return repo;
  }

  /** The short repository object embedded in pull requests. */
  reference(index: number): GitRepositoryRef {
    const rec = this.record(index);
    const project = this.#projects.reference(rec.projectIndex);
    return { id: rec.id, name: rec.name, url: `${this.#ctx.orgUrl()}/${project.id}/_apis/git/repositories/${rec.id}`, project };
  }

  /** Files at the head of the default branch. Empty repositories have none. */
  files(index: number): RepoFile[] {
    return [...this.tree(index).values()];
  }

  /** A file at a commit (default: the head of the default branch). */
  file(index: number, path: string, commitId?: string): RepoFile | undefined {
    const normalised = path.startsWith('/') ? path : `/${path}`;
    return this.tree(index, commitId).get(normalised);
  }

  /**
   * The files of the base commit: README.md, CODEOWNERS and the nested extras as generated, then the seeded files
   * (a seeded path replaces the generated file in place).
   */
  baseFiles(index: number): RepoFile[] {
    const rec = this.record(index);
    const out: RepoFile[] = [];
    if (rec.hasReadme) out.push({ path: '/README.md', content: this.#readme(rec), objectId: this.#objectId(rec, 0) });
    if (rec.hasCodeowners) out.push({ path: '/CODEOWNERS', content: this.#codeowners(rec), objectId: this.#objectId(rec, 1) });
    out.push(...extraFiles(this.#ctx.seed, this.#ctx.key, rec));
    for (const [path, content] of this.#seeds.get(index) ?? []) {
      const file = { path, content, objectId: blobObjectId(content) };
      const at = out.findIndex((f) => f.path === path);
      if (at >= 0) out[at] = file;
      else out.push(file);
    }
    return out;
  }

  /** Adds files to a repository's base commit; only before anything read the repository's files. */
  seedFiles(index: number, files: Record<string, string>): void {
    const rec = this.record(index);
    if (rec.isEmpty) throw new Error(`ado simulator: repository "${rec.name}" is empty (no branch, no commit); seed a non-empty one`);
    if (this.#histories.has(index)) throw new Error(`ado simulator: repository "${rec.name}" was read before its files were seeded`);
    const seeds = this.#seeds.get(index) ?? new Map<string, string>();
    for (const [path, content] of Object.entries(files)) seeds.set(filePath(path), content);
    this.#seeds.set(index, seeds);
  }

  /** The repository's commits and branch heads; undefined for an empty repository. */
  history(index: number): RepoHistory | undefined {
    let h = this.#histories.get(index);
    if (h) return h;
    const rec = this.record(index);
    if (rec.isEmpty || rec.headCommit === undefined) return undefined;
    const baseId = rec.headCommit;
    let generated: ReturnType<typeof generatedBranches> | undefined;
    const tree = new Map(this.baseFiles(index).map((f) => [f.path, f] as const));
    h = new RepoHistory(baseId, tree, () => (generated ??= generatedBranches(this.#ctx, this.#identities, { ...rec, headCommit: baseId })));
    this.#histories.set(index, h);
    return h;
  }

  /** The files of a commit (default: the head of the default branch); none when the commit is unknown or the repository empty. */
  tree(index: number, commitId?: string): Tree {
    const h = this.history(index);
    if (!h) return new Map();
    const id = commitId ?? this.record(index).headCommit ?? h.base.id;
    return h.commit(id)?.tree ?? new Map();
  }

  /**
   * The commit an items request names: absent version = the default branch's head; `branch` = any branch's head;
   * `commit` = any commit of the repository; tags do not exist. Undefined when it resolves to nothing.
   */
  resolveVersion(index: number, versionType: string, version: string | undefined): string | undefined {
    const rec = this.record(index);
    const h = this.history(index);
    if (!h) return undefined;
    if (version === undefined || version === '') return rec.headCommit;
    switch (versionType.toLowerCase()) {
      case 'branch':
        return h.branch(version)?.objectId;
      case 'commit':
        return h.commit(version)?.id;
      default:
        return undefined;
    }
  }

  /**
   * A commit on `branch` (short or full name; default: the default branch) with `changes` (path → content, null
   * deletes); a missing branch is created from the default branch's head.
   */
  commit(index: number, changes: Record<string, string | null>, o: { branch?: string; comment?: string; date?: string } = {}): PushResult {
    const rec = this.record(index);
    const h = this.history(index);
    if (!h || !rec.defaultBranch || !rec.headCommit) throw new Error(`ado simulator: repository "${rec.name}" is empty (no branch to commit to)`);
    const result = h.apply(o.branch ?? rec.defaultBranch, rec.headCommit, changes, o.comment, o.date ?? new Date().toISOString());
    if (result.branch.toLowerCase() === rec.defaultBranch.toLowerCase()) rec.headCommit = result.newObjectId;
    return result;
  }

  itemUrl(index: number, path: string): string {
    const rec = this.record(index);
    const project = this.#projects.record(rec.projectIndex);
    const encoded = path.split('/').map(encodeURIComponent).join('/');
    return `${this.#ctx.orgUrl()}/${project.id}/_apis/git/repositories/${rec.id}/items${encoded}?versionType=Branch&versionOptions=None`;
  }

  /** A file as the items API serves it, listed at `commitId` (default: the head of the default branch). */
  blobItem(index: number, file: RepoFile, includeContent: boolean, includeContentMetadata: boolean, commitId?: string): GitItem {
    const rec = this.record(index);
    const item: GitItem = {
      objectId: file.objectId,
      gitObjectType: 'blob',
      commitId: commitId ?? rec.headCommit ?? '',
      path: file.path,
      url: this.itemUrl(index, file.path),
    };
    if (includeContentMetadata) {
      const fileName = file.path.slice(file.path.lastIndexOf('/') + 1);
      const dot = fileName.lastIndexOf('.');
      item.contentMetadata = {
        fileName,
        extension: dot > 0 ? fileName.slice(dot) : '',
        encoding: 65001,
        contentType: 'rawText',
        isBinary: false,
        isImage: false,
      };
    }
    if (includeContent) item.content = file.content;
    return item;
  }

  /** The root folder at `commitId` (default: the head of the default branch); the generated objectId while its files are the base ones. */
  rootItem(index: number, commitId?: string): GitItem {
    const rec = this.record(index);
    const at = commitId ?? rec.headCommit ?? '';
    const h = this.history(index);
    const tree = this.tree(index, at);
    const own = subtreeHash(tree, '/');
    const unchanged = !h || tree === h.base.tree || own === subtreeHash(h.base.tree, '/');
    return {
      objectId: unchanged ? rngFor(this.#ctx.seed, this.#ctx.key, Stream.file, rec.index, 0xffff).sha() : (own ?? EMPTY_TREE_ID),
      gitObjectType: 'tree',
      commitId: at,
      path: '/',
      isFolder: true,
      url: this.itemUrl(index, '/'),
    };
  }

  #objectId(rec: RepoRecord, fileIndex: number): string {
    return rngFor(this.#ctx.seed, this.#ctx.key, Stream.file, rec.index, fileIndex).sha();
  }

  #readme(rec: RepoRecord): string {
    const rng = rngFor(this.#ctx.seed, this.#ctx.key, Stream.file, rec.index, 100);
    const project = this.#projects.record(rec.projectIndex);
    const lines = [
      `# ${rec.name}`,
      '',
      `Part of the ${project.name} project.`,
      '',
      rng.pick(SENTENCES),
      '',
      '## Getting started',
      '',
      '```sh',
      `git clone ${this.repository(rec.index, false).remoteUrl}`,
      '```',
      '',
    ];
    return lines.join('\n');
  }

  #codeowners(rec: RepoRecord): string {
    const rng = rngFor(this.#ctx.seed, this.#ctx.key, Stream.file, rec.index, 101);
    const a = this.#identities.at(rng.int(0, 1000));
    const b = this.#identities.at(rng.int(0, 1000));
    return [`# Code owners of ${rec.name}`, `* @${a.uniqueName}`, `/docs/ @${b.uniqueName}`, ''].join('\n');
  }

  #build(index: number): RepoRecord {
    const ctx = this.#ctx;
    const per = this.perProject;
    const projectIndex = Math.floor(index / per);
    const indexInProject = index % per;
    const rng = rngFor(ctx.seed, ctx.key, Stream.repository, index);
    const id = rng.guid();
    const master = rng.chance(0.2);
    const size = rng.int(20_000, 250_000_000);
    const head = rngFor(ctx.seed, ctx.key, Stream.commit, index).sha();
    const isEmpty = isEmptyIndex(index, indexInProject);
    const rec: RepoRecord = {
      index,
      projectIndex,
      indexInProject,
      id,
      name: this.#name(projectIndex, indexInProject),
      size: isEmpty ? 0 : size,
      isDisabled: isDisabledIndex(index, indexInProject),
      isEmpty,
      hasReadme: !isEmpty && index % 6 !== 2,
      hasCodeowners: !isEmpty && index % 3 === 1,
    };
    if (!isEmpty) {
      rec.defaultBranch = master ? 'refs/heads/master' : 'refs/heads/main';
      rec.headCommit = head;
    }
    return rec;
  }

  /** The first repository carries the project's name (as Azure DevOps creates it); the rest rotate through a word list. */
  #name(projectIndex: number, indexInProject: number): string {
    if (indexInProject === 0) return this.#projects.record(projectIndex).name;
    const offset = rngFor(this.#ctx.seed, this.#ctx.key, Stream.projectLayout, projectIndex).int(0, REPO_NAMES.length - 1);
    const n = indexInProject - 1;
    const word = REPO_NAMES[(offset + n) % REPO_NAMES.length] as string;
    const round = Math.floor(n / REPO_NAMES.length);
    return round === 0 ? word : `${word}-${round + 1}`;
  }
}
