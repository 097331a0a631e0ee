/**
 * `ado_add_group_member` / `ado_remove_group_member`: direct membership of an Azure DevOps group, through the Graph
 * memberships API (vssps, `PUT|DELETE|HEAD _apis/graph/memberships/{subject}/{container}`). The members of an
 * Entra-sourced group (descriptor `aadgp.`, origin `aad`) are Entra's: they change through Microsoft Graph, by Entra
 * object ids (the group's and the user's `originId`), with service-principal auth only. Adding a member who already is
 * one, or removing one who is not, changes nothing and succeeds, saying so.
 */
import { AdoNotFoundError } from '../ado/errors.js';
import { API } from '../kinds/shared/api.js';
import { GROUP_MEMBER_PERMISSION } from '../msgraph/client.js';
import { audit, failure, failureFrom, input, lookupContext, orgName, refreshCatalog, requiredInput, success, type PermissionNeed } from './common.js';
import { describeSubject, isEntraGroup, resolveGroup, resolveUser, type GraphSubject } from './subjects.js';
import type { ActionContext, ActionDefinition, ActionOutcome, MicrosoftGraphApi } from './types.js';

const NEED: PermissionNeed = {
  pat: 'vso.graph_manage (Graph: Read & manage)',
  identity: 'the "Manage membership" permission on the group (Project or Project Collection Administrators have it)',
};

const ENTRA_SETUP = `Entra ID auth (a service principal: ADO_AUTH_METHOD client-secret, client-certificate, managed-identity or workload-identity) whose app registration has the Microsoft Graph application permission ${GROUP_MEMBER_PERMISSION}, with admin consent`;

const INPUTS = {
  type: 'object',
  properties: {
    group: {
      type: 'string',
      minLength: 1,
      description: 'The group: its descriptor (vssgp.… or aadgp.…), its principal name ([Project]\\Contributors), or its display name (with "project" when several projects have one)',
    },
    user: { type: 'string', minLength: 1, description: 'The member: a user principal name (jane@contoso.com), or the descriptor of a user or group' },
    project: { type: 'string', minLength: 1, description: 'The project whose group a display name means (optional)' },
  },
  required: ['group', 'user'],
  additionalProperties: false,
} satisfies ActionDefinition['inputSchema'];

type Change = 'add' | 'remove';

interface Membership {
  group: GraphSubject;
  member: GraphSubject;
  /** Entra object ids, for an Entra group. */
  entra?: { graph: MicrosoftGraphApi; groupId: string; memberId: string };
}

async function resolve(ctx: ActionContext): Promise<Membership | ActionOutcome> {
  const fctx = lookupContext(ctx);
  const org = orgName(ctx);
  const group = await resolveGroup(fctx, requiredInput(ctx, 'group'), input(ctx, 'project'), org);
  const member = await resolveUser(fctx, requiredInput(ctx, 'user'), org);
  if (!isEntraGroup(group)) return { group, member };
  const name = describeSubject(group);
  if (!ctx.graph) {
    return failure(`${name} is an Entra ID group: its members are changed in Microsoft Entra ID, through Microsoft Graph, which needs ${ENTRA_SETUP}. This installation signs in with a personal access token, so nothing was changed.`);
  }
  if (!group.originId) return failure(`${name} is an Entra ID group but Azure DevOps gives no Entra object id (originId) for it; nothing was changed`);
  if (member.origin?.toLowerCase() !== 'aad' || !member.originId) {
    return failure(`${describeSubject(member)} is not an Entra ID identity (origin "${member.origin ?? 'unknown'}"), so it cannot be a member of the Entra ID group ${name}; nothing was changed`);
  }
  return { group, member, entra: { graph: ctx.graph, groupId: group.originId, memberId: member.originId } };
}

function membershipUrl(ctx: ActionContext, m: Membership): string {
  return ctx.client.url(`_apis/graph/memberships/${encodeURIComponent(m.member.descriptor)}/${encodeURIComponent(m.group.descriptor)}`, 'vssps');
}

/** HEAD graph/memberships/{subject}/{container}: 200 when the membership exists, 404 when not. */
async function isMember(ctx: ActionContext, m: Membership): Promise<boolean> {
  if (m.entra) return m.entra.graph.isMember(m.entra.groupId, m.entra.memberId, ctx.signal);
  try {
    await ctx.client.request(membershipUrl(ctx, m), { method: 'HEAD', query: { 'api-version': API.graph }, signal: ctx.signal });
    return true;
  } catch (err) {
    if (err instanceof AdoNotFoundError) return false;
    throw err;
  }
}

async function apply(ctx: ActionContext, m: Membership, change: Change): Promise<void> {
  if (m.entra) {
    const { graph, groupId, memberId } = m.entra;
    await (change === 'add' ? graph.addMember(groupId, memberId, ctx.signal) : graph.removeMember(groupId, memberId, ctx.signal));
    return;
  }
  await ctx.client.request(membershipUrl(ctx, m), { method: change === 'add' ? 'PUT' : 'DELETE', query: { 'api-version': API.graph }, signal: ctx.signal });
}

async function run(ctx: ActionContext, change: Change): Promise<ActionOutcome> {
  let what = change === 'add' ? 'add a member to a group' : 'remove a member from a group';
  try {
    const resolved = await resolve(ctx);
    if ('status' in resolved) return resolved;
    const m = resolved;
    const who = describeSubject(m.member);
    const group = describeSubject(m.group);
    const via = m.entra ? ' (through Microsoft Graph)' : '';
    what = change === 'add' ? `add ${who} to ${group}` : `remove ${who} from ${group}`;
    const member = await isMember(ctx, m);
    if (change === 'add' && member) return success(`${who} is already a member of ${group}; nothing to change`);
    if (change === 'remove' && !member) return success(`${who} is not a member of ${group}; nothing to change`);
    if (!ctx.apply) return success(`dry-run: would ${what}${via} in ${orgName(ctx)}; nothing was changed`);
    await apply(ctx, m, change);
    await audit(ctx, `${change === 'add' ? 'Added' : 'Removed'} ${who} ${change === 'add' ? 'to' : 'from'} ${group}${via}`, {
      change,
      group: m.group.descriptor,
      member: m.member.descriptor,
    });
    await refreshCatalog(ctx, 'group-member', { groupDescriptor: m.group.descriptor, memberDescriptor: m.member.descriptor });
    // Per Microsoft, Entra membership changes can take up to an hour to show in Azure DevOps.
    const delay = m.entra ? '; Azure DevOps may take up to an hour to show the change' : '';
    return success(`${change === 'add' ? 'Added' : 'Removed'} ${who} ${change === 'add' ? 'to' : 'from'} ${group}${via}${delay}`);
  } catch (err) {
    return failureFrom(ctx, err, what, NEED);
  }
}

const PERMISSIONS = [
  `PAT scope ${NEED.pat}`,
  `${NEED.identity}`,
  `Entra ID groups: Microsoft Graph application permission ${GROUP_MEMBER_PERMISSION} (service-principal auth only)`,
];

function membershipAction(change: Change, identifier: string, title: string): ActionDefinition {
  return { identifier, title, inputSchema: INPUTS, permissions: PERMISSIONS, run: (ctx) => run(ctx, change) };
}

export const addGroupMember = membershipAction('add', 'ado_add_group_member', 'Add a member to an Azure DevOps group');
export const removeGroupMember = membershipAction('remove', 'ado_remove_group_member', 'Remove a member from an Azure DevOps group');
