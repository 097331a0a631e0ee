import type { Redis } from 'ioredis';
import { KINDS } from '../kinds/registry.js';
import type { ProjectChanges, RepositoryChanges, ServiceHookEvent } from '../kinds/types.js';

/** How long an announced change is remembered: far longer than any gap between incremental runs. */
const KEEP_MS = 30 * 86_400_000;
/** `serve` beats this often while it accepts events… */
export const JOURNAL_BEAT_MS = 30_000;
/** …and a journal whose last beat is older than this is not live: events may have gone unheard since. */
const STALE_MS = 4 * JOURNAL_BEAT_MS;

/**
 * The changes Azure DevOps announced through service hooks, as `serve` accepted them, in Redis:
 * - `<prefix>:changed-repositories` (sorted set: repository id → when): pushes and repository events, for per-repository
 *   listings (branches);
 * - `<prefix>:changed-projects` (sorted set: `<kind>:<project id>` → when): every event a kind subscribes to, by the
 *   project it names, for per-project listings (builds, pull requests, deployments, work items);
 * - `<prefix>:change-journal` (hash): `since`, when the serving that is still going on began, and `beat`, the last time a
 *   server said it was accepting events.
 *
 * An incremental pass trusts the journal only for a window it covers: a server was accepting events over all of it
 * (`since` ≤ the window's start, and a beat within the last two minutes). Otherwise it answers undefined and the kind
 * reads every project or repository. A server that was down leaves a gap: the next beat starts a new `since`.
 */
export class RedisChangeJournal implements RepositoryChanges, ProjectChanges {
  readonly #repos: string;
  readonly #projects: string;
  readonly #state: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly now: () => number = Date.now,
  ) {
    this.#repos = `${prefix}:changed-repositories`;
    this.#projects = `${prefix}:changed-projects`;
    this.#state = `${prefix}:change-journal`;
  }

  /** A server is accepting events: keeps the journal live, or starts a new coverage after a gap. */
  async beat(): Promise<void> {
    const now = this.now();
    // One script, so replicas beating together agree on where the coverage began.
    await this.redis.eval(
      `local beat = tonumber(redis.call('HGET', KEYS[1], 'beat'))
       if not beat or tonumber(ARGV[1]) - beat > tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], 'since', ARGV[1]) end
       redis.call('HSET', KEYS[1], 'beat', ARGV[1])
       return 1`,
      1,
      this.#state,
      String(now),
      String(STALE_MS),
    );
  }

  /** Records an accepted event's repository and its project for the kinds that subscribe to it. */
  async mark(o: { repositoryIds?: string[]; projects?: Array<{ kind: string; projectId: string }> }): Promise<void> {
    const at = this.now();
    const pipe = this.redis.multi();
    const repos = o.repositoryIds ?? [];
    const projects = o.projects ?? [];
    if (repos.length > 0) {
      pipe.zadd(this.#repos, ...repos.flatMap((id) => [at, id.toLowerCase()]));
      pipe.zremrangebyscore(this.#repos, '-inf', at - KEEP_MS);
    }
    if (projects.length > 0) {
      pipe.zadd(this.#projects, ...projects.flatMap((p) => [at, `${p.kind}:${p.projectId.toLowerCase()}`]));
      pipe.zremrangebyscore(this.#projects, '-inf', at - KEEP_MS);
    }
    await pipe.exec();
    await this.beat();
  }

  async since(since: Date): Promise<Set<string> | undefined> {
    if (!(await this.covers(since))) return undefined;
    return new Set(await this.redis.zrangebyscore(this.#repos, since.getTime(), '+inf'));
  }

  async projects(kind: string, since: Date): Promise<{ projectIds?: Set<string>; reason: string }> {
    const state = await this.redis.hgetall(this.#state);
    const began = Number(state.since);
    const beat = Number(state.beat);
    if (!state.since) return { reason: 'no journal of service-hook events (serve has accepted none)' };
    if (this.now() - beat > STALE_MS) return { reason: `the journal of service-hook events is not live (last heard ${new Date(beat).toISOString()})` };
    if (began > since.getTime()) return { reason: `the journal of service-hook events begins at ${new Date(began).toISOString()}, after the cursor` };
    const prefix = `${kind}:`;
    const members = await this.redis.zrangebyscore(this.#projects, since.getTime(), '+inf');
    const projectIds = new Set(members.filter((m) => m.startsWith(prefix)).map((m) => m.slice(prefix.length)));
    return { projectIds, reason: 'service-hook events' };
  }

  /** For `ado-sync status`: since when a server has been accepting events without a gap, and whether it still is. */
  async state(): Promise<{ since: Date; lastBeat: Date; live: boolean } | undefined> {
    const [began, beat] = await this.redis.hmget(this.#state, 'since', 'beat');
    if (began === null || beat === null) return undefined;
    return { since: new Date(Number(began)), lastBeat: new Date(Number(beat)), live: this.now() - Number(beat) <= STALE_MS };
  }

  async covers(since: Date): Promise<boolean> {
    const [began, beat] = await this.redis.hmget(this.#state, 'since', 'beat');
    return began !== null && beat !== null && Number(began) <= since.getTime() && this.now() - Number(beat) <= STALE_MS;
  }
}

/** What an accepted event adds to the journal: its repository (pushes, repository events) and its project, per kind. */
export function journalMarks(event: Pick<ServiceHookEvent, 'eventType' | 'resource' | 'resourceContainers'>): { repositoryIds: string[]; projects: Array<{ kind: string; projectId: string }> } {
  const repo = (event.resource as { repository?: { id?: unknown } } | undefined)?.repository;
  const pushed = event.eventType === 'git.push' || event.eventType.startsWith('git.repo.');
  const repositoryIds = pushed && typeof repo?.id === 'string' && repo.id !== '' ? [repo.id] : [];
  const projectId = event.resourceContainers?.project?.id;
  const kinds = typeof projectId === 'string' && projectId !== '' ? KINDS.filter((k) => k.events?.subscriptions.some((s) => s.eventType === event.eventType)) : [];
  return { repositoryIds, projects: kinds.map((k) => ({ kind: k.kind, projectId: projectId! })) };
}
