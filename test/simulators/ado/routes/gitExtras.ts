import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { gitExtras } from '../data/gitRefs.js';
import type { GitItem } from '../data/types.js';
import { errors } from '../http/errors.js';
import { orgOf, queryOf, sendJson } from '../http/pipeline.js';
import type { RouteContext } from './context.js';
import { projectIndex, repoIndex, normalisePath, type Params } from './lookup.js';

/** Default page of the refs list when only a continuation token is sent; $top is capped at 1000 (spec). */
const REFS_DEFAULT_TOP = 100;
const REFS_MAX_TOP = 1000;


/** Git extras: refs (branches), branch policy configurations, itemsbatch. */
export function registerGitExtraRoutes(app: FastifyInstance, rc: RouteContext): void {
  // ---- refs: x-ms-continuationtoken header paging, filter = prefix without "refs/" ----
  const listRefs = async (req: FastifyRequest, reply: FastifyReply) => {
    const org = orgOf(req);
    const q = queryOf(req);
    const r = repoIndex(org, req.params as Params);
    const filter = (q.get('filter') ?? '').toLowerCase();
    const contains = q.get('filterContains')?.toLowerCase();
    const refs = gitExtras(org)
      .branches(r)
      .filter((ref) => ref.name.toLowerCase().startsWith(`refs/${filter}`) && (!contains || ref.name.toLowerCase().includes(contains)));
    const top = Math.min(q.int('$top') ?? (q.get('continuationToken') ? REFS_DEFAULT_TOP : Number.MAX_SAFE_INTEGER), REFS_MAX_TOP, rc.pageLimit('refs'));
    const start = decodeToken(q.get('continuationToken'));
    const page = refs.slice(start, start + top);
    if (start + page.length < refs.length) reply.header('x-ms-continuationtoken', encodeToken(start + page.length));
    return sendJson(reply, 200, { value: page, count: page.length });
  };
  app.get('/:org/:project/_apis/git/repositories/:repo/refs', listRefs);

  // ---- commit diff: between two commits of the repository's history (data/gitHistory.ts), files only; versions the
  // simulator does not know give an empty diff (tests add changes to it with patchResponses) ----
  const commitDiffs = async (req: FastifyRequest, reply: FastifyReply) => {
    const org = orgOf(req);
    const q = queryOf(req);
    const r = repoIndex(org, req.params as Params);
    const base = q.get('baseVersion');
    const target = q.get('targetVersion');
    if (!base || !target) throw errors.badRequest('baseVersion and targetVersion are required.');
    const empty = { allChangesIncluded: true, changeCounts: {}, changes: [], commonCommit: base, baseCommit: base, targetCommit: target, aheadCount: 0, behindCount: 0 };
    const history = org.repos.history(r);
    const baseId = org.repos.resolveVersion(r, q.get('baseVersionType') ?? 'branch', base);
    const targetId = org.repos.resolveVersion(r, q.get('targetVersionType') ?? 'branch', target);
    if (!history || baseId === undefined || targetId === undefined) return sendJson(reply, 200, empty);
    const baseChain = history.ancestry(baseId);
    const targetChain = history.ancestry(targetId);
    const common = targetChain.find((c) => baseChain.includes(c)) ?? baseId;
    const from = (q.get('diffCommonCommit') ?? 'true').toLowerCase() === 'false' ? baseId : common;
    const before = org.repos.tree(r, from);
    const after = org.repos.tree(r, targetId);
    const all: Array<{ item: GitItem; changeType: 'add' | 'edit' | 'delete' }> = [];
    for (const path of new Set([...before.keys(), ...after.keys()].sort())) {
      const a = before.get(path);
      const b = after.get(path);
      if (a && b && a.objectId === b.objectId) continue;
      const file = (b ?? a)!;
      const item: GitItem = { objectId: file.objectId, gitObjectType: 'blob', commitId: targetId, path, url: org.repos.itemUrl(r, path) };
      if (a && b) (item as GitItem & { originalObjectId?: string }).originalObjectId = a.objectId;
      all.push({ item, changeType: !a ? 'add' : !b ? 'delete' : 'edit' });
    }
    const changeCounts: Record<string, number> = {};
    for (const c of all) {
      const key = c.changeType === 'add' ? 'Add' : c.changeType === 'edit' ? 'Edit' : 'Delete';
      changeCounts[key] = (changeCounts[key] ?? 0) + 1;
    }
    const skip = q.int('$skip') ?? 0;
    const top = q.int('$top') ?? 100;
    const changes = all.slice(skip, skip + top);
    return sendJson(reply, 200, {
      allChangesIncluded: skip + changes.length >= all.length,
      changeCounts,
      changes,
      commonCommit: common,
      baseCommit: baseId,
      targetCommit: targetId,
      aheadCount: Math.max(0, targetChain.indexOf(common)),
      behindCount: Math.max(0, baseChain.indexOf(common)),
    });
  };
  app.get('/:org/:project/_apis/git/repositories/:repo/diffs/commits', commitDiffs);
  app.get('/:org/_apis/git/repositories/:repo/diffs/commits', commitDiffs);
  app.get('/:org/_apis/git/repositories/:repo/refs', listRefs);

  // ---- policy configurations of a project: header paging ($top, opaque token) ----
  const listPolicies = async (req: FastifyRequest, reply: FastifyReply) => {
    const org = orgOf(req);
    const q = queryOf(req);
    const p = projectIndex(org, (req.params as Params).project ?? '');
    let list = gitExtras(org).policies(p);
    const policyType = q.get('policyType')?.toLowerCase();
    if (policyType) list = list.filter((c) => c.type.id === policyType);
    const repositoryId = q.get('repositoryId')?.toLowerCase();
    if (repositoryId !== undefined) {
      const refName = q.get('refName');
      list = list.filter((c) => c.settings.scope.some((s) => (s.repositoryId === null || s.repositoryId === repositoryId) && refMatches(s, refName)));
    }
    const top = Math.min(q.int('$top') ?? Number.MAX_SAFE_INTEGER, rc.pageLimit('policyConfigurations'));
    const start = decodeToken(q.get('continuationToken'));
    const page = list.slice(start, start + top);
    if (start + page.length < list.length) reply.header('x-ms-continuationtoken', encodeToken(start + page.length));
    return sendJson(reply, 200, { count: page.length, value: page });
  };
  app.get('/:org/:project/_apis/policy/configurations', listPolicies);
  app.get('/:org/:project/_apis/git/policy/configurations', listPolicies);

  // ---- itemsbatch: one listing per descriptor, answered as {count, value: [[GitItem…]…]} ----
  const itemsBatch = async (req: FastifyRequest, reply: FastifyReply) => {
    const org = orgOf(req);
    const r = repoIndex(org, req.params as Params);
    const rec = org.repos.record(r);
    const body = (req.body ?? {}) as { itemDescriptors?: Array<Record<string, unknown>>; includeContentMetadata?: unknown };
    if (!Array.isArray(body.itemDescriptors)) throw errors.badRequest('The request body must contain itemDescriptors.');
    const includeMeta = body.includeContentMetadata === true || body.includeContentMetadata === 'true';
    const defaultShort = rec.defaultBranch?.replace(/^refs\/heads\//, '') ?? '';
    const value: GitItem[][] = [];
    for (const d of body.itemDescriptors) {
      const path = normalisePath(typeof d.path === 'string' ? d.path : '/');
      const versionType = String(d.versionType ?? 'branch').toLowerCase();
      const version = typeof d.version === 'string' ? d.version : '';
      const label = `${versionType === 'commit' ? 'Commit' : 'Branch'}: ${version || defaultShort}`;
      if (rec.isEmpty) throw errors.item(path, rec.name, label);
      const commitId = org.repos.resolveVersion(r, versionType === 'commit' ? 'commit' : 'branch', version);
      if (commitId === undefined) throw errors.version(label, rec.name);
      const items = gitExtras(org).listItems(r, path, String(d.recursionLevel ?? 'none'), includeMeta, commitId);
      if (!items) throw errors.item(path, rec.name, label);
      value.push(items);
    }
    return sendJson(reply, 200, { count: value.length, value });
  };
  app.post('/:org/:project/_apis/git/repositories/:repo/itemsbatch', itemsBatch);
  app.post('/:org/_apis/git/repositories/:repo/itemsbatch', itemsBatch);
}

/** Whether a policy scope applies to `refName` (no refName = every scope of the repository). */
export function refMatches(scope: { refName: string | null; matchKind: string }, refName: string | undefined): boolean {
  if (!refName) return true;
  if (scope.matchKind === 'DefaultBranch' || scope.refName === null) return true;
  const a = scope.refName.toLowerCase();
  const b = refName.toLowerCase();
  return scope.matchKind === 'Prefix' ? b.startsWith(a) : a === b;
}

function encodeToken(n: number): string {
  return Buffer.from(`next:${n}`).toString('base64url');
}

function decodeToken(token: string | undefined): number {
  if (!token) return 0;
  const m = /^next:(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
  if (!m) throw errors.badRequest(`The continuation token '${token}' is not valid.`);
  return Number(m[1]);
}



