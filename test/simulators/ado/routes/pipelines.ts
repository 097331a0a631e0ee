import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OrgData } from '../data/dataset.js';
import { pipelinesOf, type PipelinesData } from '../data/pipelines.js';
import { AdoHttpError, errors } from '../http/errors.js';
import { orgOf, queryOf, sendJson } from '../http/pipeline.js';
import type { QueryParams } from '../http/query.js';
import type { RouteContext } from './context.js';
import { type Params } from './lookup.js';


/** Default page sizes when `$top` is absent, and the caps applied to larger values (overridable via pageLimits). */
const DEFAULT_TOP: Record<string, number> = {
  builds: 1000,
  pipelines: 1000,
  environments: 1000,
  deploymentRecords: 1000,
  releaseDefinitions: 50,
  releases: 50,
  releaseDeployments: 50,
  testRuns: 100,
  testResults: 1000,
  buildChanges: 50,
};

/**
 * Pipelines area: YAML pipelines and runs, builds (+ timeline, changes, definitions), environments and their
 * deployment records, classic release (served on the same base URL: the simulator is a custom host, where vsrm
 * is not a separate host), test runs, results and build code coverage.
 */
export function registerPipelineRoutes(app: FastifyInstance, rc: RouteContext): void {
  const size = (q: QueryParams, family: string, param = '$top') =>
    Math.max(1, Math.min(q.int(param) ?? (DEFAULT_TOP[family] as number), rc.pageLimit(family)));

  /** A header-token page over `all` (token = offset, sent as a string that is not a plain number). */
  const headerPage = <T>(reply: FastifyReply, all: readonly T[], q: QueryParams, family: string, param = '$top'): T[] => {
    const raw = q.get('continuationToken');
    let start = 0;
    if (raw !== undefined && raw !== '') {
      const m = /^o(\d+)$/.exec(raw);
      if (!m) throw errors.badRequest(`The continuation token '${raw}' is not valid.`);
      start = Number(m[1]);
    }
    const page = all.slice(start, start + size(q, family, param));
    if (start + page.length < all.length && page.length > 0) reply.header('x-ms-continuationtoken', `o${start + page.length}`);
    return page;
  };

  /** Integer continuation = the id to continue from (lists ordered by id descending), as releases and deployments use. */
  const idPage = <T extends { id: number }>(reply: FastifyReply, all: T[], q: QueryParams, family: string): T[] => {
    const token = q.int('continuationToken');
    const from = token === undefined ? all : all.filter((x) => x.id <= token);
    const n = size(q, family);
    const page = from.slice(0, n);
    const next = from[n];
    if (next) reply.header('x-ms-continuationtoken', String(next.id));
    return page;
  };

  const ctx = (req: FastifyRequest) => {
    const org = orgOf(req);
    const p = req.params as Params;
    const projectIndex = findProject(org, p.project ?? '');
    return { org, data: pipelinesOf(org), p, q: queryOf(req), projectIndex };
  };

  // ---- pipelines ----
  app.get('/:org/:project/_apis/pipelines', async (req, reply) => {
    const { data, q, projectIndex } = ctx(req);
    const all = data.pipelinesOf(projectIndex);
    const page = headerPage(reply, all, q, 'pipelines');
    return sendJson(reply, 200, { count: page.length, value: page.map((x) => data.pipelineJson(x)) });
  });
  app.get('/:org/:project/_apis/pipelines/:id', async (req, reply) => {
    const { data, p, projectIndex } = ctx(req);
    const pl = data.pipeline(projectIndex, Number(p.id));
    if (!pl) throw notFound(`Pipeline with id ${p.id} not found.`);
    return sendJson(reply, 200, { ...data.pipelineJson(pl), configuration: { path: `.azure-pipelines/${pl.name}.yml`, repository: { id: data.org.repos.record(pl.repoIndex).id, type: 'azureReposGit' }, type: 'yaml' } });
  });
  // Runs: no paging ("top 10000 runs"), newest first.
  app.get('/:org/:project/_apis/pipelines/:id/runs', async (req, reply) => {
    const { data, p, projectIndex } = ctx(req);
    const pl = data.pipeline(projectIndex, Number(p.id));
    if (!pl) throw notFound(`Pipeline with id ${p.id} not found.`);
    const runs = data.builds.filter((b) => b.pipelineId === pl.id).sort((a, b) => b.id - a.id).slice(0, 10000);
    return sendJson(reply, 200, { count: runs.length, value: runs.map((b) => data.runJson(b)) });
  });
  app.get('/:org/:project/_apis/pipelines/:id/runs/:runId', async (req, reply) => {
    const { data, p, projectIndex } = ctx(req);
    const pl = data.pipeline(projectIndex, Number(p.id));
    const run = pl && data.builds.find((b) => b.pipelineId === pl.id && b.id === Number(p.runId));
    if (!run) throw notFound(`Pipeline run ${p.runId} not found.`);
    rc.runs.onRead(run);
    return sendJson(reply, 200, data.runJson(run));
  });
  // Run a pipeline: a new run, in progress; RunControl says when and how it completes.
  app.post('/:org/:project/_apis/pipelines/:id/runs', async (req, reply) => {
    const { data, p, projectIndex } = ctx(req);
    const pl = data.pipeline(projectIndex, Number(p.id));
    if (!pl) throw notFound(`Pipeline with id ${p.id} not found.`);
    const body = (req.body ?? {}) as { resources?: { repositories?: { self?: { refName?: unknown } } } };
    const refName = body.resources?.repositories?.self?.refName;
    if (refName !== undefined && (typeof refName !== 'string' || !refName.startsWith('refs/'))) {
      throw errors.badRequest(`Unexpected value '${String(refName)}' for resources.repositories.self.refName.`);
    }
    const run = data.queueRun(pl, typeof refName === 'string' ? refName : 'refs/heads/main');
    rc.runs.add(run, req.body);
    return sendJson(reply, 200, data.runJson(run));
  });

  // ---- builds ----
  app.get('/:org/:project/_apis/build/definitions/:id', async (req, reply) => {
    const { data, p, projectIndex } = ctx(req);
    const pl = data.pipeline(projectIndex, Number(p.id));
    if (!pl) throw notFound(`The requested build definition ${p.id} could not be found.`);
    return sendJson(reply, 200, data.definitionJson(pl));
  });
  app.get('/:org/:project/_apis/build/builds', async (req, reply) => {
    const { data, q, projectIndex } = ctx(req);
    let all = data.buildsOfProject(projectIndex);
    const order = (q.get('queryOrder') ?? 'queueTimeDescending').toLowerCase();
    if (order === 'queuetimeascending') all = [...all].reverse();
    else if (order !== 'queuetimedescending') all = [...all].sort((a, b) => b.id - a.id);
    const minTime = q.date('minTime');
    if (minTime !== undefined) all = all.filter((b) => (b.finishMs ?? b.queueMs) >= minTime);
    const statusFilter = q.get('statusFilter');
    if (statusFilter) {
      const wanted = new Set(statusFilter.split(',').map((s) => s.trim().toLowerCase()));
      all = all.filter((b) => wanted.has(String(b.status).toLowerCase()));
    }
    const defs = q.get('definitions');
    if (defs) {
      const ids = new Set(defs.split(',').map((s) => Number(s.trim())));
      all = all.filter((b) => ids.has(b.pipelineId));
    }
    const page = headerPage(reply, all, q, 'builds');
    return sendJson(reply, 200, { count: page.length, value: page.map((b) => data.buildJson(b)) });
  });
  const build = (data: PipelinesData, projectIndex: number, raw: string | undefined) => {
    const b = /^\d+$/.test(raw ?? '') ? data.build(projectIndex, Number(raw)) : undefined;
    if (!b) throw notFound(`The requested build ${raw} could not be found.`, 'BuildNotFoundException');
    return b;
  };
  app.get('/:org/:project/_apis/build/builds/:id', async (req, reply) => {
    const { data, p, projectIndex } = ctx(req);
    return sendJson(reply, 200, data.buildJson(build(data, projectIndex, p.id)));
  });
  app.get('/:org/:project/_apis/build/builds/:id/timeline', async (req, reply) => {
    const { data, p, projectIndex } = ctx(req);
    return sendJson(reply, 200, data.timelineJson(build(data, projectIndex, p.id)));
  });
  app.get('/:org/:project/_apis/build/builds/:id/changes', async (req, reply) => {
    const { data, p, q, projectIndex } = ctx(req);
    const page = headerPage(reply, data.changesJson(build(data, projectIndex, p.id)), q, 'buildChanges');
    return sendJson(reply, 200, { count: page.length, value: page });
  });

  // The commit a build was made from (first-commit fallback of the build kind).
  app.get('/:org/:project/_apis/git/repositories/:repo/commits/:sha', async (req, reply) => {
    const { org, data, p, projectIndex } = ctx(req);
    const repoIndex = org.repos.findInProject(projectIndex, p.repo ?? '');
    if (repoIndex === undefined) throw errors.repository(p.repo ?? '');
    const commit = data.commitJson(repoIndex, p.sha ?? '');
    if (!commit) throw notFound(`TF401175: The commit ${p.sha} could not be found.`, 'GitUnresolvableToCommitException');
    return sendJson(reply, 200, commit);
  });

  // ---- environments ----
  app.get('/:org/:project/_apis/distributedtask/environments', async (req, reply) => {
    const { data, q, projectIndex } = ctx(req);
    const all = data.environments.filter((e) => e.projectIndex === projectIndex);
    const page = headerPage(reply, all, q, 'environments');
    return sendJson(reply, 200, { count: page.length, value: page.map((e) => data.environmentJson(e)) });
  });
  app.get('/:org/:project/_apis/distributedtask/environments/:id/environmentdeploymentrecords', async (req, reply) => {
    const { data, p, q, projectIndex } = ctx(req);
    const env = data.environments.find((e) => e.projectIndex === projectIndex && String(e.id) === p.id);
    if (!env) throw notFound(`Environment ${p.id} not found.`, 'EnvironmentNotFoundException');
    const all = data.deploymentRecordsOf(env.id);
    const page = headerPage(reply, all, q, 'deploymentRecords', 'top');
    return sendJson(reply, 200, { count: page.length, value: page.map((r) => data.deploymentRecordJson(r)) });
  });

  // ---- classic release (vsrm) ----
  app.get('/:org/:project/_apis/release/definitions', async (req, reply) => {
    const { data, q, projectIndex } = ctx(req);
    const expand = expandSet(q);
    const tags = csv(q.get('tagFilter'));
    const all = data.releaseDefinitions.filter((d) => d.projectIndex === projectIndex && tags.every((t) => d.tags.some((x) => x.toLowerCase() === t)));
    // String continuation token, as release definitions use.
    const page = headerPage(reply, all, q, 'releaseDefinitions');
    return sendJson(reply, 200, { count: page.length, value: page.map((d) => data.releaseDefinitionJson(d, expand)) });
  });
  app.get('/:org/:project/_apis/release/releases', async (req, reply) => {
    const { data, q, projectIndex } = ctx(req);
    const expand = expandSet(q);
    const status = q.get('statusFilter')?.toLowerCase();
    if (status !== undefined && !['draft', 'active', 'abandoned', 'undefined', ''].includes(status)) {
      throw errors.badRequest(`The value '${status}' is not valid for statusFilter.`);
    }
    const tags = csv(q.get('tagFilter'));
    const branch = q.get('sourceBranchFilter');
    const minMs = q.date('minCreatedTime');
    const maxMs = q.date('maxCreatedTime');
    const ids = q.get('releaseIdFilter') ? new Set(csv(q.get('releaseIdFilter')).map(Number)) : undefined;
    const all = data.releases.filter(
      (r) =>
        r.definition.projectIndex === projectIndex &&
        (!ids || ids.has(r.id)) &&
        (!status || status === 'undefined' || r.status === status) &&
        tags.every((t) => r.tags.some((x) => x.toLowerCase() === t)) &&
        (!branch || r.sourceBranch.toLowerCase() === branch.toLowerCase()) &&
        (minMs === undefined || r.createdMs >= minMs) &&
        (maxMs === undefined || r.createdMs < maxMs),
    );
    const page = idPage(reply, all, q, 'releases');
    return sendJson(reply, 200, { count: page.length, value: page.map((r) => data.releaseJson(r, expand)) });
  });
  app.get('/:org/:project/_apis/release/releases/:id', async (req, reply) => {
    const { data, p, projectIndex } = ctx(req);
    const release = data.releases.find((r) => r.id === Number(p.id) && r.definition.projectIndex === projectIndex);
    if (!release) throw notFound(`VS402853: Release with id ${p.id} does not exist.`);
    return sendJson(reply, 200, data.releaseJson(release, new Set(['environments', 'artifacts'])));
  });
  app.get('/:org/:project/_apis/release/deployments', async (req, reply) => {
    const { data, q, projectIndex } = ctx(req);
    const releaseId = q.get('releaseId');
    const envId = q.get('definitionEnvironmentId');
    const minModified = q.date('minModifiedTime');
    const all = data.releaseDeployments.filter(
      (x) =>
        x.release.definition.projectIndex === projectIndex &&
        (releaseId === undefined || x.release.id === Number(releaseId)) &&
        (envId === undefined || x.environment.id === Number(envId)) &&
        (minModified === undefined || x.completedMs >= minModified),
    );
    const page = idPage(reply, all, q, 'releaseDeployments');
    return sendJson(reply, 200, { count: page.length, value: page.map((x) => data.releaseDeploymentJson(x)) });
  });

  // ---- test ----
  app.get('/:org/:project/_apis/test/runs', async (req, reply) => {
    const { data, q, projectIndex } = ctx(req);
    const all = data.testRuns.filter((t) => t.projectIndex === projectIndex);
    const minUpdated = q.date('minLastUpdatedDate');
    const maxUpdated = q.date('maxLastUpdatedDate');
    if (minUpdated !== undefined || maxUpdated !== undefined) {
      // The query form: both bounds, at most 7 days apart, header continuation.
      if (minUpdated === undefined || maxUpdated === undefined) throw errors.badRequest('minLastUpdatedDate and maxLastUpdatedDate are both required.');
      if (maxUpdated - minUpdated > 7 * 86_400_000) throw errors.badRequest('The date range between minLastUpdatedDate and maxLastUpdatedDate must not exceed 7 days.');
      const inRange = all.filter((t) => t.completedMs >= minUpdated && t.completedMs <= maxUpdated);
      const page = headerPage(reply, inRange, q, 'testRuns');
      return sendJson(reply, 200, { count: page.length, value: page.map((t) => data.testRunJson(t, true)) });
    }
    const skip = q.int('$skip') ?? 0;
    const page = all.slice(skip, skip + size(q, 'testRuns'));
    const details = q.bool('includeRunDetails');
    return sendJson(reply, 200, { count: page.length, value: page.map((t) => data.testRunJson(t, details)) });
  });
  app.get('/:org/:project/_apis/test/runs/:id/results', async (req, reply) => {
    const { data, p, q, projectIndex } = ctx(req);
    const run = data.testRuns.find((t) => t.projectIndex === projectIndex && String(t.id) === p.id);
    if (!run) throw notFound(`Test run ${p.id} not found.`, 'TestObjectNotFoundException');
    const skip = q.int('$skip') ?? 0;
    const page = data.testResultsJson(run).slice(skip, skip + size(q, 'testResults'));
    return sendJson(reply, 200, { count: page.length, value: page });
  });
  app.get('/:org/:project/_apis/test/codecoverage', async (req, reply) => {
    const { data, q, projectIndex } = ctx(req);
    const buildId = q.int('buildId');
    const flags = q.int('flags');
    if (buildId === undefined) throw errors.badRequest('Value cannot be null. Parameter name: buildId');
    if (flags === undefined) throw errors.badRequest('Value cannot be null. Parameter name: flags');
    const b = data.build(projectIndex, buildId);
    const value = b ? data.coverageJson(projectIndex, b, flags) : [];
    return sendJson(reply, 200, { value, count: value.length });
  });
}

function findProject(org: OrgData, idOrName: string): number {
  const i = org.projects.find(idOrName);
  if (i === undefined) throw errors.project(idOrName);
  return i;
}

function notFound(message: string, typeKey = 'ResourceNotFoundException'): AdoHttpError {
  return new AdoHttpError(404, message, typeKey);
}

function csv(v: string | undefined): string[] {
  return (v ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
}

function expandSet(q: QueryParams): Set<string> {
  return new Set(csv(q.get('$expand')));
}
