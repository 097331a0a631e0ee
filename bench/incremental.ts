/**
 * Incremental sync (#20) at scale: `ado-sync resync --incremental` (the real CLI, spawned) against the Azure DevOps
 * simulator (every request delayed by --latency ms) and the Port simulator, with change cursors in Redis.
 *
 *   npm run bench:incremental
 *   node dist/bench/incremental.js [--sizes S,L] [--latency 20] [--concurrency 8] [--share 0.01]
 *
 * Per size (the datasets of bench/resync.ts), one after the other on the same simulators and integration identifier:
 *   1. a full resync with REDIS_URL: it sets every resource's change cursor;
 *   2. an incremental run with nothing changed;
 *   3. --share of the items changed through `sim.changes` (work items edited, builds finished, release deployments
 *      redeployed, test runs rerun), then an incremental run;
 *   4. the catalog after (3) against a fresh full resync of the same changed state into a fresh Port simulator (new
 *      identifier, so no Redis state is shared), entity for entity, Port-side timestamps left out;
 *   5. the incremental runs' requests per kind and endpoint, beside the full run's.
 *
 * Config: bench/resync-config.yml plus the release-deployment and test-run resources of mappings/examples/all-kinds.yml
 * (test runs without their results and coverage: per-item enrichment, as resync-config.yml leaves it out), so that every
 * kind the simulator can change is synced.
 *
 * Like bench/resync.ts, a fetch-only pass fills the simulator's response cache before the full run, so generating pages
 * does not compete with the worker for the cores. The cache is emptied and filled again after the changes (it is never
 * invalidated); requests the warm-up did not make (the incremental filters) are generated during the run.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { JOURNAL_BEAT_MS, RedisChangeJournal } from '../src/sync/changeJournal.js';
import yaml from 'js-yaml';
import { loadAppConfig } from '../src/config/appConfig.js';
import { fetchKind, getKind } from '../src/kinds/registry.js';
import type { Selector } from '../src/kinds/types.js';
import { fetchContext } from './fetchContext.js';
import { MINIMUM_KINDS, startAdoSimulator, type AdoScale, type AdoSimulator, type RequestLogEntry } from '../test/simulators/ado/index.js';
import { pipelinesOf } from '../test/simulators/ado/data/pipelines.js';
import { workOf } from '../test/simulators/ado/data/work.js';
import { graphOf } from '../test/simulators/ado/data/graph.js';
import { startPortSimulator, type PortSimulator } from '../test/simulators/port/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: 'S,L' },
    latency: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '8' },
    /** Share of the dataset's items changed before the third run. */
    share: { type: 'string', default: '0.01' },
  },
});
const LATENCY = Number(args.latency);
const SHARE = Number(args.share);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The datasets of bench/resync.ts (its SIZES, not exported): 20 projects each; L has ten times S's per project. */
function scaleOf(size: string): Partial<AdoScale> {
  const shared = { projects: 20, pullRequestsPerRepo: 106, branchesPerRepo: 5, teamsPerProject: 5, buildsPerPipeline: 1000, environmentsPerProject: 3, releasesPerDefinition: 50 };
  const factor = ({ S: 1, L: 10 } as Record<string, number>)[size];
  if (factor === undefined) throw new Error(`unknown size ${size} (S or L)`);
  return { ...shared, reposPerProject: 10 * factor, pipelinesPerProject: 2 * factor, workItemsPerProject: 500 * factor, releaseDefinitionsPerProject: factor };
}

interface ResourceDoc {
  kind: string;
  selector: Record<string, unknown>;
}

/**
 * resync-config.yml plus all-kinds.yml's release-deployment, test-run, group-member and user-entitlement resources
 * (identities: the audit log drives their incremental passes), written to a temporary file.
 */
function writeConfig(): string {
  const read = (path: string) => yaml.load(readFileSync(join(ROOT, path), 'utf8')) as { resources: ResourceDoc[] };
  const doc = read('bench/resync-config.yml');
  for (const r of read('mappings/examples/all-kinds.yml').resources.filter((x) => ['release-deployment', 'test-run', 'group-member', 'user-entitlement'].includes(x.kind))) {
    if (r.kind === 'test-run') r.selector = { query: 'true', includeResults: false };
    doc.resources.push(r);
  }
  const file = join(mkdtempSync(join(tmpdir(), 'bench-incremental-')), 'config.yml');
  writeFileSync(file, yaml.dump(doc));
  return file;
}
const CONFIG = writeConfig();
const config = loadAppConfig(CONFIG).config;
const KINDS = [...new Set(config.resources.map((r) => r.kind))];
const CHANGEABLE = ['work-item', 'build', 'release-deployment', 'test-run', 'group-member', 'user-entitlement'];

const log = (msg: string) => process.stderr.write(`[incremental ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const n = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)} %`;

/** The pods' NODE_OPTIONS (the Helm chart's `nodeOptions`), as bench/resync.ts gives the worker. */
const WORKER_NODE_OPTIONS = (yaml.load(readFileSync(join(ROOT, 'helm/ado-catalog-sync/values.yaml'), 'utf8')) as { nodeOptions?: string }).nodeOptions ?? '';

/**
 * Response-cache key: the full pull-request listing's window start (now - minTimeInDays, years back) moves with the
 * clock and is folded away; an incremental run's (its cursor, minutes back) is kept, or it would be answered with the
 * full listing's pages.
 */
function cacheKey(url: string): string {
  return url.replace(/(searchCriteria\.minTime=)([^&]*)/i, (all, name: string, value: string) =>
    Date.parse(decodeURIComponent(value)) < Date.now() - 365 * 86_400_000 ? `${name}*` : all,
  );
}

/** Every configured resource fetched once without latency, into an emptied response cache. */
async function fillCache(ado: AdoSimulator): Promise<number> {
  const t0 = performance.now();
  ado.setFaults({ latencyMs: 0 });
  ado.cacheResponses(cacheKey);
  const mark = ado.requests.length;
  const { ctx, org } = fetchContext(ado.orgUrl(), ado.pat);
  for (const resource of config.resources) {
    const kind = getKind(resource.kind);
    if (!kind) throw new Error(`unknown kind ${resource.kind}`);
    for await (const page of fetchKind(kind, ctx, resource.selector as Selector, org)) void page;
  }
  ado.requests.length = mark;
  ado.setFaults({ latencyMs: LATENCY });
  return (performance.now() - t0) / 1000;
}

interface Run {
  name: string;
  code: number | null;
  wallS: number;
  requests: RequestLogEntry[];
  written: number;
  bulkRequests: number;
  deleteRequests: number;
  /** The worker's per-resource table (stderr). */
  table: string[];
}

/** One `ado-sync resync` (with --incremental when asked), the worker a child process as in production. */
async function runWorker(name: string, ado: AdoSimulator, port: PortSimulator, identifier: string, incremental: boolean): Promise<Run> {
  const mark = ado.requests.length;
  const tally = { written: 0, bulkRequests: 0, deleteRequests: 0 };
  // Answered requests are counted and dropped, so the Port simulator's log does not keep every body of a large run.
  const drain = () => {
    const open = port.requests.filter((r) => r.status === 0);
    for (const r of port.requests) {
      if (r.status === 0) continue;
      if (r.method === 'POST' && r.path.endsWith('/entities/bulk')) {
        tally.bulkRequests++;
        const list = (r.body as { entities?: unknown[] } | undefined)?.entities;
        tally.written += Array.isArray(list) ? list.length : 0;
      } else if (r.method === 'POST' && /\/blueprints\/[^/]+\/entities$/.test(r.path)) tally.written++;
      else if (r.method === 'DELETE' || r.path.endsWith('/bulk/entities/delete')) tally.deleteRequests++;
    }
    port.requests.splice(0, port.requests.length, ...open);
  };
  drain();
  tally.written = tally.bulkRequests = tally.deleteRequests = 0;
  const logFile = join(mkdtempSync(join(tmpdir(), 'bench-incremental-')), `${name}.log`);
  const out = createWriteStream(logFile);
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'resync', '--config', CONFIG, ...(incremental ? ['--incremental'] : [])], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      JQ_PATH: process.env.JQ_PATH ?? '/usr/bin/jq',
      ADO_ORGANIZATION_URL: ado.orgUrl(),
      ADO_PERSONAL_ACCESS_TOKEN: ado.pat,
      ADO_FLAVOR: 'services',
      ADO_CONCURRENCY: args.concurrency,
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
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    out.write(d);
    stderr = (stderr + d.toString()).slice(-200_000);
  });
  const timer = setInterval(drain, 1000);
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  const wallS = (performance.now() - started) / 1000;
  clearInterval(timer);
  drain();
  out.end();
  const lines = stderr.split('\n');
  const head = lines.findIndex((l) => /^org\s+#\s+kind\s+status/.test(l));
  const table = head < 0 ? [] : lines.slice(head, lines.findIndex((l, i) => i > head && !/^\S+\s+\d+\s/.test(l)));
  log(`${name}: exit ${code} in ${n(wallS, 1)} s, ${n(ado.requests.length - mark)} Azure DevOps requests, ${n(tally.written)} entities written (worker log ${logFile})`);
  return { name, code, wallS, requests: ado.requests.slice(mark), ...tally, table };
}

/** Evenly spread picks of `count` elements of `list`. */
const spread = <T>(list: readonly T[], count: number): T[] => Array.from({ length: Math.min(count, list.length) }, (_, i) => list[Math.floor((i * list.length) / Math.min(count, list.length))] as T);

/**
 * Changes SHARE of the dataset's items (every configured kind counted), split over the kinds the simulator can change
 * in proportion to their sizes (at least one each). Returns how many of each, and the total it aimed at.
 */
function applyChanges(ado: AdoSimulator, itemsInDataset: number): { target: number; changed: Record<string, number>; announced: Array<{ kind: string; projectId: string }> } {
  const org = ado.dataset.org(ado.dataset.organizations[0] as string);
  if (!org) throw new Error('no organization');
  const pipelines = pipelinesOf(org);
  const work = workOf(org);
  const workItemIds = Array.from({ length: org.projects.count * work.workItemsPerProject }, (_, i) => i + 1);
  // Builds still running are finished first; then finished ones finish again (rerun).
  const builds = [...pipelines.builds].sort((a, b) => Number(a.status === 'completed') - Number(b.status === 'completed'));
  const running = builds.filter((b) => b.status !== 'completed').length;
  const graph = graphOf(org);
  const memberships = graph.memberships.filter((m) => m.memberDescriptor.startsWith('aad.') && graph.groups.some((g) => g.descriptor === m.containerDescriptor && !g.descriptor.startsWith('aadgp.')));
  const entitled = graph.users.filter((u) => u.origin === 'aad');
  const pools: Record<string, number> = {
    'work-item': workItemIds.length,
    build: builds.length,
    'release-deployment': pipelines.releaseDeployments.length,
    'test-run': pipelines.testRuns.length,
    'group-member': memberships.length,
    'user-entitlement': entitled.length,
  };
  const poolTotal = Object.values(pools).reduce((a, b) => a + b, 0);
  const target = Math.ceil(itemsInDataset * SHARE);
  const count = (kind: string) => Math.min(pools[kind] ?? 0, Math.max(1, Math.round((target * (pools[kind] ?? 0)) / poolTotal)));
  for (const id of spread(workItemIds, count('work-item'))) ado.changes.editWorkItem(id, { fields: { 'System.Title': `Edited for the incremental bench (${id})` } });
  const buildCount = count('build');
  const finished = [...builds.slice(0, Math.min(running, buildCount)), ...spread(builds.slice(running), buildCount - Math.min(running, buildCount))];
  for (const b of finished) ado.changes.setBuild(b.projectIndex, b.id, { status: 'completed', result: b.result === 'failed' ? 'succeeded' : 'failed' });
  for (const d of spread(pipelines.releaseDeployments, count('release-deployment'))) ado.changes.redeploy(d.id, { status: d.status === 'failed' ? 'succeeded' : 'failed' });
  for (const t of spread(pipelines.testRuns, count('test-run'))) ado.changes.rerunTest(t.id);
  // Identities, through the audit log: licenses changed; memberships removed (deletions) and added, half each.
  for (const u of spread(entitled, count('user-entitlement'))) ado.changes.setAccessLevel(String(u.originId), 'stakeholder');
  const membershipChanges = count('group-member');
  const removed = spread(memberships, Math.ceil(membershipChanges / 2));
  for (const m of removed) ado.changes.removeGroupMember(m.containerDescriptor, m.memberDescriptor);
  let added = 0;
  for (const m of removed) {
    if (added >= membershipChanges - removed.length) break;
    const newcomer = entitled.find((u) => !graph.hasMembership(m.containerDescriptor, u.descriptor));
    if (newcomer && ado.changes.addGroupMember(m.containerDescriptor, newcomer.descriptor)) added++;
  }
  // What the service hooks announce (serve's journal): a work item, build or deployment event names its project. Test
  // runs have no event: their kind reads every project.
  const project = (i: number | undefined) => org.projects.record(i ?? 0).id;
  const announced = [
    ...spread(workItemIds, count('work-item')).map((id) => ({ kind: 'work-item', projectId: project(work.projectOfWorkItem(id)) })),
    ...finished.map((b) => ({ kind: 'build', projectId: project(b.projectIndex) })),
    ...spread(pipelines.releaseDeployments, count('release-deployment')).map((d) => ({ kind: 'release-deployment', projectId: project(d.release.definition.projectIndex) })),
  ];
  return { target, changed: Object.fromEntries(CHANGEABLE.map((k) => [k, count(k)])), announced };
}

/** JSON with object keys sorted, so two equal entities print the same. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/**
 * Every entity of every blueprint, by `blueprint/identifier`, without Port's own stamps: times, authors, and the
 * datasource (the writer's User-Agent, which names the integration identifier, different for the fresh run).
 */
function catalogOf(port: PortSimulator): Map<string, string> {
  const out = new Map<string, string>();
  for (const bp of port.blueprints.keys()) {
    for (const e of port.entities(bp)) {
      const { createdAt: _c, updatedAt: _u, createdBy: _cb, updatedBy: _ub, datasource: _d, ...rest } = e;
      out.set(`${bp}/${e.identifier}`, canonical(rest));
    }
  }
  return out;
}

function compareCatalogs(actual: Map<string, string>, expected: Map<string, string>, show = 5): string[] {
  const diffs: string[] = [];
  let count = 0;
  for (const [key, want] of expected) {
    const got = actual.get(key);
    if (got === want) continue;
    count++;
    if (diffs.length < show) diffs.push(got === undefined ? `    missing after the incremental run: ${key}` : `    ${key}\n      incremental: ${got}\n      fresh full:  ${want}`);
  }
  for (const key of actual.keys()) {
    if (expected.has(key)) continue;
    count++;
    if (diffs.length < show) diffs.push(`    only after the incremental run: ${key}`);
  }
  return count === 0 ? [`equal: ${n(expected.size)} entities, every property and relation`] : [`${n(count)} of ${n(expected.size)} entities differ; the first ${diffs.length}:`, ...diffs];
}

/** Which kind's fetcher makes a request, by its path (first match). */
const KIND_OF: Array<[RegExp, string]> = [
  [/\/_apis\/projects$/, 'project listing (shared)'],
  [/\/git\/repositories\/[^/]+\/refs$/, 'branch'],
  [/\/_apis\/git\/repositories$/, 'repository listing (shared)'],
  [/\/git\/pullrequests$/, 'pull-request'],
  [/\/build\/builds/, 'build'],
  [/\/_apis\/wit\//, 'work-item'],
  [/\/_apis\/teams$|\/teams$/, 'team'],
  [/\/release\/deployments$/, 'release-deployment'],
  [/\/release\/releases$/, 'release'],
  [/\/release\/definitions$/, 'release-definition'],
  [/\/test\/runs/, 'test-run'],
  [/environments/, 'environment'],
  [/\/pipelines$/, 'pipeline'],
];

/** `kind: endpoint [filter]`, the project and ids folded, e.g. `build: {project}/_apis/build/builds [since]`. */
function endpointOf(e: RequestLogEntry): string {
  const path = e.path
    .replace(new RegExp(`^/${e.org}`, 'i'), '')
    .replace(/^\/_host\/[^/]+/, '')
    .replace(/^\/[^/]+\/_apis\//, '/{project}/_apis/')
    .replace(/\/[0-9a-f]{8}-[0-9a-f-]{27,}(?=\/|$)|\/\d+(?=\/|$)/gi, '/{id}')
    .replace(/\/_apis\/graph\/memberships\/[^/]+/i, '/_apis/graph/memberships/{descriptor}');
  const q = e.query;
  const filter = q.statusFilter
    ? ' [not finished]'
    : q.minTime || q.minModifiedTime || q.minLastUpdatedDate || (q['searchCriteria.minTime'] && Date.parse(q['searchCriteria.minTime']) > Date.now() - 86_400_000)
      ? ' [since cursor]'
      : q['searchCriteria.status']
        ? ` [${q['searchCriteria.status']}]`
        : '';
  const kind = KIND_OF.find(([re]) => re.test(e.path))?.[1] ?? 'other';
  return `${kind}: ${path.replace(/^\//, '')}${filter}`;
}

function breakdown(full: Run, runs: Run[]): string[] {
  const count = (r: Run) => {
    const m = new Map<string, number>();
    for (const e of r.requests) m.set(endpointOf(e), (m.get(endpointOf(e)) ?? 0) + 1);
    return m;
  };
  const maps = [full, ...runs].map(count);
  const keys = [...new Set(maps.flatMap((m) => [...m.keys()]))].sort((a, b) => (maps.at(-1)?.get(b) ?? 0) - (maps.at(-1)?.get(a) ?? 0) || a.localeCompare(b));
  const width = Math.max(...keys.map((k) => k.length), 8);
  const header = `    ${'endpoint'.padEnd(width)}  ${[full, ...runs].map((r) => r.name.padStart(12)).join('  ')}`;
  const rows = keys.map((k) => `    ${k.padEnd(width)}  ${maps.map((m, i) => {
    const v = m.get(k) ?? 0;
    const total = [full, ...runs][i]!.requests.length;
    return (v ? `${n(v)} (${((100 * v) / total).toFixed(0)}%)` : '-').padStart(12);
  }).join('  ')}`);
  return [header, ...rows];
}

interface Target {
  label: string;
  met: boolean;
}

async function benchSize(size: string, redis: Redis, out: string[], targets: Target[]): Promise<void> {
  const t0 = performance.now();
  const ado = await startAdoSimulator({ scale: scaleOf(size), pat: 'bench-pat-0123456789' });
  const org = ado.dataset.org(ado.dataset.organizations[0] as string)!;
  const minimum = ado.minimumRequests(KINDS.filter((k) => MINIMUM_KINDS.includes(k)));
  const graph = graphOf(org);
  const items: Record<string, number> = {
    ...minimum.items,
    'release-deployment': pipelinesOf(org).releaseDeployments.length,
    'test-run': pipelinesOf(org).testRuns.length,
    'group-member': graph.memberships.length,
    'user-entitlement': graph.users.filter((u) => u.origin === 'aad').length,
  };
  const itemCount = Object.values(items).reduce((a, b) => a + b, 0);
  log(`${size}: simulator up in ${n((performance.now() - t0) / 1000, 1)} s, ${n(itemCount)} items ${JSON.stringify(items)}`);
  const warm = await fillCache(ado);
  log(`${size}: response cache filled in ${n(warm, 1)} s`);
  const stamp = `${process.pid}-${Date.now()}`;
  const identifier = `bench-incr-${size}-${stamp}`;
  const reference = `bench-incr-ref-${size}-${stamp}`;
  let port = await startPortSimulator();
  let portOpen = true;
  let beating: NodeJS.Timeout | undefined;
  try {
    // An installation whose server accepts events keeps a journal of what they announce (src/sync/changeJournal.ts):
    // here the bench plays the server, live from before the full run; 1 % of the repositories are pushed to with the
    // other changes, and each change is announced by its project.
    const journal = new RedisChangeJournal(redis, `ado-sync:${identifier}`);
    // A server that has been accepting events for the last 15 minutes (beating every 30 s), longer than the overlap
    // an incremental pass reads before its cursor: the journal covers the runs' windows.
    const beganAt = Date.now() - 15 * 60_000;
    for (let at = beganAt; at < Date.now(); at += JOURNAL_BEAT_MS) await new RedisChangeJournal(redis, `ado-sync:${identifier}`, () => at).beat();
    await journal.beat();
    beating = setInterval(() => void journal.beat(), JOURNAL_BEAT_MS);
    const full = await runWorker(`full-${size}`, ado, port, identifier, false);
    const unchanged = await runWorker(`unchanged-${size}`, ado, port, identifier, true);
    const { target, changed, announced } = applyChanges(ado, itemCount);
    const org = ado.dataset.org(ado.dataset.organizations[0] as string)!;
    const repoIds = Array.from({ length: org.repos.count }, (_, i) => org.repos.record(i).id);
    const pushed = spread(repoIds, Math.max(1, Math.round(repoIds.length * SHARE)));
    await journal.mark({ repositoryIds: pushed, projects: announced });
    log(`${size}: ${pushed.length} repositories pushed to, ${new Set(announced.map((a) => `${a.kind}:${a.projectId}`)).size} kind × project announced (journal)`);
    const rewarm = await fillCache(ado);
    log(`${size}: ${JSON.stringify(changed)} changed; response cache filled again in ${n(rewarm, 1)} s`);
    const after = await runWorker(`changed-${size}`, ado, port, identifier, true);
    const incremental = catalogOf(port);
    await port.close();
    portOpen = false;
    port = await startPortSimulator();
    portOpen = true;
    const fresh = await runWorker(`fresh-full-${size}`, ado, port, reference, false);
    const diff = compareCatalogs(incremental, catalogOf(port));
    const fullReq = full.requests.length;
    const row = (label: string, value: string) => `  ${label.padEnd(44)} ${value}`;
    const mark = (ok: boolean) => (ok ? 'met' : 'NOT met');
    const exits = [full, unchanged, after, fresh].filter((r) => r.code !== 0).map((r) => `${r.name} exit ${r.code}`);
    const unchangedReqOk = unchanged.requests.length <= 0.02 * fullReq;
    const unchangedWritesOk = unchanged.written === 0;
    const changedReqOk = after.requests.length <= 0.1 * fullReq;
    // Against the faster of the two full runs (the same work): load from elsewhere slows a run, never speeds it up.
    const fullWallS = Math.min(full.wallS, fresh.wallS);
    const changedWallOk = after.wallS <= 0.1 * fullWallS;
    const equal = diff[0]!.startsWith('equal');
    const notChanged = KINDS.filter((k) => !CHANGEABLE.includes(k));
    out.push(
      `size ${size}: ${n(itemCount)} items in the dataset, ${config.resources.length} resources (${KINDS.join(', ')})${exits.length ? `; FAILED RUNS: ${exits.join(', ')}` : ''}`,
      row('1. full resync (sets the cursors)', `wall ${n(full.wallS, 1)} s, ${n(fullReq)} Azure DevOps requests (minimum ${n(minimum.total)} for the kinds it models), ${n(full.written)} entities written in ${n(full.bulkRequests)} bulk requests`),
      row('2. incremental, nothing changed', `requests ${n(unchanged.requests.length)} = ${pct(unchanged.requests.length, fullReq)} of the full run's (target <= 2 %: ${mark(unchangedReqOk)}), wall ${n(unchanged.wallS, 1)} s = ${pct(unchanged.wallS, fullWallS)}, ${n(unchanged.written)} entities written (target 0: ${mark(unchangedWritesOk)}), ${unchanged.deleteRequests} delete requests`),
      row('3. changes', `${n(Object.values(changed).reduce((a, b) => a + b, 0))} items (${(100 * SHARE).toFixed(1)} % of ${n(itemCount)} = ${n(target)}): ${n(changed['work-item'] ?? 0)} work items edited, ${n(changed.build ?? 0)} builds finished, ${n(changed['release-deployment'] ?? 0)} release deployments redeployed, ${n(changed['test-run'] ?? 0)} test runs rerun, ${n(changed['user-entitlement'] ?? 0)} licenses changed, ${n(changed['group-member'] ?? 0)} memberships removed or added (half each)`),
      row('', `not changed (the simulator has no change for them): ${notChanged.join(', ')}; of these only pull-request has a change filter, the others are listed whole by an incremental run`),
      row('   incremental after the changes', `requests ${n(after.requests.length)} = ${pct(after.requests.length, fullReq)} (target <= 10 %: ${mark(changedReqOk)}), wall ${n(after.wallS, 1)} s = ${pct(after.wallS, fullWallS)} of the faster full run (target <= 10 %: ${mark(changedWallOk)}), ${n(after.written)} entities written, ${after.deleteRequests} delete requests`),
      row('4. catalog vs a fresh full resync', `(fresh full: wall ${n(fresh.wallS, 1)} s, ${n(fresh.requests.length)} requests, ${n(fresh.written)} entities written) ${diff[0]}`),
      ...diff.slice(1),
      '  5. requests per kind and endpoint (share of the run), sorted by the run after the changes:',
      ...breakdown(full, [unchanged, after]),
      '  the worker\'s table, incremental run after the changes:',
      ...after.table.map((l) => `    ${l}`),
    );
    targets.push(
      { label: `${size}: unchanged incremental requests <= 2 % of full`, met: unchangedReqOk },
      { label: `${size}: unchanged incremental writes 0`, met: unchangedWritesOk },
      { label: `${size}: incremental after 1 % changed, requests <= 10 % of full`, met: changedReqOk },
      { label: `${size}: incremental after 1 % changed, wall <= 10 % of full`, met: changedWallOk },
      { label: `${size}: catalog equal to a fresh full resync`, met: equal },
    );
    log(out.slice(-12).join('\n'));
  } finally {
    clearInterval(beating);
    if (portOpen) await port.close();
    await ado.close();
    for (const id of [identifier, reference]) {
      const keys = await redis.keys(`ado-sync:${id}*`);
      if (keys.length) await redis.del(...keys);
    }
  }
}

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const header = `incremental benchmark: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}, latency ${LATENCY} ms/request, ADO_CONCURRENCY ${args.concurrency}, changes ${(100 * SHARE).toFixed(1)} % of the items${WORKER_NODE_OPTIONS ? `, worker NODE_OPTIONS ${WORKER_NODE_OPTIONS}` : ''}, load at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;
  const out = [header];
  const targets: Target[] = [];
  try {
    for (const size of args.sizes.split(',').filter(Boolean)) await benchSize(size, redis, out, targets);
  } finally {
    await redis.quit();
  }
  out.push('targets:', ...targets.map((t) => `  ${t.label}: ${t.met ? 'met' : 'NOT met'}`), `load at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(out.join('\n'));
}

await main();
