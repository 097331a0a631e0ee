/**
 * Service-hook subscription management against the Azure DevOps simulator over loopback: creation per event ×
 * project, idempotent restarts, repair, removal, hosts per publisher (vsrm/advsec stores), failure modes, the CLI and
 * the once-per-cluster start of `serve`.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { PatAuth } from '../../src/ado/auth.js';
import { AdoClient } from '../../src/ado/client.js';
import { parseOrganizationUrl, type Organization } from '../../src/ado/orgUrl.js';
import { loadSettings } from '../../src/config/settings.js';
import { HookListError, HookPermissionError } from '../../src/serviceHooks/api.js';
import { removeSubscriptions } from '../../src/serviceHooks/installed.js';
import { reconcileSubscriptions } from '../../src/serviceHooks/reconcile.js';
import { hooksLockKey, reconcileAtStart } from '../../src/serviceHooks/startup.js';
import { INSTANCE_HEADER, type HookSettings } from '../../src/serviceHooks/subscription.js';
import type { EventSubscription } from '../../src/kinds/types.js';
import { silentLogger } from '../../src/observability/log.js';
import { CLI, ROOT, runCli } from '../helpers/cli.js';
import { syncEnv } from '../helpers/env.js';
import { startPortSimulator } from '../simulators/port/index.js';
import { startAdoSimulator, type AdoSimulator, type StoredSubscription } from '../simulators/ado/index.js';
import { deleteKeys } from '../helpers/redisKeys.js';

const PROJECTS = 3;
const SECRET = 'hook-secret-Zq81x7';
const APP_HOST = 'https://sync.example.com';
const HOOK_URL = `${APP_HOST}/webhooks/azure-devops`;
const EVENTS: EventSubscription[] = [
  { publisherId: 'tfs', eventType: 'git.push' },
  { publisherId: 'tfs', eventType: 'git.pullrequest.created' },
  { publisherId: 'pipelines', eventType: 'ms.vss-pipelines.run-state-changed-event' },
  { publisherId: 'rm', eventType: 'ms.vss-release.deployment-completed-event' },
  { publisherId: 'advsec', eventType: 'ms.vss-alerts.alert-created-event' },
];
const ORGS = ['acme', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa'];

let sim: AdoSimulator;
beforeAll(async () => {
  // strictHookHosts: the org host refuses rm/advsec subscriptions, as the service does; they must go to vsrm/advsec.
  sim = await startAdoSimulator({ organizations: ORGS, scale: { projects: PROJECTS }, strictHookHosts: true });
});
afterAll(async () => {
  await sim.close();
});

/** The organization with its vsrm and advsec hosts at the simulator's per-service stores. */
function org(name: string): Organization {
  return { ...parseOrganizationUrl(sim.orgUrl(name), 'services'), serviceUrls: { vsrm: sim.serviceUrl('vsrm', name), advsec: sim.serviceUrl('advsec', name) } };
}

function client(name: string): AdoClient {
  return new AdoClient(org(name), new PatAuth(sim.pat), { maxAttempts: 2, backoffBaseMs: 1, backoffMaxMs: 5, maxPauseMs: 10 });
}

function settings(extra: Partial<HookSettings> = {}): HookSettings {
  return { appHost: APP_HOST, webhookSecret: SECRET, webhookAuthUsername: 'port', isProjectsLimited: true, integrationIdentifier: 'it-sync', ...extra };
}

function reconcile(name: string, extra: Partial<HookSettings> = {}, events = EVENTS) {
  return reconcileSubscriptions({ client: client(name), settings: settings(extra), events });
}

function headerOf(s: StoredSubscription): string | undefined {
  return s.consumerInputs.httpHeaders?.split('\n').find((l) => l.startsWith(`${INSTANCE_HEADER}:`))?.slice(INSTANCE_HEADER.length + 1);
}

function hookRequests(name: string, since = 0) {
  return sim.requests.slice(since).filter((r) => r.org === name && /\/_apis\/hooks\//i.test(r.path));
}

describe('simulator: hooks contract', () => {
  const auth = (json = true): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`:${sim.pat}`).toString('base64')}`, ...(json ? { 'content-type': 'application/json' } : {}) });
  const base = () => `${sim.serviceUrl('vsrm', 'kappa')}/_apis/hooks/subscriptions`;

  it('validates, fills server fields, masks the password, filters, and keeps hosts apart', async () => {
    const bad = await fetch(`${base()}?api-version=7.1-preview.1`, { method: 'POST', headers: auth(), body: JSON.stringify({ publisherId: 'rm', eventType: 'x', consumerId: 'webHooks', consumerActionId: 'nope', consumerInputs: { url: 'https://h/x' } }) });
    expect(bad.status).toBe(400);
    const noUrl = await fetch(`${base()}?api-version=7.1-preview.1`, { method: 'POST', headers: auth(), body: JSON.stringify({ publisherId: 'rm', eventType: 'x', consumerId: 'webHooks', consumerActionId: 'httpRequest', consumerInputs: { url: 'not a url' } }) });
    expect(noUrl.status).toBe(400);
    const wrongHost = await fetch(`${sim.orgUrl('kappa')}/_apis/hooks/subscriptions?api-version=7.1-preview.1`, { method: 'POST', headers: auth(), body: JSON.stringify({ publisherId: 'rm', eventType: 'x', consumerId: 'webHooks', consumerActionId: 'httpRequest', consumerInputs: { url: 'https://h/x' } }) });
    expect(wrongHost.status).toBe(400);
    const created = (await (
      await fetch(`${base()}?api-version=7.1-preview.1`, { method: 'POST', headers: auth(), body: JSON.stringify({ publisherId: 'rm', eventType: 'ms.vss-release.release-created-event', consumerId: 'webHooks', consumerActionId: 'httpRequest', consumerInputs: { url: 'https://h/x', basicAuthPassword: 'pw-123456' } }) })
    ).json()) as { id: string; status: string; createdDate: string; publisherInputs: Record<string, string>; consumerInputs: Record<string, string> };
    expect(created.status).toBe('enabled');
    expect(created.createdDate).toEqual(expect.any(String));
    expect(Object.keys(created.publisherInputs).sort()).toEqual(['hostId', 'tfsSubscriptionId']);
    expect(created.consumerInputs.basicAuthPassword).toBe('********');
    const one = (await (await fetch(`${base()}/${created.id}?api-version=7.1-preview.1`, { headers: auth() })).json()) as { consumerInputs: Record<string, string> };
    expect(one.consumerInputs.basicAuthPassword).toBe('********');
    const filtered = (await (await fetch(`${base()}?eventType=other&api-version=7.1-preview.1`, { headers: auth() })).json()) as { count: number };
    expect(filtered.count).toBe(0);
    const onCore = (await (await fetch(`${sim.orgUrl('kappa')}/_apis/hooks/subscriptions?publisherId=rm&api-version=7.1-preview.1`, { headers: auth() })).json()) as { count: number };
    expect(onCore.count).toBe(0);
    expect((await fetch(`${base()}/${created.id}?api-version=7.1-preview.1`, { method: 'DELETE', headers: auth(false) })).status).toBe(204);
    expect((await fetch(`${base()}/${created.id}?api-version=7.1-preview.1`, { headers: auth() })).status).toBe(404);
  });
});

describe('reconcile', () => {
  it('creates events × projects, each publisher on its own host, with the secret sent and our marker', async () => {
    const r = await reconcile('acme');
    expect(r).toMatchObject({ organization: 'acme', desired: EVENTS.length * PROJECTS, created: EVENTS.length * PROJECTS, kept: 0, repaired: 0, removed: 0, failed: 0 });
    const core = sim.hooks.all({ org: 'acme', service: 'core' });
    const vsrm = sim.hooks.all({ org: 'acme', service: 'vsrm' });
    const advsec = sim.hooks.all({ org: 'acme', service: 'advsec' });
    expect(core).toHaveLength(3 * PROJECTS);
    expect(new Set(core.map((s) => s.publisherId))).toEqual(new Set(['tfs', 'pipelines']));
    expect(vsrm.map((s) => s.publisherId)).toEqual(Array(PROJECTS).fill('rm'));
    expect(advsec.map((s) => s.publisherId)).toEqual(Array(PROJECTS).fill('advsec'));
    for (const s of [...core, ...vsrm, ...advsec]) {
      expect(s.consumerId).toBe('webHooks');
      expect(s.consumerActionId).toBe('httpRequest');
      expect(s.consumerInputs.url).toBe(HOOK_URL);
      expect(s.consumerInputs.basicAuthUsername).toBe('port');
      expect(s.consumerInputs.basicAuthPassword).toBe(SECRET);
      expect(headerOf(s)).toBe('it-sync');
      expect(s.publisherInputs.projectId).toMatch(/^[0-9a-f-]{36}$/);
    }
    // Every project gets every event.
    const projects = new Set(core.map((s) => s.publisherInputs.projectId));
    expect(projects.size).toBe(PROJECTS);
    // advsec on its preview api-version; rm listed on vsrm.
    const reqs = hookRequests('acme');
    expect(reqs.filter((q) => q.method === 'POST' && q.path.includes('/_host/advsec/')).every((q) => q.query['api-version'] === '7.2-preview.1')).toBe(true);
    expect(reqs.filter((q) => q.method === 'GET' && q.query.publisherId === 'rm').every((q) => q.path.includes('/_host/vsrm/'))).toBe(true);
  });

  it('is idempotent: a restart keeps everything, creates nothing, and the simulator holds no duplicates', async () => {
    const before = sim.hooks.all({ org: 'acme' }).map((s) => s.id).sort();
    const mark = sim.requests.length;
    const r = await reconcile('acme');
    expect(r).toMatchObject({ created: 0, kept: EVENTS.length * PROJECTS, repaired: 0, removed: 0, failed: 0 });
    expect(sim.hooks.all({ org: 'acme' }).map((s) => s.id).sort()).toEqual(before);
    expect(hookRequests('acme', mark).filter((q) => q.method !== 'GET')).toEqual([]);
    // The password is masked in every response, yet a correct subscription is not rewritten.
    const listed = await client('acme').get<{ value: Array<{ consumerInputs: Record<string, string> }> }>(`${sim.orgUrl('acme')}/_apis/hooks/subscriptions`, { 'api-version': '7.1-preview.1' });
    expect(listed.data.value.every((s) => s.consumerInputs.basicAuthPassword === '********')).toBe(true);
  });

  it('repairs a disabled one and ours at an old app host, in place; leaves foreign subscriptions alone', async () => {
    const first = await reconcile('beta', { appHost: 'https://old-host.example.com/' });
    expect(first.created).toBe(EVENTS.length * PROJECTS);
    const ours = sim.hooks.all({ org: 'beta' });
    const projectId = ours[0]!.publisherInputs.projectId!;
    sim.hooks.setStatus(ours[1]!.id, 'disabledBySystem');
    const foreign = [
      sim.hooks.seed('beta', 'core', { publisherId: 'tfs', eventType: 'git.push', consumerId: 'jenkins', consumerActionId: 'triggerGenericBuild', publisherInputs: { projectId }, consumerInputs: { serverBaseUrl: 'http://ci', password: 'x' } }),
      sim.hooks.seed('beta', 'core', { publisherId: 'tfs', eventType: 'git.push', consumerId: 'webHooks', consumerActionId: 'httpRequest', publisherInputs: { projectId }, consumerInputs: { url: 'https://elsewhere.example.com/hook' } }),
      sim.hooks.seed('beta', 'vsrm', { publisherId: 'rm', eventType: 'ms.vss-release.deployment-completed-event', consumerId: 'webHooks', consumerActionId: 'httpRequest', publisherInputs: { projectId }, consumerInputs: { url: HOOK_URL, httpHeaders: `${INSTANCE_HEADER}:another-install` } }),
      sim.hooks.seed('beta', 'core', { publisherId: 'tfs', eventType: 'git.push', consumerId: 'webHooks', consumerActionId: 'httpRequest', status: 'disabledBySystem', publisherInputs: { projectId }, consumerInputs: { url: 'https://old-host.example.com/webhooks/azure-devops', httpHeaders: `${INSTANCE_HEADER}:another-install` } }),
    ];

    const r = await reconcile('beta');
    expect(r).toMatchObject({ created: 0, kept: 0, repaired: EVENTS.length * PROJECTS, removed: 0, failed: 0 });
    const after = sim.hooks.all({ org: 'beta' });
    const mine = after.filter((s) => headerOf(s) === 'it-sync');
    expect(mine.map((s) => s.id).sort()).toEqual(ours.map((s) => s.id).sort());
    expect(mine.every((s) => s.status === 'enabled' && s.consumerInputs.url === HOOK_URL && s.consumerInputs.basicAuthPassword === SECRET)).toBe(true);
    for (const f of foreign) expect(sim.hooks.get(f.id)).toEqual(f);

    // With the URL right, only the disabled one is repaired.
    sim.hooks.setStatus(ours[2]!.id, 'disabledByUser');
    const again = await reconcile('beta');
    expect(again).toMatchObject({ created: 0, kept: EVENTS.length * PROJECTS - 1, repaired: 1, removed: 0 });
    expect(sim.hooks.get(ours[2]!.id)!.status).toBe('enabled');
  });

  it('repairs every subscription when the secret changes (the masked password is never compared)', async () => {
    await reconcile('gamma', {}, EVENTS.slice(0, 1));
    const r = await reconcile('gamma', { webhookSecret: 'rotated-secret-99' }, EVENTS.slice(0, 1));
    expect(r).toMatchObject({ created: 0, kept: 0, repaired: PROJECTS });
    expect(sim.hooks.all({ org: 'gamma' }).every((s) => s.consumerInputs.basicAuthPassword === 'rotated-secret-99')).toBe(true);
    const same = await reconcile('gamma', { webhookSecret: 'rotated-secret-99' }, EVENTS.slice(0, 1));
    expect(same).toMatchObject({ kept: PROJECTS, repaired: 0 });
  });

  it('removes duplicates and subscriptions of ours no longer needed, never foreign ones', async () => {
    await reconcile('gamma', { webhookSecret: 'rotated-secret-99' }, EVENTS.slice(0, 2));
    const dupSource = sim.hooks.all({ org: 'gamma' }).find((s) => s.eventType === 'git.push')!;
    sim.hooks.seed('gamma', 'core', { ...dupSource, id: randomUUID() });
    // Dropping git.pullrequest.created from the events: its subscriptions go.
    const r = await reconcile('gamma', { webhookSecret: 'rotated-secret-99' }, [EVENTS[0]!, { publisherId: 'tfs', eventType: 'workitem.created' }]);
    expect(r).toMatchObject({ created: PROJECTS, kept: PROJECTS, repaired: 0, removed: 1 + PROJECTS });
    const left = sim.hooks.all({ org: 'gamma' });
    expect(left.filter((s) => s.eventType === 'git.push')).toHaveLength(PROJECTS);
    // git.pullrequest.created is not listed (its publisher is, tfs): obsolete ones of ours are found through the per-publisher list.
    expect(left.filter((s) => s.eventType === 'git.pullrequest.created')).toHaveLength(0);
  });

  it('adopts a header-less twin at our URL instead of duplicating it; one with its own filters stays foreign', async () => {
    const projects = sim.dataset.org('kappa')!;
    const p0 = projects.projects.reference(0).id;
    const twin = sim.hooks.seed('kappa', 'core', { publisherId: 'tfs', eventType: 'git.push', consumerId: 'webHooks', consumerActionId: 'httpRequest', status: 'disabledBySystem', publisherInputs: { projectId: p0 }, consumerInputs: { url: HOOK_URL } });
    const filtered = sim.hooks.seed('kappa', 'core', { publisherId: 'tfs', eventType: 'git.push', consumerId: 'webHooks', consumerActionId: 'httpRequest', publisherInputs: { projectId: p0, branch: 'main' }, consumerInputs: { url: HOOK_URL } });
    const r = await reconcile('kappa', {}, EVENTS.slice(0, 1));
    expect(r).toMatchObject({ desired: PROJECTS, created: PROJECTS - 1, repaired: 1, kept: 0, removed: 0 });
    const adopted = sim.hooks.get(twin.id)!;
    expect([adopted.status, headerOf(adopted)]).toEqual(['enabled', 'it-sync']);
    expect(sim.hooks.get(filtered.id)).toEqual(filtered);
    // remove deletes what carries our header (the adopted one included), never the filtered foreign one.
    const removed = await removeSubscriptions({ client: client('kappa'), settings: settings(), publishers: ['tfs'] });
    expect(removed).toMatchObject({ removed: PROJECTS, failed: 0 });
    expect(sim.hooks.all({ org: 'kappa' }).map((x) => x.id)).toEqual([filtered.id]);
  });

  it('remove deletes only this installation\'s subscriptions on every host', async () => {
    const foreignIds = sim.hooks.all({ org: 'beta' }).filter((s) => headerOf(s) !== 'it-sync').map((s) => s.id);
    expect(foreignIds.length).toBe(4);
    const r = await removeSubscriptions({ client: client('beta'), settings: settings() });
    expect(r).toMatchObject({ organization: 'beta', removed: EVENTS.length * PROJECTS, failed: 0 });
    expect(sim.hooks.all({ org: 'beta' }).map((s) => s.id).sort()).toEqual(foreignIds.sort());
  });

  it('per-organization mode: one subscription per event; server-added publisher inputs do not cause duplicates', async () => {
    const r = await reconcile('delta', { isProjectsLimited: false });
    expect(r).toMatchObject({ desired: EVENTS.length, created: EVENTS.length });
    const subs = sim.hooks.all({ org: 'delta' });
    expect(subs.every((s) => s.publisherInputs.projectId === undefined && s.publisherInputs.tfsSubscriptionId && s.publisherInputs.hostId)).toBe(true);
    const again = await reconcile('delta', { isProjectsLimited: false });
    expect(again).toMatchObject({ created: 0, kept: EVENTS.length, removed: 0 });
    expect(sim.hooks.all({ org: 'delta' })).toHaveLength(EVENTS.length);
  });

  it('a failing list aborts before anything is created', async () => {
    sim.setFaults({ failPaths: [{ pattern: '/_host/vsrm/_apis/hooks', status: 503 }] });
    try {
      const mark = sim.requests.length;
      await expect(reconcile('epsilon')).rejects.toThrow(HookListError);
      await expect(reconcile('epsilon')).rejects.toThrow(/epsilon.*nothing was created or changed/s);
      expect(hookRequests('epsilon', mark).filter((q) => q.method !== 'GET')).toEqual([]);
      expect(sim.hooks.all({ org: 'epsilon' })).toEqual([]);
    } finally {
      sim.setFaults({});
    }
  });

  it('403 on the hooks API names the organization and the permissions, without a retry storm or the secret', async () => {
    sim.setFaults({ failPaths: [{ pattern: 'hooks', status: 403 }] });
    try {
      const mark = sim.requests.length;
      const err = (await reconcile('zeta').catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(HookPermissionError);
      expect(err.message).toContain('"zeta"');
      for (const p of ['View subscriptions', 'Edit subscriptions', 'Delete subscriptions', 'vso.hooks_write']) expect(err.message).toContain(p);
      expect(err.message).not.toContain(SECRET);
      expect(hookRequests('zeta', mark)).toHaveLength(1);
    } finally {
      sim.setFaults({});
    }
  });
});

describe('ado-sync webhooks (CLI)', () => {
  const env = (extra: NodeJS.ProcessEnv = {}) => ({
    ADO_ORGANIZATION_URL: sim.orgUrl('eta'),
    ADO_PERSONAL_ACCESS_TOKEN: sim.pat,
    ADO_FLAVOR: 'services',
    WEBHOOK_SECRET: SECRET,
    INTEGRATION_IDENTIFIER: 'cli-sync',
    ADO_MAX_ATTEMPTS: '2',
    ...extra,
  });
  const events = 'tfs/git.push,pipelines/ms.vss-pipelines.run-state-changed-event';

  it('sync without an app host is bad input (exit 2)', async () => {
    const res = await runCli(['webhooks', 'sync', '--events', events], { env: env() });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/APP_HOST|--app-host/);
  });

  it('sync, sync again, list, remove: per-org summaries, never the secret', async () => {
    const sync = await runCli(['webhooks', 'sync', '--events', events, '--app-host', APP_HOST], { env: env() });
    expect(sync.code).toBe(0);
    expect(sync.stdout).toContain(`eta: desired ${2 * PROJECTS}, created ${2 * PROJECTS}, kept 0, repaired 0, removed 0, failed 0`);
    const again = await runCli(['webhooks', 'sync', '--events', events], { env: env({ APP_HOST }) });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`created 0, kept ${2 * PROJECTS}`);
    const list = await runCli(['webhooks', 'list', '--json'], { env: env({ APP_HOST }) });
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout) as Array<{ organization: string; subscriptions: unknown[] }>;
    expect(listed[0]!.subscriptions).toHaveLength(2 * PROJECTS);
    const remove = await runCli(['webhooks', 'remove'], { env: env({ APP_HOST }) });
    expect(remove.code).toBe(0);
    expect(remove.stdout).toContain(`eta: removed ${2 * PROJECTS}, failed 0`);
    expect(sim.hooks.all({ org: 'eta' })).toEqual([]);
    for (const r of [sync, again, list, remove]) expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('a permission error exits 1 with the permissions message', async () => {
    sim.setFaults({ failPaths: [{ pattern: 'hooks', status: 401 }] });
    try {
      const res = await runCli(['webhooks', 'sync', '--events', events, '--app-host', APP_HOST], { env: env() });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('"eta"');
      expect(res.stderr).toContain('Edit subscriptions');
      expect(res.stdout + res.stderr).not.toContain(SECRET);
    } finally {
      sim.setFaults({});
    }
  });
});

describe('serve start: once per cluster', () => {
  const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, lazyConnect: true });
  afterAll(() => redis.disconnect());

  it('two replicas starting together reconcile once; the lock is released afterwards; failures do not throw', async () => {
    await redis.connect();
    const identifier = `hooks-it-${randomUUID()}`;
    const s = loadSettings({}, { ADO_ORGANIZATION_URL: sim.orgUrl('theta'), ADO_PERSONAL_ACCESS_TOKEN: sim.pat, ADO_FLAVOR: 'services', APP_HOST, WEBHOOK_SECRET: SECRET, INTEGRATION_IDENTIFIER: identifier });
    const events = EVENTS.slice(0, 1);
    const [a, b] = await Promise.all([
      reconcileAtStart({ settings: s, events, redis, log: silentLogger }),
      reconcileAtStart({ settings: s, events, redis, log: silentLogger }),
    ]);
    expect([a.status, b.status].sort()).toEqual(['done', 'locked']);
    const done = a.status === 'done' ? a : b;
    expect(done.results[0]).toMatchObject({ organization: 'theta', created: PROJECTS });
    expect(sim.hooks.all({ org: 'theta' })).toHaveLength(PROJECTS);
    expect(await redis.exists(hooksLockKey(s))).toBe(0);

    sim.setFaults({ failPaths: [{ pattern: 'hooks', status: 403 }] });
    try {
      const failed = await reconcileAtStart({ settings: s, events, redis, log: silentLogger });
      expect(failed.status).toBe('done');
      expect(failed.errors[0]!.message).toContain('Delete subscriptions');
      expect(failed.errors[0]!.message).not.toContain(SECRET);
    } finally {
      sim.setFaults({});
    }
  });
});

describe('ado-sync serve with APP_HOST', () => {
  it('reconciles in the background after listening and logs the summary, without the secret', async () => {
    const port = await startPortSimulator();
    const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
    const identifier = `hooks-serve-${randomUUID()}`;
    const dir = mkdtempSync(join(tmpdir(), 'ado-sync-hooks-'));
    const config = join(dir, 'config.yml');
    writeFileSync(config, `resources:\n  - kind: project\n    selector: { query: 'true' }\n    port: { entity: { mappings: { identifier: .id, title: .name, blueprint: '"azureDevopsProject"' } } }\n`);
    const env = syncEnv(sim, port, {
      ADO_ORGANIZATION_URL: sim.orgUrl('iota'),
      INTEGRATION_IDENTIFIER: identifier,
      REDIS_URL: 'redis://127.0.0.1:6379',
      PORT_APP_CONFIG: config,
      APP_HOST,
      WEBHOOK_SECRET: SECRET,
      LOG_LEVEL: 'info',
      JQ_POOL_SIZE: '1',
      SHUTDOWN_GRACE_MS: '2000',
    });
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--host', '127.0.0.1'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, JQ_PATH: process.env.JQ_PATH ?? '/usr/bin/jq', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    let stderr = '';
    try {
      // Resolves on the log line itself (event-driven), or rejects if the process ends first.
      const line = await new Promise<string>((resolve, reject) => {
        child.stderr!.on('data', (d) => {
          stderr += d;
          const hit = stderr.split('\n').find((l) => l.includes('service-hook subscriptions'));
          if (hit) resolve(hit);
        });
        void exited.then((code) => reject(new Error(`serve exited (${code}) before reconciling:\n${stderr}`)));
      });
      expect(line).toContain('service-hook subscriptions reconciled');
      expect(line).toContain('"org":"iota"');
      expect(line).toContain('"failed":0');
      expect(stderr).toContain('server listening');
      expect(stderr).not.toContain(SECRET);
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await deleteKeys(redis, `ado-sync:${identifier}:*`);
      redis.disconnect();
      await port.close();
    }
  });
});
