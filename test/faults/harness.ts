/**
 * The fault suite's rig (issue 17, decision 8): one Azure DevOps simulator behind a fault proxy per test file, a
 * reference catalog from a resync that never saw a fault, and per case a fresh Port simulator, its own integration
 * identifier and its own Redis keys, with the built CLI (`dist/src/cli/main.js resync`) run as a user would.
 *
 * Every run is bounded by the worker's own limits (ADO_MAX_ATTEMPTS, ADO_REQUEST_TIMEOUT_MS, the proxy's safety
 * limits); nothing here waits on a clock.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { userAgent } from '../../src/catalog/port/ownership.js';
import { CLI, ROOT } from '../helpers/cli.js';
import { syncEnv } from '../helpers/env.js';
import { deleteKeys } from '../helpers/redisKeys.js';
import { startAdoSimulator, type AdoScale, type AdoSimulator } from '../simulators/ado/index.js';
import { startPortSimulator, type PortSimulator } from '../simulators/port/index.js';
import { startFaultProxy, type FaultProxy, type FaultRule } from './proxy.js';

export const CONFIG = resolve(ROOT, 'test/faults/port-app-config.yml');
export const BLUEPRINTS = { project: 'azureDevopsProject', repository: 'azureDevopsRepository', pullRequest: 'azureDevopsPullRequest' } as const;

/** A few projects (three pages of two), two repositories each, a few pull requests each. */
export const DEFAULT_SCALE: Partial<AdoScale> = { projects: 5, reposPerProject: 2, pullRequestsPerRepo: 3 };

/** Paths of the listings the faults target (decoded, as the proxy matches them). */
export const PATHS = {
  projects: /^\/[^/]+\/_apis\/projects$/i,
  repositories: /^\/[^/]+\/_apis\/git\/repositories$/i,
  pullRequests: /^\/[^/]+\/[^/]+\/_apis\/git\/pullrequests$/i,
  portBulkUpsert: /^\/v1\/blueprints\/[^/]+\/entities\/bulk$/,
} as const;

// ---------------------------------------------------------------------------------------------------- snapshots

/** One entity as the catalog holds it, without the fields that differ between equivalent runs (timestamps, writer). */
export interface SnapshotEntity {
  blueprint: string;
  identifier: string;
  title: string | null;
  properties: Record<string, unknown>;
  relations: Record<string, unknown>;
}

export type Snapshot = SnapshotEntity[];

/** The Port simulator's catalog as a canonical list: sorted by blueprint and identifier, object keys sorted. */
export function snapshotOf(port: PortSimulator): Snapshot {
  const out: Snapshot = [];
  for (const [blueprint, entities] of port.store.entities) {
    for (const e of entities.values()) {
      out.push({
        blueprint,
        identifier: e.identifier,
        title: e.title ?? null,
        properties: canonical(e.properties) as Record<string, unknown>,
        relations: canonical(e.relations) as Record<string, unknown>,
      });
    }
  }
  return out.sort((a, b) => cmp(a.blueprint, b.blueprint) || cmp(a.identifier, b.identifier));
}

export interface SnapshotDiff {
  /** In the reference, not in the catalog. */
  missing: string[];
  /** In the catalog, not in the reference. */
  extra: string[];
  /** In both, with different content. */
  changed: string[];
}

/** `blueprint/identifier` lists of what differs; all empty when the catalogs are identical. */
export function diffSnapshots(actual: Snapshot, reference: Snapshot): SnapshotDiff {
  const byKey = (s: Snapshot) => new Map(s.map((e) => [keyOf(e), JSON.stringify(e)]));
  const a = byKey(actual);
  const r = byKey(reference);
  return {
    missing: [...r.keys()].filter((k) => !a.has(k)),
    extra: [...a.keys()].filter((k) => !r.has(k)),
    changed: [...r.keys()].filter((k) => a.has(k) && a.get(k) !== r.get(k)),
  };
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
  );
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const keyOf = (e: { blueprint: string; identifier: string }) => `${e.blueprint}/${e.identifier}`;

// ---------------------------------------------------------------------------------------------------- runs

/** A CLI run's outcome: exit code or signal, and the end of its stderr (the summary and the last log lines). */
export interface RunOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The summary and the last lines of the log. */
  stderr: string;
}

function outcome(code: number | null, signal: NodeJS.Signals | null, stderr: string): RunOutcome {
  return { code, signal, stderr: stderr.trimEnd().split('\n').slice(-25).join('\n') };
}

/** A spawned resync that the test controls (to kill it mid-run). */
export interface SpawnedRun {
  pid: number;
  kill(signal: NodeJS.Signals): boolean;
  exit: Promise<RunOutcome>;
}

export interface RigOptions {
  /** Short name of the test file: part of every integration identifier. */
  name: string;
  scale?: Partial<AdoScale>;
  /** Redis database index of the file's runs (default 7); null: no Redis (hashes and the run ledger in memory). */
  redisDb?: number | null;
  /** Settings for every run of the file (ADO_PAGE_SIZE, ADO_MAX_ATTEMPTS, …), over the suite's defaults. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Settings of every run: projects and pull requests page by two, each request has two attempts and a few seconds,
 * one jq process (two shared cores).
 */
const BASE_ENV: NodeJS.ProcessEnv = {
  ADO_PAGE_SIZE: '2',
  ADO_MAX_ATTEMPTS: '2',
  ADO_REQUEST_TIMEOUT_MS: '5000',
  JQ_POOL_SIZE: '1',
  LOG_LEVEL: 'warn',
};

let caseCounter = 0;

/** One test file's simulators: the Azure DevOps simulator behind a fault proxy, and the reference catalog. */
export class FaultRig {
  private constructor(
    readonly ado: AdoSimulator,
    /** In front of `ado`; every run reaches the organization through it. */
    readonly proxy: FaultProxy,
    readonly options: RigOptions,
    readonly redis: Redis | undefined,
    readonly redisUrl: string | undefined,
  ) {}

  /** The catalog a resync that never saw a fault produces (set by `start`). */
  reference: Snapshot = [];

  static async start(options: RigOptions): Promise<FaultRig> {
    const ado = await startAdoSimulator({ pat: 'faults-pat-0123456789', scale: { ...DEFAULT_SCALE, ...options.scale } });
    const proxy = await startFaultProxy(ado.url);
    const db = options.redisDb === undefined ? 7 : options.redisDb;
    const redisUrl = db === null ? undefined : `redis://127.0.0.1:6379/${db}`;
    const redis = redisUrl ? new Redis(redisUrl, { maxRetriesPerRequest: 1 }) : undefined;
    const rig = new FaultRig(ado, proxy, options, redis, redisUrl);
    try {
      await rig.withCase('reference', async (ref) => {
        const run = await ref.clean();
        rig.reference = ref.snapshot();
        const count = (bp: string) => rig.referenceIds(bp).length;
        const scale = ado.dataset.org(new URL(ado.orgUrl()).pathname.slice(1))!.ctx.scale;
        new Verdict()
          .exit('the reference resync', run, 0)
          .check(count(BLUEPRINTS.project) === scale.projects, `the reference holds ${count(BLUEPRINTS.project)} projects, not ${scale.projects}`)
          .check(count(BLUEPRINTS.repository) === scale.projects * scale.reposPerProject, `the reference holds ${count(BLUEPRINTS.repository)} repositories`)
          .check(count(BLUEPRINTS.pullRequest) > 0, 'the reference holds no pull request')
          .assert();
      });
    } catch (err) {
      await rig.close();
      throw err;
    }
    return rig;
  }

  /** The organization URL through the proxy. */
  orgUrl(): string {
    return `${this.proxy.url}${new URL(this.ado.orgUrl()).pathname}`;
  }

  /** Identifiers of the reference catalog, by blueprint: the entities that exist in Azure DevOps. */
  referenceIds(blueprint: string): string[] {
    return this.reference.filter((e) => e.blueprint === blueprint).map((e) => e.identifier);
  }

  /** A fresh Port simulator, a unique integration identifier and no proxy rules. */
  async newCase(name: string, options: CaseOptions = {}): Promise<FaultCase> {
    this.proxy.clear();
    const port = await startPortSimulator();
    const portProxy = options.portProxy ? await startFaultProxy(port.url) : undefined;
    const identifier = `faults-${this.options.name}-${name}-${process.pid}-${++caseCounter}`.replace(/[^A-Za-z0-9._@+:=-]/g, '-');
    return new FaultCase(this, port, identifier, portProxy, options.env ?? {});
  }

  /** Runs `fn` on a new case and closes the case whatever happens. */
  async withCase(name: string, fn: (c: FaultCase) => Promise<void>, options: CaseOptions = {}): Promise<void> {
    const c = await this.newCase(name, options);
    try {
      await fn(c);
    } finally {
      await c.close();
    }
  }

  async close(): Promise<void> {
    await this.proxy.close();
    await this.ado.close();
    await this.redis?.quit();
  }
}

export interface CaseOptions {
  /** Put a fault proxy in front of the case's Port simulator (`FaultCase.portProxy`). */
  portProxy?: boolean;
  /** Settings for every run of the case, e.g. `REDIS_URL: ''` for runs without Redis. */
  env?: NodeJS.ProcessEnv;
}

/** One case: its Port simulator (optionally behind a proxy of its own), identifier and runs. */
export class FaultCase {
  constructor(
    readonly rig: FaultRig,
    readonly port: PortSimulator,
    readonly identifier: string,
    /** In front of `port`, when the case injects Port faults through a proxy. */
    readonly portProxy: FaultProxy | undefined,
    readonly caseEnv: NodeJS.ProcessEnv,
  ) {}

  /** What the catalog held and how many requests Port had seen when the last run started. */
  lastRun: { before: Set<string>; portRequestsFrom: number } = { before: new Set(), portRequestsFrom: 0 };

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...syncEnv(this.rig.ado, this.port),
      ADO_ORGANIZATION_URL: this.rig.orgUrl(),
      PORT_APP_CONFIG: CONFIG,
      INTEGRATION_IDENTIFIER: this.identifier,
      ...(this.portProxy ? { PORT_BASE_URL: this.portProxy.url } : {}),
      ...(this.rig.redisUrl ? { REDIS_URL: this.rig.redisUrl } : {}),
      ...BASE_ENV,
      ...this.rig.options.env,
      ...this.caseEnv,
      ...extra,
    };
    return env;
  }

  /** One resync with whatever proxy rules are set. */
  run(extra: NodeJS.ProcessEnv = {}): Promise<RunOutcome> {
    return this.spawn(extra).exit;
  }

  /** A resync with no fault (no proxy rule set). */
  clean(): Promise<RunOutcome> {
    this.rig.proxy.clear();
    this.portProxy?.clear();
    return this.run();
  }

  /** A resync under these Azure DevOps proxy rules (cleared afterwards). */
  async fault(rules: FaultRule[], extra: NodeJS.ProcessEnv = {}): Promise<RunOutcome> {
    this.rig.proxy.setRules(rules);
    try {
      return await this.run(extra);
    } finally {
      this.rig.proxy.clear();
    }
  }

  /**
   * Starts `resync` of the built CLI (`FAULT_SUITE_CLI` may name another build, e.g. one of the last commit, to see
   * which cases fail before a fix); `exit` settles when the process has ended, however it ended.
   */
  spawn(extra: NodeJS.ProcessEnv = {}): SpawnedRun {
    this.lastRun = { before: new Set(this.snapshot().map(keyOf)), portRequestsFrom: this.port.requests.length };
    const child = spawn(process.execPath, [process.env.FAULT_SUITE_CLI ?? CLI, 'resync'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, JQ_PATH: process.env.JQ_PATH ?? '/usr/bin/jq', ...this.env(extra) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<RunOutcome>((resolvePromise, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolvePromise(outcome(code, signal, stderr)));
    });
    if (child.pid === undefined) throw new Error('could not spawn the CLI');
    return { pid: child.pid, kill: (signal) => child.kill(signal), exit };
  }

  snapshot(): Snapshot {
    return snapshotOf(this.port);
  }

  /** Every entity named by a delete request (single or bulk) that Port received, from request number `from` on. */
  deleteRequests(from = 0): Array<{ blueprint: string; identifier: string }> {
    const out: Array<{ blueprint: string; identifier: string }> = [];
    for (const r of this.port.requests.slice(from)) {
      const single = /^\/v1\/blueprints\/([^/]+)\/entities\/([^/]+)$/.exec(r.path);
      if (r.method === 'DELETE' && single) out.push({ blueprint: decodeURIComponent(single[1]!), identifier: decodeURIComponent(single[2]!) });
      const bulk = /^\/v1\/blueprints\/([^/]+)\/bulk\/entities\/delete$/.exec(r.path);
      if (r.method === 'POST' && bulk) {
        const ids = (r.body as { entities?: unknown } | undefined)?.entities;
        for (const id of Array.isArray(ids) ? ids : []) out.push({ blueprint: decodeURIComponent(bulk[1]!), identifier: String(id) });
      }
    }
    return out;
  }

  /** Bulk upserts Port has received so far. */
  bulkUpserts(): number {
    return this.port.requestsTo('POST', PATHS.portBulkUpsert).length;
  }

  /** Drops this worker's Redis state (entity hashes, origins, run ledgers): a cache loss, scoped to this case. */
  async dropRedisState(): Promise<void> {
    if (this.rig.redis) await deleteKeys(this.rig.redis, `ado-sync:${this.identifier}:*`);
  }

  /** Writes an entity into Port as this worker would (its User-Agent is the ownership stamp), bypassing the worker. */
  plantOwnedEntity(blueprint: string, identifier: string, title: string): void {
    this.port.store.upsertEntity(
      blueprint,
      { identifier, title, properties: {}, relations: {} },
      { upsert: true, merge: false, createMissingRelatedEntities: false, validationOnly: false },
      userAgent(this.identifier, 'faults'),
    );
  }

  async close(): Promise<void> {
    await this.portProxy?.close();
    await this.port.close();
    if (this.rig.redis) await deleteKeys(this.rig.redis, `ado-sync:${this.identifier}:*`);
  }
}

// ---------------------------------------------------------------------------------------------------- assertions

/**
 * Collects what went wrong in a case, then fails once with every problem on a line of its own (followed by the
 * workers' stderr), so one failing case says everything the worker did wrong.
 */
export class Verdict {
  readonly problems: string[] = [];
  readonly logs: Array<[string, string]> = [];

  check(ok: boolean, problem: string): this {
    if (!ok) this.problems.push(problem);
    return this;
  }

  attach(label: string, run: RunOutcome): this {
    this.logs.push([label, run.stderr]);
    return this;
  }

  /** Exit code as expected. */
  exit(label: string, run: RunOutcome, expected: number): this {
    this.attach(label, run);
    const got = run.signal ? `was killed by ${run.signal}` : `exited ${run.code}`;
    return this.check(run.code === expected && !run.signal, `${label} ${got}, expected ${expected}`);
  }

  /** (c) The catalog is identical to the reference. */
  converged(label: string, c: FaultCase): this {
    const d = diffSnapshots(c.snapshot(), c.rig.reference);
    this.check(d.missing.length === 0, `after ${label}: ${describeKeys(d.missing)} missing from the catalog`);
    this.check(d.extra.length === 0, `after ${label}: ${describeKeys(d.extra)} in the catalog but not in the reference`);
    return this.check(d.changed.length === 0, `after ${label}: ${describeKeys(d.changed)} differ from the reference`);
  }

  /**
   * (b) Zero wrongful deletions by the case's last run: every entity of the reference that Port held before the run
   * is still there, and no delete request of the run named an entity that exists in Azure DevOps (a reference entity).
   */
  nothingWronglyDeleted(label: string, c: FaultCase): this {
    const have = new Set(c.snapshot().map(keyOf));
    const live = new Set(c.rig.reference.map(keyOf));
    const lost = [...live].filter((k) => c.lastRun.before.has(k) && !have.has(k));
    const named = [...new Set(c.deleteRequests(c.lastRun.portRequestsFrom).map(keyOf))].filter((k) => live.has(k));
    this.check(lost.length === 0, `${label} deleted ${describeKeys(lost)}, which Azure DevOps still holds`);
    return this.check(named.length === 0, `${label} sent delete requests naming ${describeKeys(named)}, which Azure DevOps still holds`);
  }

  /** Throws when anything went wrong. */
  assert(): void {
    if (this.problems.length === 0) return;
    const logs = this.logs.map(([label, text]) => `--- ${label} (stderr, last lines) ---\n${text}`).join('\n');
    throw new Error(`${this.problems.join('\n')}\n${logs}`);
  }
}

/** "3 entities (azureDevopsRepository 2, azureDevopsPullRequest 1: azureDevopsRepository/r1, …)". */
export function describeKeys(keys: string[]): string {
  const per = new Map<string, number>();
  for (const k of keys) {
    const bp = k.slice(0, k.indexOf('/'));
    per.set(bp, (per.get(bp) ?? 0) + 1);
  }
  const shown = keys.slice(0, 3).join(', ') + (keys.length > 3 ? ', …' : '');
  return `${keys.length} entit${keys.length === 1 ? 'y' : 'ies'} (${[...per].map(([bp, n]) => `${bp} ${n}`).join(', ')}: ${shown})`;
}

/** Precondition of every case: a clean resync that reproduces the reference. */
export async function cleanStart(c: FaultCase): Promise<void> {
  const run = await c.clean();
  new Verdict().exit('the first clean resync', run, 0).converged('the first clean resync', c).assert();
}

export interface FaultSpec {
  rules: FaultRule[];
  /** 1 for a failed/incomplete resync, 0 where the worker's retries absorb the fault. */
  exitCode: 0 | 1;
  env?: NodeJS.ProcessEnv;
  /** Rules that must have fired (default: all of them). */
  fired?: string[];
}

/**
 * The standard case: a clean resync (catalog = reference), the fault run, then a clean resync. Asserts (a) the fault
 * run's exit code, that its rules fired and that no safety limit of the proxy had to stop the worker, (b) zero
 * wrongful deletions, (c) the next clean resync exits 0 with the catalog identical to the reference.
 */
export async function faultCase(c: FaultCase, spec: FaultSpec): Promise<void> {
  await cleanStart(c);
  const run = await c.fault(spec.rules, spec.env);
  const v = new Verdict();
  for (const rule of spec.fired ?? spec.rules.map((r) => r.name)) v.check(c.rig.proxy.fired(rule) > 0, `the fault "${rule}" never fired`);
  v.check(!c.rig.proxy.limitReached(), `the worker did not stop on its own: the proxy's safety limit ended the fault run (${c.rig.proxy.log.length} requests so far)`);
  v.exit('the fault run', run, spec.exitCode).nothingWronglyDeleted('the fault run', c);
  const after = await c.clean();
  v.exit('the next clean resync', after, 0).converged('the next clean resync', c).assert();
}
