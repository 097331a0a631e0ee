/**
 * Live events end to end: a documented service-hook payload (test/fixtures/ado-samples/events/, its ids pointed at
 * the simulator's data) is POSTed to the server, queued in Redis, handled by the cluster's webhook worker, and the Port
 * simulator ends with the entity created, updated or deleted. Real Redis, real jq, real HTTP over loopback.
 */
import { resolve } from 'node:path';
import { Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { loadAppConfig } from '../../src/config/appConfig.js';
import { loadSettings } from '../../src/config/settings.js';
import { startCluster, type Cluster } from '../../src/queue/runtime.js';
import { buildServer } from '../../src/server/app.js';
import { silentLogger } from '../../src/observability/log.js';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';
import { startPortSimulator, type PortSimulator } from '../simulators/port/index.js';
import { ROOT } from '../helpers/cli.js';
import { syncEnv } from '../helpers/env.js';
import { deleteKeys } from '../helpers/redisKeys.js';
import { sample } from '../helpers/samples.js';

const REDIS = 'redis://127.0.0.1:6379';
const SECRET = 'live-hook-secret-98765';
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- payloads of many shapes

describe('live events', () => {
  let sim: AdoSimulator;
  let port: PortSimulator;
  let cluster: Cluster;
  let app: FastifyInstance;
  let events: QueueEvents;
  let queue: Queue;
  let redis: Redis;
  /** BullMQ leaves connections it is handed open on close(); these are quit in afterAll. */
  let eventsConnection: Redis;
  let queueConnection: Redis;
  let hookUrl: string;
  let identifier: string;
  let seq = 0;

  beforeAll(async () => {
    sim = await startAdoSimulator({
      pat: 'live-pat-123456',
      scale: { projects: 2, reposPerProject: 2, pullRequestsPerRepo: 3, workItemsPerProject: 6, pipelinesPerProject: 1, buildsPerPipeline: 2, releaseDefinitionsPerProject: 1, releasesPerDefinition: 2 },
    });
    port = await startPortSimulator();
    identifier = `live-${process.pid}-${Date.now()}`;
    const env = syncEnv(sim, port, {
      INTEGRATION_IDENTIFIER: identifier,
      REDIS_URL: REDIS,
      WEBHOOK_SECRET: SECRET,
      PORT_APP_CONFIG: resolve(ROOT, 'mappings/examples/all-kinds.yml'),
      BLUEPRINTS_DIR: resolve(ROOT, 'blueprints'),
      WORKER_CONCURRENCY: '2',
      JQ_POOL_SIZE: '1',
    });
    const settings = loadSettings({}, env);
    const config = loadAppConfig(settings.configFile).config;
    cluster = await startCluster({ settings, config, log: silentLogger, workers: true });
    app = buildServer({ log: silentLogger, redis: cluster.producer, webhookQueue: cluster.webhookQueue, queues: [cluster.webhookQueue], webhookSecret: SECRET, webhookAuthUsername: 'port' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address() as { port: number };
    hookUrl = `http://127.0.0.1:${address.port}/webhooks/azure-devops`;
    redis = new Redis(REDIS, { maxRetriesPerRequest: null });
    eventsConnection = redis.duplicate();
    queueConnection = redis.duplicate();
    events = new QueueEvents('webhook-events', { connection: eventsConnection, prefix: cluster.keys.bull });
    queue = new Queue('webhook-events', { connection: queueConnection, prefix: cluster.keys.bull });
    await events.waitUntilReady();
  });

  afterAll(async () => {
    await app.close();
    await cluster.close(1000);
    await events.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await eventsConnection.quit();
    await queueConnection.quit();
    await deleteKeys(redis, `ado-sync:${identifier}:*`);
    await redis.quit();
    await sim.close();
    await port.close();
  });

  async function ado<T = Json>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
    const res = await fetch(`${sim.orgUrl()}/${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Basic ${Buffer.from(`:${sim.pat}`).toString('base64')}`, 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  }

  /** The documented sample with a fresh event id, its containers and URLs pointing at the simulated organization. */
  function event(name: string, projectId: string | undefined, resource: (r: Json) => Json): Json {
    const e = sample<Json>(`events/${name}.json`);
    e.id = `${e.id}-${++seq}`;
    e.resource = resource(e.resource);
    e.resourceContainers = { ...(e.resourceContainers ?? {}), account: { id: 'acct', baseUrl: `${sim.orgUrl()}/` } };
    if (projectId) e.resourceContainers.project = { id: projectId, baseUrl: `${sim.orgUrl()}/` };
    else delete e.resourceContainers.project;
    return e;
  }

  async function deliver(e: Json): Promise<Json> {
    const res = await fetch(hookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`port:${SECRET}`).toString('base64')}` },
      body: JSON.stringify(e),
    });
    expect(res.status).toBe(202);
    const job = await Job.fromId(queue, e.id as string);
    return (await job!.waitUntilFinished(events, 60_000)) as Json;
  }

  const projects = async () => (await ado<{ value: Json[] }>('_apis/projects')).value;

  async function aPullRequest(): Promise<Json> {
    const [p] = await projects();
    return (await ado<{ value: Json[] }>(`${p!.id}/_apis/git/pullrequests?searchCriteria.status=active`)).value[0]!;
  }

  const prEntityId = (pr: Json) => `${pr.repository.project.name}/${pr.repository.name}/${pr.pullRequestId}`.replace(/ /g, '');

  it('git.pullrequest.created / updated / merged: the entity follows the pull request as Azure DevOps has it now', async () => {
    const pr = await aPullRequest();
    const toPr = (r: Json) => ({ ...r, pullRequestId: pr.pullRequestId, repository: pr.repository, url: pr.url, title: 'title in the payload' });
    const created = await deliver(event('git.pullrequest.created', undefined, toPr));
    expect(created.status).toBe('handled');
    expect(port.entity('azureDevopsPullRequest', prEntityId(pr))?.title).toBe(pr.title);

    const unpatch = sim.patchResponses(`pullrequests/${pr.pullRequestId}$`, (b) => ({ ...b, title: 'Renamed in Azure DevOps' }));
    await deliver(event('git.pullrequest.updated', undefined, toPr));
    expect(port.entity('azureDevopsPullRequest', prEntityId(pr))?.title).toBe('Renamed in Azure DevOps');

    unpatch();
    // Completed just now, so within the resource's closed window; Azure DevOps then lists it among the repository's
    // recently completed pull requests too (the maxResults cap is checked on that listing).
    const closed = { status: 'completed', closedDate: new Date().toISOString() };
    const unpatch2 = sim.patchResponses(`pullrequests/${pr.pullRequestId}$`, (b) => ({ ...b, ...closed }));
    const unlist = sim.patchResponses('_apis/git/pullrequests$', (b) => ({ ...b, value: [{ ...pr, ...closed }, ...b.value], count: b.value.length + 1 }));
    await deliver(event('git.pullrequest.merged', undefined, toPr));
    expect(port.entity('azureDevopsPullRequest', prEntityId(pr))?.properties.status).toBe('completed');
    unpatch2();
    unlist();
  });

  it('a pull request of a disabled repository is removed and not written, as the resync skips such repositories (issue 17)', async () => {
    const repo = (await ado<{ value: Json[] }>('_apis/git/repositories')).value.find((r) => r.isDisabled)!;
    const pr = (await ado<{ value: Json[] }>(`${repo.project.id}/_apis/git/pullrequests?searchCriteria.status=active&searchCriteria.repositoryId=${repo.id}`)).value[0]!;
    const toPr = (r: Json) => ({ ...r, pullRequestId: pr.pullRequestId, repository: pr.repository, url: pr.url });
    // Written while the repository was still enabled.
    const enabled = sim.patchResponses(`_apis/git/repositories/${repo.id}$`, (b) => ({ ...b, isDisabled: false }));
    await deliver(event('git.pullrequest.created', undefined, toPr));
    enabled();
    expect(port.entity('azureDevopsPullRequest', prEntityId(pr))).toBeDefined();
    const writes = port.requestsTo('POST', /\/entities(\/bulk)?$/).length;
    const result = await deliver(event('git.pullrequest.updated', undefined, toPr));
    const outcome = result.resources.find((r: Json) => r.kind === 'pull-request');
    expect([outcome.upserted, outcome.deleted]).toEqual([0, 1]);
    expect(port.entity('azureDevopsPullRequest', prEntityId(pr))).toBeUndefined();
    expect(port.requestsTo('POST', /\/entities(\/bulk)?$/).length).toBe(writes);
  });

  it('two events on one pull request handled out of order leave the newer state', async () => {
    const pr = await aPullRequest();
    const toPr = (title: string) => (r: Json) => ({ ...r, pullRequestId: pr.pullRequestId, repository: pr.repository, url: pr.url, title });
    const older = event('git.pullrequest.updated', undefined, toPr('first title'));
    const newer = event('git.pullrequest.updated', undefined, toPr('second title'));
    const unpatch = sim.patchResponses(`pullrequests/${pr.pullRequestId}$`, (b) => ({ ...b, title: 'second title' }));
    // The newer delivery is handled first, then the older one; both at once as well.
    await deliver(newer);
    await deliver(older);
    expect(port.entity('azureDevopsPullRequest', prEntityId(pr))?.title).toBe('second title');
    const again = [event('git.pullrequest.updated', undefined, toPr('first title')), event('git.pullrequest.updated', undefined, toPr('second title'))];
    await Promise.all(again.map(deliver));
    expect(port.entity('azureDevopsPullRequest', prEntityId(pr))?.title).toBe('second title');
    unpatch();
  });

  async function aWorkItem(): Promise<{ project: Json; item: Json }> {
    const [project] = await projects();
    const wiql = await ado<{ workItems: Json[] }>(`${project!.id}/_apis/wit/wiql?api-version=7.1`, {
      method: 'POST',
      body: { query: `SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = '${project!.name}' AND [System.State] <> 'Closed' AND [System.State] <> 'Done' AND [System.State] <> 'Removed' ORDER BY [System.Id]` },
    });
    const id = wiql.workItems[0]!.id as number;
    const item = (await ado<{ value: Json[] }>(`${project!.id}/_apis/wit/workitems?ids=${id}&$expand=All`)).value[0]!;
    return { project: project!, item };
  }

  it('workitem.created / updated / commented / deleted / restored, the deleted one matched by its project', async () => {
    const { project, item } = await aWorkItem();
    const entityId = `${project.id}/${item.id}`;
    const asItem = (r: Json) => ({ ...r, id: item.id, url: item.url, fields: { ...r.fields, 'System.TeamProject': project.name } });
    await deliver(event('workitem.created', project.id, asItem));
    expect(port.entity('azureDevopsWorkItem', entityId)?.title).toBe(item.fields['System.Title']);

    const unpatch = sim.patchResponses('/wit/workitems$', (b) => ({ ...b, value: b.value.map((w: Json) => (w?.id === item.id ? { ...w, fields: { ...w.fields, 'System.Title': 'Edited title' } } : w)) }));
    // workitem.updated carries an update: its own id, the item in workItemId and revision.
    await deliver(event('workitem.updated', project.id, (r) => ({ ...r, id: 5, workItemId: item.id, revision: { ...r.revision, id: item.id, url: item.url } })));
    expect(port.entity('azureDevopsWorkItem', entityId)?.title).toBe('Edited title');
    unpatch();
    await deliver(event('workitem.commented', project.id, asItem));
    expect(port.entity('azureDevopsWorkItem', entityId)?.title).toBe(item.fields['System.Title']);

    const deleted = await deliver(event('workitem.deleted', project.id, asItem));
    expect(deleted.resources[0].deleted).toBe(1);
    expect(port.entity('azureDevopsWorkItem', entityId)).toBeUndefined();

    await deliver(event('workitem.restored', project.id, asItem));
    expect(port.entity('azureDevopsWorkItem', entityId)?.title).toBe(item.fields['System.Title']);
  });

  it("an item that no longer matches the selector's WIQL is removed", async () => {
    const { project, item } = await aWorkItem();
    const entityId = `${project.id}/${item.id}`;
    const asItem = (r: Json) => ({ ...r, id: item.id, url: item.url });
    await deliver(event('workitem.created', project.id, asItem));
    expect(port.entity('azureDevopsWorkItem', entityId)).toBeDefined();
    const unpatch = sim.patchResponses('/wit/wiql$', (b) => ({ ...b, workItems: [] }));
    await deliver(event('workitem.updated', project.id, (r) => ({ ...r, workItemId: item.id, revision: { ...r.revision, id: item.id } })));
    unpatch();
    expect(port.entity('azureDevopsWorkItem', entityId)).toBeUndefined();
  });

  it('git.push: moved branches are read back, deleted ones removed', async () => {
    const repos = (await ado<{ value: Json[] }>('_apis/git/repositories')).value.filter((r) => r.defaultBranch);
    const repo = repos[0]!;
    const refs = (await ado<{ value: Json[] }>(`${repo.project.id}/_apis/git/repositories/${repo.id}/refs?filter=heads/`)).value;
    const main = refs.find((r) => r.name === repo.defaultBranch)!;
    const extra = { name: 'refs/heads/feature/live-event', objectId: 'a'.repeat(40) };
    const unpatch = sim.patchResponses(`repositories/${repo.id}/refs$`, (b) => ({ ...b, value: [...b.value, extra], count: b.count + 1 }));
    const push = (updates: Json[]) =>
      event('git.push', repo.project.id, (r) => ({ ...r, repository: { ...r.repository, id: repo.id, name: repo.name, url: repo.url, project: repo.project }, refUpdates: updates, url: repo.url }));
    await deliver(push([{ name: main.name, oldObjectId: 'b'.repeat(40), newObjectId: main.objectId }, { name: extra.name, oldObjectId: '0'.repeat(40), newObjectId: extra.objectId }]));
    expect(port.entity('azureDevopsBranch', `${repo.id}/${main.name.replace('refs/heads/', '')}`)?.properties.commit).toBe(main.objectId);
    expect(port.entity('azureDevopsBranch', `${repo.id}/feature/live-event`)?.properties.isDefault).toBe(false);
    unpatch();
    const result = await deliver(push([{ name: extra.name, oldObjectId: extra.objectId, newObjectId: '0'.repeat(40) }]));
    expect(result.resources.find((r: Json) => r.kind === 'branch').deleted).toBe(1);
    expect(port.entity('azureDevopsBranch', `${repo.id}/feature/live-event`)).toBeUndefined();
  });

  it('git.push in a disabled repository removes its branches and writes none, as the resync skips such repositories (issue 17)', async () => {
    const repo = (await ado<{ value: Json[] }>('_apis/git/repositories')).value.find((r) => r.isDisabled)!;
    const refs = (await ado<{ value: Json[] }>(`${repo.project.id}/_apis/git/repositories/${repo.id}/refs?filter=heads/`)).value;
    const main = refs.find((r) => r.name === repo.defaultBranch)!;
    const entityId = `${repo.id}/${main.name.replace('refs/heads/', '')}`;
    const push = () =>
      event('git.push', repo.project.id, (r) => ({
        ...r,
        repository: { ...r.repository, id: repo.id, name: repo.name, url: repo.url, project: repo.project },
        refUpdates: [{ name: main.name, oldObjectId: 'b'.repeat(40), newObjectId: main.objectId }],
        url: repo.url,
      }));
    // Written while the repository was still enabled.
    const enabled = sim.patchResponses(`_apis/git/repositories/${repo.id}$`, (b) => ({ ...b, isDisabled: false }));
    await deliver(push());
    enabled();
    expect(port.entity('azureDevopsBranch', entityId)).toBeDefined();
    const writes = port.requestsTo('POST', /azureDevopsBranch\/entities(\/bulk)?$/).length;
    const result = await deliver(push());
    const outcome = result.resources.find((r: Json) => r.kind === 'branch');
    expect([outcome.upserted, outcome.deleted]).toEqual([0, 1]);
    expect(port.entity('azureDevopsBranch', entityId)).toBeUndefined();
    expect(port.requestsTo('POST', /azureDevopsBranch\/entities(\/bulk)?$/).length).toBe(writes);
  });

  it('git.push: files changed by any commit of the push are read back at the head; deleted ones removed', async () => {
    const repos = (await ado<{ value: Json[] }>('_apis/git/repositories')).value.filter((r) => r.defaultBranch);
    const pattern = /^(package\.json|services\/[^/]+\/package\.json|deploy\/.*\.yaml)$/;
    const repo = repos.find((r) => sim.dataset.files(undefined, r.id).filter((f) => pattern.test(f.path.replace(/^\//, ''))).length >= 2)!;
    const matching = sim.dataset.files(undefined, repo.id).map((f) => f.path.replace(/^\//, '')).filter((p) => pattern.test(p));
    const [first, second] = matching as [string, string];
    // Two commits: the first touched `first`, the head commit `second` and a file no mapping wants.
    const changes = [
      { item: { path: `/${first}`, gitObjectType: 'blob' }, changeType: 'edit' },
      { item: { path: `/${second}`, gitObjectType: 'blob' }, changeType: 'add' },
      { item: { path: '/docs/notes.md', gitObjectType: 'blob' }, changeType: 'edit' },
      { item: { path: '/deploy', gitObjectType: 'tree', isFolder: true }, changeType: 'add' },
    ];
    const unpatch = sim.patchResponses(`repositories/${repo.id}/diffs/commits$`, (b) => ({ ...b, changes }));
    const push = () =>
      event('git.push', repo.project.id, (r) => ({
        ...r,
        commits: [{ ...r.commits[0], commitId: 'c'.repeat(40) }, { ...r.commits[0], commitId: 'd'.repeat(40) }],
        repository: { ...r.repository, id: repo.id, name: repo.name, url: repo.url, project: repo.project },
        refUpdates: [{ name: repo.defaultBranch, oldObjectId: 'b'.repeat(40), newObjectId: 'd'.repeat(40) }],
        url: repo.url,
      }));
    const result = await deliver(push());
    expect(result.resources.find((r: Json) => r.kind === 'file').upserted).toBe(2);
    for (const p of [first, second]) expect(port.entity('azureDevopsFile', `${repo.id}/${p}`)?.properties.path).toBe(p);
    expect(port.entity('azureDevopsFile', `${repo.id}/docs/notes.md`)).toBeUndefined();

    // A later push deletes `first`: Azure DevOps no longer has it at the head, so its entity goes.
    unpatch();
    const unpatch2 = sim.patchResponses(`repositories/${repo.id}/diffs/commits$`, (b) => ({ ...b, changes: [{ item: { path: `/${first}`, gitObjectType: 'blob' }, changeType: 'delete' }] }));
    sim.setFaults({ failPaths: [{ pattern: `repositories/${repo.id}/items$`, status: 404 }] });
    try {
      const removed = await deliver(push());
      expect(removed.resources.find((r: Json) => r.kind === 'file').deleted).toBe(1);
    } finally {
      sim.setFaults({});
      unpatch2();
    }
    expect(port.entity('azureDevopsFile', `${repo.id}/${first}`)).toBeUndefined();
    expect(port.entity('azureDevopsFile', `${repo.id}/${second}`)).toBeDefined();
  });

  it('build.complete, run-state-changed and stage-state-changed refresh the build, the run and its stages', async () => {
    const [project] = await projects();
    const build = (await ado<{ value: Json[] }>(`${project!.id}/_apis/build/builds`)).value[0]!;
    await deliver(event('build.complete', project!.id, (r) => ({ ...r, id: build.id, url: build.url, definition: { ...r.definition, id: build.definition.id } })));
    expect(port.entity('azureDevopsBuild', String(build.id))?.title).toBe(build.buildNumber);

    const pipelineId = build.definition.id as number;
    const run = (r: Json) => ({ ...r, run: { ...r.run, id: build.id, url: `${sim.orgUrl()}/${project!.id}/_apis/pipelines/${pipelineId}/runs/${build.id}` }, pipeline: { ...r.pipeline, id: pipelineId } });
    await deliver(event('ms.vss-pipelines.run-state-changed-event', project!.id, run));
    expect(port.entity('azureDevopsPipelineRun', `${project!.id}-${pipelineId}-${build.id}`)).toBeDefined();

    const timeline = await ado<{ records: Json[] }>(`${project!.id}/_apis/build/builds/${build.id}/timeline`);
    const stages = timeline.records.filter((r) => r.type === 'Stage');
    expect(stages.length).toBeGreaterThan(0);
    await deliver(event('ms.vss-pipelines.stage-state-changed-event', project!.id, run));
    for (const s of stages) expect(port.entity('azureDevopsPipelineStage', `${project!.id}-${build.id}-${s.id}`)?.title).toBe(s.name);
  });

  it('deployment-completed refreshes the deployments of that release stage and the release', async () => {
    const [project] = await projects();
    const deployments = (await ado<{ value: Json[] }>(`${project!.id}/_apis/release/deployments`)).value;
    const d = deployments[0]!;
    const e = event('ms.vss-release.deployment-completed-event', undefined, (r) => ({
      ...r,
      environment: { ...r.environment, releaseId: d.release.id, definitionEnvironmentId: d.definitionEnvironmentId, release: { ...r.environment.release, id: d.release.id } },
      project: { id: project!.id, name: project!.name },
    }));
    const result = await deliver(e);
    const same = deployments.filter((x) => x.release.id === d.release.id && x.definitionEnvironmentId === d.definitionEnvironmentId);
    expect(result.resources.find((r: Json) => r.kind === 'release-deployment').upserted).toBe(same.length);
    for (const x of same) expect(port.entity('azureDevopsReleaseDeployment', String(x.id))).toBeDefined();
    expect(port.entity('azureDevopsRelease', `${project!.id}/${d.release.id}`)).toBeDefined();
  });

  it('event types without a documented sample: repository created/renamed/deleted, release created, deployment started, job state', async () => {
    const [project] = await projects();
    // Envelopes built like the documented ones (same envelope, the resource as the service describes it).
    const envelope = (eventType: string, publisherId: string, resource: Json): Json => ({
      ...event('build.complete', project!.id, () => resource),
      eventType,
      publisherId,
    });
    const repo = (await ado<{ value: Json[] }>('_apis/git/repositories')).value.find((r) => r.defaultBranch)!;
    await deliver(envelope('git.repo.created', 'tfs', { repository: { id: repo.id, name: repo.name, url: repo.url, project: repo.project } }));
    expect(port.entity('azureDevopsRepository', repo.id)?.title).toBe(repo.name);
    const unpatch = sim.patchResponses(`_apis/git/repositories/${repo.id}$`, (b) => ({ ...b, name: 'renamed-repo' }));
    await deliver(envelope('git.repo.renamed', 'tfs', { repository: { id: repo.id, name: repo.name, url: repo.url, project: repo.project } }));
    unpatch();
    expect(port.entity('azureDevopsRepository', repo.id)?.title).toBe('renamed-repo');
    const gone = await deliver(envelope('git.repo.deleted', 'tfs', { repository: { id: repo.id, name: 'renamed-repo', url: repo.url, project: repo.project } }));
    expect(gone.resources.find((r: Json) => r.kind === 'repository').deleted).toBe(1);
    expect(port.entity('azureDevopsRepository', repo.id)).toBeUndefined();

    const release = (await ado<{ value: Json[] }>(`${project!.id}/_apis/release/releases`)).value[0]!;
    await deliver(envelope('ms.vss-release.release-created-event', 'rm', { release: { id: release.id, name: release.name }, project: { id: project!.id, name: project!.name } }));
    expect(port.entity('azureDevopsRelease', `${project!.id}/${release.id}`)?.title).toBe(release.name);

    const d = (await ado<{ value: Json[] }>(`${project!.id}/_apis/release/deployments`)).value.at(-1)!;
    await deliver(envelope('ms.vss-release.deployment-started-event', 'rm', { environment: { releaseId: d.release.id, definitionEnvironmentId: d.definitionEnvironmentId }, release: { id: d.release.id }, project: { id: project!.id } }));
    expect(port.entity('azureDevopsReleaseDeployment', String(d.id))).toBeDefined();

    const build = (await ado<{ value: Json[] }>(`${project!.id}/_apis/build/builds`)).value.at(-1)!;
    const stages = (await ado<{ records: Json[] }>(`${project!.id}/_apis/build/builds/${build.id}/timeline`)).records.filter((r) => r.type === 'Stage');
    await deliver(envelope('ms.vss-pipelines.job-state-changed-event', 'pipelines', { job: { id: 'j1', state: 'completed' }, stage: { id: stages[0]?.id }, run: { id: build.id }, pipeline: { id: build.definition.id } }));
    for (const st of stages) expect(port.entity('azureDevopsPipelineStage', `${project!.id}-${build.id}-${st.id}`)).toBeDefined();
  });

  it('advanced-security alert events: read back from the advsec host; an alert leaving the selector criteria is removed', async () => {
    const repos = (await ado<{ value: Json[] }>('_apis/git/repositories')).value.filter((r) => r.defaultBranch);
    let found: { repo: Json; alert: Json } | undefined;
    for (const repo of repos) {
      const res = await fetch(`${sim.orgUrl()}/${repo.project.id}/_apis/alert/repositories/${repo.id}/alerts?api-version=7.2-preview.1`, {
        headers: { authorization: `Basic ${Buffer.from(`:${sim.pat}`).toString('base64')}` },
      });
      const active = res.status === 200 ? ((await res.json()) as { value: Json[] }).value.find((a) => a.state === 'active') : undefined;
      if (active) {
        found = { repo, alert: active };
        break;
      }
    }
    const { repo, alert } = found!;
    const alertEvent = (eventType: string) => ({
      ...event('build.complete', repo.project.id, () => ({ alertId: alert.alertId, repositoryId: repo.id, state: 'active', severity: alert.severity, alertType: alert.alertType })),
      eventType,
      publisherId: 'advsec',
    });
    const entityId = `${repo.id}:${alert.alertId}`;
    await deliver(alertEvent('ms.vss-alerts.alert-created-event'));
    expect(port.entity('azureDevopsAdvancedSecurityAlert', entityId)).toBeDefined();
    // Fixed since: the resource's criteria sync active and dismissed alerts only.
    const unpatch = sim.patchResponses(`alerts/${alert.alertId}$`, (b) => ({ ...b, state: 'fixed' }));
    const result = await deliver(alertEvent('ms.vss-alerts.alert-state-changed-event'));
    unpatch();
    expect(result.resources.find((r: Json) => r.kind === 'advanced-security-alert').deleted).toBe(1);
    expect(port.entity('azureDevopsAdvancedSecurityAlert', entityId)).toBeUndefined();
    // Reopened: back in the catalog.
    await deliver(alertEvent('ms.vss-alerts.alert-updated-event'));
    expect(port.entity('azureDevopsAdvancedSecurityAlert', entityId)).toBeDefined();
  });

  it('ignores events of organizations that are not configured, and event types no configured kind handles', async () => {
    const pr = await aPullRequest();
    const before = port.requestsTo('POST', /entities/).length;
    const foreign = event('git.pullrequest.created', undefined, (r) => ({ ...r, pullRequestId: pr.pullRequestId, url: 'https://dev.azure.com/someone-else/_apis/git/pullrequests/1' }));
    foreign.resourceContainers.account.baseUrl = 'https://dev.azure.com/someone-else/';
    expect((await deliver(foreign)).reason).toBe('organization not configured');
    const unknown = { ...event('build.complete', undefined, (r) => r), eventType: 'tfvc.checkin' };
    expect((await deliver(unknown)).status).toBe('ignored');
    expect(port.requestsTo('POST', /entities/).length).toBe(before);
  });

  it('a live delete leaves alone an entity another datasource wrote', async () => {
    const { project, item } = await aWorkItem();
    const entityId = `${project.id}/${item.id}`;
    await deliver(event('workitem.created', project.id, (r) => ({ ...r, id: item.id, url: item.url })));
    // Then rewritten by someone else (another User-Agent, so another datasource): no longer ours to delete.
    port.store.upsertEntity('azureDevopsWorkItem', { identifier: entityId, title: 'by hand', properties: {}, relations: { project: project.id } }, { upsert: true, merge: false, createMissingRelatedEntities: true, validationOnly: false }, 'someone/1.0');
    const result = await deliver(event('workitem.deleted', project.id, (r) => ({ ...r, id: item.id })));
    expect(result.resources[0].notOwned).toBe(1);
    expect(port.entity('azureDevopsWorkItem', entityId)?.title).toBe('by hand');
  });
});
