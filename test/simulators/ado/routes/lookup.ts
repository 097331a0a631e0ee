import type { FastifyRequest } from 'fastify';
import type { OrgData } from '../data/dataset.js';
import { errors } from '../http/errors.js';

/** Route parameters (project, repo, team, ids …) as the routes declare them. */
export type Params = Record<string, string | undefined>;

export function params(req: FastifyRequest): Params {
  return req.params as Params;
}

/** A project by id or name, or the service's 404. */
export function projectIndex(org: OrgData, idOrName: string): number {
  const i = org.projects.find(idOrName);
  if (i === undefined) throw errors.project(idOrName);
  return i;
}

/** By id or name under a project; by id only at organization level (a name needs the project). */
export function repoIndex(org: OrgData, p: Params): number {
  const repo = p.repo ?? '';
  const i = p.project !== undefined ? org.repos.findInProject(projectIndex(org, p.project), repo) : org.repos.findById(repo);
  if (i === undefined) throw errors.repository(repo);
  return i;
}

/** Item paths: a leading slash, no trailing one (except the root). */
export function normalisePath(path: string): string {
  const withSlash = path.startsWith('/') ? path : `/${path}`;
  return withSlash.length > 1 ? withSlash.replace(/\/+$/, '') : withSlash;
}
