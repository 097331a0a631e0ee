/**
 * Users of the organization and their access level, through user entitlements (vsaex): `ado_add_user`
 * (`POST _apis/userentitlements`), `ado_change_access_level` (`PATCH _apis/userentitlements/{id}`, JSON Patch) and
 * `ado_remove_user` (`DELETE _apis/userentitlements/{id}`, only with ACTIONS_ALLOW_DEPROVISION). A user is found by
 * principal name (`$filter=name eq '…'`, then the exact address). Already present, already at that level, or not
 * present: success, saying so. The service answers writes with `isSuccess` and per-operation `errors`, read here.
 */
import { RawBody } from '../http/index.js';
import { entitlementPages } from '../kinds/shared/entitlements.js';
import { API } from '../kinds/shared/api.js';
import { projectById } from '../kinds/shared/events.js';
import type { FetchContext, RawItem } from '../kinds/types.js';
import { audit, failure, failureFrom, lookupContext, orgName, refreshCatalog, requiredInput, success, type PermissionNeed } from './common.js';
import { ActionFailure, type ActionContext, type ActionDefinition, type ActionOutcome } from './types.js';

const NEED: PermissionNeed = {
  pat: 'vso.memberentitlementmanagement_write (Member Entitlement Management: Read & write)',
  identity: 'membership of Project Collection Administrators (or the "Edit instance-level information" permission)',
};

/** `accountLicenseType` values and what Azure DevOps calls them. */
const ACCESS_LEVELS: Record<string, string> = { stakeholder: 'Stakeholder', express: 'Basic', advanced: 'Basic + Test Plans' };
const GROUP_TYPES = ['projectReader', 'projectContributor', 'projectAdministrator', 'projectStakeholder'];

const USER = { type: 'string', minLength: 1, description: "The user's principal name (sign-in address), e.g. jane@contoso.com" };
const ACCESS_LEVEL = {
  type: 'string',
  enum: Object.keys(ACCESS_LEVELS),
  description: 'The access level (license): stakeholder, express (Basic), or advanced (Basic + Test Plans)',
};

interface Entitlement extends RawItem {
  id: string;
  user?: { principalName?: string; mailAddress?: string; displayName?: string };
  accessLevel?: { accountLicenseType?: string; licenseDisplayName?: string };
}

interface OperationResult {
  isSuccess?: boolean;
  errors?: Array<{ key?: unknown; value?: unknown }>;
  userId?: string;
  result?: Entitlement;
}

const level = (type: string | undefined) => (type ? `${ACCESS_LEVELS[type] ?? type}` : 'no access level');

/** The user's entitlement, by principal name: `name eq` matches names and addresses containing it, so the exact one is picked. */
async function findEntitlement(ctx: FetchContext, principalName: string): Promise<Entitlement | undefined> {
  const wanted = principalName.toLowerCase();
  const filter = `name eq '${principalName.replace(/'/g, "''")}'`;
  for await (const page of entitlementPages(ctx, { filter })) {
    const found = page.find((e) => {
      const user = (e as Entitlement).user;
      return user?.principalName?.toLowerCase() === wanted || user?.mailAddress?.toLowerCase() === wanted;
    });
    if (found && typeof found.id === 'string') return found as Entitlement;
  }
  return undefined;
}

/** Fails with the service's own words when a write answered `isSuccess: false`. */
function checkResults(results: Array<OperationResult | undefined>, isSuccess: unknown, what: string): void {
  const errors = results.flatMap((r) => (r?.errors ?? []).map((e) => String(e.value ?? e.key)));
  if (isSuccess === false || results.some((r) => r?.isSuccess === false)) {
    throw new ActionFailure(`Azure DevOps could not ${what}: ${errors.length > 0 ? errors.join('; ') : 'the answer says isSuccess false, with no error'}`);
  }
}

function entitlementsUrl(ctx: ActionContext, id?: string): string {
  return ctx.client.url(`_apis/userentitlements${id ? `/${encodeURIComponent(id)}` : ''}`, 'vsaex');
}

async function runAddUser(ctx: ActionContext): Promise<ActionOutcome> {
  const user = requiredInput(ctx, 'user');
  const accessLevel = requiredInput(ctx, 'accessLevel');
  const groups = (Array.isArray(ctx.inputs.projectGroups) ? ctx.inputs.projectGroups : []) as Array<{ project: string; groupType: string }>;
  try {
    const fctx = lookupContext(ctx);
    const existing = await findEntitlement(fctx, user);
    if (existing) {
      const current = existing.accessLevel?.accountLicenseType;
      const note = current === accessLevel ? '' : ` (ado_change_access_level changes it to ${level(accessLevel)})`;
      return success(`${user} is already a user of ${orgName(ctx)}, with access level ${level(current)}${note}; nothing to change`);
    }
    const projectEntitlements = [];
    for (const g of groups) {
      const project = await projectById(fctx, g.project);
      if (!project) throw new ActionFailure(`no project "${g.project}" in ${orgName(ctx)}`);
      projectEntitlements.push({ group: { groupType: g.groupType }, projectRef: { id: project.id, name: project.name } });
    }
    const into = groups.length > 0 ? `, in ${groups.map((g) => `${g.project} (${g.groupType})`).join(', ')}` : '';
    const what = `add ${user} to ${orgName(ctx)} with access level ${level(accessLevel)}${into}`;
    if (!ctx.apply) return success(`dry-run: would ${what}; nothing was changed`);
    const body = {
      accessLevel: { accountLicenseType: accessLevel, licensingSource: 'account' },
      user: { principalName: user, subjectKind: 'user' },
      projectEntitlements,
    };
    const res = await ctx.client.request<{ isSuccess?: boolean; operationResult?: OperationResult; userEntitlement?: Entitlement }>(entitlementsUrl(ctx), {
      method: 'POST',
      query: { 'api-version': API.ga },
      body,
      signal: ctx.signal,
    });
    checkResults([res.data?.operationResult], res.data?.isSuccess, `add ${user}`);
    const userId = res.data?.operationResult?.userId ?? res.data?.userEntitlement?.id ?? res.data?.operationResult?.result?.id;
    await audit(ctx, `Added ${user} to ${orgName(ctx)} with access level ${level(accessLevel)}${into}`, { change: 'add-user', principalName: user, accessLevel, userId });
    if (userId) await refreshCatalog(ctx, 'user-entitlement', { userId });
    return success(`Added ${user} to ${orgName(ctx)} with access level ${level(accessLevel)}${into}`);
  } catch (err) {
    return failureFrom(ctx, err, `add ${user}`, NEED);
  }
}

async function runChangeAccessLevel(ctx: ActionContext): Promise<ActionOutcome> {
  const user = requiredInput(ctx, 'user');
  const accessLevel = requiredInput(ctx, 'accessLevel');
  try {
    const existing = await findEntitlement(lookupContext(ctx), user);
    if (!existing) return failure(`${user} is not a user of ${orgName(ctx)}; add them with ado_add_user`);
    const current = existing.accessLevel?.accountLicenseType;
    if (current === accessLevel) return success(`${user} already has access level ${level(accessLevel)}; nothing to change`);
    const what = `change the access level of ${user} from ${level(current)} to ${level(accessLevel)}`;
    if (!ctx.apply) return success(`dry-run: would ${what}; nothing was changed`);
    const patch = [{ from: '', op: 'replace', path: '/accessLevel', value: { accountLicenseType: accessLevel, licensingSource: 'account' } }];
    const res = await ctx.client.request<{ isSuccess?: boolean; operationResults?: OperationResult[] }>(entitlementsUrl(ctx, existing.id), {
      method: 'PATCH',
      query: { 'api-version': API.ga },
      body: new RawBody(JSON.stringify(patch), 'application/json-patch+json'),
      signal: ctx.signal,
    });
    checkResults(res.data?.operationResults ?? [], res.data?.isSuccess, what);
    await audit(ctx, `Changed the access level of ${user} from ${level(current)} to ${level(accessLevel)}`, { change: 'access-level', principalName: user, from: current, to: accessLevel });
    await refreshCatalog(ctx, 'user-entitlement', { userId: existing.id });
    return success(`Changed the access level of ${user} from ${level(current)} to ${level(accessLevel)}`);
  } catch (err) {
    return failureFrom(ctx, err, `change the access level of ${user}`, NEED);
  }
}

async function runRemoveUser(ctx: ActionContext): Promise<ActionOutcome> {
  const user = requiredInput(ctx, 'user');
  if (!ctx.allowDeprovision) {
    return failure(`ado_remove_user is off on this installation: removing users from the organization needs ACTIONS_ALLOW_DEPROVISION=true (--actions-allow-deprovision); nothing was changed`);
  }
  try {
    const existing = await findEntitlement(lookupContext(ctx), user);
    if (!existing) return success(`${user} is not a user of ${orgName(ctx)}; nothing to change`);
    const what = `remove ${user} from ${orgName(ctx)} (their access level ${level(existing.accessLevel?.accountLicenseType)}, extensions and project memberships go with it)`;
    if (!ctx.apply) return success(`dry-run: would ${what}; nothing was changed`);
    await ctx.client.request(entitlementsUrl(ctx, existing.id), { method: 'DELETE', query: { 'api-version': API.ga }, signal: ctx.signal });
    await audit(ctx, `Removed ${user} from ${orgName(ctx)}`, { change: 'remove-user', principalName: user, userId: existing.id });
    await refreshCatalog(ctx, 'user-entitlement', { userId: existing.id, entitlement: existing });
    return success(`Removed ${user} from ${orgName(ctx)}`);
  } catch (err) {
    return failureFrom(ctx, err, `remove ${user}`, NEED);
  }
}

const PERMISSIONS = [`PAT scope ${NEED.pat}`, NEED.identity];

export const addUserAction: ActionDefinition = {
  identifier: 'ado_add_user',
  title: 'Add a user to the Azure DevOps organization',
  inputSchema: {
    type: 'object',
    properties: {
      user: USER,
      accessLevel: ACCESS_LEVEL,
      projectGroups: {
        type: 'array',
        description: 'Project groups to add the user to (optional)',
        items: {
          type: 'object',
          properties: {
            project: { type: 'string', minLength: 1, description: 'The project: its name or id' },
            groupType: { type: 'string', enum: GROUP_TYPES, description: 'The project group: projectReader, projectContributor, projectAdministrator or projectStakeholder' },
          },
          required: ['project', 'groupType'],
          additionalProperties: false,
        },
      },
    },
    required: ['user', 'accessLevel'],
    additionalProperties: false,
  },
  permissions: PERMISSIONS,
  run: runAddUser,
};

export const changeAccessLevelAction: ActionDefinition = {
  identifier: 'ado_change_access_level',
  title: "Change a user's access level",
  inputSchema: { type: 'object', properties: { user: USER, accessLevel: ACCESS_LEVEL }, required: ['user', 'accessLevel'], additionalProperties: false },
  permissions: PERMISSIONS,
  run: runChangeAccessLevel,
};

export const removeUserAction: ActionDefinition = {
  identifier: 'ado_remove_user',
  title: 'Remove a user from the Azure DevOps organization',
  inputSchema: { type: 'object', properties: { user: USER }, required: ['user'], additionalProperties: false },
  permissions: [...PERMISSIONS, 'ACTIONS_ALLOW_DEPROVISION=true on the installation'],
  run: runRemoveUser,
};
