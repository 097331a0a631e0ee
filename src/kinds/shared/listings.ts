import { getList, pagesByContinuation } from '../../ado/paging.js';
import { collect, items } from '../../util/asyncIter.js';
import type { FetchContext, RawItem } from '../types.js';
import { API, MAX_PAGE } from './api.js';

export interface ProjectRef extends RawItem {
  id: string;
  name: string;
  state?: string;
}

export interface RepositoryRef extends RawItem {
  id: string;
  name: string;
  defaultBranch?: string;
  isDisabled?: boolean;
  project: ProjectRef;
}

/** Streams the organization's projects page by page (continuation paging). */
export function projectPages(ctx: FetchContext): AsyncIterable<ProjectRef[]> {
  return pagesByContinuation<ProjectRef>(ctx.client, ctx.client.url('_apis/projects'), {
    query: { 'api-version': API.ga },
    top: Math.min(ctx.pageSize, MAX_PAGE.projects),
    tokenFrom: 'header',
    signal: ctx.signal,
  });
}

/** All projects, fetched once per run and shared by the kinds that fan out per project. */
export function listProjects(ctx: FetchContext): Promise<ProjectRef[]> {
  return ctx.cache.memo('projects', () => collect(items(projectPages(ctx))));
}

/** Every repository of the organization in one request (the org-level listing), fetched once per run. */
export function listRepositories(ctx: FetchContext): Promise<RepositoryRef[]> {
  return ctx.cache.memo('repositories', () =>
    getList<RepositoryRef>(ctx.client, ctx.client.url('_apis/git/repositories'), { 'api-version': API.ga }, { signal: ctx.signal }),
  );
}

const UNHEALTHY_PROJECT_STATES = new Set(['deleted', 'deleting', 'new', 'createpending']);

/** Repositories whose children (branches, pull requests, policies) can be listed: enabled, in a live project. */
export function isHealthyRepository(repo: RepositoryRef): boolean {
  if (repo.isDisabled) return false;
  const state = repo.project?.state?.toLowerCase();
  return !state || !UNHEALTHY_PROJECT_STATES.has(state);
}

/**
 * The projects an incremental pass of `kind` reads: those the journal of service-hook events names for the kind since
 * then, or every project when no journal covers that window. The summary says which, and why.
 */
export async function projectsChangedSince(ctx: FetchContext, kind: string, since: Date): Promise<ProjectRef[]> {
  const projects = await listProjects(ctx);
  const journal = await ctx.projectChanges?.projects(kind, since);
  if (!journal?.projectIds) {
    ctx.note?.(`incremental: every project read (${journal?.reason ?? 'no journal of service-hook events'})`);
    return projects;
  }
  const changed = journal.projectIds;
  const picked = projects.filter((p) => changed.has(p.id.toLowerCase()));
  ctx.note?.(`incremental: ${picked.length} of ${projects.length} projects with ${kind} events since then (service hooks)`);
  return picked;
}

/**
 * The repositories (ids, lower case) with a push announced since then, for an incremental pass of a per-repository
 * kind; undefined when no journal of pushes covers that window (the pass then reads every repository, and says so).
 */
export async function repositoriesPushedSince(ctx: FetchContext, since: Date): Promise<Set<string> | undefined> {
  const changed = await ctx.repositoryChanges?.since(since);
  if (!changed) ctx.note?.('incremental: no journal of pushes covers this window (no serve accepting events, or it was down since); every repository read');
  return changed;
}
