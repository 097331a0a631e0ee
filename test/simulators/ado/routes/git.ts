import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { gitExtras } from '../data/gitRefs.js';
import type { PullRequestQuery, PullRequestStatusFilter } from '../data/pullRequests.js';
import type { GitItem } from '../data/types.js';
import { errors } from '../http/errors.js';
import { orgOf, queryOf, sendJson } from '../http/pipeline.js';
import type { QueryParams } from '../http/query.js';
import type { RouteContext } from './context.js';
import { params, projectIndex, repoIndex, normalisePath } from './lookup.js';

/** Page size of the pull request lists when $top is absent (the service's undocumented default is 101). */
export const DEFAULT_PULL_REQUESTS_TOP = 101;


/** Git area: repositories, pull requests, items. */
export function registerGitRoutes(app: FastifyInstance, rc: RouteContext): void {
  // ---- repositories (no paging) ----
  const listRepos = async (req: FastifyRequest, reply: FastifyReply) => {
    const org = orgOf(req);
    const p = params(req);
    const includeLinks = queryOf(req).bool('includeLinks');
    let lo = 0;
    let hi = org.repos.count;
    if (p.project !== undefined) {
      lo = projectIndex(org, p.project) * org.repos.perProject;
      hi = lo + org.repos.perProject;
    }
    const value = [];
    for (let i = lo; i < hi; i++) if (!org.repos.isDeleted(i)) value.push(org.repos.repository(i, includeLinks));
    return sendJson(reply, 200, { value, count: value.length });
  };
  app.get('/:org/_apis/git/repositories', listRepos);
  app.get('/:org/:project/_apis/git/repositories', listRepos);

  const getRepo = async (req: FastifyRequest, reply: FastifyReply) => {
    const org = orgOf(req);
    return sendJson(reply, 200, org.repos.repository(repoIndex(org, params(req)), true));
  };
  app.get('/:org/_apis/git/repositories/:repo', getRepo);
  app.get('/:org/:project/_apis/git/repositories/:repo', getRepo);

  // ---- pull requests ($top/$skip, newest first) ----
  const listPullRequests = async (req: FastifyRequest, reply: FastifyReply) => {
    const org = orgOf(req);
    const p = params(req);
    const q = queryOf(req);
    const query = pullRequestQuery(q);
    if (p.repo !== undefined) {
      query.repoIndex = repoIndex(org, p);
    } else if (p.project !== undefined) {
      query.projectIndex = projectIndex(org, p.project);
      const repositoryId = q.first('searchCriteria.repositoryId', 'repositoryId');
      if (repositoryId !== undefined) {
        const r = org.repos.findInProject(query.projectIndex, repositoryId);
        if (r === undefined) return sendJson(reply, 200, { value: [], count: 0 });
        query.repoIndex = r;
      }
    }
    const ids = org.pullRequests.query(query);
    const top = q.int('$top') ?? DEFAULT_PULL_REQUESTS_TOP;
    const skip = q.int('$skip') ?? 0;
    const size = Math.max(0, Math.min(top, rc.pageLimit('pullRequests'), ids.length - skip));
    const value = [];
    for (let i = skip; i < skip + size; i++) value.push(org.pullRequests.pullRequest(ids[i] as number, true));
    return sendJson(reply, 200, { value, count: value.length });
  };
  app.get('/:org/:project/_apis/git/pullrequests', listPullRequests);
  app.get('/:org/:project/_apis/git/repositories/:repo/pullrequests', listPullRequests);
  app.get('/:org/_apis/git/repositories/:repo/pullrequests', listPullRequests);

  const getPullRequest = async (req: FastifyRequest, reply: FastifyReply) => {
    const org = orgOf(req);
    const p = params(req);
    const raw = p.id ?? '';
    const id = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!org.pullRequests.exists(id)) throw errors.pullRequest(raw);
    const repoOfPr = org.pullRequests.core(id).repoIndex;
    if (p.repo !== undefined && repoIndex(org, p) !== repoOfPr) throw errors.pullRequest(raw);
    if (p.project !== undefined && projectIndex(org, p.project) !== org.repos.record(repoOfPr).projectIndex) {
      throw errors.pullRequest(raw);
    }
    return sendJson(reply, 200, org.pullRequests.pullRequest(id, false));
  };
  app.get('/:org/_apis/git/pullrequests/:id', getPullRequest);
  app.get('/:org/:project/_apis/git/pullrequests/:id', getPullRequest);
  app.get('/:org/:project/_apis/git/repositories/:repo/pullrequests/:id', getPullRequest);
  app.get('/:org/_apis/git/repositories/:repo/pullrequests/:id', getPullRequest);

  // ---- items (file content / metadata) ----
  const getItems = async (req: FastifyRequest, reply: FastifyReply) => {
    const org = orgOf(req);
    const p = params(req);
    const q = queryOf(req);
    const r = repoIndex(org, p);
    const rec = org.repos.record(r);
    const wildcard = p['*'];
    const path = wildcard !== undefined && wildcard !== '' ? `/${wildcard}` : q.get('path');
    const scopePath = q.get('scopePath');

    const versionType = (q.first('versionDescriptor.versionType', 'versionType') ?? 'branch').toLowerCase();
    if (!['branch', 'tag', 'commit'].includes(versionType)) {
      throw errors.badRequest(`The value '${versionType}' is not valid for versionDescriptor.versionType.`);
    }
    const version = q.first('versionDescriptor.version', 'version');
    const defaultShort = rec.defaultBranch?.replace(/^refs\/heads\//, '');
    const label = `${versionType === 'branch' ? 'Branch' : versionType === 'tag' ? 'Tag' : 'Commit'}: ${version ?? defaultShort ?? ''}`;
    if (rec.isEmpty) throw errors.item(path ?? scopePath ?? '/', rec.name, label);
    // Absent version: the default branch's head; a branch: any branch's head; a commit: any commit of the repository.
    const commitId = org.repos.resolveVersion(r, versionType, version);
    if (commitId === undefined) throw errors.version(label, rec.name);

    const includeContent = q.bool('includeContent');
    const includeMeta = q.bool('includeContentMetadata');

    if (path === undefined) {
      // Listing form: scopePath + recursionLevel, answered as {count, value}.
      const scope = normalisePath(scopePath ?? '/');
      const value: GitItem[] | undefined = gitExtras(org).listItems(r, scope, q.get('recursionLevel') ?? 'none', includeMeta, commitId);
      if (!value) throw errors.item(scope, rec.name, label);
      const file = org.repos.file(r, scope, commitId);
      if (file && includeContent) value[0] = org.repos.blobItem(r, file, true, includeMeta, commitId);
      return sendJson(reply, 200, { count: value.length, value });
    }

    const target = normalisePath(path);
    if (target === '/') return sendJson(reply, 200, org.repos.rootItem(r, commitId));
    const file = org.repos.file(r, target, commitId);
    if (!file) throw errors.item(target, rec.name, label);
    const accept = String(req.headers.accept ?? '').toLowerCase();
    const wantsJson = accept.includes('application/json') || includeContent || (q.get('$format') ?? '').toLowerCase() === 'json';
    if (wantsJson) return sendJson(reply, 200, org.repos.blobItem(r, file, includeContent, includeMeta, commitId));
    return reply.code(200).header('content-type', 'text/plain; charset=utf-8').send(file.content);
  };
  app.get('/:org/:project/_apis/git/repositories/:repo/items', getItems);
  app.get('/:org/_apis/git/repositories/:repo/items', getItems);
  app.get('/:org/:project/_apis/git/repositories/:repo/items/*', getItems);
  app.get('/:org/_apis/git/repositories/:repo/items/*', getItems);
}





const STATUSES: Record<string, PullRequestStatusFilter> = {
  active: 'active',
  abandoned: 'abandoned',
  completed: 'completed',
  all: 'all',
  notset: 'active',
};

/** searchCriteria.* (the unprefixed names are accepted too, as older clients send them). */
function pullRequestQuery(q: QueryParams): PullRequestQuery {
  const rawStatus = q.first('searchCriteria.status', 'status');
  const status = rawStatus === undefined || rawStatus === '' ? 'active' : STATUSES[rawStatus.toLowerCase()];
  if (!status) throw errors.badRequest(`The value '${rawStatus}' is not valid for searchCriteria.status.`);
  const rawRange = (q.first('searchCriteria.queryTimeRangeType', 'queryTimeRangeType') ?? 'created').toLowerCase();
  if (rawRange !== 'created' && rawRange !== 'closed') {
    throw errors.badRequest(`The value '${rawRange}' is not valid for searchCriteria.queryTimeRangeType.`);
  }
  const query: PullRequestQuery = { status, timeRangeType: rawRange };
  const creatorId = q.first('searchCriteria.creatorId', 'creatorId');
  if (creatorId) query.creatorId = creatorId;
  const target = q.first('searchCriteria.targetRefName', 'targetRefName');
  if (target) query.targetRefName = target;
  const minMs = q.date('searchCriteria.minTime') ?? q.date('minTime');
  if (minMs !== undefined) query.minMs = minMs;
  const maxMs = q.date('searchCriteria.maxTime') ?? q.date('maxTime');
  if (maxMs !== undefined) query.maxMs = maxMs;
  return query;
}
