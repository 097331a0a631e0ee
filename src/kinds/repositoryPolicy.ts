import { fromAuditLog, projectsNamed } from './shared/auditIncremental.js';
import { pagesByContinuation } from '../ado/paging.js';
import { mergeMap } from '../util/asyncIter.js';
import { API } from './shared/api.js';
import { isHealthyRepository, listProjects, listRepositories, type ProjectRef, type RepositoryRef } from './shared/listings.js';
import type { FetchContext, KindDefinition, RawItem, Selector } from './types.js';

/** Largest `$top` sent to the policy configurations list (the spec gives no cap; pages stay moderate). */
const POLICIES_MAX_PAGE = 1000;

interface PolicyScope {
  refName?: string | null;
  matchKind?: string | null;
  repositoryId?: string | null;
}

interface PolicyConfiguration extends RawItem {
  settings?: { scope?: PolicyScope[] | null } | null;
}

/**
 * Branch policies, one item per (policy, repository it applies to) with `__repository`, as Ocean yields them from
 * `git/policy/configurations?repositoryId=&refName={defaultBranch}` — but read from ONE project-level listing per
 * project, each policy assigned to its repositories through `settings.scope[]` (repositoryId null = every repository
 * of the project), so a project costs a page or two instead of one request per repository.
 */
async function* fetchRepositoryPolicies(ctx: FetchContext, _selector: Selector, onlyProjects?: Set<string>): AsyncGenerator<RawItem[]> {
  const [all, repos] = await Promise.all([listProjects(ctx), listRepositories(ctx)]);
  const projects = all.filter((p) => !onlyProjects || onlyProjects.has(p.id.toLowerCase()));
  const byProject = new Map<string, RepositoryRef[]>();
  for (const repo of repos) {
    const projectId = repo.project?.id;
    if (!projectId || !isHealthyRepository(repo)) continue;
    const list = byProject.get(projectId) ?? [];
    list.push(repo);
    byProject.set(projectId, list);
  }
  const withRepos = projects.filter((p) => byProject.has(p.id));
  yield* mergeMap(withRepos, (project) => projectPolicies(ctx, project, byProject.get(project.id) ?? []), 4);
}

async function* projectPolicies(ctx: FetchContext, project: ProjectRef, repos: RepositoryRef[]): AsyncGenerator<RawItem[]> {
  const url = ctx.client.url(`${encodeURIComponent(project.id)}/_apis/policy/configurations`);
  const pages = pagesByContinuation<PolicyConfiguration>(ctx.client, url, {
    query: { 'api-version': API.ga },
    top: Math.min(ctx.pageSize, POLICIES_MAX_PAGE),
    tokenFrom: 'header',
    signal: ctx.signal,
  });
  for await (const page of pages) {
    const out: RawItem[] = [];
    for (const policy of page) {
      if (!policy || typeof policy !== 'object') continue;
      for (const repo of repositoriesOf(policy, repos)) out.push({ ...policy, __repository: repo });
    }
    if (out.length > 0) yield out;
  }
}

/** The repositories a policy applies to: a scope names the repository (or all, when null) and a ref that covers its default branch. */
export function repositoriesOf(policy: PolicyConfiguration, repos: RepositoryRef[]): RepositoryRef[] {
  // Not a listing: a policy without a scope applies to no repository.
  const scopes = Array.isArray(policy.settings?.scope) ? policy.settings.scope : [];
  return repos.filter((repo) =>
    scopes.some((s) => {
      if (!s || typeof s !== 'object') return false;
      const repoId = s.repositoryId ?? null;
      if (repoId !== null && String(repoId).toLowerCase() !== repo.id.toLowerCase()) return false;
      return appliesToRef(s, repo.defaultBranch);
    }),
  );
}

function appliesToRef(scope: PolicyScope, defaultBranch: string | undefined): boolean {
  if (!defaultBranch) return true; // Ocean sends no refName then: every policy of the repository
  if (scope.matchKind?.toLowerCase() === 'defaultbranch' || scope.refName === null || scope.refName === undefined) return true;
  const ref = scope.refName.toLowerCase();
  const branch = defaultBranch.toLowerCase();
  return scope.matchKind?.toLowerCase() === 'prefix' ? branch.startsWith(ref) : branch === ref;
}

export const repositoryPolicyKind: KindDefinition = {
  kind: 'repository-policy',
  description: 'Branch policies that apply to each healthy repository\'s default branch, one item per policy and repository',
  serverSupported: true,
  docs: {
    endpoints: 'GET {project}/_apis/policy/configurations per project (continuation header), matched to repositories by settings.scope[]',
    enrichment: ['__repository'],
  },
  selectorSchema: { type: 'object', properties: {} },
  fetch: fetchRepositoryPolicies,
  incremental: fromAuditLog(fetchRepositoryPolicies, {
    reads: 'the audit log since the cursor: the projects with a policy created, changed or removed (Policy.PolicyConfig*) have their policies listed again; otherwise nothing is read',
    concerns: (e) => /^Policy\.PolicyConfig(Created|Modified|Removed)$/.test(e.actionId),
    refetch: (ctx, selector, entries) => fetchRepositoryPolicies(ctx, selector, projectsNamed(entries)),
  }),
};
