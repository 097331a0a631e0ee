/**
 * ado_add_group_member / ado_remove_group_member against the Azure DevOps simulator (Graph memberships) and the
 * Microsoft Graph stand-in (Entra groups), over loopback: dry-run, the change, the idempotent repeat, permission
 * failures, inputs naming nothing, and the catalog (Port simulator) after each change through CatalogRefresher.
 */
import type { AdoClient } from '../../src/ado/client.js';
import { addGroupMember, removeGroupMember } from '../../src/actions/groupMembership.js';
import { loadSettings } from '../../src/config/settings.js';
import type { MicrosoftGraphClient } from '../../src/msgraph/client.js';
import { silentLogger } from '../../src/observability/log.js';
import { buildTargets, createMicrosoftGraph } from '../../src/sync/targets.js';
import { actionHarness, adoClient, adoGet, runAction, type ActionHarness, type Json } from '../helpers/actions.js';
import type { AdoSimulator } from '../simulators/ado/index.js';
import { startMicrosoftGraphStandIn, type GraphStandIn } from '../simulators/msgraph/index.js';
import type { PortSimulator } from '../simulators/port/index.js';

const READ_ONLY_PAT = 'read-only-graph-pat';

describe('group membership actions', () => {
  const h = actionHarness({ entra: true, pats: { [READ_ONLY_PAT]: ['vso.graph', 'vso.build'] }, scale: { projects: 2, reposPerProject: 1 } });
  let sim: AdoSimulator;
  let port: PortSimulator;
  let client: AdoClient;
  let catalog: ActionHarness['catalog'];
  let users: Json[];
  let groups: Json[];
  const ado = (path: string) => adoGet(sim, path);

  beforeAll(async () => {
    ({ sim, port, client, catalog } = h);
    users = (await ado('_apis/graph/users')).value;
    groups = (await ado('_apis/graph/groups')).value;
  });

  const group = (principalName: string): Json => groups.find((g) => g.principalName === principalName)!;
  const members = async (g: Json): Promise<string[]> => (await ado(`_apis/graph/memberships/${g.descriptor}?direction=down`)).value.map((m: Json) => m.memberDescriptor);
  const writes = () => sim.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD' && !/subject(lookup|query)$/i.test(r.path));
  const entity = (g: Json, u: Json) => port.entity('adoGroupMember', `${g.descriptor}/${u.descriptor}`);

  it('adds a user to an Azure DevOps group, says so again without changing anything, and the catalog shows the member', async () => {
    const readers = group(`[${sim.dataset.org('acme')!.projects.record(0).name}]\\Readers`);
    const current = await members(readers);
    const newcomer = users.find((u) => u.origin === 'aad' && !current.includes(u.descriptor))!;
    expect(newcomer).toBeDefined();
    const inputs = { group: readers.principalName, user: newcomer.principalName };

    // Dry-run: says what would change, changes nothing.
    const before = writes().length;
    const dry = await runAction(addGroupMember, { client, inputs, apply: false, refresh: catalog.refresher });
    expect(dry.outcome).toEqual({ status: 'SUCCESS', message: expect.stringMatching(/^dry-run: would add .* to .*Readers/) });
    expect(writes().length).toBe(before);
    expect(await members(readers)).not.toContain(newcomer.descriptor);
    expect(entity(readers, newcomer)).toBeUndefined();

    const added = await runAction(addGroupMember, { client, inputs, refresh: catalog.refresher });
    expect(added.outcome.status).toBe('SUCCESS');
    expect(added.outcome.message).toMatch(/^Added .* to .*Readers/);
    expect(added.lines).toEqual([expect.stringMatching(/^Added /)]);
    expect(writes().slice(before).map((r) => r.method)).toEqual(['PUT']);
    expect(await members(readers)).toContain(newcomer.descriptor);
    expect(entity(readers, newcomer)?.properties).toMatchObject({ principalName: newcomer.principalName, group: readers.principalName });

    const again = await runAction(addGroupMember, { client, inputs, refresh: catalog.refresher });
    expect(again.outcome).toEqual({ status: 'SUCCESS', message: expect.stringContaining('is already a member of') });
    expect(writes().slice(before)).toHaveLength(1);

    const removed = await runAction(removeGroupMember, { client, inputs, refresh: catalog.refresher });
    expect(removed.outcome).toEqual({ status: 'SUCCESS', message: expect.stringMatching(/^Removed .* from .*Readers/) });
    expect(await members(readers)).not.toContain(newcomer.descriptor);
    expect(entity(readers, newcomer)).toBeUndefined();

    const removedAgain = await runAction(removeGroupMember, { client, inputs, refresh: catalog.refresher });
    expect(removedAgain.outcome).toEqual({ status: 'SUCCESS', message: expect.stringContaining('is not a member of') });
    expect(writes().slice(before).map((r) => r.method)).toEqual(['PUT', 'DELETE']);
  });

  it('finds a group by descriptor, or by display name within a project, and refuses a name several projects share', async () => {
    const project1 = sim.dataset.org('acme')!.projects.record(1).name;
    const contributors = group(`[${project1}]\\Contributors`);
    const user = users.find((u) => u.origin === 'aad')!;
    const byDescriptor = await runAction(addGroupMember, { client, inputs: { group: contributors.descriptor, user: user.descriptor }, apply: false });
    expect(byDescriptor.outcome.status).toBe('SUCCESS');
    const byName = await runAction(addGroupMember, { client, inputs: { group: 'Contributors', project: project1, user: user.principalName }, apply: false });
    expect(byName.outcome.message).toContain(`[${project1}]\\Contributors`);

    const ambiguous = await runAction(addGroupMember, { client, inputs: { group: 'Contributors', user: user.principalName } });
    expect(ambiguous.outcome).toEqual({ status: 'FAILURE', message: expect.stringMatching(/names 2 groups.*\[.*\]\\Contributors.*"project" input/) });
  });

  it('fails, changing nothing, for a user or group that does not exist', async () => {
    const before = writes().length;
    const noUser = await runAction(addGroupMember, { client, inputs: { group: groups[0]!.principalName, user: 'nobody@nowhere.example' } });
    expect(noUser.outcome).toEqual({ status: 'FAILURE', message: expect.stringContaining('no user "nobody@nowhere.example" in organization "acme"') });
    const noGroup = await runAction(removeGroupMember, { client, inputs: { group: '[Nope]\\Readers', user: users[0]!.principalName } });
    expect(noGroup.outcome).toEqual({ status: 'FAILURE', message: expect.stringContaining('no group "Readers" of "Nope"') });
    const unknownDescriptor = await runAction(addGroupMember, { client, inputs: { group: 'vssgp.Uy0xLTktMTIzNA', user: users[0]!.principalName } });
    expect(unknownDescriptor.outcome).toEqual({ status: 'FAILURE', message: expect.stringContaining('no group with descriptor vssgp.Uy0xLTktMTIzNA') });
    expect(writes().length).toBe(before);
  });

  it('fails naming the scope when the PAT may read the graph but not manage it', async () => {
    const readers = group(`[${sim.dataset.org('acme')!.projects.record(1).name}]\\Readers`);
    const current = await members(readers);
    const newcomer = users.find((u) => u.origin === 'aad' && !current.includes(u.descriptor))!;
    const limited = adoClient(sim, READ_ONLY_PAT);
    const out = await runAction(addGroupMember, { client: limited, inputs: { group: readers.principalName, user: newcomer.principalName } });
    expect(out.outcome.status).toBe('FAILURE');
    expect(out.outcome.message).toContain('HTTP 403');
    expect(out.outcome.message).toContain('vso.graph_manage');
    expect(out.outcome.message).not.toContain(READ_ONLY_PAT);
    expect(await members(readers)).not.toContain(newcomer.descriptor);
  });

  describe('Entra ID groups', () => {
    let graph: GraphStandIn;
    let spClient: AdoClient;
    let msgraph: MicrosoftGraphClient;

    beforeAll(async () => {
      graph = await startMicrosoftGraphStandIn({ entra: sim.entra!, directory: sim.entraDirectory() });
      const entra = sim.entra!;
      const settings = loadSettings(
        {},
        {
          ADO_ORGANIZATION_URL: sim.orgUrl(),
          ADO_FLAVOR: 'services',
          ADO_AUTH_METHOD: 'client-secret',
          ADO_CLIENT_ID: entra.clientId,
          ADO_CLIENT_SECRET: entra.clientSecret,
          ADO_TENANT_ID: entra.tenantId,
          ADO_AUTHORITY_HOST: entra.url,
          ADO_MAX_ATTEMPTS: '1',
          MICROSOFT_GRAPH_URL: graph.url,
        },
      );
      spClient = buildTargets(settings, silentLogger)[0]!.client;
      msgraph = createMicrosoftGraph(settings, silentLogger)!;
    });

    afterAll(async () => {
      await graph.close();
    });

    const engineering = () => groups.find((g) => g.descriptor.startsWith('aadgp.') && g.displayName === 'Engineering')!;
    const outsider = async () => {
      const current = await members(engineering());
      return users.find((u) => u.origin === 'aad' && !current.includes(u.descriptor))!;
    };

    it('with a personal access token: FAILURE naming the setup it needs, and nothing changed', async () => {
      expect(createMicrosoftGraph(loadSettings({}, { ADO_ORGANIZATION_URL: sim.orgUrl(), ADO_PERSONAL_ACCESS_TOKEN: sim.pat }), silentLogger)).toBeUndefined();
      const user = await outsider();
      for (const action of [addGroupMember, removeGroupMember]) {
        for (const apply of [true, false]) {
          const out = await runAction(action, { client, inputs: { group: 'Engineering', user: user.principalName }, apply, refresh: catalog.refresher });
          expect(out.outcome.status).toBe('FAILURE');
          expect(out.outcome.message).toContain('is an Entra ID group');
          expect(out.outcome.message).toContain('GroupMember.ReadWrite.All');
          expect(out.outcome.message).toContain('Entra ID auth');
          expect(out.outcome.message).toContain('nothing was changed');
        }
      }
      expect(graph.requests).toHaveLength(0);
      expect(await members(engineering())).not.toContain(user.descriptor);
    });

    it('with a service principal: adds and removes through Microsoft Graph, idempotently, and the catalog follows', async () => {
      const g = engineering();
      const user = await outsider();
      const inputs = { group: g.descriptor, user: user.principalName };
      const run = (action: typeof addGroupMember, apply = true) => runAction(action, { client: spClient, graph: msgraph, inputs, apply, refresh: catalog.refresher });

      const dry = await run(addGroupMember, false);
      expect(dry.outcome.message).toMatch(/^dry-run: would add .* \(through Microsoft Graph\)/);
      expect(graph.requests.filter((r) => r.method !== 'GET')).toHaveLength(0);

      const added = await run(addGroupMember);
      expect(added.outcome).toEqual({ status: 'SUCCESS', message: expect.stringMatching(/^Added .* to Engineering .*through Microsoft Graph.*up to an hour/) });
      expect(graph.requests.filter((r) => r.method === 'POST')).toEqual([{ method: 'POST', path: `/v1.0/groups/${g.originId}/members/$ref`, status: 204 }]);
      expect(await members(g)).toContain(user.descriptor);
      expect(entity(g, user)).toBeDefined();

      const again = await run(addGroupMember);
      expect(again.outcome.message).toContain('is already a member of');
      expect(graph.requests.filter((r) => r.method === 'POST')).toHaveLength(1);

      const removed = await run(removeGroupMember);
      expect(removed.outcome.message).toMatch(/^Removed .* from Engineering .*through Microsoft Graph/);
      expect(await members(g)).not.toContain(user.descriptor);
      expect(entity(g, user)).toBeUndefined();
      const removedAgain = await run(removeGroupMember);
      expect(removedAgain.outcome.message).toContain('is not a member of');
      expect(graph.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1);
      // No membership write went to Azure DevOps: an Entra group's members are Entra's.
      expect(sim.requests.filter((r) => /graph\/memberships\/[^/]+\/aadgp\./i.test(r.path) && r.method !== 'HEAD')).toHaveLength(0);
    });

    it('the Graph client reads "already exist" and a missing member as done, and names a missing group', async () => {
      const g = engineering();
      const user = await outsider();
      await msgraph.addMember(g.originId, user.originId);
      await msgraph.addMember(g.originId, user.originId);
      expect(graph.requests.slice(-2).map((r) => r.status)).toEqual([204, 400]);
      expect(await msgraph.isMember(g.originId, user.originId)).toBe(true);
      await msgraph.removeMember(g.originId, user.originId);
      await msgraph.removeMember(g.originId, user.originId);
      expect(graph.requests.slice(-2).map((r) => r.status)).toEqual([204, 404]);
      await expect(msgraph.removeMember('00000000-0000-0000-0000-0000000000aa', user.originId)).rejects.toThrow(/Resource '00000000-0000-0000-0000-0000000000aa' does not exist/);
    });

    it('without GroupMember.ReadWrite.All consented: FAILURE naming the Graph permission', async () => {
      const user = await outsider();
      graph.setPermissions(['GroupMember.Read.All']);
      try {
        const out = await runAction(addGroupMember, { client: spClient, graph: msgraph, inputs: { group: 'Engineering', user: user.principalName } });
        expect(out.outcome.status).toBe('FAILURE');
        expect(out.outcome.message).toContain('Microsoft Graph refused');
        expect(out.outcome.message).toContain('GroupMember.ReadWrite.All');
        expect(out.outcome.message).toContain('HTTP 403');
        expect(out.outcome.message).not.toMatch(/sim-entra-[0-9a-f]{8}/);
        expect(await members(engineering())).not.toContain(user.descriptor);
      } finally {
        graph.setPermissions(['GroupMember.ReadWrite.All']);
      }
    });
  });
});
