import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OrgData } from '../data/dataset.js';
import { orderCompare, parseWiql } from '../data/wiql.js';
import { workOf } from '../data/work.js';
import { AdoHttpError, errors } from '../http/errors.js';
import { orgOf, queryOf, sendJson } from '../http/pipeline.js';
import type { RouteContext } from './context.js';
import { params, projectIndex, type Params } from './lookup.js';

/** Page size of the team and team-member lists when $top is absent. */
export const DEFAULT_TEAMS_TOP = 100;
/** WIQL returns at most this many ids; more is an error unless $top is smaller. */
export const WIQL_LIMIT = 20_000;
export const MAX_WORK_ITEM_IDS = 200;


/** Teams, members, work items (WIQL + by ids), boards, team iterations, area paths. */
export function registerWorkRoutes(app: FastifyInstance, rc: RouteContext): void {
  const topSkip = <T>(req: FastifyRequest, reply: FastifyReply, all: T[], family: string) => {
    const q = queryOf(req);
    const top = Math.min(q.int('$top') ?? DEFAULT_TEAMS_TOP, rc.pageLimit(family));
    const skip = q.int('$skip') ?? 0;
    const value = all.slice(skip, skip + top);
    return sendJson(reply, 200, { value, count: value.length });
  };

  // GET {org}/_apis/teams — every team of the organization ($top/$skip).
  app.get('/:org/_apis/teams', async (req, reply) => topSkip(req, reply, [...workOf(orgOf(req)).allTeams()], 'teams'));

  // GET {org}/_apis/projects/{project}/teams ($top/$skip).
  app.get('/:org/_apis/projects/:project/teams', async (req, reply) => {
    const org = orgOf(req);
    const p = projectIndex(org, params(req).project ?? '');
    const w = workOf(org);
    return topSkip(req, reply, Array.from({ length: w.teamsPerProject }, (_, t) => w.team(p, t)), 'teams');
  });

  // GET {org}/_apis/projects/{project}/teams/{team}/members ($top/$skip).
  app.get('/:org/_apis/projects/:project/teams/:team/members', async (req, reply) => {
    const org = orgOf(req);
    const [p, t] = teamIndex(org, params(req));
    return topSkip(req, reply, workOf(org).members(p, t), 'teamMembers');
  });

  // GET {org}/{project}/{team}/_apis/work/teamsettings/teamfieldvalues
  app.get('/:org/:project/:team/_apis/work/teamsettings/teamfieldvalues', async (req, reply) => {
    const org = orgOf(req);
    const [p, t] = teamIndex(org, params(req));
    return sendJson(reply, 200, workOf(org).teamFieldValues(p, t));
  });

  // GET {org}/{project}/{team}/_apis/work/teamsettings/iterations — not paged.
  app.get('/:org/:project/:team/_apis/work/teamsettings/iterations', async (req, reply) => {
    const org = orgOf(req);
    const [p, t] = teamIndex(org, params(req));
    const value = workOf(org).iterations(p, t);
    return sendJson(reply, 200, { count: value.length, value });
  });

  // GET {org}/{project}/{team}/_apis/work/boards — 500 for a team without iterations, as the service answers.
  app.get('/:org/:project/:team/_apis/work/boards', async (req, reply) => {
    const org = orgOf(req);
    const [p, t] = teamIndex(org, params(req));
    const w = workOf(org);
    if (!w.hasIterations(p, t)) throw noIterations();
    const value = w.boardReferences(p, t);
    return sendJson(reply, 200, { count: value.length, value });
  });

  app.get('/:org/:project/:team/_apis/work/boards/:board', async (req, reply) => {
    const org = orgOf(req);
    const par = params(req);
    const [p, t] = teamIndex(org, par);
    const w = workOf(org);
    if (!w.hasIterations(p, t)) throw noIterations();
    const b = w.findBoard(p, t, par.board ?? '');
    if (b === undefined) throw new AdoHttpError(404, `VS403076: The board '${par.board}' does not exist.`, 'BoardDoesNotExistException');
    return sendJson(reply, 200, w.board(p, t, b));
  });

  // GET {org}/{project}/_apis/wit/classificationnodes/Areas[?$depth=N]
  app.get('/:org/:project/_apis/wit/classificationnodes/:group', async (req, reply) => {
    const org = orgOf(req);
    const par = params(req);
    const p = projectIndex(org, par.project ?? '');
    if ((par.group ?? '').toLowerCase() !== 'areas') throw errors.route(req.url.split('?')[0] ?? '');
    return sendJson(reply, 200, workOf(org).areaNode(p, queryOf(req).int('$depth') ?? 0));
  });

  // POST {org}/{project}/_apis/wit/wiql?$top= — ids of the matching work items (flat query).
  app.post('/:org/:project/_apis/wit/wiql', async (req, reply) => {
    const org = orgOf(req);
    const p = projectIndex(org, params(req).project ?? '');
    const body = req.body as { query?: unknown } | undefined;
    if (typeof body?.query !== 'string' || body.query.trim() === '') throw errors.badRequest('The WIQL query is required.', 'ArgumentNullException');
    const proj = org.projects.record(p);
    // Azure DevOps compares dates by the day unless asked for time precision, and refuses a time in a condition then.
    if (/'\d{4}-\d\d-\d\dT\d\d:\d\d/.test(body.query) && queryOf(req).get('timePrecision')?.toLowerCase() !== 'true') {
      throw errors.badRequest('The query compares a date with a time of day; set timePrecision=true to use time precision.', 'WorkItemTrackingQueryInvalidException');
    }
    const q = parseWiql(body.query, { referenceMs: org.ctx.referenceMs, project: proj.name });
    const w = workOf(org);
    const matched: Array<Record<string, unknown>> = [];
    // Generated items were all changed before the reference time: a query that needs a later ChangedDate can only
    // match edited ones, so the others are not generated to be evaluated (the answer is the same).
    const onlyEdited = q.minChangedMs !== undefined && q.minChangedMs >= org.ctx.referenceMs;
    const ids = onlyEdited ? w.editedIds() : Array.from({ length: w.workItemCount }, (_, i) => i + 1);
    for (const id of ids) {
      const fields = w.workItemRecord(id).fields;
      if (q.where(fields)) matched.push(fields);
    }
    if (q.orderBy.length > 0) matched.sort((a, b) => orderCompare(a, b, q.orderBy));
    const top = queryOf(req).int('$top');
    if (top === undefined && matched.length > WIQL_LIMIT) {
      throw errors.badRequest(
        `VS402337: The number of work items returned exceeds the size limit of ${WIQL_LIMIT}. Change the query to return fewer items.`,
        'WorkItemTrackingQueryResultSizeLimitExceededException',
      );
    }
    if (top !== undefined && top > WIQL_LIMIT) throw errors.badRequest(`The value ${top} is out of range for $top (max ${WIQL_LIMIT}).`);
    const base = org.ctx.orgUrl();
    const fieldUrl = (f: string) => `${base}/_apis/wit/fields/${f}`;
    return sendJson(reply, 200, {
      queryType: 'flat',
      queryResultType: 'workItem',
      asOf: new Date(org.ctx.referenceMs).toISOString(),
      columns: q.columns.map((c) => ({ referenceName: c, name: c.split('.').pop(), url: fieldUrl(c) })),
      sortColumns: q.orderBy.map((o) => ({ field: { referenceName: o.field, name: o.field.split('.').pop(), url: fieldUrl(o.field) }, descending: o.descending })),
      workItems: matched.slice(0, top ?? WIQL_LIMIT).map((f) => ({ id: f['System.Id'], url: `${base}/_apis/wit/workItems/${String(f['System.Id'])}` })),
    });
  });

  // GET {org}[/{project}]/_apis/wit/workitems?ids=1,2&$expand=&errorPolicy= — at most 200 ids; unknown ids are a 404 (null with errorPolicy=omit).
  const getWorkItems = async (req: FastifyRequest, reply: FastifyReply) => {
    const org = orgOf(req);
    const q = queryOf(req);
    const raw = q.get('ids') ?? '';
    const ids = raw.split(',').filter((s) => s.trim() !== '').map((s) => Number(s.trim()));
    if (ids.length === 0 || ids.some((id) => !Number.isInteger(id))) throw errors.badRequest(`The value '${raw}' is not valid for ids.`);
    if (ids.length > MAX_WORK_ITEM_IDS) throw errors.badRequest(`VS402331: The maximum number of work items per request is ${MAX_WORK_ITEM_IDS}.`);
    const expand = (q.get('$expand') ?? 'none').toLowerCase();
    if (!['none', 'fields', 'relations', 'links', 'all'].includes(expand)) throw errors.badRequest(`The value '${expand}' is not valid for $expand.`);
    const w = workOf(org);
    const omit = (q.get('errorPolicy') ?? 'fail').toLowerCase() === 'omit';
    const missing = ids.find((id) => w.projectOfWorkItem(id) === undefined);
    if (missing !== undefined && !omit) throw new AdoHttpError(404, `TF401232: Work item ${missing} does not exist, or you do not have permissions to read it.`, 'WorkItemUnauthorizedAccessException');
    // errorPolicy=omit: items that cannot be read come back as null, in place.
    const value = ids.map((id) => (w.projectOfWorkItem(id) === undefined ? null : w.workItem(id, expand)));
    return sendJson(reply, 200, { count: value.length, value });
  };
  app.get('/:org/:project/_apis/wit/workitems', getWorkItems);
  app.get('/:org/_apis/wit/workitems', getWorkItems);
}

function noIterations(): AdoHttpError {
  return new AdoHttpError(500, 'VS403104: The team has no iterations selected; boards are unavailable.', 'NoTeamIterationsException');
}



function teamIndex(org: OrgData, p: Params): [number, number] {
  const pi = projectIndex(org, p.project ?? '');
  const t = workOf(org).findTeam(pi, p.team ?? '');
  if (t === undefined) throw new AdoHttpError(404, `TF400299: The team '${p.team}' does not exist in project ${p.project}.`, 'TeamNotFoundException');
  return [pi, t];
}
