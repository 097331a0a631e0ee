import type { FastifyInstance } from 'fastify';
import { PROJECT_STATES } from '../data/core.js';
import type { ProjectState } from '../data/types.js';
import { errors } from '../http/errors.js';
import { orgOf, queryOf, sendJson } from '../http/pipeline.js';
import type { RouteContext } from './context.js';

/** Page size of GET _apis/projects when $top is absent. */
export const DEFAULT_PROJECTS_TOP = 100;

/** Core area: projects. */
export function registerCoreRoutes(app: FastifyInstance, rc: RouteContext): void {
  // GET {org}/_apis/projects — $top/$skip and an integer continuation token (= projects already returned) in the
  // x-ms-continuationtoken header, present only while more remain.
  app.get('/:org/_apis/projects', async (req, reply) => {
    const org = orgOf(req);
    const q = queryOf(req);
    const stateFilter = parseStateFilter(q.get('stateFilter'));
    const top = q.int('$top') ?? DEFAULT_PROJECTS_TOP;
    const skip = q.int('$skip') ?? 0;
    const token = q.int('continuationToken');
    const start = token ?? skip;
    const size = Math.min(top, rc.pageLimit('projects'));

    const matching: number[] = [];
    for (let i = 0; i < org.projects.count; i++) {
      if (stateFilter === 'all' || org.projects.record(i).state === stateFilter) matching.push(i);
    }
    const page = matching.slice(start, start + size);
    const next = start + page.length;
    if (page.length > 0 && next < matching.length) reply.header('x-ms-continuationtoken', String(next));
    return sendJson(reply, 200, { count: page.length, value: page.map((i) => org.projects.reference(i)) });
  });

  // GET {org}/_apis/projects/{projectId} — TeamProject (capabilities only with includeCapabilities=true).
  app.get('/:org/_apis/projects/:project', async (req, reply) => {
    const org = orgOf(req);
    const { project } = req.params as { project: string };
    const index = org.projects.find(project);
    if (index === undefined) throw errors.project(project);
    return sendJson(reply, 200, org.projects.teamProject(index, queryOf(req).bool('includeCapabilities')));
  });
}

function parseStateFilter(value: string | undefined): ProjectState | 'all' {
  if (value === undefined || value === '') return 'wellFormed';
  const lower = value.toLowerCase();
  if (lower === 'all') return 'all';
  const state = PROJECT_STATES.find((s) => s.toLowerCase() === lower);
  if (!state) throw errors.badRequest(`The value '${value}' is not valid for stateFilter.`);
  return state;
}
