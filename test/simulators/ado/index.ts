/**
 * Azure DevOps simulator (fastify on loopback) for integration tests, the demo and benchmarks.
 * Contract: ../../../../shared/research/ado-api.md; payload shapes follow ../../../../shared/ado-api-samples/.
 * Data is generated lazily and deterministically from the seed (see data/).
 */
import fastify from 'fastify';
import { AdoDataset } from './data/dataset.js';
import { installPipeline, SimulatorState, type RequestLogEntry } from './http/pipeline.js';
import { resolveOptions, type AdoFaults, type AdoScale, type AdoSimulatorOptions } from './options.js';
import { registerCoreRoutes } from './routes/core.js';
import { registerGitRoutes } from './routes/git.js';
import { registerPipelineRoutes } from './routes/pipelines.js';
import { registerGraphRoutes } from './routes/graph.js';
import { registerGraphWriteRoutes } from './routes/graphWrites.js';
import { registerWorkRoutes } from './routes/work.js';
import { registerGitExtraRoutes } from './routes/gitExtras.js';
import { registerWikiAlertRoutes } from './routes/wikisAlerts.js';
import { registerAuditRoutes } from './routes/audit.js';
import { auditOf, type AuditCategory, type AuditLogEntry } from './data/audit.js';
import type { RouteContext } from './routes/context.js';
import { HookStore, registerHookRoutes, type HookService } from './routes/hooks.js';
import { startEntraStandIn, type EntraStandIn, type EntraStandInOptions } from './entra.js';
import { graphOf, LICENSES, type EntraDirectory, type GraphSubject } from './data/graph.js';
import { RunControl, type QueuedRun, type RunPlan, type RunResult } from './data/runControl.js';
import { minimumRequests, type MinimumRequests } from './minimum.js';
import { workOf } from './data/work.js';
import { pipelinesOf } from './data/pipelines.js';
import { adoDate } from './random.js';
import { findRepo, pushEvent, type GitPushEvent } from './data/gitHistory.js';

export type { AdoFaults, AdoScale, AdoSimulatorOptions, RequestLogEntry };
export type { EntraDirectory, QueuedRun, RunPlan, RunResult };
export type { GitPushEvent };
export type { AuditCategory, AuditLogEntry };
export { ZERO_ID } from './data/gitHistory.js';
export type { HookService, HookStore, StoredSubscription } from './routes/hooks.js';
export { AdoDataset } from './data/dataset.js';
export type { AdoCounts } from './data/dataset.js';
export type { GitItem, GitPullRequest, GitRepository, IdentityRef, TeamProject, TeamProjectReference } from './data/types.js';
export { DEFAULT_FAULTS, DEFAULT_PAGE_LIMITS } from './options.js';
export { MINIMUM_KINDS, type MinimumRequests } from './minimum.js';
export { DEFAULT_REFERENCE_DATE, DEFAULT_SCALE } from './data/context.js';

export interface AdoSimulator {
  /** http://127.0.0.1:PORT */
  url: string;
  pat: string;
  /** `${url}/${org}` (default: the first organization). */
  orgUrl(org?: string): string;
  /**
   * Base URL of a sub-service host (`vsrm`, `advsec`): `${orgUrl(org)}/_host/{service}`. Service-hook subscriptions are
   * stored per (organization, host), as on the real service; pass these as `Organization.serviceUrls` to use them.
   */
  serviceUrl(service: HookService, org?: string): string;
  /** Service-hook subscriptions: read them, disable one, seed foreign ones. */
  hooks: HookStore;
  /** Read access to the generated data, for assertions. */
  dataset: AdoDataset;
  /** Every request, in arrival order. */
  requests: RequestLogEntry[];
  /** Replaces the current faults (merged over the defaults) and resets the Nth-request counter. */
  setFaults(f: Partial<AdoFaults>): void;
  /**
   * Edits the JSON body of successful responses whose path matches (case-insensitive regex), e.g. to change a pull
   * request's title between two events. Returns a function that removes the edit.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a test edits whatever shape the route serves
  patchResponses(pathPattern: string, edit: (body: any) => unknown): () => void;
  /**
   * The fewest requests that read these kinds' data from an organization (default: the first), from the dataset and
   * the simulator's page limits; see minimum.ts for the rules.
   */
  minimumRequests(kinds: readonly string[], org?: string): MinimumRequests;
  /**
   * Benchmarks only: keeps every served data page (GET, 200; a WIQL query also by its body) by `key(url)` and answers
   * the same key from memory after the injected latency; nothing invalidates it, so the dataset must not change
   * meanwhile. `key` may fold parts of the URL that change between runs without changing the data (default: the URL).
   * Returns a function that turns it off.
   */
  cacheResponses(key?: (url: string) => string | undefined): () => void;
  /** The Entra token endpoint stand-in, when started with `entra`; its tokens are accepted as Bearer credentials. */
  entra?: EntraStandIn;
  /**
   * Runs queued through the runs API: each read of one counts down to its completion (`setPlan`: after how many reads,
   * with which result; 0 reads: only on command), or `complete` ends one now. `queued` lists them with their request.
   */
  runs: { setPlan(plan: Partial<RunPlan>): void; complete(runId: number, result?: RunResult): void; readonly queued: readonly QueuedRun[] };
  /**
   * Repository contents with history. Every non-empty repository starts with one commit, its generated files plus
   * those of the `repoFiles` option, at the commit id the data always had (its `headCommit`).
   * `repo` is an id, `<project>/<name>`, or a name no other repository of the organization has; `org` defaults to the
   * first organization. Empty repositories (no branch) cannot be committed to.
   */
  git: AdoGit;
  /** Changes to items between runs, as Azure DevOps would record them (their change timestamps move). */
  changes: AdoChanges;
  /** An organization's Entra groups and users by object id, for the Microsoft Graph stand-in (changes show in Azure DevOps at once). */
  entraDirectory(org?: string): EntraDirectory;
  close(): Promise<void>;
}

export interface AdoChanges {
  /** Edits work item `id` at `at` (default now): `System.ChangedDate` moves, the revision goes up, `fields` are set. */
  editWorkItem(id: number, o?: { at?: Date; fields?: Record<string, unknown>; org?: string }): void;
  /** Completes (or, with `status: 'inProgress'`, restarts) build `id` of project `projectIndex`, finishing at `at`. */
  setBuild(projectIndex: number, id: number, o: { status: 'completed' | 'inProgress'; result?: 'succeeded' | 'failed'; at?: Date; org?: string }): void;
  /** Reruns test run `id`, completing at `at` (its lastUpdatedDate moves). */
  rerunTest(id: number, o?: { at?: Date; org?: string }): void;
  /** Redeploys release deployment `id`, completing at `at` (its lastModifiedOn moves). */
  redeploy(id: number, o?: { status?: 'succeeded' | 'failed'; at?: Date; org?: string }): void;

  // ---- Changes Azure DevOps writes to its audit log (entries timestamped `at`, default now; see data/audit.ts) ----

  /**
   * Adds a member (user, group or service principal) to an Azure DevOps group: memberships show it, and the audit log
   * gets `Group.UpdateGroupMembership.Add` {GroupId, GroupName, MemberId, MemberDisplayName} (ids: storage keys).
   * Returns false (and writes nothing) when it already was a member. Throws for unknown descriptors, a container that
   * is not a group, or an Entra group (whose members change in Entra: `entraDirectory`, which Azure DevOps does not audit).
   */
  addGroupMember(groupDescriptor: string, memberDescriptor: string, o?: { org?: string; at?: Date }): boolean;
  /** Removes a direct membership: `Group.UpdateGroupMembership.Remove`, same data. False (nothing written) when there was none. */
  removeGroupMember(groupDescriptor: string, memberDescriptor: string, o?: { org?: string; at?: Date }): boolean;
  /**
   * Sets the access level of a user of the organization (by entitlement id = the user's originId = its storage key):
   * `Licensing.Modified` {UserIdentifier, AccessLevel, PreviousAccessLevel} (display names: Basic, Stakeholder,
   * Basic + Test Plans) when it changed. Throws when the user is not in the organization.
   */
  setAccessLevel(userId: string, license: 'express' | 'stakeholder' | 'advanced', o?: { org?: string; at?: Date }): void;
  /**
   * Removes a user from the organization (entitlement and every membership go): `Licensing.Removed` {UserIdentifier,
   * AccessLevel}; the memberships that go with it write no entries. Throws when the user is not in the organization.
   */
  removeUser(userId: string, o?: { org?: string; at?: Date }): void;
  /**
   * Renames a repository (id, `<project>/<name>` or a unique name): listings, GET and everything that embeds it show the
   * new name. `Git.RepositoryRenamed` {RepoId, RepoName, PreviousRepoName, ProjectId}, with the entry's projectId/projectName.
   */
  renameRepository(repoId: string, newName: string, o?: { org?: string; at?: Date }): void;
  /**
   * Deletes a repository: it leaves the repository listings, and any route that looks it up answers 404 (TF401019)
   * — GET, refs, items, commits, alerts, its pull requests (which also leave the pull-request listings). Pipelines, code
   * wikis and branch policies that name it still do. `Git.RepositoryDeleted` {RepoId, RepoName, ProjectId}.
   */
  deleteRepository(repoId: string, o?: { org?: string; at?: Date }): void;
  /**
   * Appends a raw entry (for events the simulator does not model: projects, pipelines …). The category comes from the
   * action (known ones, else its name: Delete/Remove → remove, Create/Add → create, Run/Queue/… → execute, else modify)
   * unless given; details from the action's sentence unless given. A projectId alone gets its project's name and vice versa.
   */
  audit(
    actionId: string,
    data: Record<string, unknown>,
    o?: { org?: string; at?: Date; projectId?: string; projectName?: string; category?: AuditCategory; details?: string },
  ): AuditLogEntry;
  /** The organization's audit journal, in the order written (the API serves it newest first). */
  auditEntries(org?: string): readonly AuditLogEntry[];
}

export interface AdoGit {
  /**
   * A new commit on `branch` (short or full name; default: the repository's default branch) whose files are the
   * branch's files plus `changes` (path → new content; null deletes the file, which must exist). A branch that does
   * not exist is created from the default branch's head, and its push says so (`oldObjectId` all zeros). Reads,
   * listings, refs and commit diffs show the commit at once. Returns the ref update and the `git.push` service-hook
   * event of the push (deliver it to the worker yourself).
   */
  commit(
    repo: string,
    changes: Record<string, string | null>,
    o?: { branch?: string; org?: string; comment?: string },
  ): { branch: string; oldObjectId: string; newObjectId: string; event: GitPushEvent };
  /** The head commit of a branch (default: the default branch); throws when there is no such branch. */
  head(repo: string, branch?: string, org?: string): string;
  /** The files (path → content) at a commit or branch (default: the default branch's head). */
  files(repo: string, version?: { branch?: string; commit?: string; org?: string }): Record<string, string>;
}

export async function startAdoSimulator(
  opts: AdoSimulatorOptions & { entra?: boolean | EntraStandInOptions; strictHookHosts?: boolean } = {},
): Promise<AdoSimulator> {
  const options = resolveOptions(opts);
  const entra = opts.entra ? await startEntraStandIn(opts.entra === true ? {} : opts.entra) : undefined;
  const dataset = new AdoDataset({
    seed: options.seed,
    organizations: options.organizations,
    scale: options.scale,
    referenceDate: options.referenceDate,
  });
  const orgData = (org?: string) => {
    const o = dataset.org(org ?? (options.organizations[0] as string));
    if (!o) throw new Error(`ado simulator: unknown organization "${org}"`);
    return o;
  };
  for (const [key, files] of Object.entries(options.repoFiles)) {
    const colon = key.indexOf(':');
    const o = orgData(colon > 0 ? key.slice(0, colon) : undefined);
    o.repos.seedFiles(findRepo(o, colon > 0 ? key.slice(colon + 1) : key), files);
  }
  const state = new SimulatorState(options.faults);
  const app = fastify({
    logger: false,
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true, maxParamLength: 2000 },
  });
  let url = '';
  installPipeline(app, { dataset, state, pat: options.pat, pats: options.pats, baseUrl: () => url, bearer: (t, org) => entra?.verify(t, org) === 'valid' });
  const pageLimit = (family: string) => options.pageLimits[family] ?? Number.MAX_SAFE_INTEGER;
  const runs = new RunControl();
  const rc: RouteContext = { pageLimit, runs };
  registerCoreRoutes(app, rc);
  registerGitRoutes(app, rc);
  registerPipelineRoutes(app, rc);
  registerGraphRoutes(app, rc);
  registerGraphWriteRoutes(app);
  registerWorkRoutes(app, rc);
  registerGitExtraRoutes(app, rc);
  registerWikiAlertRoutes(app, rc);
  registerAuditRoutes(app, rc);
  const hooks = new HookStore({ strictHosts: opts.strictHookHosts === true });
  registerHookRoutes(app, hooks, () => url);

  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('ado simulator: unexpected server address');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  url = `http://${host}:${address.port}`;
  dataset.baseUrl = url;

  /** `sim.changes` act as the organization's first identity signed in to the web portal (FedAuth). */
  const changeAudit = (o: { at?: Date }) => ({ ...(o.at ? { at: o.at } : {}), authenticationMechanism: 'FedAuth' });
  const groupAndMember = (org: string | undefined, groupDescriptor: string, memberDescriptor: string) => {
    const g = graphOf(orgData(org));
    const group: GraphSubject | undefined = g.subject(groupDescriptor);
    const member: GraphSubject | undefined = g.subject(memberDescriptor);
    if (!group || group.subjectKind !== 'group') throw new Error(`ado simulator: no group "${groupDescriptor}"`);
    if (!member) throw new Error(`ado simulator: no subject "${memberDescriptor}"`);
    return { g, group, member };
  };

  let closed: Promise<void> | undefined;
  const orgUrl = (org?: string) => `${url}/${dataset.org(org ?? (options.organizations[0] as string))?.ctx.name ?? org}`;
  return {
    url,
    pat: options.pat,
    orgUrl,
    serviceUrl: (service, org) => (service === 'core' ? orgUrl(org) : `${orgUrl(org)}/_host/${service}`),
    hooks,
    dataset,
    requests: state.requests,
    setFaults: (f) => state.setFaults(f),
    patchResponses: (pathPattern, edit) => {
      const patch = { re: new RegExp(pathPattern, 'i'), edit };
      state.patches.push(patch);
      return () => void state.patches.splice(state.patches.indexOf(patch), 1);
    },
    minimumRequests: (kinds, org) => {
      const o = dataset.org(org ?? (options.organizations[0] as string));
      if (!o) throw new Error(`ado simulator: unknown organization "${org}"`);
      return minimumRequests(o, pageLimit, kinds);
    },
    cacheResponses: (key = (u) => u) => {
      state.responseCache = { key, entries: new Map() };
      return () => void (state.responseCache = undefined);
    },
    entra,
    runs: { setPlan: (plan) => runs.setPlan(plan), complete: (runId, result) => runs.complete(runId, result), queued: runs.queued },
    changes: {
      editWorkItem(id, o = {}) {
        const rec = workOf(dataset.org(o.org ?? (options.organizations[0] as string))!).edited(id);
        Object.assign(rec.fields, o.fields ?? {}, { 'System.ChangedDate': adoDate((o.at ?? new Date()).getTime()) });
        rec.rev++;
      },
      rerunTest(id, o = {}) {
        const t = pipelinesOf(dataset.org(o.org ?? (options.organizations[0] as string))!).testRuns.find((x) => x.id === id);
        if (!t) throw new Error(`ado simulator: no test run ${id}`);
        t.completedMs = (o.at ?? new Date()).getTime();
        t.startedMs = t.completedMs - 60_000;
      },
      redeploy(id, o = {}) {
        const d = pipelinesOf(dataset.org(o.org ?? (options.organizations[0] as string))!).releaseDeployments.find((x) => x.id === id);
        if (!d) throw new Error(`ado simulator: no release deployment ${id}`);
        d.completedMs = (o.at ?? new Date()).getTime();
        d.startedMs = d.completedMs - 60_000;
        d.status = o.status ?? 'succeeded';
        // Azure DevOps audits a classic deployment's completion (Release.DeploymentCompleted).
        const org = orgData(o.org);
        const project = org.projects.record(d.release.definition.projectIndex);
        auditOf(org).append(
          'Release.DeploymentCompleted',
          { ReleaseName: d.release.name, PipelineName: d.release.definition.name, StageName: d.environment.name, DeploymentResult: d.status, ProjectId: project.id },
          { ...changeAudit(o), projectId: project.id, projectName: project.name },
        );
      },
      addGroupMember(groupDescriptor, memberDescriptor, o = {}) {
        const { g, group, member } = groupAndMember(o.org, groupDescriptor, memberDescriptor);
        if (group.origin === 'aad') throw new Error(`ado simulator: the members of the Entra group "${group.displayName}" change in Entra (sim.entraDirectory)`);
        return g.addMembership(group.descriptor, member.descriptor, changeAudit(o));
      },
      removeGroupMember(groupDescriptor, memberDescriptor, o = {}) {
        const { g, group, member } = groupAndMember(o.org, groupDescriptor, memberDescriptor);
        if (group.origin === 'aad') throw new Error(`ado simulator: the members of the Entra group "${group.displayName}" change in Entra (sim.entraDirectory)`);
        return g.removeMembership(group.descriptor, member.descriptor, changeAudit(o));
      },
      setAccessLevel(userId, license, o = {}) {
        const g = graphOf(orgData(o.org));
        if (!LICENSES[license]) throw new Error(`ado simulator: unknown access level "${license}" (express, stakeholder, advanced)`);
        const user = g.entitledUser(userId);
        if (!user) throw new Error(`ado simulator: no user "${userId}" in the organization`);
        g.setLicense(String(user.originId), license, changeAudit(o));
      },
      removeUser(userId, o = {}) {
        const g = graphOf(orgData(o.org));
        if (!g.entitledUser(userId)) throw new Error(`ado simulator: no user "${userId}" in the organization`);
        g.removeUser(userId, changeAudit(o));
      },
      renameRepository(repoId, newName, o = {}) {
        const org = orgData(o.org);
        const r = findRepo(org, repoId);
        const previous = org.repos.rename(r, newName);
        const rec = org.repos.record(r);
        const project = org.projects.record(rec.projectIndex);
        auditOf(org).append('Git.RepositoryRenamed', { RepoId: rec.id, RepoName: rec.name, PreviousRepoName: previous, ProjectId: project.id }, { ...changeAudit(o), projectId: project.id, projectName: project.name });
      },
      deleteRepository(repoId, o = {}) {
        const org = orgData(o.org);
        const r = findRepo(org, repoId);
        org.repos.delete(r);
        const rec = org.repos.record(r);
        const project = org.projects.record(rec.projectIndex);
        auditOf(org).append('Git.RepositoryDeleted', { RepoId: rec.id, RepoName: rec.name, ProjectId: project.id }, { ...changeAudit(o), projectId: project.id, projectName: project.name });
      },
      audit(actionId, data, o = {}) {
        const { org, ...rest } = o;
        return auditOf(orgData(org)).append(actionId, data, { ...rest, ...changeAudit(o) });
      },
      auditEntries: (org) => auditOf(orgData(org)).entries,
      setBuild(projectIndex, id, o) {
        const b = pipelinesOf(dataset.org(o.org ?? (options.organizations[0] as string))!).buildsOfProject(projectIndex).find((x) => x.id === id);
        if (!b) throw new Error(`ado simulator: no build ${id} in project ${projectIndex}`);
        const at = (o.at ?? new Date()).getTime();
        b.status = o.status;
        if (o.status === 'completed') {
          b.finishMs = at;
          b.result = o.result ?? 'succeeded';
        } else {
          delete b.finishMs;
          delete b.result;
        }
      },
    },
    git: {
      commit: (repo, changes, o = {}) => {
        const org = orgData(o.org);
        const r = findRepo(org, repo);
        const push = org.repos.commit(r, changes, { branch: o.branch, comment: o.comment });
        const pusher = org.identities.at(org.repos.record(r).index + push.commit.id.charCodeAt(0));
        return { branch: push.branch, oldObjectId: push.oldObjectId, newObjectId: push.newObjectId, event: pushEvent(org, r, push, pusher) };
      },
      head: (repo, branch, org) => {
        const o = orgData(org);
        const r = findRepo(o, repo);
        const rec = o.repos.record(r);
        const name = branch ?? rec.defaultBranch;
        const head = name === undefined ? undefined : o.repos.history(r)?.branch(name)?.objectId;
        if (head === undefined) throw new Error(`ado simulator: repository "${rec.name}" has no branch "${name ?? '(default)'}"`);
        return head;
      },
      files: (repo, version = {}) => {
        const o = orgData(version.org);
        const r = findRepo(o, repo);
        const commitId =
          version.commit !== undefined ? o.repos.resolveVersion(r, 'commit', version.commit) : version.branch !== undefined ? o.repos.resolveVersion(r, 'branch', version.branch) : o.repos.record(r).headCommit;
        if (commitId === undefined && !o.repos.record(r).isEmpty) throw new Error(`ado simulator: repository "${repo}" has no version ${version.commit ?? version.branch}`);
        return Object.fromEntries([...o.repos.tree(r, commitId).values()].map((f) => [f.path, f.content]));
      },
    },
    entraDirectory: (org) => {
      const o = dataset.org(org ?? (options.organizations[0] as string));
      if (!o) throw new Error(`ado simulator: unknown organization "${org}"`);
      return graphOf(o).entraDirectory();
    },
    close: () => (closed ??= Promise.all([app.close(), entra?.close()]).then(() => undefined)),
  };
}
