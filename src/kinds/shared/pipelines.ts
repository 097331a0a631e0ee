import { pagesByContinuation } from '../../ado/paging.js';
import { collect, items, mergeMap } from '../../util/asyncIter.js';
import type { FetchContext, RawItem } from '../types.js';
import { API } from './api.js';
import { listProjects, type ProjectRef } from './listings.js';

/**
 * Page sizes for the pipelines area. Header-token lists are safe at any size (a server cap only shortens pages, the
 * token carries on); `$top/$skip` lists (test runs) must stay at or below what the service serves, or a capped page
 * would look like the last one.
 */
export const PIPELINE_PAGE = {
  builds: 1000,
  buildChanges: 1000,
  pipelines: 1000,
  environments: 1000,
  deploymentRecords: 1000,
  releaseDefinitions: 1000,
  releases: 1000,
  releaseDeployments: 1000,
  testRuns: 100,
  testResults: 1000,
} as const;

/** Projects fanned out per kind at most this many at a time. */
export const PROJECT_CONCURRENCY = 4;

export interface PipelineRef extends RawItem {
  id: number;
  name?: string;
}

export interface EnvironmentRef extends RawItem {
  id: number;
  project?: { id?: string; name?: string };
}

export function top(ctx: FetchContext, max: number): number {
  return Math.max(1, Math.min(ctx.pageSize, max));
}

export function projectPath(project: ProjectRef, rest: string): string {
  return `${encodeURIComponent(project.id)}/_apis/${rest}`;
}

/** `GET {project}/_apis/pipelines` (header continuation). */
export function pipelinePages(ctx: FetchContext, project: ProjectRef): AsyncIterable<PipelineRef[]> {
  return pagesByContinuation<PipelineRef>(ctx.client, ctx.client.url(projectPath(project, 'pipelines')), {
    query: { 'api-version': API.ga },
    top: top(ctx, PIPELINE_PAGE.pipelines),
    tokenFrom: 'either',
    signal: ctx.signal,
  });
}

/** `GET {project}/_apis/build/builds?queryOrder=queueTimeDescending` (header continuation, string token). */
export function buildPages(ctx: FetchContext, project: ProjectRef, filter: Record<string, string> = {}): AsyncIterable<RawItem[]> {
  return pagesByContinuation<RawItem>(ctx.client, ctx.client.url(projectPath(project, 'build/builds')), {
    query: { queryOrder: 'queueTimeDescending', ...filter, 'api-version': API.ga },
    top: top(ctx, PIPELINE_PAGE.builds),
    tokenFrom: 'header',
    signal: ctx.signal,
  });
}

/**
 * Builds the resync lists, declared once for the build and pipeline-stage listings and their events: the builds list
 * leaves out deleted builds (its default `deletedFilter`), which a GET by id still returns, marked `deleted`.
 */
export function isListedBuild(build: RawItem): boolean {
  return build.deleted !== true;
}

/** `GET {project}/_apis/distributedtask/environments` of one project (header continuation). */
export function environmentPages(ctx: FetchContext, project: ProjectRef): AsyncIterable<EnvironmentRef[]> {
  return pagesByContinuation<EnvironmentRef>(ctx.client, ctx.client.url(projectPath(project, 'distributedtask/environments')), {
    query: { 'api-version': API.ga },
    top: top(ctx, PIPELINE_PAGE.environments),
    tokenFrom: 'header',
    signal: ctx.signal,
  });
}

/** Every environment of the organization with the project it belongs to, fetched once per run. */
export function listEnvironments(ctx: FetchContext): Promise<Array<{ project: ProjectRef; environment: EnvironmentRef }>> {
  return ctx.cache.memo('environments', async () => {
    const projects = await listProjects(ctx);
    return collect(
      mergeMap(
        projects,
        async function* (project) {
          for await (const environment of items(environmentPages(ctx, project))) yield { project, environment };
        },
        PROJECT_CONCURRENCY,
      ),
    );
  });
}

/** The project as Ocean stamps it on `__project` (the project listing item). */
export function projectStamp(project: ProjectRef): RawItem {
  return { ...project };
}

/** Ocean's AzureDevopsSelector carries `defaultTeam` on several kinds that ignore it; accepted so configs carry over. */
export const OCEAN_DEFAULT_TEAM = {
  type: 'boolean',
  default: false,
  description: 'Accepted for compatibility with Ocean configurations; has no effect on this kind',
} as const;
