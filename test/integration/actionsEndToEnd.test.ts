/**
 * The shipped actions as a user meets them: `ado-sync actions install` creates them in the Port simulator, a spawned
 * `ado-sync serve` (real Redis) receives the runs the Port simulator signs and sends to `{appHost}/actions/port`, runs
 * them against the Azure DevOps simulator, reports each run's status and logs to Port's action-run API, and writes the
 * changed entities to the catalog. `ado-sync actions run` runs one locally, a dry-run unless --apply.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, listenPort, runCli, startCli, stopClis, until } from '../helpers/cli.js';
import { syncEnv } from '../helpers/env.js';
import { adoGet, type Json } from '../helpers/actions.js';
import { deleteKeys } from '../helpers/redisKeys.js';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';
import { startPortSimulator, type PortSimulator } from '../simulators/port/index.js';
import type { SimRun } from '../simulators/port/actions.js';

const REDIS = 'redis://127.0.0.1:6379';
const READ_ONLY_PAT = 'e2e-read-only-pat-7f3a';
const SHIPPED = ['ado_add_group_member', 'ado_remove_group_member', 'ado_add_user', 'ado_change_access_level', 'ado_remove_user', 'ado_run_pipeline'];
/** Every shipped action but the deprovisioning one, which the installation has not opted in to. */
const ENABLED = SHIPPED.filter((a) => a !== 'ado_remove_user');

const dir = mkdtempSync(join(tmpdir(), 'ado-sync-actions-'));
const CONFIG = join(dir, 'config.yml');
writeFileSync(
  CONFIG,
  `createMissingRelatedEntities: true
resources:
  - kind: group-member
    selector: { query: 'true' }
    port:
      entity:
        mappings:
          identifier: .__group.descriptor + "/" + .descriptor
          title: .displayName
          blueprint: '"azureDevopsGroupMember"'
          properties: { principalName: .principalName }
          relations: { group: .__group.descriptor }
  - kind: pipeline-run
    selector: { query: 'true' }
    port:
      entity:
        mappings:
          identifier: .__project.id + "-" + (.__pipeline.id | tostring) + "-" + (.id | tostring)
          title: .name
          blueprint: '"azureDevopsPipelineRun"'
          properties: { state: .state, result: .result }
`,
);

describe('actions end to end: install, serve, Port invoking the shipped actions', () => {
  let port: PortSimulator;
  let sim: AdoSimulator;
  let redis: Redis;
  const identifiers: string[] = [];
  let appHost: string;
  let project: { id: string; name: string };

  beforeAll(async () => {
    port = await startPortSimulator();
    sim = await startAdoSimulator({ pats: { [READ_ONLY_PAT]: [] }, scale: { projects: 2, reposPerProject: 1, pipelinesPerProject: 2, buildsPerPipeline: 1 } });
    redis = new Redis(REDIS);
    appHost = `http://127.0.0.1:${await freePort()}`;
    project = sim.dataset.org('acme')!.projects.record(0);
  });
  afterEach(stopClis);
  afterAll(async () => {
    for (const id of identifiers) await deleteKeys(redis, `ado-sync:${id}:*`);
    await redis.quit();
    await sim.close();
    await port.close();
  });

  const env = (extra: NodeJS.ProcessEnv = {}) => syncEnv(sim, port, { PORT_APP_CONFIG: CONFIG, LOG_LEVEL: 'info', ...extra });

  /** `ado-sync serve` on `listen` with the shipped actions enabled; its own integration identifier (queues, keys). */
  async function serve(name: string, listen: string, extra: NodeJS.ProcessEnv = {}): Promise<{ url: string; log: () => Json[] }> {
    const identifier = `actions-e2e-${name}-${process.pid}-${Date.now()}`;
    identifiers.push(identifier);
    const p = startCli(['serve', '--port', new URL(listen).port, '--host', '127.0.0.1'], env({
      INTEGRATION_IDENTIFIER: identifier,
      REDIS_URL: REDIS,
      ACTIONS_ENABLED: ENABLED.join(','),
      // The simulator decides when a queued run completes (after a number of reads): polling fast costs nothing.
      ACTIONS_PIPELINE_POLL_MS: '5',
      SHUTDOWN_GRACE_MS: '3000',
      ...extra,
    }));
    await listenPort(p);
    const log = () => p.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Json);
    return { url: `${listen}/actions/port`, log };
  }

  /** Port's part: a run of the installed action, signed and sent to the worker; the run once it ended. */
  async function invoke(action: string, inputs: Record<string, unknown>, url?: string): Promise<SimRun> {
    const sent = await port.invoke(action, { inputs, userEmail: 'jane@example.com', url });
    expect({ action, status: sent.status }).toEqual({ action, status: 202 });
    return until(`run ${sent.runId} of ${action} to end`, () => {
      const run = port.run(sent.runId)!;
      return run.status !== 'IN_PROGRESS' && run;
    });
  }
  /** Requests that change Azure DevOps (a subject query is a POST that only reads). */
  const changes = () => sim.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD' && !/subject(lookup|query)$/i.test(r.path));
  const lastLog = (run: SimRun) => run.logs.at(-1)!;
  const groups = async (): Promise<Json[]> => (await adoGet(sim, '_apis/graph/groups')).value;
  const members = async (g: Json): Promise<string[]> => (await adoGet(sim, `_apis/graph/memberships/${g.descriptor}?direction=down`)).value.map((m: Json) => m.memberDescriptor);

  it('actions install refuses without APP_HOST, creates the shipped actions pointing at {appHost}/actions/port, then updates them', async () => {
    const missing = await runCli(['actions', 'install'], { env: env() });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/APP_HOST/);
    expect(port.actions()).toHaveLength(0);

    const first = await runCli(['actions', 'install', '--app-host', appHost], { env: env() });
    expect(first.stderr).not.toContain(port.clientSecret);
    expect(first.code).toBe(0);
    expect(first.stdout.trim().split('\n').sort()).toEqual(SHIPPED.map((a) => `created ${a}`).sort());
    expect(first.stderr).toContain('ACTIONS_ENABLED does not list');
    const installed = port.actions();
    expect(installed.map((a) => a.identifier).sort()).toEqual([...SHIPPED].sort());
    for (const a of installed) {
      expect({ id: a.identifier, url: a.invocationMethod.url, body: (a.invocationMethod.body as Json).action }).toEqual({ id: a.identifier, url: `${appHost}/actions/port`, body: a.identifier });
    }

    const again = await runCli(['actions', 'install', '--app-host', appHost], { env: env({ ACTIONS_ENABLED: SHIPPED.join(',') }) });
    expect(again.code).toBe(0);
    expect(again.stdout.trim().split('\n').sort()).toEqual(SHIPPED.map((a) => `updated ${a}`).sort());
    expect(again.stderr).not.toContain('ACTIONS_ENABLED does not list');
  });

  it('serve runs what Port sends: success, the idempotent repeat, a pipeline followed to completion, bad inputs and a refused action, each reported with its status', async () => {
    const server = await serve('main', appHost);
    const readers = (await groups()).find((g) => g.principalName === `[${project.name}]\\Readers`)!;
    const users: Json[] = (await adoGet(sim, '_apis/graph/users')).value;
    const current = await members(readers);
    const newcomer = users.find((u) => u.origin === 'aad' && !current.includes(u.descriptor))!;

    const added = await invoke('ado_add_group_member', { group: readers.principalName, user: newcomer.principalName });
    expect(added.status).toBe('SUCCESS');
    expect(lastLog(added)).toMatchObject({ terminationStatus: 'SUCCESS', message: expect.stringMatching(/^Added .* to .*Readers/) });
    expect(await members(readers)).toContain(newcomer.descriptor);
    // The worker's log says who changed what, in which run.
    expect(server.log().find((l) => /^Added /.test(l.msg))).toMatchObject({ runId: added.id, user: 'jane@example.com', action: 'ado_add_group_member' });
    // The catalog shows the new member at once, without a resync.
    expect(port.entity('azureDevopsGroupMember', `${readers.descriptor}/${newcomer.descriptor}`)?.relations).toEqual({ group: readers.descriptor });

    const repeat = await invoke('ado_add_group_member', { group: readers.principalName, user: newcomer.principalName });
    expect(repeat.status).toBe('SUCCESS');
    expect(lastLog(repeat).message).toContain('is already a member of');
    expect(sim.requests.filter((r) => r.method === 'PUT' && /graph\/memberships\//.test(r.path))).toHaveLength(1);

    const removed = await invoke('ado_remove_group_member', { group: readers.principalName, user: newcomer.principalName });
    expect(removed.status).toBe('SUCCESS');
    expect(await members(readers)).not.toContain(newcomer.descriptor);
    expect(port.entity('azureDevopsGroupMember', `${readers.descriptor}/${newcomer.descriptor}`)).toBeUndefined();

    const hire = 'e2e.hire@acme.example.com';
    const user = await invoke('ado_add_user', { user: hire, accessLevel: 'stakeholder' });
    expect({ status: user.status, message: lastLog(user).message }).toEqual({ status: 'SUCCESS', message: expect.stringMatching(/^Added e2e\.hire@acme\.example\.com to organization "acme" with access level Stakeholder/) });
    const changed = await invoke('ado_change_access_level', { user: hire, accessLevel: 'express' });
    expect(changed.status).toBe('SUCCESS');
    const unchanged = await invoke('ado_change_access_level', { user: hire, accessLevel: 'express' });
    expect({ status: unchanged.status, message: lastLog(unchanged).message }).toEqual({ status: 'SUCCESS', message: expect.stringContaining('already has access level') });

    sim.runs.setPlan({ readsToComplete: 3, result: 'succeeded' });
    const pipeline = await invoke('ado_run_pipeline', { project: project.name, pipeline: 'ci', branch: 'main' });
    const queued = sim.runs.queued.at(-1)!;
    const link = `${sim.orgUrl()}/${project.id}/_build/results?buildId=${queued.run.id}`;
    expect({ status: pipeline.status, link: pipeline.link, message: lastLog(pipeline).message }).toEqual({ status: 'SUCCESS', link: [link], message: expect.stringMatching(/succeeded$/) });
    expect(port.entity('azureDevopsPipelineRun', `${project.id}-${queued.run.pipelineId}-${queued.run.id}`)?.properties).toMatchObject({ state: 'completed', result: 'succeeded' });

    // Bad inputs: FAILURE naming the field, for every enabled action; nothing written to Azure DevOps.
    const writes = changes().length;
    for (const action of ENABLED) {
      const bad = await invoke(action, { surprise: 1 });
      expect({ action, status: bad.status, message: lastLog(bad).message }).toEqual({ action, status: 'FAILURE', message: expect.stringMatching(/^bad input: "\w+" (is missing|is not an input)/) });
    }
    const refused = await invoke('ado_remove_user', { user: hire });
    expect({ status: refused.status, message: lastLog(refused).message }).toEqual({ status: 'FAILURE', message: expect.stringContaining('is not enabled on this installation') });
    expect(changes()).toHaveLength(writes);
  });

  it('an installation whose PAT may only read reports each change as FAILURE naming the scope, and changes nothing', async () => {
    const { url } = await serve('read-only', `http://127.0.0.1:${await freePort()}`, { ADO_PERSONAL_ACCESS_TOKEN: READ_ONLY_PAT });
    const readers = (await groups()).find((g) => g.principalName === `[${project.name}]\\Readers`)!;
    const before = await members(readers);
    const user = ((await adoGet(sim, '_apis/graph/users')).value as Json[]).find((u) => u.origin === 'aad' && !before.includes(u.descriptor))!;
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['ado_add_group_member', { group: readers.principalName, user: user.principalName }, 'vso.graph_manage'],
      ['ado_add_user', { user: 'e2e.readonly@acme.example.com', accessLevel: 'express' }, 'vso.memberentitlementmanagement_write'],
      ['ado_run_pipeline', { project: project.name, pipeline: 'ci' }, 'vso.build_execute'],
    ];
    const runs = sim.runs.queued.length;
    for (const [action, inputs, scope] of cases) {
      const run = await invoke(action, inputs, url);
      expect({ action, status: run.status, message: lastLog(run).message }).toEqual({ action, status: 'FAILURE', message: expect.stringContaining(scope) });
    }
    expect(await members(readers)).toEqual(before);
    expect(sim.runs.queued).toHaveLength(runs);
  });

  it('actions run is a dry-run by default and changes Azure DevOps with --apply', async () => {
    const input = join(dir, 'add.json');
    const contributors = (await groups()).find((g) => g.principalName === `[${project.name}]\\Contributors`)!;
    const users: Json[] = (await adoGet(sim, '_apis/graph/users')).value;
    const current = await members(contributors);
    const someone = users.find((u) => u.origin === 'aad' && !current.includes(u.descriptor))!;
    writeFileSync(input, JSON.stringify({ group: contributors.principalName, user: someone.principalName }));

    const dry = await runCli(['actions', 'run', 'ado_add_group_member', '--input', input], { env: env() });
    expect(dry.code).toBe(0);
    expect(dry.stderr).toMatch(/dry-run: would add /);
    expect(await members(contributors)).toEqual(current);

    const applied = await runCli(['actions', 'run', 'ado_add_group_member', '--input', input, '--apply'], { env: env() });
    expect(applied.code).toBe(0);
    expect(applied.stderr).toMatch(/Added /);
    expect(applied.stderr).not.toContain(sim.pat);
    expect(await members(contributors)).toContain(someone.descriptor);

    const unknown = await runCli(['actions', 'run', 'ado_add_group_membr', '--input', input], { env: env() });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('did you mean "ado_add_group_member"');
  });
});
