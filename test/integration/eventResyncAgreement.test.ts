/**
 * Live events apply the resync's own filters (issue 17, item 6). Over the simulator's data — one project being deleted,
 * a disabled and an empty repository, a deleted build, pull requests either side of the closed window and of the
 * `maxResults` cap, a work item announced under another project, and selectors that filter (release `statusFilter`,
 * alert `criteria`, work-item `wiql`, `files.repos`) — one event per item of every kind with events: what an event writes
 * is what the resync produces, what it deletes the resync does not produce, and every produced entity is written by
 * some event. Real HTTP over loopback to the Azure DevOps simulator, the real jq pool, the real resync and live-event code;
 * only the catalog is a recorder (it owns every entity, so each removal the event asks for is seen).
 */
import yaml from 'js-yaml';
import { PatAuth } from '../../src/ado/auth.js';
import { AdoClient } from '../../src/ado/client.js';
import { parseOrganizationUrl } from '../../src/ado/orgUrl.js';
import { parseAppConfig, type PortAppConfig } from '../../src/config/appConfig.js';
import { getKind } from '../../src/kinds/registry.js';
import type { ServiceHookEvent } from '../../src/kinds/types.js';
import { LiveEventHandler } from '../../src/sync/liveEvent.js';
import { RecordingCatalog, RecordingSink } from '../helpers/recorders.js';
import { resyncOrganization, type OrgTarget } from '../../src/sync/resync.js';
import { silentLogger } from '../../src/observability/log.js';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- payloads of many shapes

/** Every kind with live events. */
const KINDS = ['repository', 'branch', 'pull-request', 'file', 'advanced-security-alert', 'work-item', 'build', 'pipeline-run', 'pipeline-stage', 'release', 'release-deployment'];
const MIN_TIME_IN_DAYS = 10;
/** The file resource's `files.path`, as one regular expression. */
const FILES = /^(package\.json|services\/[^/]+\/package\.json|deploy\/.*\.yaml)$/;

/** One resource per kind with events (work items twice: with and without a wiql); each its own blueprint. */
function resources(selectedRepos: string[]): Json[] {
  const resource = (kind: string, blueprint: string, identifier: string, selector: Json = {}) => ({
    kind,
    selector: { query: 'true', ...selector },
    port: { entity: { mappings: { identifier, title: identifier, blueprint: `"${blueprint}"`, properties: {} } } },
  });
  return [
    resource('repository', 'repo', '.id'),
    resource('branch', 'branch', '.__repository.id + "/" + .name'),
    resource('pull-request', 'pr', '.repository.id + "/" + (.pullRequestId | tostring)', { minTimeInDays: MIN_TIME_IN_DAYS, maxResults: 1 }),
    resource('file', 'file', '.repo.id + "/" + .file.path', { files: { path: ['package.json', 'services/*/package.json', 'deploy/**/*.yaml'], repos: selectedRepos } }),
    resource('advanced-security-alert', 'alert', '.__repositoryId + ":" + (.alertId | tostring)', { criteria: { states: ['active', 'dismissed'] } }),
    resource('work-item', 'wi', '.__project.id + "/" + (.id | tostring)'),
    resource('work-item', 'wiOpen', '.__project.id + "/" + (.id | tostring)', { wiql: "[System.State] <> 'Closed'" }),
    resource('build', 'build', '.id | tostring'),
    resource('pipeline-run', 'run', '.__project.id + "-" + (.__pipeline.id | tostring) + "-" + (.id | tostring)'),
    resource('pipeline-stage', 'stage', '.__project.id + "-" + (.__build.id | tostring) + "-" + .id'),
    resource('release', 'release', '.projectReference.id + "/" + (.id | tostring)', { statusFilter: 'active' }),
    resource('release-deployment', 'deployment', '.id | tostring'),
  ];
}

interface Candidate {
  label: string;
  /** The kinds whose item the event names: each must write or delete it. */
  about: string[];
  event: ServiceHookEvent;
}

describe("live events apply the resync's filters", () => {
  let sim: AdoSimulator;
  let config: PortAppConfig;
  let handler: LiveEventHandler;
  const sink = new RecordingSink();
  const catalog = new RecordingCatalog();
  const candidates: Candidate[] = [];
  /** What the resync produces, per resource. */
  let produced: Array<Set<string>>;
  let blueprintOf: string[];
  let disabled: Json;
  /** Pull requests of healthy repositories, closed: their key and closed date. */
  const closedPullRequests: Array<{ key: string; closedMs: number }> = [];

  async function ado<T = Json>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T | undefined> {
    const res = await fetch(`${sim.orgUrl()}/${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Basic ${Buffer.from(`:${sim.pat}`).toString('base64')}`, 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    if (res.status === 400) return undefined; // Advanced Security not enabled on the repository
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  }
  const list = async (path: string): Promise<Json[]> => (await ado<{ value: Json[] }>(path))!.value;

  beforeAll(async () => {
    // "Now" as the reference date, so closed pull requests fall either side of the selector's window.
    sim = await startAdoSimulator({
      pat: 'agree-pat-123456',
      referenceDate: new Date(),
      scale: { projects: 3, reposPerProject: 4, pullRequestsPerRepo: 8, branchesPerRepo: 2, alertsPerRepo: 4, workItemsPerProject: 6, pipelinesPerProject: 1, buildsPerPipeline: 3, releaseDefinitionsPerProject: 1, releasesPerDefinition: 3 },
    });

    // ---- every item of the organization, read before anything is patched, each with an event naming it ----
    const projects = await list('_apis/projects');
    const repos = await list('_apis/git/repositories');
    disabled = repos.find((r) => r.isDisabled)!;
    expect(disabled).toBeDefined();
    expect(repos.some((r) => !r.defaultBranch)).toBe(true); // an empty repository
    const [p0, p1, deleting] = projects as [Json, Json, Json];
    let seq = 0;
    const add = (label: string, about: string[], eventType: string, publisherId: string, resource: Json, projectId?: string) =>
      candidates.push({
        label,
        about,
        event: {
          id: `agree-${++seq}`,
          eventType,
          publisherId,
          resource,
          resourceContainers: {
            account: { id: 'acct', baseUrl: `${sim.orgUrl()}/` },
            ...(projectId ? { project: { id: projectId, baseUrl: `${sim.orgUrl()}/` } } : {}),
          },
        },
      });

    for (const repo of repos) {
      const repository = { id: repo.id, name: repo.name, url: repo.url, project: repo.project };
      add(`repository ${repo.name}`, ['repository'], 'git.repo.renamed', 'tfs', { repository }, repo.project.id);
      for (const pr of await list(`${repo.project.id}/_apis/git/pullrequests?searchCriteria.status=all&searchCriteria.repositoryId=${repo.id}&$top=1000`)) {
        add(`pull request ${pr.pullRequestId} (${pr.status}) of ${repo.name}`, ['pull-request'], 'git.pullrequest.updated', 'tfs', { pullRequestId: pr.pullRequestId, repository, url: pr.url });
        if (pr.status !== 'active' && !repo.isDisabled && repo.project.id !== deleting.id) closedPullRequests.push({ key: `pr/${repo.id}/${pr.pullRequestId}`, closedMs: Date.parse(pr.closedDate) });
      }
      if (repo.defaultBranch) {
        // Every branch moved; the default branch created, so the file kind lists the repository afresh.
        const heads = await list(`${repo.project.id}/_apis/git/repositories/${repo.id}/refs?filter=heads/`);
        const refUpdates = heads.map((h) => ({ name: h.name, oldObjectId: (h.name === repo.defaultBranch ? '0' : 'b').repeat(40), newObjectId: h.objectId }));
        const hasFiles = sim.dataset.files(undefined, repo.id).some((f) => FILES.test(f.path.replace(/^\//, '')));
        add(`push to ${repo.name}`, hasFiles ? ['branch', 'file'] : ['branch'], 'git.push', 'tfs', { repository, refUpdates, url: repo.url }, repo.project.id);
      }
      const alerts = await ado<{ value: Json[] }>(`${repo.project.id}/_apis/alert/repositories/${repo.id}/alerts?api-version=7.2-preview.1`);
      for (const alert of alerts?.value ?? []) {
        add(`alert ${alert.alertId} (${alert.state}) of ${repo.name}`, ['advanced-security-alert'], 'ms.vss-alerts.alert-updated-event', 'advsec', { alertId: alert.alertId, repositoryId: repo.id }, repo.project.id);
      }
    }
    for (const project of projects) {
      const wiql = await ado<{ workItems: Json[] }>(`${project.id}/_apis/wit/wiql?api-version=7.1`, {
        method: 'POST',
        body: { query: `SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = '${project.name}'` },
      });
      for (const { id } of wiql!.workItems) {
        const update = { id: 1, workItemId: id, revision: { id } };
        add(`work item ${id} of ${project.name}`, ['work-item'], 'workitem.updated', 'tfs', update, project.id);
        // The same work item announced under another project: not that project's item.
        if (project.id === p0.id) add(`work item ${id} under ${p1.name}`, ['work-item'], 'workitem.updated', 'tfs', update, p1.id);
      }
      for (const build of await list(`${project.id}/_apis/build/builds`)) {
        const run = { run: { id: build.id }, pipeline: { id: build.definition.id } };
        add(`build ${build.id} of ${project.name}`, ['build'], 'build.complete', 'tfs', { id: build.id }, project.id);
        add(`run ${build.id} of ${project.name}`, ['pipeline-run'], 'ms.vss-pipelines.run-state-changed-event', 'pipelines', run, project.id);
        add(`stages of build ${build.id} of ${project.name}`, [], 'ms.vss-pipelines.stage-state-changed-event', 'pipelines', { ...run, stage: { id: '0'.repeat(32), name: '__default' } }, project.id);
      }
      for (const release of await list(`${project.id}/_apis/release/releases`)) {
        add(`release ${release.id} (${release.status}) of ${project.name}`, ['release'], 'ms.vss-release.release-created-event', 'rm', { release: { id: release.id, name: release.name }, project: { id: project.id } }, project.id);
      }
      const stages = new Map<string, Json>();
      for (const d of await list(`${project.id}/_apis/release/deployments`)) stages.set(`${d.release.id}/${d.definitionEnvironmentId}`, d);
      for (const d of stages.values()) {
        const environment = { releaseId: d.release.id, definitionEnvironmentId: d.definitionEnvironmentId, release: { id: d.release.id } };
        add(`deployments of release ${d.release.id} stage ${d.definitionEnvironmentId}`, ['release-deployment'], 'ms.vss-release.deployment-completed-event', 'rm', { environment, project: { id: project.id } }, project.id);
      }
    }

    // ---- the organization as the resync and the events then see it ----
    // A project being deleted: no longer listed, still readable; its repositories say so.
    sim.patchResponses('/_apis/projects$', (b) => ({ ...b, value: b.value.filter((p: Json) => p.id !== deleting.id), count: b.value.length - 1 }));
    sim.patchResponses(`/_apis/projects/${deleting.id}$`, (b) => ({ ...b, state: 'deleting' }));
    const inDeleting = (r: Json) => (r?.project?.id === deleting.id ? { ...r, project: { ...r.project, state: 'deleting' } } : r);
    sim.patchResponses('/_apis/git/repositories(/[^/]+)?$', (b) => (Array.isArray(b.value) ? { ...b, value: b.value.map(inDeleting) } : inDeleting(b)));
    // A deleted build: gone from the builds list, still readable by id (marked deleted).
    const gone = (await list(`${p0.id}/_apis/build/builds`))[0]!;
    sim.patchResponses(`${p0.id}/_apis/build/builds$`, (b) => ({ ...b, value: b.value.filter((x: Json) => x.id !== gone.id), count: b.value.length - 1 }));
    sim.patchResponses(`${p0.id}/_apis/build/builds/${gone.id}$`, (b) => ({ ...b, deleted: true }));

    const selected = repos.filter((r) => r.defaultBranch && r.project.id !== deleting.id).map((r) => r.name).filter((_, i) => i % 2 === 0);
    config = parseAppConfig(yaml.dump({ resources: resources(selected) }), 'agreement.yml').config;
    blueprintOf = config.resources.map((r) => JSON.parse(r.port.entity.mappings.blueprint) as string);
    const org = parseOrganizationUrl(sim.orgUrl(), 'services');
    const target: OrgTarget = { client: new AdoClient(org, new PatAuth(sim.pat), { maxAttempts: 1 }) };

    // ---- what the resync produces ----
    const resyncSink = new RecordingSink();
    const summaries = await resyncOrganization({ config, target, sink: resyncSink, log: silentLogger, poolSize: 1, pageSize: 100 });
    for (const s of summaries) expect([s.kind, s.status, s.incomplete, s.error]).toEqual([s.kind, 'ok', [], undefined]);
    produced = config.resources.map(() => new Set<string>());
    for (const w of resyncSink.written) produced[w.resourceIndex]!.add(w.key);

    handler = new LiveEventHandler({ config, targets: [target], sink, catalog, log: silentLogger, pageSize: 100 });
  });

  afterAll(async () => {
    await handler?.close();
    await sim.close();
  });

  /**
   * Handles every candidate event of the kind's event types; returns the disagreements with the resync for that kind's
   * resources, and what its events wrote and deleted.
   */
  async function agreement(kind: string): Promise<{ violations: string[]; written: Set<string>; deleted: Set<string> }> {
    const indexes = config.resources.flatMap((r, i) => (r.kind === kind ? [i] : []));
    const types = new Set(getKind(kind)!.events!.subscriptions.map((s) => s.eventType));
    const violations: string[] = [];
    const written = new Set<string>();
    const deleted = new Set<string>();
    for (const { label, about, event } of candidates.filter((c) => types.has(c.event.eventType))) {
      const [w0, d0] = [sink.written.length, catalog.deleted.length];
      expect((await handler.handle(event)).status).toBe('handled');
      let named = false;
      for (const { resourceIndex, key } of sink.written.slice(w0)) {
        if (!indexes.includes(resourceIndex)) continue;
        named = true;
        written.add(key);
        if (!produced[resourceIndex]!.has(key)) violations.push(`${label}: ${event.eventType} wrote ${key}, which the resync does not produce`);
      }
      for (const key of catalog.deleted.slice(d0)) {
        const index = blueprintOf.indexOf(key.slice(0, key.indexOf('/')));
        if (!indexes.includes(index)) continue;
        named = true;
        deleted.add(key);
        if (produced[index]!.has(key)) violations.push(`${label}: ${event.eventType} deleted ${key}, which the resync produces`);
      }
      if (about.includes(kind) && !named) violations.push(`${label}: ${event.eventType} neither wrote nor deleted its ${kind}`);
    }
    for (const i of indexes) for (const key of produced[i]!) if (!written.has(key)) violations.push(`the resync produces ${key}, which no ${kind} event writes`);
    return { violations, written, deleted };
  }

  it.each(KINDS)('%s: an event writes only what the resync produces, deletes only what it does not, and each produced entity has its event', async (kind) => {
    const { violations, deleted } = await agreement(kind);
    expect(violations).toEqual([]);
    // Every filtered kind met an item its filters leave out (the repository kind lists every repository).
    if (kind !== 'repository') expect(deleted.size).toBeGreaterThan(0);
    if (kind === 'pull-request') {
      // The disabled repository's pull requests, closed ones outside the window and ones past the cap: all removed.
      const minMs = Date.now() - MIN_TIME_IN_DAYS * 86_400_000;
      const prs = config.resources.findIndex((r) => r.kind === 'pull-request');
      expect([...deleted].some((k) => k.startsWith(`pr/${disabled.id}/`))).toBe(true);
      expect(closedPullRequests.filter((p) => p.closedMs < minMs && deleted.has(p.key)).length).toBeGreaterThan(0);
      expect(closedPullRequests.filter((p) => p.closedMs >= minMs && !produced[prs]!.has(p.key) && deleted.has(p.key)).length).toBeGreaterThan(0);
    }
    if (kind === 'branch') expect([...deleted].some((k) => k.startsWith(`branch/${disabled.id}/`))).toBe(true);
  });
});
