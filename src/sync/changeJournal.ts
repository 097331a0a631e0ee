import type { ChainableCommander, Redis } from 'ioredis';
import { KINDS } from '../kinds/registry.js';
import type { ProjectChanges, RepositoryChanges, ServiceHookEvent } from '../kinds/types.js';

/** How long an announced change is remembered: far longer than any gap between incremental runs. */
const KEEP_MS = 30 * 86_400_000;
/** HSET beat; a new `since` too when the last beat is older than ARGV[2] (a gap). */
const BEAT = `local beat = tonumber(redis.call('HGET', KEYS[1], 'beat'))
if not beat or tonumber(ARGV[1]) - beat > tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], 'since', ARGV[1]) end
redis.call('HSET', KEYS[1], 'beat', ARGV[1])
return 1`;
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
    await this.#beat(this.redis.multi()).exec();
  }

  // One script, so replicas beating together agree on where the coverage began.
  #beat(pipe: ChainableCommander): ChainableCommander {
    return pipe.eval(BEAT, 1, this.#state, String(this.now()), String(STALE_MS));
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
    // The event was heard: the same round trip keeps the journal live.
    await this.#beat(pipe).exec();
  }

  async since(since: Date): Promise<Set<string> | undefined> {
    if ((await this.#uncovered(since)) !== undefined) return undefined;
    return new Set(await this.redis.zrangebyscore(this.#repos, since.getTime(), '+inf'));
  }

  async projects(kind: string, since: Date): Promise<{ projectIds?: Set<string>; reason: string }> {
    const uncovered = await this.#uncovered(since);
    if (uncovered !== undefined) return { reason: uncovered };
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

  /** Why the journal does not cover the window from `since` on; undefined when it does. */
  async #uncovered(since: Date): Promise<string | undefined> {
    const state = await this.state();
    if (!state) return 'no journal of service-hook events (serve has accepted none)';
    if (!state.live) return `the journal of service-hook events is not live (last heard ${state.lastBeat.toISOString()})`;
    if (state.since > since) return `the journal of service-hook events begins at ${state.since.toISOString()}, after the cursor`;
    return undefined;
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
