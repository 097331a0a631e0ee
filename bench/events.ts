/**
 * Live-event throughput (issue 20): the real HTTP server and the in-process cluster (src/queue/runtime.ts) on real
 * Redis, the Azure DevOps simulator (every request delayed by --latency ms) and the Port simulator, all on loopback.
 *
 *   npm run bench:events
 *   node dist/bench/events.js [--latency 80] [--burst 2000] [--rate 100] [--seconds 30] [--concurrency 32] [--ado-concurrency 8] [--no-coalesce] [--no-sustained]
 *
 * (a) A burst of --burst valid events, a realistic mix (pull request updated, work item updated, git.push to a
 *     default branch; documented payloads of test/fixtures/ado-samples/events/ pointed at the simulator's real ids):
 *     accept rate (202s per second) and drain rate (events per second from the first POST until the job handling the
 *     last one completed; a job completes right after its entities were written to Port).
 * (b) --rate events per second for --seconds: latency from the 202 to the completion of the job handling the event
 *     (its own, or the queued job of its subject that covered it), p50/p99.
 * `--concurrency 2 --no-coalesce` measures the worker before issue 20 (webhook events ran at WORKER_CONCURRENCY, 2,
 * one job per event). Needs Redis on 127.0.0.1:6379 (REDIS_URL to change).
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { loadAppConfig } from '../src/config/appConfig.js';
import { loadSettings } from '../src/config/settings.js';
import { startCluster } from '../src/queue/runtime.js';
import { workerConnection } from '../src/queue/cluster.js';
import { buildServer } from '../src/server/app.js';
import { silentLogger } from '../src/observability/log.js';
import { startSimulatorThread } from './simulatorThread.js';

const ROOT = resolve(import.meta.dirname, '../..');
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = 'bench-events-secret-31415';
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- payloads of many shapes
/** A documented payload of test/fixtures/ado-samples/events/. */
const sample = (name: string): Json => JSON.parse(readFileSync(join(ROOT, 'test/fixtures/ado-samples', name), 'utf8').replace(/^\uFEFF/, '')) as Json;

const { values } = parseArgs({
  options: {
    latency: { type: 'string', default: '80' },
    burst: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '30' },
    concurrency: { type: 'string', default: '32' },
    /** ADO_CONCURRENCY of the worker: requests in flight per organization (default: the worker's own default, 8). */
    'ado-concurrency': { type: 'string' },
    'no-coalesce': { type: 'boolean', default: false },
    'no-sustained': { type: 'boolean', default: false },
  },
});
const latency = Number(values.latency);
const coalesce = !values['no-coalesce'];

// The simulators stand in for remote services: on a thread of their own, not on the worker's event loop.
const sims = await startSimulatorThread({
  ado: {
    pat: 'bench-events-pat-123456',
    faults: { latencyMs: latency },
    scale: { projects: 2, reposPerProject: 5, pullRequestsPerRepo: 10, workItemsPerProject: 100, pipelinesPerProject: 0, buildsPerPipeline: 0, releaseDefinitionsPerProject: 0, releasesPerDefinition: 0 },
  },
});
const sim = { orgUrl: () => sims.orgUrl, pat: sims.pat };
const port = sims.port;
const identifier = `bench-events-${process.pid}`;
const settings = loadSettings(
  {},
  {
    ADO_ORGANIZATION_URL: sim.orgUrl(),
    ADO_PERSONAL_ACCESS_TOKEN: sim.pat,
    ADO_FLAVOR: 'services',
    PORT_CLIENT_ID: port.clientId,
    PORT_CLIENT_SECRET: port.clientSecret,
    PORT_BASE_URL: port.url,
    INTEGRATION_IDENTIFIER: identifier,
    REDIS_URL: REDIS,
    WEBHOOK_SECRET: SECRET,
    PORT_APP_CONFIG: join(ROOT, 'mappings/examples/all-kinds.yml'),
    BLUEPRINTS_DIR: join(ROOT, 'blueprints'),
    WEBHOOK_CONCURRENCY: values.concurrency,
    WORKER_CONCURRENCY: '2',
    ...(values['ado-concurrency'] ? { ADO_CONCURRENCY: values['ado-concurrency'] } : {}),
    LOG_LEVEL: 'silent',
  },
);
const config = loadAppConfig(settings.configFile).config;
const cluster = await startCluster({ settings, config, log: silentLogger, workers: true });
const app = buildServer({ log: silentLogger, redis: cluster.producer, webhookQueue: cluster.webhookQueue, coalesceKeys: coalesce ? cluster.keys : undefined, queues: [cluster.webhookQueue], metrics: cluster.metrics, webhookSecret: SECRET });
await app.listen({ port: 0, host: '127.0.0.1' });
const hookUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/webhooks/azure-devops`;
const eventsConnection = workerConnection(REDIS);
const queueEvents = new QueueEvents('webhook-events', { connection: eventsConnection, prefix: cluster.keys.bull });
await queueEvents.waitUntilReady();
/** When each job completed (ms since the epoch), and who waits for which job. */
const completedAt = new Map<string, number>();
const waiting = new Map<string, Array<() => void>>();
/** When each job (run) became active, and how long its runs took: where a drain's time goes. */
const activeAt = new Map<string, number>();
const runMs: number[] = [];
let active = 0;
let peakActive = 0;
queueEvents.on('active', ({ jobId }) => {
  activeAt.set(jobId, Date.now());
  peakActive = Math.max(peakActive, ++active);
});
queueEvents.on('delayed', ({ jobId }) => {
  if (activeAt.delete(jobId)) active--;
});
queueEvents.on('completed', ({ jobId }) => {
  const started = activeAt.get(jobId);
  if (started !== undefined) {
    runMs.push(Date.now() - started);
    activeAt.delete(jobId);
    active--;
  }
  completedAt.set(jobId, Date.now());
  for (const w of waiting.get(jobId) ?? []) w();
  waiting.delete(jobId);
});
queueEvents.on('failed', ({ jobId, failedReason }) => console.error(`job ${jobId} failed: ${failedReason}`));
const completion = (jobId: string) =>
  new Promise<number>((r) => {
    const at = completedAt.get(jobId);
    if (at !== undefined) return r(at);
    waiting.set(jobId, [...(waiting.get(jobId) ?? []), () => r(completedAt.get(jobId)!)]);
  });

// Real ids from the simulator (the bench's own setup, at the simulator's latency).
async function ado(path: string): Promise<Json[]> {
  const res = await fetch(`${sim.orgUrl()}/${path}`, { headers: { authorization: `Basic ${Buffer.from(`:${sim.pat}`).toString('base64')}` } });
  return ((await res.json()) as { value: Json[] }).value;
}
const projects = await ado('_apis/projects');
const prs = (await Promise.all(projects.map((p) => ado(`${p.id}/_apis/git/pullrequests?searchCriteria.status=active`)))).flat();
const repos = (await ado('_apis/git/repositories')).filter((r) => r.defaultBranch && !r.isDisabled);
const heads = new Map<string, string>();
for (const r of repos) heads.set(r.id, (await ado(`${r.project.id}/_apis/git/repositories/${r.id}/refs?filter=heads/`)).find((x) => x.name === r.defaultBranch)?.objectId);
const workItems: Array<{ project: Json; id: number }> = [];
for (const p of projects) {
  const res = await fetch(`${sim.orgUrl()}/${p.id}/_apis/wit/wiql?api-version=7.1`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`:${sim.pat}`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query: `SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = '${p.name}'` }),
  });
  for (const w of ((await res.json()) as { workItems: Json[] }).workItems) workItems.push({ project: p, id: w.id as number });
}

let seq = 0;
let rng = 42;
const random = () => ((rng = (rng * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
const containers = (projectId?: string) => ({ account: { id: 'acct', baseUrl: `${sim.orgUrl()}/` }, ...(projectId ? { project: { id: projectId, baseUrl: `${sim.orgUrl()}/` } } : {}) });

/** One event of the mix: 45% pull request updated, 45% work item updated, 10% git.push to a default branch. */
function nextEvent(): Json {
  const roll = random();
  let e: Json;
  if (roll < 0.45) {
    const pr = pick(prs);
    e = sample('events/git.pullrequest.updated.json');
    e.resource = { ...e.resource, pullRequestId: pr.pullRequestId, repository: pr.repository, url: pr.url };
    e.resourceContainers = containers();
  } else if (roll < 0.9) {
    const wi = pick(workItems);
    e = sample('events/workitem.updated.json');
    e.resource = { ...e.resource, workItemId: wi.id, revision: { ...e.resource.revision, id: wi.id, fields: { ...e.resource.revision?.fields, 'System.TeamProject': wi.project.name } } };
    e.resourceContainers = containers(wi.project.id);
  } else {
    const repo = pick(repos);
    const head = heads.get(repo.id)!;
    e = sample('events/git.push.json');
    e.resource = { ...e.resource, repository: { ...e.resource.repository, id: repo.id, name: repo.name, url: repo.url, project: repo.project }, refUpdates: [{ name: repo.defaultBranch, oldObjectId: head, newObjectId: head }], url: repo.url };
    e.resourceContainers = containers(repo.project.id);
  }
  e.id = `bench-${process.pid}-${++seq}`;
  return e;
}

/** POSTs one event; resolves with when it was accepted and the job handling it. */
async function post(e: Json): Promise<{ acceptedAt: number; jobId: string }> {
  const res = await fetch(hookUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': SECRET }, body: JSON.stringify(e) });
  if (res.status !== 202) throw new Error(`event ${e.id}: HTTP ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { id: string };
  return { acceptedAt: Date.now(), jobId: body.id };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const adoRequests = () => sims.adoRequests();

console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GiB, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; node ${process.version}`);
console.log(`settings: ${latency} ms per Azure DevOps request, WEBHOOK_CONCURRENCY ${values.concurrency}, ADO_CONCURRENCY ${settings.orgConcurrency}, coalescing ${coalesce ? 'on' : 'off'}, 1 replica (server and workers in one process; the simulators on their own thread)`);
console.log(`subjects: ${prs.length} pull requests, ${workItems.length} work items, ${repos.length} repositories`);

// Warm up: blueprints, the jq processes, the Port token.
await completion((await post(nextEvent())).jobId);

// (a) burst
{
  const n = Number(values.burst);
  const events = Array.from({ length: n }, nextEvent);
  const before = await adoRequests();
  const t0 = Date.now();
  const accepted: Array<{ acceptedAt: number; jobId: string }> = [];
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < events.length) accepted.push(await post(events[next++]!));
  }));
  const tAccepted = Date.now();

  const jobs = new Set(accepted.map((a) => a.jobId));
  const done = Math.max(...(await Promise.all([...jobs].map(completion))));

  console.log(
    `(a) burst of ${n}: accepted in ${((tAccepted - t0) / 1000).toFixed(2)} s (${Math.round(n / ((tAccepted - t0) / 1000))} events/s); ` +
      `drained in ${((done - t0) / 1000).toFixed(2)} s (${Math.round(n / ((done - t0) / 1000))} events/s); ${jobs.size} jobs (${n - jobs.size} events coalesced); ` +
      `${(await adoRequests()) - before} Azure DevOps requests; a job's run p50 ${pct(runMs, 50)} ms, p99 ${pct(runMs, 99)} ms, at most ${peakActive} running at once`,
  );
}

// (b) sustained
if (!values['no-sustained']) {
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const total = rate * seconds;
  const t0 = Date.now();
  const latencies: number[] = [];
  const pending: Array<Promise<void>> = [];
  let jobs = new Set<string>();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      post(nextEvent()).then(async ({ acceptedAt, jobId }) => {
        jobs.add(jobId);
        latencies.push((await completion(jobId)) - acceptedAt);
      }),
    );
  }
  await Promise.all(pending);
  console.log(
    `(b) ${rate} events/s for ${seconds} s (${total} events, ${jobs.size} jobs): event accepted → entity written (its job completed) ` +
      `p50 ${pct(latencies, 50)} ms, p99 ${pct(latencies, 99)} ms, max ${Math.max(...latencies)} ms`,
  );
  jobs = new Set();
}

await app.close();
await queueEvents.close();
eventsConnection.disconnect();
await cluster.webhookQueue.obliterate({ force: true }).catch(() => undefined);
await cluster.close(1000);
const redis = new Redis(REDIS);
let cursor = '0';
do {
  const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `ado-sync:${identifier}:*`, 'COUNT', 1000);
  cursor = nextCursor;
  if (keys.length) await redis.del(...keys);
} while (cursor !== '0');
redis.disconnect();
await sims.close();
