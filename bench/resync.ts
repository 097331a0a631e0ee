/**
 * Resync at scale: the real CLI (`node dist/src/cli/main.js resync`) as a child process against the Azure DevOps
 * simulator (every request delayed by --latency ms) and the Port simulator, both in this process on loopback.
 *
 *   npm run bench:resync      resync-S and resync-L side by side, each followed by resync-unchanged (Redis hashes)
 *   npm run bench:throttled   a request-heavy organization behind a rate throttle (429 + Retry-After)
 *   node dist/bench/resync.js --sizes S,L --scenarios resync,unchanged,throttled [--latency 20] [--rate 50]
 *
 * Figures per run: wall time, items/s, Azure DevOps requests vs the simulator's minimumRequests for the configured
 * kinds, peak RSS of the worker (VmHWM of the node process, and the sampled peak of node + its jq children), catalog
 * writes (entities sent to Port in bulk upserts, bulk requests). Needs Redis on 127.0.0.1:6379 (REDIS_URL to change).
 *
 * Both simulators share the machine's cores with the worker. So that generating pages does not compete with the worker,
 * a fetch-only pass first fills the Azure DevOps simulator's response cache (gzipped, served gzipped as the real service
 * does); the timed run then reads every page from it (--no-response-cache to generate pages during the run instead).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import yaml from 'js-yaml';
import { loadAppConfig, type ResourceConfig } from '../src/config/appConfig.js';
import { fetchKind, getKind } from '../src/kinds/registry.js';
import type { RawItem, Selector } from '../src/kinds/types.js';
import { fetchContext } from './fetchContext.js';
import { children, cpuTimes, readStatus } from './procStats.js';
import { startAdoSimulator, type AdoScale, type AdoSimulator, type MinimumRequests } from '../test/simulators/ado/index.js';
import { startPortSimulator, type PortSimulator } from '../test/simulators/port/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const CONFIG = join(ROOT, 'bench/resync-config.yml');

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: 'S,L' },
    scenarios: { type: 'string', default: 'resync,unchanged' },
    latency: { type: 'string', default: '20' },
    rate: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '8' },
    /** ADO_MAX_CONCURRENT_RESOURCES of the worker (default: the worker's own default). */
    'max-concurrent-resources': { type: 'string' },
    'mapping-sample': { type: 'string', default: '10000' },
    /** NODE_OPTIONS of the worker (default: the Helm chart's `nodeOptions`, as the pods run). */
    'worker-node-options': { type: 'string' },
    /** Node flags not allowed in NODE_OPTIONS, before the CLI path, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
    'worker-node-args': { type: 'string', default: '' },
    /**
     * Serve every data page from the simulator's response cache, filled by a fetch-only pass before the timed run, so
     * the simulator's own CPU (generating and serializing pages) does not compete with the worker for the cores.
     */
    'no-response-cache': { type: 'boolean', default: false },
    /** Directory for a CPU profile of this process (both simulators) during each timed run. */
    'profile-simulators': { type: 'string', default: '' },
    /** Skip the mapping-bound and pipeline-floor measurements (quick runs). */
    'no-mapping-bound': { type: 'boolean', default: false },
  },
});
/** The pods' NODE_OPTIONS: the chart's `nodeOptions` value. */
function chartNodeOptions(): string {
  const chart = yaml.load(readFileSync(join(ROOT, 'helm/ado-catalog-sync/values.yaml'), 'utf8')) as { nodeOptions?: string };
  return chart.nodeOptions ?? '';
}
const WORKER_NODE_OPTIONS = values['worker-node-options'] ?? chartNodeOptions();
const LATENCY = Number(values.latency);
const RATE = Number(values.rate);
const CONCURRENCY = Number(values.concurrency);
const SAMPLE = Number(values['mapping-sample']);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const scenarios = new Set(values.scenarios.split(','));

/** resync-L: 20 projects, 2,000 repositories, ~200k pull requests, 400k builds, 100k work items, the rest in proportion. */
const SIZES: Record<string, Partial<AdoScale>> = {
  L: {
    projects: 20,
    reposPerProject: 100,
    pullRequestsPerRepo: 106,
    branchesPerRepo: 5,
    teamsPerProject: 5,
    pipelinesPerProject: 20,
    buildsPerPipeline: 1000,
    workItemsPerProject: 5000,
    environmentsPerProject: 3,
    releaseDefinitionsPerProject: 10,
    releasesPerDefinition: 50,
  },
  /** One tenth of L per project (same 20 projects, so the same fan-out). */
  S: {
    projects: 20,
    reposPerProject: 10,
    pullRequestsPerRepo: 106,
    branchesPerRepo: 5,
    teamsPerProject: 5,
    pipelinesPerProject: 2,
    buildsPerPipeline: 1000,
    workItemsPerProject: 500,
    environmentsPerProject: 3,
    releaseDefinitionsPerProject: 1,
    releasesPerDefinition: 50,
  },
  /** Throttled: many small lists (one refs request per repository), few items, so the request rate is the bound. */
  T: {
    projects: 20,
    reposPerProject: 50,
    pullRequestsPerRepo: 2,
    branchesPerRepo: 3,
    teamsPerProject: 2,
    pipelinesPerProject: 2,
    buildsPerPipeline: 10,
    workItemsPerProject: 200,
    environmentsPerProject: 1,
    releaseDefinitionsPerProject: 1,
    releasesPerDefinition: 5,
  },
};

const config = loadAppConfig(CONFIG).config;
const KINDS = [...new Set(config.resources.map((r) => r.kind))];

const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

interface RunFigures {
  name: string;
  code: number | null;
  wallS: number;
  adoRequests: number;
  adoThrottled: number;
  minimum: MinimumRequests;
  peakRssMb: number;
  peakTreeRssMb: number;
  bulkRequests: number;
  entitiesSent: number;
  /** CPU seconds: the worker (node, and its reaped jq children), this process (both simulators) and Redis. */
  cpu: { worker: number; workerMainThread: number; jq: number; simulators: number; redis: number };
  entitiesInPort: number;
  items: number;
  summary: string[];
}

/** Tallies Port writes and drops answered requests from the simulator's log, so a large run does not keep every body. */
function portTally(port: PortSimulator) {
  const t = { bulkRequests: 0, entitiesSent: 0, singleWrites: 0 };
  const drain = () => {
    const pending = [];
    for (const r of port.requests) {
      if (r.status === 0) {
        pending.push(r);
        continue;
      }
      if (r.method === 'POST' && /\/entities\/bulk$/.test(r.path)) {
        t.bulkRequests++;
        const list = (r.body as { entities?: unknown[] } | undefined)?.entities;
        t.entitiesSent += Array.isArray(list) ? list.length : 0;
      } else if (r.method === 'POST' && /\/blueprints\/[^/]+\/entities$/.test(r.path)) {
        t.singleWrites++;
        t.entitiesSent++;
      }
    }
    port.requests.length = 0;
    port.requests.push(...pending);
  };
  return { t, drain };
}

/** CPU profile of this process (inspector), written as <dir>/<name>.cpuprofile for Chrome DevTools. */
async function startProfile(): Promise<{ stop: (name: string) => Promise<string> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(name) {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      const file = join(values['profile-simulators'], `${name.replace(/[^\w.-]+/g, '_')}.cpuprofile`);
      mkdirSync(values['profile-simulators'], { recursive: true });
      writeFileSync(file, JSON.stringify(profile));
      return file;
    },
  };
}

/** CPU seconds Redis has used since it started (INFO cpu), to count the state store's share of a run. */
async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_sys') + field('used_cpu_user');
}

async function runResync(name: string, ado: AdoSimulator, port: PortSimulator, redis: Redis, identifier: string): Promise<RunFigures> {
  const adoBefore = ado.requests.length;
  const { t, drain } = portTally(port);
  drain();
  t.bulkRequests = 0;
  t.entitiesSent = 0;
  t.singleWrites = 0;
  const logFile = join(mkdtempSync(join(tmpdir(), 'bench-resync-')), `${name.replace(/[^\w.-]+/g, '_')}.log`);
  const started = performance.now();
  const child = spawn(process.execPath, [...values['worker-node-args'].split(' ').filter(Boolean), CLI, 'resync', '--config', CONFIG], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      JQ_PATH: process.env.JQ_PATH ?? '/usr/bin/jq',
      ADO_ORGANIZATION_URL: ado.orgUrl(),
      ADO_PERSONAL_ACCESS_TOKEN: ado.pat,
      ADO_FLAVOR: 'services',
      ADO_CONCURRENCY: String(CONCURRENCY),
      ...(values['max-concurrent-resources'] ? { ADO_MAX_CONCURRENT_RESOURCES: values['max-concurrent-resources'] } : {}),
      PORT_CLIENT_ID: port.clientId,
      PORT_CLIENT_SECRET: port.clientSecret,
      PORT_BASE_URL: port.url,
      INTEGRATION_IDENTIFIER: identifier,
      REDIS_URL,
      LOG_LEVEL: 'info',
      ...(WORKER_NODE_OPTIONS ? { NODE_OPTIONS: WORKER_NODE_OPTIONS } : {}),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const out = createWriteStream(logFile);
  const summary: string[] = [];
  let buf = '';
  child.stderr.on('data', (d: Buffer) => {
    out.write(d);
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (/"level":(40|50)/.test(line) || /^\s*\S+.*(raw|written|stale|summary|owned)/i.test(line)) summary.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
    }
  });
  let peakTree = 0;
  let peakHwm = 0;
  const pid = child.pid as number;
  const simCpu0 = process.cpuUsage();
  const redisCpu0 = await redisCpuSeconds(redis);
  let workerCpu = { self: 0, children: 0 };
  let mainThreadCpu = 0;
  const liveJq = new Map<number, number>();
  const sample = () => {
    const s = readStatus(pid);
    if (!s) return;
    workerCpu = cpuTimes(pid) ?? workerCpu;
    mainThreadCpu = cpuTimes(pid, pid)?.self ?? mainThreadCpu;
    for (const c of children(pid)) liveJq.set(c, cpuTimes(c)?.self ?? liveJq.get(c) ?? 0);
    peakHwm = Math.max(peakHwm, s.hwm);
    let tree = s.rss;
    for (const c of children(pid)) tree += readStatus(c)?.rss ?? 0;
    peakTree = Math.max(peakTree, tree);
  };
  const sampler = setInterval(sample, 100);
  let lastProgress = performance.now();
  const progress = setInterval(() => {
    drain();
    if (performance.now() - lastProgress >= 10_000) {
      lastProgress = performance.now();
      const s = readStatus(pid);
      log(`${name}: ${fmt((performance.now() - started) / 1000, 0)} s, ADO requests ${fmt(ado.requests.length - adoBefore)}, entities sent ${fmt(t.entitiesSent)}, worker RSS ${fmt((s?.rss ?? 0) / 1024)} MB`);
    }
  }, 1000);
  const profiler = values['profile-simulators'] ? await startProfile() : undefined;
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  const wallS = (performance.now() - started) / 1000;
  const simCpu = process.cpuUsage(simCpu0);
  const redisCpu = (await redisCpuSeconds(redis)) - redisCpu0;
  if (profiler) log(`${name}: simulators' CPU profile ${await profiler.stop(name)}`);
  clearInterval(sampler);
  clearInterval(progress);
  out.end();
  drain();
  const adoEntries = ado.requests.slice(adoBefore);
  const entitiesInPort = [...port.blueprints.keys()].reduce((n, bp) => n + port.entities(bp).length, 0);
  const minimum = ado.minimumRequests(KINDS);
  const items = Object.values(minimum.items).reduce((a, b) => a + b, 0);
  log(`${name}: exit ${code} in ${fmt(wallS, 1)} s (worker log ${logFile})`);
  return {
    name,
    code,
    wallS,
    adoRequests: adoEntries.length,
    adoThrottled: adoEntries.filter((e) => e.status === 429).length,
    minimum,
    peakRssMb: peakHwm / 1024,
    peakTreeRssMb: peakTree / 1024,
    bulkRequests: t.bulkRequests,
    entitiesSent: t.entitiesSent,
    // jq children reaped by the worker are in its cutime; ones still alive at the last sample are added.
    cpu: { worker: workerCpu.self, workerMainThread: mainThreadCpu, jq: Math.max(workerCpu.children, [...liveJq.values()].reduce((a, b) => a + b, 0)), simulators: (simCpu.user + simCpu.system) / 1e6, redis: redisCpu },
    entitiesInPort,
    items,
    summary,
  };
}

/**
 * The pull-request window (`searchCriteria.minTime` = now - minTimeInDays) moves with the clock; with its value left
 * out of the key, the warm-up's pages answer the timed run's requests, however much later it starts (the simulated
 * data is years away from the window's edge).
 */
function cacheKey(url: string): string {
  return url.replace(/(searchCriteria\.minTime=)[^&]*/i, '$1*');
}

/** Fetches every configured resource once without latency, so the simulator's response cache holds every page. */
async function warmUp(ado: AdoSimulator): Promise<{ seconds: number; items: number; requests: number }> {
  const t0 = performance.now();
  const before = ado.requests.length;
  const { ctx, org } = fetchContext(ado.orgUrl(), ado.pat);
  let items = 0;
  for (const resource of config.resources as ResourceConfig[]) {
    const kind = getKind(resource.kind);
    if (!kind) throw new Error(`unknown kind ${resource.kind}`);
    for await (const page of fetchKind(kind, ctx, resource.selector as Selector, org)) items += page.length;
  }
  const requests = ado.requests.length - before;
  ado.requests.length = before;
  return { seconds: (performance.now() - t0) / 1000, items, requests };
}

/**
 * Mapping-bound time: each resource's mapping rate on a sample of its real payloads (fetched from the simulator without
 * latency), applied to the item count the dataset holds. The rate is measured by mappingRate.js in a fresh process with
 * the worker's NODE_OPTIONS and pool size, best of three: in this process the mapper's Node side would share a heap
 * with the simulators' gigabyte of data, and the bound came out anywhere between 61 and 102 s for the same code.
 */
async function mappingBound(ado: AdoSimulator, minimum: MinimumRequests): Promise<{ seconds: number; rates: Record<string, number> }> {
  const { ctx, org } = fetchContext(ado.orgUrl(), ado.pat);
  const dir = mkdtempSync(join(tmpdir(), 'bench-mapping-bound-'));
  const resources = config.resources as ResourceConfig[];
  for (const [index, resource] of resources.entries()) {
    const kind = getKind(resource.kind);
    if (!kind) throw new Error(`unknown kind ${resource.kind}`);
    const sample: RawItem[] = [];
    for await (const page of fetchKind(kind, ctx, resource.selector as Selector, org)) {
      sample.push(...page);
      if (sample.length >= SAMPLE) break;
    }
    writeFileSync(join(dir, `${index}.json`), JSON.stringify(sample));
  }
  const child = spawn(process.execPath, [join(ROOT, 'dist/bench/mappingRate.js'), '--config', CONFIG, '--samples', dir], {
    env: { PATH: process.env.PATH, JQ_PATH: process.env.JQ_PATH ?? '/usr/bin/jq', ...(WORKER_NODE_OPTIONS ? { NODE_OPTIONS: WORKER_NODE_OPTIONS } : {}) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  rmSync(dir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`mappingRate exited with ${code}`);
  const byIndex = (JSON.parse(out) as { rates: Record<string, number> }).rates;
  const rates: Record<string, number> = {};
  let seconds = 0;
  for (const [index, rate] of Object.entries(byIndex)) {
    const kind = resources[Number(index)]!.kind;
    rates[kind] = rate;
    seconds += (minimum.items[kind] ?? 0) / rate;
  }
  return { seconds, rates };
}

interface FloorPass {
  items: number;
  wallS: number;
  nodeCpuS: number;
  jqCpuS: number;
}

/**
 * The worker's floor without the catalog (pipelineFloor.js in a fresh process with the worker's NODE_OPTIONS, no
 * latency, every page cached): fetch only, then fetch and map. The mapping bound leaves out reading the pages, which
 * the worker cannot skip; this shows what that costs on this machine and how much the sink adds on top.
 */
async function pipelineFloor(ado: AdoSimulator): Promise<{ fetch: FloorPass; map: FloorPass; simulatorCpuS: number }> {
  const cpu0 = process.cpuUsage();
  const child = spawn(process.execPath, [join(ROOT, 'dist/bench/pipelineFloor.js'), '--config', CONFIG, '--org-url', ado.orgUrl()], {
    env: {
      PATH: process.env.PATH,
      JQ_PATH: process.env.JQ_PATH ?? '/usr/bin/jq',
      ADO_PERSONAL_ACCESS_TOKEN: ado.pat,
      ...(WORKER_NODE_OPTIONS ? { NODE_OPTIONS: WORKER_NODE_OPTIONS } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  if (code !== 0) throw new Error(`pipelineFloor exited with ${code}`);
  const cpu = process.cpuUsage(cpu0);
  return { ...(JSON.parse(out) as { fetch: FloorPass; map: FloorPass }), simulatorCpuS: (cpu.user + cpu.system) / 1e6 };
}

function floorText(p: FloorPass): string {
  return `${fmt(p.wallS, 1)} s (node ${fmt(p.nodeCpuS, 1)}${p.jqCpuS ? ` + jq ${fmt(p.jqCpuS, 1)}` : ''} CPU-s)`;
}

function row(label: string, value: string): string {
  return `  ${label.padEnd(34)} ${value}`;
}

function report(f: RunFigures, extra: string[] = []): string[] {
  const lines = [
    `${f.name}: exit ${f.code}`,
    row('wall time', `${fmt(f.wallS, 1)} s`),
    row('items in the dataset / per second', `${fmt(f.items)} / ${fmt(f.items / f.wallS)} items/s`),
    row('ADO requests / minimum', `${fmt(f.adoRequests)} / ${fmt(f.minimum.total)} = ${(f.adoRequests / f.minimum.total).toFixed(3)}x${f.adoThrottled ? ` (${fmt(f.adoThrottled)} answered 429)` : ''}`),
    row('worker peak RSS (VmHWM)', `${fmt(f.peakRssMb)} MB (node + jq children, sampled: ${fmt(f.peakTreeRssMb)} MB)`),
    row('catalog writes', `${fmt(f.entitiesSent)} entities in ${fmt(f.bulkRequests)} bulk requests; ${fmt(f.entitiesInPort)} entities in Port`),
    row('CPU seconds', `worker node ${fmt(f.cpu.worker, 1)} (main thread ${fmt(f.cpu.workerMainThread, 1)}) + jq ${fmt(f.cpu.jq, 1)}, simulators ${fmt(f.cpu.simulators, 1)}, Redis ${fmt(f.cpu.redis, 1)}; all / ${cpus().length} cores = ${fmt((f.cpu.worker + f.cpu.jq + f.cpu.simulators + f.cpu.redis) / cpus().length, 1)} s`),
    ...extra,
  ];
  return lines;
}

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const out: string[] = [];
  const header = `resync benchmark: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${fmt(totalmem() / 2 ** 30)} GiB, Node ${process.version}, latency ${LATENCY} ms/request, ADO_CONCURRENCY ${CONCURRENCY}, simulator response cache ${values['no-response-cache'] ? 'off' : 'on'}${WORKER_NODE_OPTIONS ? `, worker NODE_OPTIONS ${WORKER_NODE_OPTIONS}` : ''}, load at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;
  log(header);
  out.push(header);
  const identifiers: string[] = [];
  try {
    for (const size of values.sizes.split(',').filter((s) => s && (scenarios.has('resync') || scenarios.has('unchanged')))) {
      const scale = SIZES[size];
      if (!scale) throw new Error(`unknown size ${size}`);
      const t0 = performance.now();
      const ado = await startAdoSimulator({ scale, pat: 'bench-pat-0123456789' });
      const minimum = ado.minimumRequests(KINDS);
      log(`resync-${size}: simulator up in ${fmt((performance.now() - t0) / 1000, 1)} s; ${fmt(Object.values(minimum.items).reduce((a, b) => a + b, 0))} items, minimum ${fmt(minimum.total)} requests ${JSON.stringify(minimum.byKind)}`);
      if (!values['no-response-cache']) {
        ado.cacheResponses(cacheKey);
        const w = await warmUp(ado);
        const mem = process.memoryUsage();
        log(`resync-${size}: warm-up filled the simulator's response cache: ${fmt(w.items)} items, ${fmt(w.requests)} requests in ${fmt(w.seconds, 1)} s (bench process: heap ${fmt(mem.heapUsed / 2 ** 20)} MB, buffers ${fmt(mem.arrayBuffers / 2 ** 20)} MB)`);
      }
      const bound = values['no-mapping-bound'] ? { seconds: 0, rates: {} } : await mappingBound(ado, minimum);
      log(`resync-${size}: mapping-bound ${fmt(bound.seconds, 1)} s (items/s per kind ${JSON.stringify(Object.fromEntries(Object.entries(bound.rates).map(([k, v]) => [k, Math.round(v)])))})`);
      const floor = values['no-mapping-bound'] ? undefined : await pipelineFloor(ado);
      if (floor) log(`resync-${size}: pipeline floor: fetch ${floorText(floor.fetch)}, fetch + map ${floorText(floor.map)}; simulator ${fmt(floor.simulatorCpuS, 1)} CPU-s`);
      ado.setFaults({ latencyMs: LATENCY });
      const port = await startPortSimulator();
      const identifier = `bench-${size}-${process.pid}-${Date.now()}`;
      identifiers.push(identifier);
      try {
        const requestBound = (minimum.total * LATENCY) / 1000 / CONCURRENCY;
        const lower = Math.max(requestBound, bound.seconds);
        const first = await runResync(`resync-${size}`, ado, port, redis, identifier);
        out.push(
          ...report(first, [
            row('lower bound', `max(request-bound ${fmt(requestBound, 1)} s, mapping-bound ${fmt(bound.seconds, 1)} s) = ${fmt(lower, 1)} s; wall / bound = ${(first.wallS / lower).toFixed(2)}x`),
            ...(floor
              ? [
                  row('floor: fetch only, no latency', floorText(floor.fetch)),
                  row('floor: fetch + map, no latency', `${floorText(floor.map)}; wall / floor = ${(first.wallS / floor.map.wallS).toFixed(2)}x`),
                ]
              : []),
            row('requests by kind (minimum)', JSON.stringify(minimum.byKind)),
          ]),
        );
        log(out.slice(-(floor ? 10 : 8)).join('\n'));
        if (scenarios.has('unchanged')) {
          const again = await runResync(`resync-unchanged-${size}`, ado, port, redis, identifier);
          out.push(...report(again));
          log(out.slice(-6).join('\n'));
        }
      } finally {
        await port.close();
        await ado.close();
      }
    }
    if (scenarios.has('throttled')) {
      const ado = await startAdoSimulator({ scale: SIZES.T, pat: 'bench-pat-0123456789' });
      if (!values['no-response-cache']) {
        ado.cacheResponses(cacheKey);
        await warmUp(ado);
      }
      ado.setFaults({ latencyMs: LATENCY, maxRequestsPerSecond: RATE });
      const port = await startPortSimulator();
      const identifier = `bench-T-${process.pid}-${Date.now()}`;
      identifiers.push(identifier);
      try {
        const minimum = ado.minimumRequests(KINDS);
        log(`throttled: ${fmt(minimum.total)} minimum requests at ${RATE}/s`);
        const f = await runResync(`throttled (${RATE} requests/s)`, ado, port, redis, identifier);
        const served = f.adoRequests - f.adoThrottled;
        out.push(
          ...report(f, [
            row('lower bound (requests / rate)', `${fmt(served)} served / ${RATE} = ${fmt(served / RATE, 1)} s (minimum ${fmt(minimum.total)} / ${RATE} = ${fmt(minimum.total / RATE, 1)} s); wall / bound = ${(f.wallS / (served / RATE)).toFixed(2)}x`),
          ]),
        );
      } finally {
        await port.close();
        await ado.close();
      }
    }
  } finally {
    for (const id of identifiers) {
      const keys = await redis.keys(`ado-sync:${id}*`);
      if (keys.length) await redis.del(...keys);
    }
    await redis.quit();
  }
  out.push(`load at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(out.join('\n'));
}

await main();
