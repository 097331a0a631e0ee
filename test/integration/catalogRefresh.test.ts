/**
 * CatalogRefresher (the refresh after an action) writes exactly what a resync produces for the items it refetches:
 * each kind's `refetch` (group-member, user-entitlement, pipeline-run), mapped with every configured resource of the
 * kind, gives the resync's own entities, a resource whose filter leaves an item out deletes its entity, and items that
 * are gone have their entities deleted. Real jq, the Azure DevOps simulator over loopback; the sink and the catalog
 * record what they are asked.
 */
import type { AdoClient } from '../../src/ado/client.js';
import { parseAppConfig, type PortAppConfig } from '../../src/config/appConfig.js';
import { silentLogger } from '../../src/observability/log.js';
import { CatalogRefresher } from '../../src/sync/catalogRefresh.js';
import { RecordingCatalog, RecordingSink } from '../helpers/recorders.js';
import { resyncOrganization } from '../../src/sync/resync.js';
import { ACTION_MAPPINGS, adoClient, adoGet, type Json } from '../helpers/actions.js';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';
import type { Entity } from '../../src/catalog/entity.js';

const key = (e: Entity) => `${e.blueprint}/${String(e.identifier)}`;

describe('catalog refresh after an action', () => {
  let sim: AdoSimulator;
  let client: AdoClient;
  let config: PortAppConfig;
  /** The resync's entities by key. */
  let produced: Map<string, Entity>;
  let sink: RecordingSink;
  let catalog: RecordingCatalog;
  let refresher: CatalogRefresher;

  beforeAll(async () => {
    sim = await startAdoSimulator({ scale: { projects: 2, reposPerProject: 1, pipelinesPerProject: 2, buildsPerPipeline: 2 } });
    client = adoClient(sim);
    config = parseAppConfig(ACTION_MAPPINGS, 'actions.yml').config;
    const resync = new RecordingSink();
    const summaries = await resyncOrganization({ config, target: { client }, sink: resync, log: silentLogger, poolSize: 1, pageSize: 100 });
    for (const s of summaries) expect([s.kind, s.status, s.error]).toEqual([s.kind, 'ok', undefined]);
    produced = new Map(resync.written.map((w) => [key(w.entity), w.entity]));
    sink = new RecordingSink();
    catalog = new RecordingCatalog();
    refresher = new CatalogRefresher({ config, targets: [{ client }], sink, catalog, log: silentLogger, pageSize: 100 });
  });

  afterAll(async () => {
    await refresher.close();
    await sim.close();
  });

  async function refresh(kind: string, hint: Record<string, unknown>): Promise<{ written: Entity[]; deleted: string[]; counts: { written: number; deleted: number } }> {
    sink.written.length = 0;
    catalog.deleted.length = 0;
    const counts = await refresher.kindChanged(kind, hint);
    return { written: sink.written.map((w) => w.entity), deleted: [...catalog.deleted], counts };
  }

  const ado = (path: string) => adoGet(sim, path);

  it("group-member: a group's members as the resync writes them; a member who is not one any more is deleted", async () => {
    const groups = (await ado('_apis/graph/groups')).value as Json[];
    let checked = 0;
    for (const g of groups) {
      const expected = [...produced.values()].filter((e) => e.blueprint === 'adoGroupMember' && String(e.identifier).startsWith(`${g.descriptor}/`));
      const { written, deleted, counts } = await refresh('group-member', { groupDescriptor: g.descriptor });
      expect([g.principalName, written.sort((a, b) => key(a).localeCompare(key(b)))]).toEqual([g.principalName, expected.sort((a, b) => key(a).localeCompare(key(b)))]);
      expect(deleted).toEqual([]);
      expect(counts).toEqual({ written: expected.length, deleted: 0 });
      checked += expected.length;
    }
    expect(checked).toBeGreaterThan(10);

    const [group, outsider] = [groups.find((g) => g.displayName === 'Readers')!, (await ado('_apis/graph/users')).value.at(-1) as Json];
    const { deleted } = await refresh('group-member', { groupDescriptor: group.descriptor, memberDescriptor: outsider.descriptor });
    expect(deleted).toEqual([`adoGroupMember/${group.descriptor}/${outsider.descriptor}`]);
  });

  it('user-entitlement: the entitlement as each resource writes it, its filter applied; a user who is gone is deleted', async () => {
    const entitlements = (await ado('_apis/userentitlements?api-version=7.1')).items as Json[];
    const seen = new Set<string>();
    for (const e of entitlements) {
      const level = e.accessLevel.accountLicenseType as string;
      if (seen.has(level)) continue;
      seen.add(level);
      const { written, deleted } = await refresh('user-entitlement', { userId: e.id });
      const advanced = produced.get(`adoAdvancedUser/${e.id}`);
      expect(written).toEqual([produced.get(`adoUserEntitlement/${e.id}`), ...(advanced ? [advanced] : [])]);
      // Left out by the filter of the second resource: its entity, if any, is deleted.
      expect(deleted).toEqual(advanced ? [] : [`adoAdvancedUser/${e.id}`]);
    }
    expect([...seen].sort()).toEqual(['advanced', 'express', 'stakeholder']);

    const gone = { id: '00000000-0000-4000-8000-0000000000ff', user: { principalName: 'gone@acme.example.com' } };
    const { written, deleted } = await refresh('user-entitlement', { userId: gone.id, entitlement: gone });
    expect(written).toEqual([]);
    expect(deleted.sort()).toEqual([`adoAdvancedUser/${gone.id}`, `adoUserEntitlement/${gone.id}`]);
  });

  it('pipeline-run: the run as the resync writes it; a run that is gone is deleted', async () => {
    const runs = [...produced.values()].filter((e) => e.blueprint === 'adoPipelineRun');
    expect(runs.length).toBeGreaterThan(3);
    for (const run of runs) {
      const [projectId, pipelineId, runId] = /^(.+)-(\d+)-(\d+)$/.exec(String(run.identifier))!.slice(1) as [string, string, string];
      const { written, deleted } = await refresh('pipeline-run', { projectId, pipelineId: Number(pipelineId), runId: Number(runId) });
      expect(written).toEqual([run]);
      expect(deleted).toEqual([]);
    }
    const [projectId, pipelineId] = /^(.+)-(\d+)-\d+$/.exec(String(runs[0]!.identifier))!.slice(1) as [string, string];
    const { written, deleted } = await refresh('pipeline-run', { projectId, pipelineId: Number(pipelineId), runId: 999_999 });
    expect(written).toEqual([]);
    expect(deleted).toEqual([`adoPipelineRun/${projectId}-${pipelineId}-999999`]);
  });

  it('refuses a kind it cannot refetch, a hint without what the kind needs, and an organization that is not configured', async () => {
    await expect(refresher.kindChanged('repository', {})).rejects.toThrow('the repository kind cannot be refetched');
    await expect(refresher.kindChanged('pipeline-run', { runId: 1 })).rejects.toThrow('pipeline-run refetch: the hint needs projectId, pipelineId and runId');
    await expect(refresher.kindChanged('user-entitlement', { userId: 'x', organization: 'elsewhere' })).rejects.toThrow('organization "elsewhere" is not configured');
  });
});
