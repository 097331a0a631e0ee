/** What kinds share to turn a service-hook event into the current state of what it names. */
import { AdoNotFoundError } from '../../ado/errors.js';
import type { FetchContext, RawItem, ServiceHookEvent } from '../types.js';
import { API } from './api.js';
import type { ProjectRef } from './listings.js';

/** GET that answers undefined when Azure DevOps says 404: the thing is gone (or never was), which callers treat as deleted. */
export async function getIfExists<T>(ctx: FetchContext, url: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<T | undefined> {
  try {
    const res = await ctx.client.get<T>(url, { 'api-version': API.ga, ...query }, ctx.signal);
    return res.data ?? undefined;
  } catch (err) {
    if (err instanceof AdoNotFoundError) return undefined;
    throw err;
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function field<T = unknown>(obj: unknown, ...path: string[]): T | undefined {
  let node = obj;
  for (const key of path) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node as T | undefined;
}

/** The project an event belongs to: its resource container, else what the resource itself names. */
export function eventProjectId(event: ServiceHookEvent): string | undefined {
  const r = event.resource;
  return (
    str(event.resourceContainers?.project?.id) ??
    str(field(r, 'project', 'id')) ??
    str(field(r, 'repository', 'project', 'id')) ??
    str(field(r, 'fields', 'System.TeamProject'))
  );
}

/** The project by id (or name), once per event; undefined when it does not exist. */
export function projectById(ctx: FetchContext, id: string): Promise<ProjectRef | undefined> {
  return ctx.cache.memo(`project:${id.toLowerCase()}`, () => getIfExists<ProjectRef>(ctx, ctx.client.url(`_apis/projects/${encodeURIComponent(id)}`)));
}

/**
 * Projects the resync reads: `listProjects` asks `_apis/projects` without a `stateFilter`, whose default lists wellFormed
 * projects only. Items of any other project (new, createPending, deleting, deleted) are never produced by a resync.
 */
export function isListedProject(project: ProjectRef): boolean {
  return (project.state ?? 'wellFormed').toLowerCase() === 'wellformed';
}

/**
 * The event's project as the resync sees it. `listed` is false when the project is gone (`found` false: 404) or not
 * listed: the items the event names are then removed, stamped with what is known of the project (a gone one keeps only
 * its id).
 */
export async function eventProject(ctx: FetchContext, id: string): Promise<{ project: ProjectRef; listed: boolean; found: boolean }> {
  const project = await projectById(ctx, id);
  if (!project) return { project: { id, name: id }, listed: false, found: false };
  return { project, listed: isListedProject(project), found: true };
}

/** A numeric id from the payload (a string of digits counts), or undefined. */
export function numericId(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

export function nothing(): { upsert: RawItem[]; deleted: RawItem[] } {
  return { upsert: [], deleted: [] };
}

export function upserted(...items: Array<RawItem | undefined>): { upsert: RawItem[]; deleted: RawItem[] } {
  return { upsert: items.filter((i): i is RawItem => i !== undefined), deleted: [] };
}

export function deletedItems(...items: RawItem[]): { upsert: RawItem[]; deleted: RawItem[] } {
  return { upsert: [], deleted: items };
}

/** An event that lacks what the kind needs to refetch: an error naming the field, so the job fails visibly. */
export function missing(event: ServiceHookEvent, what: string): Error {
  return new Error(`${event.eventType} event ${event.id}: the payload has no ${what}`);
}
