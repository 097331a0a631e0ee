/**
 * The audit log (auditservice) of one organization: an append-only journal of `DecoratedAuditLogEntry` records, as
 * `GET _apis/audit/auditlog` serves them (shared/ado-api-samples/audit/auditlog-query.json, research/ado-api.md §4.20).
 * The generated dataset writes nothing: the journal starts empty and only changes write to it (the Graph and user
 * entitlement writes, over HTTP or through `sim.changes`, and `sim.changes.audit` for hand-written entries).
 *
 * Ids and order: an entry's id is `<reverse ticks>;<actorUserId>;<guid>` as on the service, the reverse ticks being
 * DateTime.MaxValue.Ticks minus the .NET ticks (100 ns since 0001-01-01) of its timestamp, so that ids sort newest first.
 * Ticks are unique within an organization: an entry written at the same instant as an earlier one is put one tick (100 ns)
 * later, so the order of entries written at one `at` is the order they were written in, and the continuation token (the
 * id of the last entry served) names a position in the journal exactly.
 */
import { randomUUID } from 'node:crypto';
import { rngFor } from '../random.js';
import { collectionId } from './core.js';
import type { OrgData } from './dataset.js';

export type AuditCategory = 'create' | 'modify' | 'remove' | 'access' | 'execute' | 'unknown';

/** `DecoratedAuditLogEntry` (key order as the service writes it). */
export interface AuditLogEntry {
  id: string;
  correlationId: string;
  activityId: string;
  actorCUID: string;
  actorUserId: string;
  actorClientId: string;
  actorUPN: string;
  authenticationMechanism: string;
  /** ISO with 7 fractional digits and an offset: `2026-12-05T10:00:00.0000000+00:00`. */
  timestamp: string;
  scopeType: 'organization';
  scopeDisplayName: string;
  scopeId: string;
  projectId: string | null;
  projectName: string | null;
  ipAddress: string | null;
  userAgent: string;
  actionId: string;
  data: Record<string, unknown>;
  details: string;
  area: string;
  category: AuditCategory;
  categoryDisplayName: string;
  actorDisplayName: string;
  actorImageUrl: string | null;
}

/** Who wrote an entry and how (the request of an HTTP write, or the defaults of `sim.changes`). */
export interface AuditContext {
  /** Default: now. */
  at?: Date;
  /** Entries of one operation share it (default: a new one per entry). */
  correlationId?: string;
  authenticationMechanism?: string;
  ipAddress?: string | null;
  userAgent?: string;
}

export interface AuditWrite extends AuditContext {
  projectId?: string | null;
  projectName?: string | null;
  /** Default: from the action (KNOWN_ACTIONS, else its name). */
  category?: AuditCategory;
  /** Default: the action's sentence with the data filled in. */
  details?: string;
}

export interface AuditQuery {
  /** Inclusive, in .NET ticks (see isoTicks). */
  startTicks?: bigint;
  /** Exclusive, in .NET ticks. */
  endTicks?: bigint;
  /** The id of the last entry of the previous page (see tokenPosition). */
  after?: bigint;
  batchSize: number;
}

export interface AuditPage {
  decoratedAuditLogEntries: AuditLogEntry[];
  continuationToken: string | null;
  hasMore: boolean;
}

/** .NET ticks of 1970-01-01T00:00:00Z, and DateTime.MaxValue.Ticks. */
const EPOCH_TICKS = 621_355_968_000_000_000n;
const MAX_TICKS = 3_155_378_975_999_999_999n;
const TICKS_PER_MS = 10_000n;

const CATEGORY_NAMES: Record<AuditCategory, string> = {
  create: 'Create',
  modify: 'Modify',
  remove: 'Remove',
  access: 'Access',
  execute: 'Execute',
  unknown: 'Unknown',
};

/**
 * Actions the simulator writes or tests commonly write by hand (from Microsoft's "Auditing events list"): their category
 * and their sentence, `{Key}` standing for `data.Key`.
 */
const KNOWN_ACTIONS: Record<string, { category: AuditCategory; details: string }> = {
  'Group.UpdateGroupMembership.Add': { category: 'modify', details: 'Added {MemberDisplayName} to group {GroupName}' },
  'Group.UpdateGroupMembership.Remove': { category: 'modify', details: 'Removed {MemberDisplayName} from group {GroupName}' },
  'Group.CreateGroups': { category: 'create', details: 'Created group {GroupName}' },
  'Group.UpdateGroups.Delete': { category: 'remove', details: 'Deleted group {GroupName}' },
  'Licensing.Assigned': { category: 'create', details: 'Access level {AccessLevel} assigned to {UserDisplayName}' },
  'Licensing.Modified': { category: 'modify', details: 'Access level of {UserDisplayName} changed from {PreviousAccessLevel} to {AccessLevel}' },
  'Licensing.Removed': { category: 'remove', details: 'Access level {AccessLevel} removed from {UserDisplayName}' },
  'Git.CreateRepo': { category: 'create', details: 'Created repository {RepoName}' },
  'Git.RepositoryCreated': { category: 'create', details: 'Created repository {RepoName}' },
  'Git.RepositoryRenamed': { category: 'modify', details: 'Renamed repository {PreviousRepoName} to {RepoName}' },
  'Git.RepositoryDeleted': { category: 'remove', details: 'Deleted repository {RepoName}' },
  'Git.RepositoryDestroyed': { category: 'remove', details: 'Destroyed repository {RepoName}' },
  'Git.RepositoryUndeleted': { category: 'modify', details: 'Restored repository {RepoName}' },
  'Project.CreateCompleted': { category: 'create', details: '{ProjectName} project was created successfully' },
  'Project.HardDeleteCompleted': { category: 'remove', details: '{ProjectName} project was deleted successfully' },
  'Project.SoftDeleteCompleted': { category: 'remove', details: '{ProjectName} project was moved to the recycle bin' },
};

/** An action's category from its name when it is not in KNOWN_ACTIONS: delete/remove, create/add, run, else modify. */
function categoryOf(actionId: string): AuditCategory {
  const known = KNOWN_ACTIONS[actionId];
  if (known) return known.category;
  const name = actionId.slice(actionId.indexOf('.') + 1);
  if (/delete|remove|destroy|uninstall/i.test(name)) return 'remove';
  if (/create|add|assign|install/i.test(name)) return 'create';
  if (/run|execute|queue|start|deploy|approv|checkpoint/i.test(name)) return 'execute';
  return 'modify';
}

/** An action's sentence with `{Key}` filled from the data (unknown actions: the action and its data). */
export function auditDetails(actionId: string, data: Record<string, unknown>): string {
  const template = KNOWN_ACTIONS[actionId]?.details;
  if (!template) return `${actionId} ${Object.entries(data).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ')}`.trim();
  return template.replace(/\{(\w+)\}/g, (_, k: string) => (data[k] === undefined || data[k] === null ? '' : String(data[k])));
}

/** .NET ticks of a time in ms. */
export function msTicks(ms: number): bigint {
  return BigInt(Math.floor(ms)) * TICKS_PER_MS + EPOCH_TICKS;
}

/**
 * .NET ticks of an ISO date-time, keeping the 4th to 7th fractional digits that Date.parse drops (a timestamp copied from
 * an entry names that entry's instant exactly); undefined when it does not parse.
 */
export function isoTicks(iso: string): bigint | undefined {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return undefined;
  const fraction = /T\d{2}:\d{2}:\d{2}\.(\d+)/i.exec(iso)?.[1] ?? '';
  const sub = fraction.length > 3 ? BigInt(fraction.slice(3, 7).padEnd(4, '0')) : 0n;
  return msTicks(ms) + sub;
}

function timestampOf(ticks: bigint): string {
  const sinceEpoch = ticks - EPOCH_TICKS;
  const seconds = new Date(Number(sinceEpoch / TICKS_PER_MS)).toISOString().slice(0, 19);
  return `${seconds}.${(sinceEpoch % 10_000_000n).toString().padStart(7, '0')}+00:00`;
}

/** The position a continuation token (an entry id) names: its reverse ticks; undefined when it is not an entry id. */
export function tokenPosition(token: string): bigint | undefined {
  const m = /^(\d{1,19});[^;]*;[^;]*$/.exec(token.trim());
  return m ? BigInt(m[1] as string) : undefined;
}

const cache = new WeakMap<OrgData, AuditLog>();

export function auditOf(org: OrgData): AuditLog {
  let log = cache.get(org);
  if (!log) {
    log = new AuditLog(org);
    cache.set(org, log);
  }
  return log;
}

/** Stream of the actor's CUID (a number no other area of the dataset uses). */
const ACTOR_STREAM = 0x41550001;

export class AuditLog {
  readonly #org: OrgData;
  /** In the order written. */
  readonly #entries: AuditLogEntry[] = [];
  /** Parallel to the journal, newest first: [reverse ticks, entry]. */
  readonly #sorted: Array<[bigint, AuditLogEntry]> = [];
  readonly #ticks = new Set<bigint>();

  constructor(org: OrgData) {
    this.#org = org;
  }

  /** The journal, in the order written. */
  get entries(): readonly AuditLogEntry[] {
    return this.#entries;
  }

  /**
   * Appends an entry. The actor is the organization's first identity (a Project Collection Administrator): the simulator's
   * PAT and the `sim.changes` edits both act as that user.
   */
  append(actionId: string, data: Record<string, unknown>, w: AuditWrite = {}): AuditLogEntry {
    const org = this.#org;
    const ctx = org.ctx;
    let ticks = msTicks((w.at ?? new Date()).getTime());
    while (this.#ticks.has(ticks)) ticks++;
    this.#ticks.add(ticks);
    const reverse = MAX_TICKS - ticks;
    const actor = org.identities.at(0);
    const category = w.category ?? categoryOf(actionId);
    let projectId = w.projectId ?? null;
    let projectName = w.projectName ?? null;
    if (projectId !== null && projectName === null) {
      const p = org.projects.find(projectId);
      if (p !== undefined) projectName = org.projects.record(p).name;
    } else if (projectName !== null && projectId === null) {
      const p = org.projects.find(projectName);
      if (p !== undefined) projectId = org.projects.record(p).id;
    }
    const entry: AuditLogEntry = {
      id: `${reverse};${actor.id};${randomUUID()}`,
      correlationId: w.correlationId ?? randomUUID(),
      activityId: randomUUID(),
      actorCUID: rngFor(ctx.seed, ctx.key, ACTOR_STREAM, 0).guid(),
      actorUserId: actor.id,
      actorClientId: '00000000-0000-0000-0000-000000000000',
      actorUPN: actor.uniqueName,
      authenticationMechanism: w.authenticationMechanism ?? 'FedAuth',
      timestamp: timestampOf(ticks),
      scopeType: 'organization',
      scopeDisplayName: `${ctx.name} (Organization)`,
      scopeId: collectionId(ctx),
      projectId,
      projectName,
      ipAddress: w.ipAddress === undefined ? '198.51.100.7' : w.ipAddress,
      userAgent: w.userAgent ?? 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
      actionId,
      data,
      details: w.details ?? auditDetails(actionId, data),
      area: actionId.split('.')[0] ?? actionId,
      category,
      categoryDisplayName: CATEGORY_NAMES[category],
      actorDisplayName: actor.displayName,
      actorImageUrl: `${ctx.orgUrl()}/_apis/GraphProfile/MemberAvatars/${actor.descriptor}`,
    };
    this.#entries.push(entry);
    // Usually the newest: insert from the front.
    let i = 0;
    while (i < this.#sorted.length && (this.#sorted[i] as [bigint, AuditLogEntry])[0] < reverse) i++;
    this.#sorted.splice(i, 0, [reverse, entry]);
    return entry;
  }

  /**
   * One page, newest first: entries with startTicks <= ticks < endTicks, after the continuation token's entry. The token
   * of a page is the id of its last entry (also on the last page, as the service does; null on an empty page).
   */
  query(q: AuditQuery): AuditPage {
    const after = q.after ?? -1n;
    const minReverse = q.endTicks === undefined ? undefined : MAX_TICKS - q.endTicks; // exclusive
    const maxReverse = q.startTicks === undefined ? undefined : MAX_TICKS - q.startTicks; // inclusive
    const matching = this.#sorted.filter(([r]) => r > after && (minReverse === undefined || r > minReverse) && (maxReverse === undefined || r <= maxReverse));
    const page = matching.slice(0, q.batchSize).map(([, e]) => e);
    return {
      decoratedAuditLogEntries: page,
      continuationToken: page.length > 0 ? (page[page.length - 1] as AuditLogEntry).id : null,
      hasMore: matching.length > page.length,
    };
  }
}
