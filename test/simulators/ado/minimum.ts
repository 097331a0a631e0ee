/**
 * The fewest Azure DevOps requests that can read a kind's data from the simulated organization, computed from the
 * dataset and the same page limits the simulator enforces. Benchmarks compare the requests a sync made with this.
 *
 * Rules (one organization; per-item enrichment such as includedFiles, defaultTeam, includeMembers or
 * enrichWithFirstCommit is not counted: the minimum is for the list data itself):
 * - a header-continuation list of n items at page limit L costs max(1, ceil(n / L)) requests;
 * - a `$top/$skip` list (no token, so the end is only known from a short page) costs floor(n / L) + 1;
 * - the project listing and the org-level repository listing are counted once, shared by every kind that needs them
 *   (the worker caches them for the run);
 * - pull requests: per project, one `$top/$skip` listing with status=all (the project-level list);
 * - work items: per project, WIQL (at most 20,000 ids per query, so floor(n / 19,999) + 1 queries when paging by id)
 *   plus ceil(n / 200) by-ids requests;
 * - branches: per healthy repository (enabled, with a default branch) one refs listing.
 */
import type { OrgData } from './data/dataset.js';
import { gitExtras } from './data/gitRefs.js';
import { pipelinesOf } from './data/pipelines.js';
import { workOf } from './data/work.js';

/** WIQL answers at most this many ids; paging by id asks for one fewer to tell a full page from the last. */
export const WIQL_MAX_IDS = 20_000;
/** The work items GET takes at most this many ids. */
export const WORK_ITEMS_PER_REQUEST = 200;

export interface MinimumRequests {
  total: number;
  /** Requests of each kind beyond the shared listings. */
  byKind: Record<string, number>;
  /** The project and repository listings, counted once. */
  shared: { projects: number; repositories: number };
  /** Items each kind's data holds (what a full sync should produce before selector filtering). */
  items: Record<string, number>;
}

/** Kinds whose fetcher starts from the project listing / the repository listing. */
const NEEDS_PROJECTS = new Set(['project', 'pull-request', 'build', 'work-item', 'pipeline', 'environment', 'release-definition', 'release']);
const NEEDS_REPOSITORIES = new Set(['repository', 'pull-request', 'branch']);

export const MINIMUM_KINDS = [...new Set([...NEEDS_PROJECTS, ...NEEDS_REPOSITORIES, 'team'])];

const continuation = (n: number, limit: number) => Math.max(1, Math.ceil(n / limit));
const topSkip = (n: number, limit: number) => Math.floor(n / limit) + 1;

export function minimumRequests(org: OrgData, pageLimit: (family: string) => number, kinds: readonly string[]): MinimumRequests {
  const unknown = kinds.filter((k) => !MINIMUM_KINDS.includes(k));
  if (unknown.length > 0) throw new Error(`ado simulator: minimumRequests does not model kind(s) ${unknown.join(', ')}`);
  const projects = org.projects.count;
  const byKind: Record<string, number> = {};
  const items: Record<string, number> = {};
  const perProject = (f: (p: number) => number) => {
    let n = 0;
    for (let p = 0; p < projects; p++) n += f(p);
    return n;
  };
  const lazyPipelines = () => pipelinesOf(org);

  for (const kind of new Set(kinds)) {
    switch (kind) {
      case 'project':
        byKind[kind] = 0;
        items[kind] = projects;
        break;
      case 'repository':
        byKind[kind] = 0;
        items[kind] = org.repos.count - org.repos.deletedCount;
        break;
      case 'pull-request': {
        const limit = pageLimit('pullRequests');
        let total = 0;
        byKind[kind] = perProject((p) => {
          const n = org.pullRequests.query({ status: 'all', projectIndex: p }).length;
          total += n;
          return topSkip(n, limit);
        });
        items[kind] = total;
        break;
      }
      case 'build': {
        const data = lazyPipelines();
        byKind[kind] = perProject((p) => continuation(data.buildsOfProject(p).length, pageLimit('builds')));
        items[kind] = data.builds.length;
        break;
      }
      case 'work-item': {
        const n = workOf(org).workItemsPerProject;
        byKind[kind] = projects * (Math.floor(n / (WIQL_MAX_IDS - 1)) + 1 + Math.ceil(n / WORK_ITEMS_PER_REQUEST));
        items[kind] = n * projects;
        break;
      }
      case 'pipeline': {
        const data = lazyPipelines();
        byKind[kind] = perProject((p) => continuation(data.pipelinesOf(p).length, pageLimit('pipelines')));
        items[kind] = data.pipelines.length;
        break;
      }
      case 'environment': {
        const data = lazyPipelines();
        byKind[kind] = perProject((p) => continuation(data.environments.filter((e) => e.projectIndex === p).length, pageLimit('environments')));
        items[kind] = data.environments.length;
        break;
      }
      case 'release-definition': {
        const data = lazyPipelines();
        byKind[kind] = perProject((p) => continuation(data.releaseDefinitions.filter((d) => d.projectIndex === p).length, pageLimit('releaseDefinitions')));
        items[kind] = data.releaseDefinitions.length;
        break;
      }
      case 'release': {
        const data = lazyPipelines();
        byKind[kind] = perProject((p) => continuation(data.releases.filter((r) => r.definition.projectIndex === p).length, pageLimit('releases')));
        items[kind] = data.releases.length;
        break;
      }
      case 'team': {
        const n = projects * workOf(org).teamsPerProject;
        byKind[kind] = topSkip(n, pageLimit('teams'));
        items[kind] = n;
        break;
      }
      case 'branch': {
        const extras = gitExtras(org);
        let requests = 0;
        let branches = 0;
        for (let r = 0; r < org.repos.count; r++) {
          const rec = org.repos.record(r);
          if (rec.isDisabled || rec.defaultBranch === undefined || org.repos.isDeleted(r)) continue;
          const n = rec.isEmpty ? 0 : extras.branches(r).length;
          requests += continuation(n, pageLimit('refs'));
          branches += n;
        }
        byKind[kind] = requests;
        items[kind] = branches;
        break;
      }
    }
  }
  const shared = {
    projects: kinds.some((k) => NEEDS_PROJECTS.has(k)) ? continuation(projects, pageLimit('projects')) : 0,
    repositories: kinds.some((k) => NEEDS_REPOSITORIES.has(k)) ? 1 : 0,
  };
  const total = shared.projects + shared.repositories + Object.values(byKind).reduce((a, b) => a + b, 0);
  return { total, byKind, shared, items };
}
