import { DAY_MS, Stream, adoDate, rngFor } from '../random.js';
import type { OrgContext } from './context.js';
import type { ProjectsArea } from './core.js';
import type { RepositoriesArea } from './git.js';
import type { IdentitiesArea } from './identities.js';
import { IDENTITY_POOL_SIZE } from './identities.js';
import type { GitPullRequest, IdentityRefWithVote, PullRequestStatus } from './types.js';
import { BRANCH_PREFIXES, PR_OBJECTS, PR_VERBS, SENTENCES } from './words.js';

/** Pull requests are created over this window before the reference date, ids increasing with creation time. */
export const PR_CREATION_WINDOW_MS = 180 * DAY_MS;
/** Completed/abandoned pull requests are closed within this window before the reference date. */
export const PR_CLOSED_WINDOW_MS = 30 * DAY_MS;
/** List responses cut descriptions to this many characters (the full text is on the single GET). */
export const LIST_DESCRIPTION_LIMIT = 400;

export type PullRequestStatusFilter = PullRequestStatus | 'all';

/** The fields that filters look at; cheap to compute for every pull request. */
export interface PullRequestCore {
  id: number;
  repoIndex: number;
  status: PullRequestStatus;
  creator: number;
  /** 0 = repository default branch, 1 = develop, 2+ = release/{n-1}.x */
  target: number;
  createdMs: number;
  closedMs?: number;
  isDraft: boolean;
}

export interface PullRequestQuery {
  status: PullRequestStatusFilter;
  projectIndex?: number;
  repoIndex?: number;
  creatorId?: string;
  targetRefName?: string;
  timeRangeType?: 'created' | 'closed';
  minMs?: number;
  maxMs?: number;
}

const QUERY_CACHE_ENTRIES = 16;

/**
 * Pull requests of one organization, generated from their id. Ids are organization-wide (as in Azure DevOps) and
 * interleave the non-empty repositories: id k belongs to the (k-1) % S-th non-empty repository (S of them).
 * Only small integer arrays are kept: the repository slots and a few cached query results (ids, newest first).
 */
export class PullRequestsArea {
  readonly #ctx: OrgContext;
  readonly #projects: ProjectsArea;
  readonly #repos: RepositoriesArea;
  readonly #identities: IdentitiesArea;
  #layout: { slots: Int32Array; slotOfRepo: Int32Array; projectSlotStart: Int32Array } | undefined;
  readonly #queries = new Map<string, Int32Array>();
  #statusCounts: Record<PullRequestStatus, number> | undefined;

  constructor(ctx: OrgContext, projects: ProjectsArea, repos: RepositoriesArea, identities: IdentitiesArea) {
    this.#ctx = ctx;
    this.#projects = projects;
    this.#repos = repos;
    this.#identities = identities;
  }

  get #l(): { slots: Int32Array; slotOfRepo: Int32Array; projectSlotStart: Int32Array } {
    if (!this.#layout) {
      const total = this.#repos.count;
      const slotOfRepo = new Int32Array(total).fill(-1);
      const slotsTmp: number[] = [];
      const projectSlotStart = new Int32Array(this.#projects.count + 1);
      for (let g = 0; g < total; g++) {
        const rec = this.#repos.record(g);
        if (rec.indexInProject === 0) projectSlotStart[rec.projectIndex] = slotsTmp.length;
        if (!rec.isEmpty) {
          slotOfRepo[g] = slotsTmp.length;
          slotsTmp.push(g);
        }
      }
      projectSlotStart[this.#projects.count] = slotsTmp.length;
      this.#layout = { slots: Int32Array.from(slotsTmp), slotOfRepo, projectSlotStart };
    }
    return this.#layout;
  }

  get count(): number {
    return this.#l.slots.length * this.#ctx.scale.pullRequestsPerRepo;
  }

  statusCounts(): Record<PullRequestStatus, number> {
    if (!this.#statusCounts) {
      const counts = { active: 0, completed: 0, abandoned: 0 };
      for (let k = 1; k <= this.count; k++) counts[this.core(k).status]++;
      this.#statusCounts = counts;
    }
    return { ...this.#statusCounts };
  }

  /** Ids of a deleted repository's pull requests do not exist any more (see RepositoriesArea's deleted overlay). */
  exists(id: number): boolean {
    return Number.isInteger(id) && id >= 1 && id <= this.count && !this.#repos.isDeleted(this.#repoOf(id));
  }

  #repoOf(id: number): number {
    const { slots } = this.#l;
    return slots[(id - 1) % slots.length] as number;
  }

  core(id: number): PullRequestCore {
    const { slots } = this.#l;
    const n = this.count;
    const ctx = this.#ctx;
    const rng = rngFor(ctx.seed, ctx.key, Stream.pullRequestCore, id);
    // Draw the same number of values on every path so that adding fields later never shifts earlier ones.
    const uCreated = rng.float();
    const uStatus = rng.float();
    const creator = rng.int(0, IDENTITY_POOL_SIZE - 1);
    const uTarget = rng.float();
    const release = rng.int(1, 4);
    const uClosed = rng.float();
    const uDraft = rng.float();

    const step = PR_CREATION_WINDOW_MS / n;
    const createdMs = Math.floor(ctx.referenceMs - PR_CREATION_WINDOW_MS + (id - 1 + uCreated * 0.98) * step);
    const status: PullRequestStatus = uStatus < 0.5 ? 'active' : uStatus < 0.85 ? 'completed' : 'abandoned';
    const target = uTarget < 0.85 ? 0 : uTarget < 0.93 ? 1 : 1 + release;
    const core: PullRequestCore = {
      id,
      repoIndex: slots[(id - 1) % slots.length] as number,
      status,
      creator,
      target,
      createdMs,
      isDraft: status === 'active' && uDraft < 0.1,
    };
    if (status !== 'active') {
      const lo = Math.max(createdMs, ctx.referenceMs - PR_CLOSED_WINDOW_MS);
      core.closedMs = Math.min(ctx.referenceMs, lo + Math.max(1, Math.floor(uClosed * (ctx.referenceMs - lo))));
    }
    return core;
  }

  targetRefName(core: PullRequestCore): string {
    if (core.target === 0) return this.#repos.record(core.repoIndex).defaultBranch ?? 'refs/heads/main';
    if (core.target === 1) return 'refs/heads/develop';
    return `refs/heads/release/${core.target - 1}.x`;
  }

  /** Matching ids, newest (highest id) first, without deleted repositories' pull requests. */
  query(q: PullRequestQuery): Int32Array {
    const ids = this.#cachedQuery(q);
    return this.#repos.deletedCount === 0 ? ids : ids.filter((id) => !this.#repos.isDeleted(this.#repoOf(id)));
  }

  /** Results are cached per distinct query. */
  #cachedQuery(q: PullRequestQuery): Int32Array {
    const key = JSON.stringify([q.status, q.projectIndex, q.repoIndex, q.creatorId?.toLowerCase(), q.targetRefName, q.timeRangeType, q.minMs, q.maxMs]);
    const hit = this.#queries.get(key);
    if (hit) {
      this.#queries.delete(key);
      this.#queries.set(key, hit);
      return hit;
    }
    const result = this.#run(q);
    this.#queries.set(key, result);
    if (this.#queries.size > QUERY_CACHE_ENTRIES) {
      const oldest = this.#queries.keys().next().value;
      if (oldest !== undefined) this.#queries.delete(oldest);
    }
    return result;
  }

  #run(q: PullRequestQuery): Int32Array {
    const { slots, slotOfRepo, projectSlotStart } = this.#l;
    const S = slots.length;
    const per = this.#ctx.scale.pullRequestsPerRepo;
    let creator = -1;
    if (q.creatorId !== undefined) {
      creator = this.#identities.indexOfId(q.creatorId);
      if (creator < 0) return new Int32Array(0);
    }
    let slotLo = 0;
    let slotHi = S;
    if (q.repoIndex !== undefined) {
      const s = slotOfRepo[q.repoIndex] ?? -1;
      if (s < 0) return new Int32Array(0);
      if (q.projectIndex !== undefined && this.#repos.record(q.repoIndex).projectIndex !== q.projectIndex) return new Int32Array(0);
      slotLo = s;
      slotHi = s + 1;
    } else if (q.projectIndex !== undefined) {
      slotLo = projectSlotStart[q.projectIndex] ?? 0;
      slotHi = projectSlotStart[q.projectIndex + 1] ?? 0;
    }
    const out = new Int32Array((slotHi - slotLo) * per);
    let n = 0;
    const timeField = q.timeRangeType === 'closed' ? 'closedMs' : 'createdMs';
    const timed = q.minMs !== undefined || q.maxMs !== undefined;
    for (let j = per - 1; j >= 0; j--) {
      for (let s = slotHi - 1; s >= slotLo; s--) {
        const id = j * S + s + 1;
        const c = this.core(id);
        if (q.status !== 'all' && c.status !== q.status) continue;
        if (creator >= 0 && c.creator !== creator) continue;
        if (q.targetRefName !== undefined && this.targetRefName(c) !== q.targetRefName) continue;
        if (timed) {
          const t = c[timeField];
          if (t === undefined) continue;
          if (q.minMs !== undefined && t < q.minMs) continue;
          if (q.maxMs !== undefined && t > q.maxMs) continue;
        }
        out[n++] = id;
      }
    }
    return n === out.length ? out : out.slice(0, n);
  }

  /** The GitPullRequest payload. `listForm` cuts the description as list responses do. */
  pullRequest(id: number, listForm: boolean): GitPullRequest {
    const c = this.core(id);
    const ctx = this.#ctx;
    const repo = this.#repos.record(c.repoIndex);
    const repository = this.#repos.reference(c.repoIndex);
    const project = this.#projects.record(repo.projectIndex);
    const rng = rngFor(ctx.seed, ctx.key, Stream.pullRequestDetail, id);
    const verb = rng.pick(PR_VERBS);
    const object = rng.pick(PR_OBJECTS);
    const sentenceCount = rng.int(1, 8);
    const sentenceStart = rng.int(0, SENTENCES.length - 1);
    const prefix = rng.pick(BRANCH_PREFIXES);
    const mergeId = rng.guid();
    const sourceCommit = rng.sha();
    const targetCommit = rng.sha();
    const mergeCommit = rng.sha();
    const uMerge = rng.float();
    const reviewerCount = rng.int(0, 3);
    const reviewerOffset = rng.int(1, IDENTITY_POOL_SIZE - 1);
    const votes = [rng.float(), rng.float(), rng.float()];
    const required = [rng.chance(0.3), rng.chance(0.3), rng.chance(0.3)];
    const closer = rng.int(0, IDENTITY_POOL_SIZE - 1);
    const strategy = rng.pick(['squash', 'noFastForward', 'rebase']);
    const deleteSource = rng.chance(0.7);
    const queueLead = rng.int(1_000, 120_000);
    const dateRng = rngFor(ctx.seed, ctx.key, Stream.pullRequestDetail, id, 1);

    const sentences: string[] = [];
    for (let i = 0; i < sentenceCount; i++) sentences.push(SENTENCES[(sentenceStart + i) % SENTENCES.length] as string);
    let description = `${verb} ${object}.\n\n${sentences.join(' ')}`;
    if (listForm && description.length > LIST_DESCRIPTION_LIMIT) description = description.slice(0, LIST_DESCRIPTION_LIMIT);

    const slug = object.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 32);
    const branchPrefix = prefix === 'users/' ? `users/${this.#identities.alias(c.creator)}/` : prefix;
    const mergeStatus: GitPullRequest['mergeStatus'] =
      c.status === 'completed' ? 'succeeded'
        : c.status === 'abandoned' ? (uMerge < 0.5 ? 'notSet' : 'succeeded')
          : uMerge < 0.8 ? 'succeeded' : uMerge < 0.9 ? 'conflicts' : 'queued';

    const repoUrl = repository.url;
    const url = `${repoUrl}/pullRequests/${id}`;
    const count = c.status === 'completed' ? Math.max(1, reviewerCount) : reviewerCount;
    const reviewers: IdentityRefWithVote[] = [];
    for (let i = 0; i < count; i++) {
      const who = this.#identities.at((c.creator + reviewerOffset + i) % IDENTITY_POOL_SIZE);
      const u = votes[i] ?? 0;
      const vote =
        c.status === 'completed' ? (i === 0 ? 10 : pickVote([10, 5, 0], u))
          : c.status === 'abandoned' ? pickVote([0, 0, -5, -10], u)
            : pickVote([10, 5, 0, 0, 0, -5, -10], u);
      reviewers.push({
        reviewerUrl: `${url}/reviewers/${who.id}`,
        vote,
        hasDeclined: false,
        ...(required[i] ? { isRequired: true } : {}),
        isFlagged: false,
        ...who,
      });
    }
    const commit = (sha: string) => ({ commitId: sha, url: `${repoUrl}/commits/${sha}` });

    const pr: GitPullRequest = {
      repository,
      pullRequestId: id,
      codeReviewId: id,
      status: c.status,
      createdBy: this.#identities.at(c.creator),
      creationDate: adoDate(c.createdMs, dateRng),
      ...(c.closedMs !== undefined ? { closedDate: adoDate(c.closedMs, dateRng) } : {}),
      ...(c.closedMs !== undefined ? { closedBy: this.#identities.at(closer) } : {}),
      title: `${verb} ${object}`,
      description,
      sourceRefName: `refs/heads/${branchPrefix}${slug}-${id}`,
      targetRefName: this.targetRefName(c),
      mergeStatus,
      isDraft: c.isDraft,
      mergeId,
      lastMergeSourceCommit: commit(sourceCommit),
      lastMergeTargetCommit: commit(targetCommit),
      ...(mergeStatus === 'succeeded' ? { lastMergeCommit: commit(mergeCommit) } : {}),
      reviewers,
      url,
      ...(c.status === 'completed'
        ? { completionOptions: { mergeStrategy: strategy, deleteSourceBranch: deleteSource, transitionWorkItems: true } }
        : {}),
      supportsIterations: true,
      artifactId: `vstfs:///Git/PullRequestId/${project.id}%2f${repo.id}%2f${id}`,
      ...(c.status === 'completed' && c.closedMs !== undefined
        ? { completionQueueTime: adoDate(Math.max(c.createdMs, c.closedMs - queueLead), dateRng) }
        : {}),
    };
    return pr;
  }
}

function pickVote(values: readonly number[], u: number): number {
  return values[Math.min(values.length - 1, Math.floor(u * values.length))] as number;
}
