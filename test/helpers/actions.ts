/**
 * Driving actions directly, as the executor would but without it: a minimal ActionContext whose report collects the
 * log lines and status updates, the simulators' clients, and a catalog refresh writing to the Port simulator.
 */
import yaml from 'js-yaml';
import { PatAuth } from '../../src/ado/auth.js';
import { AdoClient } from '../../src/ado/client.js';
import { parseOrganizationUrl } from '../../src/ado/orgUrl.js';
import type { ActionContext, ActionDefinition, ActionOutcome, CatalogRefresh, MicrosoftGraphApi } from '../../src/actions/types.js';
import { parseAppConfig, type PortAppConfig } from '../../src/config/appConfig.js';
import { loadSettings } from '../../src/config/settings.js';
import { silentLogger } from '../../src/observability/log.js';
import { CatalogRefresher } from '../../src/sync/catalogRefresh.js';
import { buildPortTarget, type PortTarget } from '../../src/sync/portTarget.js';
import { startAdoSimulator, type AdoSimulator, type AdoSimulatorOptions } from '../simulators/ado/index.js';
import { startPortSimulator, type Blueprint, type PortSimulator } from '../simulators/port/index.js';
import { syncEnv } from './env.js';

export interface RecordedRun {
  outcome: ActionOutcome;
  /** The run's log lines, in order. */
  lines: string[];
  /** The status updates (label, links), in order. */
  updates: Array<{ statusLabel?: string; links?: string[] }>;
}

export interface RunOptions {
  client: AdoClient;
  inputs: Record<string, unknown>;
  /** Default true. */
  apply?: boolean;
  graph?: MicrosoftGraphApi;
  refresh?: CatalogRefresh;
  allowDeprovision?: boolean;
  signal?: AbortSignal;
  /** Called on each status update, after it is recorded (a test acts on the simulator there: no waiting on time). */
  onUpdate?: (patch: { statusLabel?: string; links?: string[] }) => void;
}

/** Runs one action with a minimal context; the report collects what the run would show in Port. */
export async function runAction(action: ActionDefinition, o: RunOptions): Promise<RecordedRun> {
  const lines: string[] = [];
  const updates: RecordedRun['updates'] = [];
  const ctx: ActionContext = {
    run: { action: action.identifier, port_context: { runId: `r_${Math.random().toString(36).slice(2)}` }, inputs: o.inputs, trigger: { by: { user: { email: 'dev@example.com' } } } },
    inputs: o.inputs,
    client: o.client,
    graph: o.graph,
    apply: o.apply ?? true,
    allowDeprovision: o.allowDeprovision ?? false,
    report: {
      log: async (message) => void lines.push(message),
      update: async (patch) => {
        updates.push(patch);
        o.onUpdate?.(patch);
      },
    },
    refresh: o.refresh,
    log: silentLogger,
    signal: o.signal,
  };
  const outcome = await action.run(ctx);
  return { outcome, lines, updates };
}

/** A client of the simulator's first organization, with the simulator's PAT (or another one), no retries. */
export function adoClient(sim: AdoSimulator, pat = sim.pat): AdoClient {
  return new AdoClient(parseOrganizationUrl(sim.orgUrl(), 'services'), new PatAuth(pat), { maxAttempts: 1 });
}

/** Blueprints without relations, for the catalog the actions' refresh writes. */
export const ACTION_BLUEPRINTS: Blueprint[] = [
  { identifier: 'adoUserEntitlement', title: 'User entitlement', schema: { properties: { principalName: { type: 'string' }, licenseType: { type: 'string' } } } },
  { identifier: 'adoAdvancedUser', title: 'Basic + Test Plans user', schema: { properties: { principalName: { type: 'string' } } } },
  { identifier: 'adoGroupMember', title: 'Group member', schema: { properties: { principalName: { type: 'string' }, group: { type: 'string' } } } },
  { identifier: 'adoPipelineRun', title: 'Pipeline run', schema: { properties: { state: { type: 'string' }, result: { type: 'string' }, link: { type: 'string' } } } },
];

/** Every kind the actions refresh, one resource each, and the entitlements of Basic + Test Plans users (a filtered one). */
export const ACTION_MAPPINGS = yaml.dump({
  resources: [
    {
      kind: 'user-entitlement',
      selector: { query: 'true', includeFields: ['license'] },
      port: { entity: { mappings: { identifier: '.id', title: '.user.displayName', blueprint: '"adoUserEntitlement"', properties: { principalName: '.user.principalName', licenseType: '.accessLevel.accountLicenseType' } } } },
    },
    {
      kind: 'user-entitlement',
      selector: { query: 'true', filter: "licenseId eq 'Account-Advanced'" },
      port: { entity: { mappings: { identifier: '.id', title: '.user.displayName', blueprint: '"adoAdvancedUser"', properties: { principalName: '.user.principalName' } } } },
    },
    {
      kind: 'group-member',
      selector: { query: 'true' },
      port: {
        entity: {
          mappings: {
            identifier: '.__group.descriptor + "/" + .descriptor',
            title: '.displayName',
            blueprint: '"adoGroupMember"',
            properties: { principalName: '.principalName', group: '.__group.principalName' },
          },
        },
      },
    },
    {
      kind: 'pipeline-run',
      selector: { query: 'true' },
      port: {
        entity: {
          mappings: {
            identifier: '.__project.id + "-" + (.__pipeline.id | tostring) + "-" + (.id | tostring)',
            title: '.name',
            blueprint: '"adoPipelineRun"',
            properties: { state: '.state', result: '.result', link: '._links.web.href' },
          },
        },
      },
    },
  ],
});

export interface TestCatalog {
  refresher: CatalogRefresher;
  port: PortTarget;
  config: PortAppConfig;
  close(): Promise<void>;
}

/** The catalog refresh of `sim`'s first organization into the Port simulator (entity hashes in memory). */
export function testCatalog(sim: AdoSimulator, portSim: PortSimulator, client: AdoClient): TestCatalog {
  const settings = loadSettings({}, syncEnv(sim, portSim, { INTEGRATION_IDENTIFIER: `actions-${process.pid}` }));
  const config = parseAppConfig(ACTION_MAPPINGS, 'actions.yml').config;
  const port = buildPortTarget(settings, config, silentLogger);
  const refresher = new CatalogRefresher({
    config,
    targets: [{ client }],
    sink: port.sink,
    catalog: port.catalog,
    state: port.state,
    origins: port.origins,
    log: silentLogger,
    pageSize: 100,
  });
  return {
    refresher,
    port,
    config,
    close: async () => {
      await refresher.close();
      await port.close();
    },
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Azure DevOps payloads of many shapes
export type Json = Record<string, any>;

/** GET on the simulator's first organization with its PAT, answered 200; the JSON body. */
export async function adoGet(sim: AdoSimulator, path: string): Promise<Json> {
  const res = await fetch(`${sim.orgUrl()}/${path}`, { headers: { authorization: `Basic ${Buffer.from(`:${sim.pat}`).toString('base64')}` } });
  if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return (await res.json()) as Json;
}

export interface ActionHarness {
  sim: AdoSimulator;
  port: PortSimulator;
  /** The simulator's first organization, with its PAT. */
  client: AdoClient;
  catalog: TestCatalog;
}

/**
 * Starts the Azure DevOps simulator, the Port simulator (with ACTION_BLUEPRINTS) and the catalog refresh in beforeAll,
 * and stops them in afterAll; the fields are set once beforeAll ran.
 */
export function actionHarness(options: AdoSimulatorOptions & { entra?: boolean }): ActionHarness {
  const h = {} as ActionHarness;
  beforeAll(async () => {
    h.sim = await startAdoSimulator(options);
    h.port = await startPortSimulator({ blueprints: ACTION_BLUEPRINTS });
    h.client = adoClient(h.sim);
    h.catalog = testCatalog(h.sim, h.port, h.client);
  });
  afterAll(async () => {
    await h.catalog?.close();
    await h.sim?.close();
    await h.port?.close();
  });
  return h;
}
