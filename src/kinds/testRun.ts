import { pagesByContinuation, pagesByTopSkip } from '../ado/paging.js';
import { collect, items, mergeMap } from '../util/asyncIter.js';
import { API } from './shared/api.js';
import { listProjects, type ProjectRef } from './shared/listings.js';
import { PIPELINE_PAGE, PROJECT_CONCURRENCY, projectPath, top } from './shared/pipelines.js';
import type { FetchContext, KindDefinition, RawItem, SelectorOf, SelectorSchema } from './types.js';

const selectorSchema = {
  type: 'object',
  properties: {
    includeResults: { type: 'boolean', default: true, description: 'Add __testResults: the results of each run' },
    codeCoverage: {
      type: 'object',
      additionalProperties: false,
      properties: {
        flags: { type: 'integer', minimum: 0, default: 1, description: 'Coverage detail: 1 modules, 2 functions, 4 block data (additive)' },
      },
      description: "Add __codeCoverage: the coverage of the run's build",
    },
  },
} as const satisfies SelectorSchema;

type TestRunSelector = SelectorOf<typeof selectorSchema>;

interface TestRun extends RawItem {
  id?: number;
  build?: { id?: string | number } | null;
}

/**
 * Test runs of every project with `__testResults` (`[]` when includeResults is off) and `__codeCoverage` (the build's
 * coverage response; `{}` when codeCoverage is not configured or the run has no build). Coverage is fetched once per
 * build, however many runs share it.
 */
async function* fetchTestRuns(ctx: FetchContext, selector: TestRunSelector): AsyncGenerator<RawItem[]> {
  const projects = await listProjects(ctx);
  yield* mergeMap(projects, (project) => projectTestRuns(ctx, project, selector), PROJECT_CONCURRENCY);
}

async function* projectTestRuns(ctx: FetchContext, project: ProjectRef, selector: TestRunSelector): AsyncGenerator<RawItem[]> {
  const pages = pagesByTopSkip<TestRun>(ctx.client, ctx.client.url(projectPath(project, 'test/runs')), {
    query: { includeRunDetails: true, 'api-version': API.ga },
    top: top(ctx, PIPELINE_PAGE.testRuns),
    signal: ctx.signal,
  });
  yield* enrichedPages(ctx, project, selector, pages);
}

/** The query form accepts a last-updated range of at most 7 days: a longer span is asked window by window. */
const UPDATED_WINDOW_MS = 7 * 86_400_000;

/** An incremental pass: per project, the runs updated since `since` (minLastUpdatedDate/maxLastUpdatedDate, header continuation). */
async function* testRunsSince(ctx: FetchContext, selector: TestRunSelector, since: Date): AsyncGenerator<RawItem[]> {
  const projects = await listProjects(ctx);
  const until = Date.now() + 60_000;
  const windows: Array<[string, string]> = [];
  for (let from = since.getTime(); from < until; from += UPDATED_WINDOW_MS) windows.push([new Date(from).toISOString(), new Date(Math.min(from + UPDATED_WINDOW_MS, until)).toISOString()]);
  yield* mergeMap(
    projects,
    async function* (project) {
      for (const [min, max] of windows) {
        const pages = pagesByContinuation<TestRun>(ctx.client, ctx.client.url(projectPath(project, 'test/runs')), {
          query: { minLastUpdatedDate: min, maxLastUpdatedDate: max, includeRunDetails: true, 'api-version': API.ga },
          top: top(ctx, PIPELINE_PAGE.testRuns),
          tokenFrom: 'header',
          signal: ctx.signal,
        });
        yield* enrichedPages(ctx, project, selector, pages);
      }
    },
    PROJECT_CONCURRENCY,
  );
}

/** Each page of runs with their results and coverage (coverage read once per build of the listing). */
async function* enrichedPages(ctx: FetchContext, project: ProjectRef, selector: TestRunSelector, pages: AsyncIterable<TestRun[]>): AsyncGenerator<RawItem[]> {
  const coverage = new Map<string, Promise<RawItem>>();
  for await (const page of pages) {
    const enriched: RawItem[] = [];
    for await (const run of mergeMap(page, (run) => enrich(ctx, project, run, selector, coverage), 5)) enriched.push(run);
    if (enriched.length > 0) yield enriched;
  }
}

async function* enrich(
  ctx: FetchContext,
  project: ProjectRef,
  run: TestRun,
  selector: TestRunSelector,
  coverage: Map<string, Promise<RawItem>>,
): AsyncGenerator<RawItem> {
  const results = selector.includeResults !== false && run.id !== undefined ? await testResults(ctx, project, run.id) : [];
  const buildId = run.build?.id;
  let codeCoverage: RawItem = {};
  if (selector.codeCoverage && buildId !== undefined && buildId !== null && String(buildId) !== '') {
    const key = String(buildId);
    let pending = coverage.get(key);
    if (!pending) {
      pending = buildCoverage(ctx, project, key, selector.codeCoverage.flags);
      coverage.set(key, pending);
    }
    codeCoverage = await pending;
  }
  yield { ...run, __testResults: results, __codeCoverage: codeCoverage };
}

function testResults(ctx: FetchContext, project: ProjectRef, runId: number): Promise<RawItem[]> {
  const url = ctx.client.url(projectPath(project, `test/runs/${encodeURIComponent(String(runId))}/results`));
  return collect(
    items(pagesByTopSkip<RawItem>(ctx.client, url, { query: { 'api-version': API.ga }, top: top(ctx, PIPELINE_PAGE.testResults), signal: ctx.signal })),
  );
}

async function buildCoverage(ctx: FetchContext, project: ProjectRef, buildId: string, flags: number | undefined): Promise<RawItem> {
  const res = await ctx.client.get<RawItem | undefined>(
    ctx.client.url(projectPath(project, 'test/codecoverage')),
    { buildId, flags, 'api-version': API.ga },
    ctx.signal,
  );
  return res.data ?? {};
}

export const testRunKind: KindDefinition<TestRunSelector> = {
  kind: 'test-run',
  description: 'Test runs of every project, with their results and optionally their build code coverage',
  serverSupported: true,
  docs: {
    endpoints:
      'GET {project}/_apis/test/runs?includeRunDetails=true per project ($top/$skip); includeResults: GET .../test/runs/{id}/results per run; codeCoverage: GET .../test/codecoverage?buildId=&flags= per build',
    enrichment: ['__testResults', '__codeCoverage'],
  },
  selectorSchema,
  fetch: fetchTestRuns,
  incremental: {
    reads: 'per project, the runs updated since the cursor (minLastUpdatedDate/maxLastUpdatedDate, in windows of at most 7 days), with their results and coverage',
    since: testRunsSince,
  },
};
