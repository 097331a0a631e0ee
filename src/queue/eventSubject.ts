/**
 * What a service-hook event is about (a pull request, a work item, a repository's refs, a run, a release): events on
 * one subject are handled one at a time (eventJobs.ts) and coalesced while a job of the subject waits (cluster.ts).
 * Imports nothing of the queue, so the enqueue side (cluster.ts) and the job side (eventJobs.ts) both use it.
 */
import { createHash } from 'node:crypto';
import type { ServiceHookEvent } from '../kinds/types.js';

/** The subject of an event; an event naming none of the known ids is its own subject (`event:<id>`). */
export function eventSubject(event: Pick<ServiceHookEvent, 'id' | 'eventType' | 'resource'>): string {
  const r = event.resource as Record<string, Record<string, unknown> | unknown>;
  const get = (obj: unknown, key: string) => (obj && typeof obj === 'object' ? (obj as Record<string, unknown>)[key] : undefined);
  const id = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
  const t = event.eventType;
  const pick =
    (t.startsWith('git.pullrequest.') && id(r.pullRequestId) && `pr:${id(r.pullRequestId)}`) ||
    (t.startsWith('workitem.') && id(r.workItemId ?? r.id) && `workitem:${id(r.workItemId ?? r.id)}`) ||
    (t.startsWith('git.') && id(get(r.repository, 'id')) && `repo:${id(get(r.repository, 'id'))}`) ||
    (t === 'build.complete' && id(r.id) && `run:${id(r.id)}`) ||
    (id(get(r.run, 'id')) && `run:${id(get(r.run, 'id'))}`) ||
    (id(get(r.release, 'id') ?? get(r.environment, 'releaseId')) && `release:${id(get(r.release, 'id') ?? get(r.environment, 'releaseId'))}`) ||
    `event:${event.id}`;
  return pick.toLowerCase();
}

/**
 * Event types whose handling reads more of the payload than the subject: `git.push`, the refs it moved. Such events are
 * coalesced with that part carried over: the waiting job's handler merges what the events it covers pushed (see
 * mergeCovered), so one job handles them all.
 */
// A Map, not an object: an event type is the sender's text, and `constructor` is no merged part.
const MERGED_PART = new Map<string, (resource: Record<string, unknown>) => unknown>([['git.push', (r) => (Array.isArray(r.refUpdates) ? r.refUpdates : [])]]);

type RefUpdate = { name?: unknown; oldObjectId?: unknown; newObjectId?: unknown };

/** Whether events of this type hand something over to the job that covers them (then the job reads what they did). */
export function handsOver(eventType: string): boolean {
  return MERGED_PART.has(eventType);
}

/** What a covered event hands over to the job that covers it (JSON), or undefined when the subject says it all. */
export function coveredPart(event: Pick<ServiceHookEvent, 'eventType' | 'resource'>): string | undefined {
  const part = MERGED_PART.get(event.eventType);
  return part ? JSON.stringify(part(event.resource)) : undefined;
}

/**
 * The event as if it carried the pushes it covers too (`covered`: their coveredPart, oldest first): each ref once,
 * from its first push's old commit to its last push's new one, so the handler sees the whole range.
 */
export function mergeCovered<E extends Pick<ServiceHookEvent, 'eventType' | 'resource'>>(event: E, covered: string[]): E {
  const part = MERGED_PART.get(event.eventType);
  if (!part || covered.length === 0) return event;
  const byRef = new Map<string, RefUpdate>();
  const merged: RefUpdate[] = [];
  for (const list of [part(event.resource), ...covered.map((c) => JSON.parse(c) as unknown)]) {
    for (const u of Array.isArray(list) ? (list as RefUpdate[]) : []) {
      const name = typeof u?.name === 'string' ? u.name : undefined;
      const known = name !== undefined ? byRef.get(name) : undefined;
      if (known) known.newObjectId = u.newObjectId;
      else {
        const copy = { ...u };
        merged.push(copy);
        if (name !== undefined) byRef.set(name, copy);
      }
    }
  }
  return { ...event, resource: { ...event.resource, refUpdates: merged } };
}

/**
 * Event types handled alike (the same kinds, the same refetch of the subject): one job of a group covers the others.
 * Any other type is a group of its own.
 */
const HANDLED_ALIKE: Record<string, string> = {
  'git.pullrequest.created': 'git.pullrequest',
  'git.pullrequest.updated': 'git.pullrequest',
  'git.pullrequest.merged': 'git.pullrequest',
  // workitem.deleted removes without reading Azure DevOps: a group of its own.
  'workitem.created': 'workitem.refetch',
  'workitem.updated': 'workitem.refetch',
  'workitem.commented': 'workitem.refetch',
  'workitem.restored': 'workitem.refetch',
  'ms.vss-pipelines.stage-state-changed-event': 'pipelines.stages',
  'ms.vss-pipelines.job-state-changed-event': 'pipelines.stages',
};

/**
 * Which events of one subject a single job may handle for all of them (enqueueWebhookEvent, cluster.ts): events whose
 * handling reads nothing of the payload but the subject, its type's group and where it comes from. The key holds
 * - the group of the event type (HANDLED_ALIKE), plus the stage for deployment events (they refetch one stage's
 *   deployments of the release);
 * - the containers and the resource URL's organization, so that the same id in two organizations never meets.
 * An event that may not be coalesced gets a key only it has (`once:<id>`).
 */
export function coalesceKey(event: Pick<ServiceHookEvent, 'id' | 'eventType' | 'resource' | 'resourceContainers'>): string {
  const subject = eventSubject(event);
  if (subject.startsWith('event:')) return `once:${event.id}`;
  const r = event.resource;
  const get = (obj: unknown, key: string) => (obj && typeof obj === 'object' ? (obj as Record<string, unknown>)[key] : undefined);
  let group = HANDLED_ALIKE[event.eventType] ?? event.eventType;
  if (event.eventType.startsWith('ms.vss-release.deployment-')) {
    group += `|env:${String(get(r.deployment, 'definitionEnvironmentId') ?? get(r.environment, 'definitionEnvironmentId') ?? '')}`;
  }
  const containers = Object.entries(event.resourceContainers ?? {})
    .map(([name, c]) => `${name}=${c?.id ?? ''}@${String(c?.baseUrl ?? '').toLowerCase()}`)
    .sort();
  let origin = '';
  if (typeof r.url === 'string') {
    try {
      const u = new URL(r.url);
      origin = `${u.origin}/${u.pathname.split('/').find((s) => s !== '') ?? ''}`.toLowerCase();
    } catch {
      origin = 'unparsed';
    }
  }
  return createHash('sha256').update(JSON.stringify([subject, group, containers, origin])).digest('hex').slice(0, 32);
}
