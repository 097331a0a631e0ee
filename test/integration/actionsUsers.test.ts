/**
 * ado_add_user / ado_change_access_level / ado_remove_user against the Azure DevOps simulator's user entitlements
 * (vsaex), over loopback: dry-run, the change, the idempotent repeat, the deprovisioning opt-in, permission failures,
 * inputs naming nothing or refused by the service, and the catalog (Port simulator) after each change, including a
 * resource whose OData filter leaves the user out after a change.
 */
import type { AdoClient } from '../../src/ado/client.js';
import { addUserAction, changeAccessLevelAction, removeUserAction } from '../../src/actions/userEntitlements.js';
import { actionHarness, adoClient, adoGet, runAction, type ActionHarness, type Json } from '../helpers/actions.js';
import type { AdoSimulator } from '../simulators/ado/index.js';
import type { PortSimulator } from '../simulators/port/index.js';

const READ_ONLY_PAT = 'read-only-entitlements-pat';
const NEW_HIRE = 'new.hire@acme.example.com';

describe('user entitlement actions', () => {
  const h = actionHarness({ pats: { [READ_ONLY_PAT]: ['vso.memberentitlementmanagement', 'vso.graph'] }, scale: { projects: 2, reposPerProject: 1 } });
  let sim: AdoSimulator;
  let port: PortSimulator;
  let client: AdoClient;
  let catalog: ActionHarness['catalog'];
  let project: { id: string; name: string };
  const ado = (path: string) => adoGet(sim, path);

  beforeAll(() => {
    ({ sim, port, client, catalog } = h);
    project = sim.dataset.org('acme')!.projects.record(0);
  });

  const entitlementOf = async (principalName: string): Promise<Json | undefined> =>
    (await ado('_apis/userentitlements?api-version=7.1')).items.find((e: Json) => e.user.principalName === principalName);
  const writes = () => sim.requests.filter((r) => r.method !== 'GET' && /userentitlements/i.test(r.path));
  const run = (action: typeof addUserAction, inputs: Record<string, unknown>, o: { apply?: boolean; allowDeprovision?: boolean; client?: AdoClient } = {}) =>
    runAction(action, { client: o.client ?? client, inputs, apply: o.apply, allowDeprovision: o.allowDeprovision, refresh: catalog.refresher });

  it('adds a user with an access level into a project group, then says they are already there; the catalog shows them', async () => {
    const inputs = { user: NEW_HIRE, accessLevel: 'express', projectGroups: [{ project: project.name, groupType: 'projectContributor' }] };
    const dry = await run(addUserAction, inputs, { apply: false });
    expect(dry.outcome).toEqual({ status: 'SUCCESS', message: `dry-run: would add ${NEW_HIRE} to organization "acme" with access level Basic, in ${project.name} (projectContributor); nothing was changed` });
    expect(writes()).toHaveLength(0);
    expect(await entitlementOf(NEW_HIRE)).toBeUndefined();

    const added = await run(addUserAction, inputs);
    expect(added.outcome).toEqual({ status: 'SUCCESS', message: `Added ${NEW_HIRE} to organization "acme" with access level Basic, in ${project.name} (projectContributor)` });
    const body = sim.requests.filter((r) => r.method === 'POST' && /userentitlements$/i.test(r.path));
    expect(body).toHaveLength(1);
    const entitlement = (await entitlementOf(NEW_HIRE))!;
    expect(entitlement.accessLevel.accountLicenseType).toBe('express');
    const contributors = (await ado('_apis/graph/groups')).value.find((g: Json) => g.principalName === `[${project.name}]\\Contributors`);
    const members = (await ado(`_apis/graph/memberships/${contributors.descriptor}?direction=down`)).value.map((m: Json) => m.memberDescriptor);
    expect(members).toContain(entitlement.user.descriptor);
    expect(port.entity('adoUserEntitlement', entitlement.id)?.properties).toEqual({ principalName: NEW_HIRE, licenseType: 'express' });
    expect(port.entity('adoAdvancedUser', entitlement.id)).toBeUndefined();

    const again = await run(addUserAction, { ...inputs, accessLevel: 'advanced' });
    expect(again.outcome).toEqual({
      status: 'SUCCESS',
      message: `${NEW_HIRE} is already a user of organization "acme", with access level Basic (ado_change_access_level changes it to Basic + Test Plans); nothing to change`,
    });
    expect(writes()).toHaveLength(1);
  });

  it('changes the access level (JSON Patch), says so again without a write, and the filtered resource gains and loses the user', async () => {
    const entitlement = (await entitlementOf(NEW_HIRE))!;
    const dry = await run(changeAccessLevelAction, { user: NEW_HIRE, accessLevel: 'advanced' }, { apply: false });
    expect(dry.outcome.message).toBe(`dry-run: would change the access level of ${NEW_HIRE} from Basic to Basic + Test Plans; nothing was changed`);
    const before = writes().length;

    const changed = await run(changeAccessLevelAction, { user: NEW_HIRE, accessLevel: 'advanced' });
    expect(changed.outcome).toEqual({ status: 'SUCCESS', message: `Changed the access level of ${NEW_HIRE} from Basic to Basic + Test Plans` });
    expect(writes().slice(before).map((r) => r.method)).toEqual(['PATCH']);
    expect((await entitlementOf(NEW_HIRE))!.accessLevel.accountLicenseType).toBe('advanced');
    expect(port.entity('adoUserEntitlement', entitlement.id)?.properties.licenseType).toBe('advanced');
    expect(port.entity('adoAdvancedUser', entitlement.id)?.properties).toEqual({ principalName: NEW_HIRE });

    const again = await run(changeAccessLevelAction, { user: NEW_HIRE, accessLevel: 'advanced' });
    expect(again.outcome).toEqual({ status: 'SUCCESS', message: `${NEW_HIRE} already has access level Basic + Test Plans; nothing to change` });
    expect(writes().slice(before)).toHaveLength(1);

    // The resource filtered on Basic + Test Plans no longer produces the user: its entity goes.
    const down = await run(changeAccessLevelAction, { user: NEW_HIRE, accessLevel: 'stakeholder' });
    expect(down.outcome.status).toBe('SUCCESS');
    expect(port.entity('adoUserEntitlement', entitlement.id)?.properties.licenseType).toBe('stakeholder');
    expect(port.entity('adoAdvancedUser', entitlement.id)).toBeUndefined();
  });

  it('removes a user only when deprovisioning is allowed, then says they are not there; the catalog entity goes', async () => {
    const entitlement = (await entitlementOf(NEW_HIRE))!;
    const before = writes().length;
    const refused = await run(removeUserAction, { user: NEW_HIRE });
    expect(refused.outcome.status).toBe('FAILURE');
    expect(refused.outcome.message).toContain('ACTIONS_ALLOW_DEPROVISION=true');
    const refusedDry = await run(removeUserAction, { user: NEW_HIRE }, { apply: false });
    expect(refusedDry.outcome.status).toBe('FAILURE');

    const dry = await run(removeUserAction, { user: NEW_HIRE }, { apply: false, allowDeprovision: true });
    expect(dry.outcome.message).toMatch(new RegExp(`^dry-run: would remove ${NEW_HIRE} from organization "acme"`));
    expect(writes().length).toBe(before);
    expect(port.entity('adoUserEntitlement', entitlement.id)).toBeDefined();

    const removed = await run(removeUserAction, { user: NEW_HIRE }, { allowDeprovision: true });
    expect(removed.outcome).toEqual({ status: 'SUCCESS', message: `Removed ${NEW_HIRE} from organization "acme"` });
    expect(writes().slice(before).map((r) => r.method)).toEqual(['DELETE']);
    expect(await entitlementOf(NEW_HIRE)).toBeUndefined();
    expect(port.entity('adoUserEntitlement', entitlement.id)).toBeUndefined();

    const again = await run(removeUserAction, { user: NEW_HIRE }, { allowDeprovision: true });
    expect(again.outcome).toEqual({ status: 'SUCCESS', message: `${NEW_HIRE} is not a user of organization "acme"; nothing to change` });
    expect(writes().slice(before)).toHaveLength(1);
  });

  it('fails with what is wrong: a user who is not there, a project that does not exist, a principal name the service refuses', async () => {
    const before = writes().length;
    const missing = await run(changeAccessLevelAction, { user: 'ghost@acme.example.com', accessLevel: 'express' });
    expect(missing.outcome).toEqual({ status: 'FAILURE', message: 'ghost@acme.example.com is not a user of organization "acme"; add them with ado_add_user' });
    const noProject = await run(addUserAction, { user: 'another@acme.example.com', accessLevel: 'express', projectGroups: [{ project: 'Nope', groupType: 'projectReader' }] });
    expect(noProject.outcome).toEqual({ status: 'FAILURE', message: 'no project "Nope" in organization "acme"' });
    expect(writes().length).toBe(before);
    // The service answers 200 with isSuccess false and the operation's errors.
    const refused = await run(addUserAction, { user: 'not-an-address', accessLevel: 'express' });
    expect(refused.outcome.status).toBe('FAILURE');
    expect(refused.outcome.message).toBe("Azure DevOps could not add not-an-address: VS403400: The user principal name 'not-an-address' could not be found in the directory.");
  });

  it('fails naming the write scope when the PAT may only read entitlements, and changes nothing', async () => {
    const limited = adoClient(sim, READ_ONLY_PAT);
    const existing = (await ado('_apis/userentitlements?api-version=7.1')).items[0];
    const principal: string = existing.user.principalName;
    const level: string = existing.accessLevel.accountLicenseType;
    const other = level === 'express' ? 'stakeholder' : 'express';
    const outcomes = [
      await run(addUserAction, { user: 'someone.else@acme.example.com', accessLevel: 'express' }, { client: limited }),
      await run(changeAccessLevelAction, { user: principal, accessLevel: other }, { client: limited }),
      await run(removeUserAction, { user: principal }, { client: limited, allowDeprovision: true }),
    ];
    for (const { outcome } of outcomes) {
      expect(outcome.status).toBe('FAILURE');
      expect(outcome.message).toContain('HTTP 403');
      expect(outcome.message).toContain('vso.memberentitlementmanagement_write');
      expect(outcome.message).toContain('Nothing was changed');
    }
    expect((await entitlementOf(principal))!.accessLevel.accountLicenseType).toBe(level);
    expect(await entitlementOf('someone.else@acme.example.com')).toBeUndefined();
  });
});
