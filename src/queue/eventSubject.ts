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

/** Event types whose handling depends on more of the payload than the subject: never coalesced (`git.push`: the refs and commit range pushed). */
const NEVER_COALESCED = new Set(['git.push']);

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
  if (NEVER_COALESCED.has(event.eventType) || subject.startsWith('event:')) return `once:${event.id}`;
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
