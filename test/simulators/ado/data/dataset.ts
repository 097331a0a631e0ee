import { hashString } from '../random.js';
import { DEFAULT_REFERENCE_DATE, DEFAULT_SCALE, type AdoScale, type OrgContext } from './context.js';
import { ProjectsArea } from './core.js';
import { RepositoriesArea, type RepoFile } from './git.js';
import { IdentitiesArea } from './identities.js';
import { PullRequestsArea, type PullRequestStatusFilter } from './pullRequests.js';
import type { GitPullRequest, GitRepository, IdentityRef, ProjectState, TeamProject, TeamProjectReference } from './types.js';

export interface AdoDatasetOptions {
  seed?: number;
  organizations?: string[];
  scale?: Partial<AdoScale>;
  referenceDate?: string | Date;
}

export interface AdoCounts {
  projects: number;
  repositories: number;
  disabledRepositories: number;
  emptyRepositories: number;
  pullRequests: number;
  pullRequestsByStatus: { active: number; completed: number; abandoned: number };
}

/** Everything generated for one organization, split by API area. */
export class OrgData {
  readonly identities: IdentitiesArea;
  readonly projects: ProjectsArea;
  readonly repos: RepositoriesArea;
  readonly pullRequests: PullRequestsArea;

  constructor(readonly ctx: OrgContext) {
    this.identities = new IdentitiesArea(ctx);
    this.projects = new ProjectsArea(ctx);
    this.repos = new RepositoriesArea(ctx, this.projects, this.identities);
    this.pullRequests = new PullRequestsArea(ctx, this.projects, this.repos, this.identities);
  }
}

/**
 * Read access to the generated data, for assertions. Items are generated on demand from (seed, org, index);
 * the iterators yield exactly what the list endpoints serve, in the same order.
 */
export class AdoDataset {
  readonly seed: number;
  readonly organizations: readonly string[];
  readonly scale: Readonly<AdoScale>;
  /** The fixed "now" of the data: closed dates lie in the 30 days before it, creation dates in the 180 days before it. */
  readonly referenceDate: Date;
  /** Simulator base URL (set by the server once it listens); payload URLs are built from it. */
  baseUrl = 'http://127.0.0.1';
  readonly #orgs = new Map<string, OrgData>();

  constructor(opts: AdoDatasetOptions = {}) {
    this.seed = (opts.seed ?? 1) >>> 0;
    const orgs = opts.organizations && opts.organizations.length > 0 ? opts.organizations : ['acme'];
    this.organizations = Object.freeze([...orgs]);
    const scale = { ...DEFAULT_SCALE, ...stripUndefined(opts.scale ?? {}) };
    for (const [k, v] of Object.entries(scale)) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`ado simulator: scale.${k} must be a non-negative integer, got ${v}`);
    }
    this.scale = Object.freeze(scale);
    this.referenceDate = new Date(opts.referenceDate ?? DEFAULT_REFERENCE_DATE);
    if (Number.isNaN(this.referenceDate.getTime())) throw new Error(`ado simulator: invalid referenceDate ${String(opts.referenceDate)}`);
    for (const name of this.organizations) {
      const lower = name.toLowerCase();
      if (this.#orgs.has(lower)) throw new Error(`ado simulator: organization "${name}" listed twice`);
      const ctx: OrgContext = {
        name,
        key: hashString(lower),
        seed: this.seed,
        scale: this.scale,
        referenceMs: this.referenceDate.getTime(),
        orgUrl: () => `${this.baseUrl}/${name}`,
        hostname: () => new URL(this.baseUrl).hostname,
      };
      this.#orgs.set(lower, new OrgData(ctx));
    }
  }

  /** Case-insensitive lookup (organization names are); undefined when not served. */
  org(name: string): OrgData | undefined {
    return this.#orgs.get(name.toLowerCase());
  }

  #org(name?: string): OrgData {
    const org = this.org(name ?? (this.organizations[0] as string));
    if (!org) throw new Error(`ado simulator: unknown organization "${name}"`);
    return org;
  }

  identities(org?: string): IdentityRef[] {
    return [...this.#org(org).identities.all()];
  }

  /** Projects as `GET _apis/projects` lists them (all generated projects are wellFormed). */
  *projects(org?: string, opts: { stateFilter?: ProjectState | 'all' } = {}): Generator<TeamProjectReference> {
    const o = this.#org(org);
    const filter = opts.stateFilter ?? 'wellFormed';
    for (let i = 0; i < o.projects.count; i++) {
      const ref = o.projects.reference(i);
      if (filter === 'all' || ref.state === filter) yield ref;
    }
  }

  project(org: string | undefined, idOrName: string, includeCapabilities = false): TeamProject | undefined {
    const o = this.#org(org);
    const i = o.projects.find(idOrName);
    return i === undefined ? undefined : o.projects.teamProject(i, includeCapabilities);
  }

  /** All repositories (disabled and empty ones included, deleted ones not), optionally of one project (name or id). */
  *repositories(org?: string, project?: string): Generator<GitRepository> {
    const o = this.#org(org);
    let lo = 0;
    let hi = o.repos.count;
    if (project !== undefined) {
      const p = o.projects.find(project);
      if (p === undefined) return;
      lo = p * o.repos.perProject;
      hi = lo + o.repos.perProject;
    }
    for (let i = lo; i < hi; i++) if (!o.repos.isDeleted(i)) yield o.repos.repository(i, false);
  }

  repository(org: string | undefined, idOrName: string, project?: string): GitRepository | undefined {
    const o = this.#org(org);
    let i: number | undefined;
    if (project === undefined) i = o.repos.findById(idOrName);
    else {
      const p = o.projects.find(project);
      i = p === undefined ? undefined : o.repos.findInProject(p, idOrName);
    }
    return i === undefined ? undefined : o.repos.repository(i, true);
  }

  /** Files at the head of the repository's default branch (by repository id). */
  files(org: string | undefined, repositoryId: string): RepoFile[] {
    const o = this.#org(org);
    const i = o.repos.findById(repositoryId);
    return i === undefined ? [] : o.repos.files(i);
  }

  /**
   * Pull requests newest first, in list form (descriptions cut to 400 characters), as the project-level list
   * returns them. `status` defaults to 'all' here (the endpoint's default is 'active').
   */
  *pullRequests(
    org?: string,
    opts: { status?: PullRequestStatusFilter; project?: string; repositoryId?: string } = {},
  ): Generator<GitPullRequest> {
    const o = this.#org(org);
    const projectIndex = opts.project === undefined ? undefined : o.projects.find(opts.project);
    if (opts.project !== undefined && projectIndex === undefined) return;
    const repoIndex = opts.repositoryId === undefined ? undefined : o.repos.findById(opts.repositoryId);
    if (opts.repositoryId !== undefined && repoIndex === undefined) return;
    const ids = o.pullRequests.query({ status: opts.status ?? 'all', projectIndex, repoIndex });
    for (const id of ids) yield o.pullRequests.pullRequest(id, true);
  }

  /** One pull request as the single GET returns it (full description). */
  pullRequest(org: string | undefined, id: number): GitPullRequest | undefined {
    const o = this.#org(org);
    return o.pullRequests.exists(id) ? o.pullRequests.pullRequest(id, false) : undefined;
  }

  counts(org?: string): AdoCounts {
    const o = this.#org(org);
    let disabled = 0;
    let empty = 0;
    for (let i = 0; i < o.repos.count; i++) {
      if (o.repos.isDeleted(i)) continue;
      const r = o.repos.record(i);
      if (r.isDisabled) disabled++;
      if (r.isEmpty) empty++;
    }
    return {
      projects: o.projects.count,
      repositories: o.repos.count - o.repos.deletedCount,
      disabledRepositories: disabled,
      emptyRepositories: empty,
      ...(o.repos.deletedCount === 0
        ? { pullRequests: o.pullRequests.count, pullRequestsByStatus: o.pullRequests.statusCounts() }
        : {
            pullRequests: o.pullRequests.query({ status: 'all' }).length,
            pullRequestsByStatus: {
              active: o.pullRequests.query({ status: 'active' }).length,
              completed: o.pullRequests.query({ status: 'completed' }).length,
              abandoned: o.pullRequests.query({ status: 'abandoned' }).length,
            },
          }),
    };
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
