/**
 * Git extras served by the simulator: branches (refs), branch policy configurations, and the nested files and
 * folders of each repository's tree. Shapes follow shared/ado-api-samples/git/refs-heads.json,
 * policy/configurations-list.json, git/items-folder-onelevel.json and git/itemsbatch.json.
 */
import { adoDate, DAY_MS, rngFor } from '../random.js';
import type { OrgContext } from './context.js';
import type { OrgData } from './dataset.js';
import { foldersOf, subtreeHash, type GeneratedBranch } from './gitHistory.js';
import type { IdentitiesArea } from './identities.js';
import type { RepoFile, RepoRecord } from './git.js';
import type { GitItem, IdentityRef } from './types.js';

/** Own key spaces (kept away from the shared Stream enum so areas added concurrently cannot collide). */
const STREAM_BRANCH = 0x6b01;
const STREAM_POLICY = 0x6b02;
const STREAM_TREE = 0x6b03;

/** Default number of branches (the default branch included) per non-empty repository. */
export const DEFAULT_BRANCHES_PER_REPO = 4;

/** Size above which the file kind skips a file (Ocean: 1 MiB); the simulator serves one such file. */
export const LARGE_FILE_BYTES = 1024 * 1024 + 512;

export interface GitRef {
  name: string;
  objectId: string;
  creator: IdentityRef;
  url: string;
}

export interface PolicyScope {
  refName: string | null;
  matchKind: 'Exact' | 'Prefix' | 'DefaultBranch';
  repositoryId: string | null;
}

export interface PolicyConfiguration {
  createdBy: Omit<IdentityRef, '_links' | 'descriptor'>;
  createdDate: string;
  isEnabled: boolean;
  isBlocking: boolean;
  isDeleted: boolean;
  settings: Record<string, unknown> & { scope: PolicyScope[] };
  _links: { self: { href: string }; type: { href: string } };
  revision: number;
  id: number;
  url: string;
  type: { id: string; url: string; displayName: string };
}

export const POLICY_TYPES = {
  minimumReviewers: { id: 'fa4e907d-c16b-4a4c-9dfa-4906e5d171dd', displayName: 'Minimum number of reviewers' },
  workItemLinking: { id: '40e92b44-2fe1-4dd6-b3d8-74a9c21d0c6e', displayName: 'Work item linking' },
  commentRequirements: { id: 'c6a1889d-b943-4856-b76f-9e46bb6b0df2', displayName: 'Comment requirements' },
  build: { id: '0609b952-1397-4640-95ec-e00a01b2c241', displayName: 'Build' },
} as const;

const BRANCH_WORDS = ['login', 'cache', 'retry', 'metrics', 'search', 'billing', 'docs', 'upgrade'] as const;

const cache = new WeakMap<OrgData, GitExtras>();

/** The git extras of one organization (built lazily, one instance per OrgData). */
export function gitExtras(org: OrgData): GitExtras {
  let g = cache.get(org);
  if (!g) {
    g = new GitExtras(org);
    cache.set(org, g);
  }
  return g;
}

/**
 * Files beyond README.md/CODEOWNERS, nested in folders, for repositories that have a README (so repositories with no
 * files at all still exist). Repository index 0 also carries a file larger than 1 MiB and an unparsable YAML file.
 */
export function extraFiles(seed: number, key: number, rec: RepoRecord): RepoFile[] {
  if (rec.isEmpty || !rec.hasReadme) return [];
  const files: Array<[string, string]> = [];
  const pkg = (name: string) => `${JSON.stringify({ name, version: `1.${rec.index}.0`, private: true, scripts: { test: 'jest' } }, null, 2)}\n`;
  files.push(['/package.json', pkg(rec.name.toLowerCase().replace(/\s+/g, '-'))]);
  if (rec.index % 2 === 0) {
    files.push(['/services/api/package.json', pkg('api')]);
    files.push(['/services/api/README.md', `# api of ${rec.name}\n`]);
    files.push(['/services/web/package.json', pkg('web')]);
  } else {
    files.push(['/docs/README.md', `# Docs of ${rec.name}\n`]);
  }
  if (rec.index % 3 === 0) {
    files.push(['/deploy/helm/values.yaml', `replicaCount: ${1 + (rec.index % 4)}\nimage:\n  repository: ${rec.name.toLowerCase().replace(/\s+/g, '-')}\n  tag: latest\n`]);
  }
  if (rec.index === 0) {
    files.push(['/deploy/broken.yaml', 'key: [1, 2\n  other: }\n']);
    files.push(['/data/huge.json', `"${'x'.repeat(LARGE_FILE_BYTES)}"`]);
  }
  return files.map(([path, content], i) => ({ path, content, objectId: rngFor(seed, key, STREAM_TREE, rec.index, i).sha() }));
}

/**
 * The branches a non-empty repository is generated with (default branch at the base commit, the others at commits of
 * their own whose files are the base ones), sorted by name.
 */
export function generatedBranches(ctx: OrgContext, identities: IdentitiesArea, rec: RepoRecord): GeneratedBranch[] {
  if (rec.isEmpty || !rec.defaultBranch) return [];
  const names = new Set<string>([rec.defaultBranch]);
  const rng = rngFor(ctx.seed, ctx.key, STREAM_BRANCH, rec.index);
  const perRepo = ctx.scale.branchesPerRepo ?? DEFAULT_BRANCHES_PER_REPO;
  for (let n = 1; names.size < perRepo; n++) {
    const kind = n % 3 === 0 ? 'release' : n % 3 === 1 ? 'feature' : 'users';
    const word = BRANCH_WORDS[(rec.index + n) % BRANCH_WORDS.length] as string;
    names.add(kind === 'release' ? `refs/heads/release/1.${n}` : kind === 'users' ? `refs/heads/users/${identities.alias(n)}/${word}-${n}` : `refs/heads/feature/${word}-${n}`);
  }
  return [...names].sort().map((name) => {
    const creator = identities.at(rng.int(0, 1000));
    return { name, objectId: name === rec.defaultBranch && rec.headCommit ? rec.headCommit : rng.sha(), creator };
  });
}

export class GitExtras {
  readonly #org: OrgData;
  readonly #policies = new Map<number, PolicyConfiguration[]>();

  constructor(org: OrgData) {
    this.#org = org;
  }

  get branchesPerRepo(): number {
    return this.#org.ctx.scale.branchesPerRepo ?? DEFAULT_BRANCHES_PER_REPO;
  }

  /**
   * Branches of a repository, sorted by name as the service returns them; none for an empty repository. Heads follow
   * the commits made with `sim.git.commit` (data/gitHistory.ts), and branches those commits created are listed too.
   */
  branches(repoIndex: number): GitRef[] {
    const { ctx, repos, identities, projects } = this.#org;
    const rec = repos.record(repoIndex);
    const history = repos.history(repoIndex);
    if (rec.isEmpty || !rec.defaultBranch || !history) return [];
    const project = projects.record(rec.projectIndex);
    const refs = history.generated.map((g) => ({ name: g.name, objectId: history.branch(g.name)?.objectId ?? g.objectId, creator: g.creator }));
    for (const b of history.createdBranches) refs.push({ name: b.name, objectId: b.objectId, creator: identities.at(hashPath(b.name)) });
    return refs
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((b) => ({ ...b, url: `${ctx.orgUrl()}/${project.id}/_apis/git/repositories/${rec.id}/refs?filter=${encodeURIComponent(b.name.replace(/^refs\//, ''))}` }));
  }

  /**
   * Policy configurations of a project, by id. Per non-empty repository: a minimum-reviewers policy on its default
   * branch, a work-item-linking policy on every other one, and on every third a build policy on `release/` branches.
   * Once per project: a comment-requirements policy on the default branch of every repository (repositoryId null).
   */
  policies(projectIndex: number): PolicyConfiguration[] {
    let list = this.#policies.get(projectIndex);
    if (list) return list;
    const { ctx, repos, identities, projects } = this.#org;
    const project = projects.record(projectIndex);
    const base = ctx.orgUrl();
    list = [];
    let n = 0;
    const add = (type: { id: string; displayName: string }, settings: Record<string, unknown>, scope: PolicyScope[]) => {
      const id = projectIndex * 1000 + ++n;
      const rng = rngFor(ctx.seed, ctx.key, STREAM_POLICY, id);
      const who = identities.at(rng.int(0, 1000));
      const typeUrl = `${base}/${project.id}/_apis/policy/types/${type.id}`;
      list!.push({
        createdBy: { id: who.id, displayName: who.displayName, uniqueName: who.uniqueName, url: who.url, imageUrl: who.imageUrl },
        createdDate: adoDate(ctx.referenceMs - rng.int(1, 400) * DAY_MS, rng),
        isEnabled: rng.chance(0.85),
        isBlocking: rng.chance(0.7),
        isDeleted: false,
        settings: { ...settings, scope },
        _links: { self: { href: `${base}/${project.id}/_apis/policy/configurations/${id}` }, type: { href: typeUrl } },
        revision: rng.int(1, 5),
        id,
        url: `${base}/${project.id}/_apis/policy/configurations/${id}`,
        type: { id: type.id, url: typeUrl, displayName: type.displayName },
      });
    };
    add(POLICY_TYPES.commentRequirements, {}, [{ refName: null, matchKind: 'DefaultBranch', repositoryId: null }]);
    for (let i = projectIndex * repos.perProject; i < (projectIndex + 1) * repos.perProject; i++) {
      const rec = repos.record(i);
      if (rec.isEmpty || !rec.defaultBranch) continue;
      const exact: PolicyScope[] = [{ refName: rec.defaultBranch, matchKind: 'Exact', repositoryId: rec.id }];
      add(POLICY_TYPES.minimumReviewers, { minimumApproverCount: 1 + (i % 3), creatorVoteCounts: false, allowDownvotes: false, resetOnSourcePush: i % 2 === 0 }, exact);
      if (i % 2 === 0) add(POLICY_TYPES.workItemLinking, {}, exact);
      if (i % 3 === 0) {
        add(POLICY_TYPES.build, { buildDefinitionId: 100 + i, displayName: null, queueOnSourceUpdateOnly: true, manualQueueOnly: false, validDuration: 720 }, [
          { refName: 'refs/heads/release/', matchKind: 'Prefix', repositoryId: rec.id },
        ]);
      }
    }
    this.#policies.set(projectIndex, list);
    return list;
  }

  /** Folder paths implied by a repository's files at a commit (default: the default branch's head; root excluded), sorted. */
  folders(repoIndex: number, commitId?: string): string[] {
    return foldersOf(this.#org.repos.tree(repoIndex, commitId));
  }

  /**
   * A folder at a commit (default: the default branch's head). Its objectId is the generated one while the folder
   * holds what it held in the base commit, else a hash of its files.
   */
  folderItem(repoIndex: number, path: string, commitId?: string): GitItem {
    const { ctx, repos } = this.#org;
    const rec = repos.record(repoIndex);
    if (path === '/') return repos.rootItem(repoIndex, commitId);
    const at = commitId ?? rec.headCommit ?? '';
    const tree = repos.tree(repoIndex, at);
    const history = repos.history(repoIndex);
    const own = subtreeHash(tree, path);
    const unchanged = !history || tree === history.base.tree || own === subtreeHash(history.base.tree, path);
    return {
      objectId: unchanged || own === undefined ? rngFor(ctx.seed, ctx.key, STREAM_TREE, rec.index, 0x10000 + hashPath(path)).sha() : own,
      gitObjectType: 'tree',
      commitId: at,
      path,
      isFolder: true,
      url: repos.itemUrl(repoIndex, path),
    };
  }

  /**
   * The items listing at a commit (default: the default branch's head): the item at `scope` and, for a folder, its
   * children (`oneLevel`) or all descendants (`full`), folders before files at each level as the service sorts them.
   * Undefined when nothing exists at `scope`.
   */
  listItems(repoIndex: number, scope: string, recursion: string, includeMeta: boolean, commitId?: string): GitItem[] | undefined {
    const { repos } = this.#org;
    const files = [...repos.tree(repoIndex, commitId).values()];
    const file = files.find((f) => f.path === scope);
    if (file) return [repos.blobItem(repoIndex, file, false, includeMeta, commitId)];
    const folders = this.folders(repoIndex, commitId);
    if (scope !== '/' && !folders.includes(scope)) return undefined;
    const out: GitItem[] = [this.folderItem(repoIndex, scope, commitId)];
    const level = recursion.toLowerCase();
    if (level === 'none') return out;
    const prefix = scope === '/' ? '/' : `${scope}/`;
    const depth = (p: string) => p.split('/').filter(Boolean).length;
    const scopeDepth = depth(scope);
    const within = (p: string) => p.startsWith(prefix) && (level === 'full' || depth(p) === scopeDepth + 1);
    for (const f of folders.filter(within)) out.push(this.folderItem(repoIndex, f, commitId));
    for (const f of files.filter((x) => within(x.path)).sort((a, b) => a.path.localeCompare(b.path))) {
      out.push(repos.blobItem(repoIndex, f, false, includeMeta, commitId));
    }
    return out;
  }
}

function hashPath(path: string): number {
  let h = 0;
  for (let i = 0; i < path.length; i++) h = (Math.imul(h, 31) + path.charCodeAt(i)) & 0xffff;
  return h;
}
