/**
 * Graph (vssps) subjects of one organization — users, groups (project groups, collection groups, Entra groups),
 * service principals, direct memberships — and user entitlements (vsaex). Shapes follow shared/ado-api-samples/
 * {graph,vsaex}/. Users are the organization's identity pool (aad) plus one build service account (svc) per project.
 *
 * Storage keys (`graph/descriptors/{storageKey}`, `graph/storagekeys/{descriptor}`, the GroupId/MemberId of audit
 * entries): a subject's storage key is its `originId` — for users that is also their entitlement id (as the simulator
 * uses it), for groups and service principals a GUID generated from the seed (Entra groups: their Entra object id). All
 * are GUIDs, unique within an organization and stable for a seed. (On the service a user's storage key is its VSID, not its
 * Entra object id; the simulator has one id per user.)
 *
 * Writes made through Azure DevOps (memberships, user entitlements — over HTTP or through `sim.changes`) write their
 * audit entries (data/audit.ts); Entra group changes made in the directory (`entraDirectory`) write none, as on the
 * service, where they happen in Entra.
 */
import { randomUUID } from 'node:crypto';
import { DAY_MS, adoDate, rngFor } from '../random.js';
import { auditDetails, auditOf, type AuditContext } from './audit.js';
import type { OrgContext } from './context.js';
import type { OrgData } from './dataset.js';

const S = { group: 0x47520001, sp: 0x47520002, svc: 0x47520003, ent: 0x47520004, tenant: 0x47520005 } as const;

export type GraphSubject = Record<string, unknown> & { descriptor: string; subjectKind: string; displayName: string };

export interface Membership {
  containerDescriptor: string;
  memberDescriptor: string;
}

const PROJECT_GROUPS = ['Contributors', 'Readers', 'Project Administrators'] as const;
/** The project group each `groupType` of a user entitlement means. */
const GROUP_TYPES: Record<string, (typeof PROJECT_GROUPS)[number]> = {
  projectContributor: 'Contributors',
  projectReader: 'Readers',
  projectStakeholder: 'Readers',
  projectAdministrator: 'Project Administrators',
};
export const LICENSES: Record<string, string> = { express: 'Basic', stakeholder: 'Stakeholder', advanced: 'Basic + Test Plans' };
const ENTRA_GROUPS = ['Engineering', 'Contractors'] as const;

const cache = new WeakMap<OrgData, GraphArea>();

export function graphOf(org: OrgData): GraphArea {
  let area = cache.get(org);
  if (!area || area.baseUrl !== org.ctx.orgUrl()) {
    area = new GraphArea(org);
    cache.set(org, area);
  }
  return area;
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64url');
}

export class GraphArea {
  readonly baseUrl: string;
  readonly users: GraphSubject[] = [];
  readonly groups: GraphSubject[] = [];
  readonly servicePrincipals: GraphSubject[] = [];
  readonly memberships: Membership[] = [];
  readonly #byDescriptor = new Map<string, GraphSubject>();
  /** Changes made through the write APIs: access levels set, and users removed from the organization (by entitlement id). */
  readonly #licenses = new Map<string, string>();
  readonly #removed = new Set<string>();
  readonly #ctx: OrgContext;
  readonly #org: OrgData;
  readonly tenantId: string;

  constructor(org: OrgData) {
    const ctx = org.ctx;
    this.#ctx = ctx;
    this.#org = org;
    this.baseUrl = ctx.orgUrl();
    this.tenantId = rngFor(ctx.seed, ctx.key, S.tenant, 0).guid();
    const identities = org.identities.all();
    for (const id of identities) {
      this.users.push(
        this.#subject('user', id.descriptor, id.displayName, {
          metaType: 'member',
          directoryAlias: id.uniqueName.split('@')[0],
          domain: this.tenantId,
          principalName: id.uniqueName,
          mailAddress: id.uniqueName,
          origin: 'aad',
          originId: id.id,
        }),
      );
    }
    const projects = Array.from({ length: org.projects.count }, (_, p) => org.projects.record(p));
    for (const [p, proj] of projects.entries()) {
      const originId = rngFor(ctx.seed, ctx.key, S.svc, p).guid();
      this.users.push(
        this.#subject('user', `svc.${b64(`${originId}:Build:${proj.id}`)}`, `${proj.name} Build Service (${ctx.name})`, {
          metaType: 'member',
          domain: 'Build',
          principalName: proj.id,
          mailAddress: '',
          origin: 'vsts',
          originId,
        }),
      );
    }
    const vssgp = (scope: string, name: string, n: number, description: string, scopeId: string): GraphSubject => {
      const originId = rngFor(ctx.seed, ctx.key, S.group, n).guid();
      return this.#subject('group', `vssgp.${b64(`S-1-9-${n}-${originId}`)}`, name, {
        description,
        domain: scope === ctx.name ? `vstfs:///Framework/IdentityDomain/${scopeId}` : `vstfs:///Classification/TeamProject/${scopeId}`,
        principalName: `[${scope}]\\${name}`,
        mailAddress: null,
        origin: 'vsts',
        originId,
      });
    };
    const collection = 'Project Collection Administrators';
    const pca = vssgp(ctx.name, collection, 0, 'Members of this application group can perform all privileged operations on the organization.', this.tenantId);
    const pcvu = vssgp(ctx.name, 'Project Collection Valid Users', 1, 'Members of this group have access to the organization.', this.tenantId);
    this.groups.push(pca, pcvu);
    const entra = ENTRA_GROUPS.map((name, i) => {
      const originId = rngFor(ctx.seed, ctx.key, S.group, 10_000 + i).guid();
      return this.#subject('group', `aadgp.${b64(`${originId}:${ctx.name}`)}`, name, {
        description: `Microsoft Entra group ${name}`,
        domain: this.tenantId,
        principalName: `[TEAM FOUNDATION]\\${name}`,
        mailAddress: `${name.toLowerCase()}@${ctx.name.toLowerCase()}.example.com`,
        origin: 'aad',
        originId,
      });
    });
    this.groups.push(...entra);
    const userCount = identities.length;
    const member = (c: GraphSubject, m: GraphSubject) => this.memberships.push({ containerDescriptor: c.descriptor, memberDescriptor: m.descriptor });
    for (const [p, proj] of projects.entries()) {
      const groups = PROJECT_GROUPS.map((name, g) => vssgp(proj.name, name, 2 + p * PROJECT_GROUPS.length + g, `${name} of ${proj.name}`, proj.id));
      this.groups.push(...groups);
      const [contributors, readers, admins] = groups as [GraphSubject, GraphSubject, GraphSubject];
      for (let u = 0; u < userCount; u++) if ((u + p) % 3 !== 0) member(contributors, this.users[u] as GraphSubject);
      member(contributors, this.users[userCount + p] as GraphSubject);
      if (p === 0) member(contributors, entra[0] as GraphSubject);
      for (let u = 0; u < userCount; u++) if (u % 4 === p % 4) member(readers, this.users[u] as GraphSubject);
      member(readers, entra[1] as GraphSubject);
      member(admins, this.users[p % userCount] as GraphSubject);
      member(pcvu, contributors);
    }
    member(pca, this.users[0] as GraphSubject);
    member(pca, this.users[1 % userCount] as GraphSubject);
    for (let u = 0; u < Math.min(8, userCount); u++) member(entra[0] as GraphSubject, this.users[u] as GraphSubject);
    for (let u = Math.max(0, userCount - 4); u < userCount; u++) member(entra[1] as GraphSubject, this.users[u] as GraphSubject);
    for (let i = 0; i < ctx.scale.servicePrincipals; i++) {
      const rng = rngFor(ctx.seed, ctx.key, S.sp, i);
      const originId = rng.guid();
      this.servicePrincipals.push(
        this.#subject('servicePrincipal', `aadsp.${b64(`${originId}:${ctx.name}`)}`, `automation-app-${i + 1}`, {
          applicationId: rng.guid(),
          directoryAlias: originId,
          domain: this.tenantId,
          principalName: originId,
          mailAddress: null,
          origin: 'aad',
          originId,
        }),
      );
    }
    for (const s of [...this.users, ...this.groups, ...this.servicePrincipals]) this.#byDescriptor.set(s.descriptor, s);
  }

  #subject(kind: string, descriptor: string, displayName: string, extra: Record<string, unknown>): GraphSubject {
    const vssps = this.baseUrl;
    const coll = kind === 'user' ? 'Users' : kind === 'group' ? 'Groups' : 'ServicePrincipals';
    return {
      subjectKind: kind,
      ...extra,
      displayName,
      _links: {
        self: { href: `${vssps}/_apis/Graph/${coll}/${descriptor}` },
        memberships: { href: `${vssps}/_apis/Graph/Memberships/${descriptor}` },
        membershipState: { href: `${vssps}/_apis/Graph/MembershipStates/${descriptor}` },
        storageKey: { href: `${vssps}/_apis/Graph/StorageKeys/${descriptor}` },
        ...(kind !== 'group' ? { avatar: { href: `${vssps}/_apis/GraphProfile/MemberAvatars/${descriptor}` } } : {}),
      },
      url: `${vssps}/_apis/Graph/${coll}/${descriptor}`,
      descriptor,
    };
  }

  subject(descriptor: string): GraphSubject | undefined {
    return this.#byDescriptor.get(descriptor);
  }

  /** A subject's storage key: its originId (see the comment at the top). */
  storageKeyOf(s: GraphSubject): string {
    return String(s.originId);
  }

  /** The user, group or service principal of a storage key (case-insensitive), removed users included. */
  subjectByStorageKey(key: string): GraphSubject | undefined {
    const wanted = key.toLowerCase();
    for (const list of [this.users, this.groups, this.servicePrincipals]) {
      const s = list.find((x) => String(x.originId).toLowerCase() === wanted);
      if (s) return s;
    }
    return undefined;
  }

  /** Direct memberships: `down` = members of the container, `up` = containers of the member. */
  membershipsOf(descriptor: string, direction: 'up' | 'down'): Array<Membership & { _links: Record<string, { href: string }> }> {
    const base = this.baseUrl;
    return this.memberships
      .filter((m) => (direction === 'down' ? m.containerDescriptor === descriptor : m.memberDescriptor === descriptor))
      .map((m) => ({
        ...m,
        _links: {
          self: { href: `${base}/_apis/Graph/Memberships/${m.memberDescriptor}/${m.containerDescriptor}` },
          member: { href: `${base}/_apis/Graph/Subjects/${m.memberDescriptor}` },
          container: { href: `${base}/_apis/Graph/Subjects/${m.containerDescriptor}` },
        },
      }));
  }

  /** User entitlements: one per aad user (build service accounts are not licensed users) still in the organization. */
  entitlements(select: Set<string>): Array<Record<string, unknown>> {
    const licenses = [
      { accountLicenseType: 'express', licenseDisplayName: 'Basic' },
      { accountLicenseType: 'stakeholder', licenseDisplayName: 'Stakeholder' },
      { accountLicenseType: 'advanced', licenseDisplayName: 'Basic + Test Plans' },
    ];
    const all = select.has('all');
    return this.users
      .filter((u) => u.origin === 'aad')
      .map((u, i) => {
        const rng = rngFor(this.#ctx.seed, this.#ctx.key, S.ent, i);
        const set = this.#licenses.get(String(u.originId));
        const lic = set ? { accountLicenseType: set, licenseDisplayName: LICENSES[set] ?? set } : (licenses[i % licenses.length] as (typeof licenses)[number]);
        const created = this.#ctx.referenceMs - rng.int(30, 700) * DAY_MS;
        const accessed = rng.chance(0.9) ? adoDate(this.#ctx.referenceMs - rng.int(0, 29) * DAY_MS, rng) : '0001-01-01T00:00:00Z';
        const ent: Record<string, unknown> = {
          id: u.originId,
          user: u,
          accessLevel: {
            licensingSource: 'account',
            ...lic,
            msdnLicenseType: 'none',
            status: i % 11 === 10 && !set ? 'pending' : 'active',
            statusMessage: '',
            assignmentSource: 'unknown',
          },
          lastAccessedDate: accessed,
          dateCreated: adoDate(created, rng),
        };
        if (all || select.has('projects')) ent.projectEntitlements = [];
        if (all || select.has('extensions')) ent.extensions = [];
        if (all || select.has('grouprules')) ent.groupAssignments = [];
        if (select.size === 0) Object.assign(ent, { projectEntitlements: [], extensions: [], groupAssignments: [] });
        return ent;
      })
      .filter((e) => !this.#removed.has(String(e.id)));
  }

  // ---- writes (Graph memberships, user entitlements, and Entra group members through the Graph stand-in) ----

  hasMembership(container: string, member: string): boolean {
    return this.memberships.some((m) => m.containerDescriptor === container && m.memberDescriptor === member);
  }

  /** false when it already was one; else writes `Group.UpdateGroupMembership.Add`. */
  addMembership(container: string, member: string, audit: AuditContext = {}): boolean {
    if (!this.#link(container, member)) return false;
    this.#auditMembership('Add', container, member, audit);
    return true;
  }

  /** false when it was none; else writes `Group.UpdateGroupMembership.Remove`. */
  removeMembership(container: string, member: string, audit: AuditContext = {}): boolean {
    if (!this.#unlink(container, member)) return false;
    this.#auditMembership('Remove', container, member, audit);
    return true;
  }

  #link(container: string, member: string): boolean {
    if (this.hasMembership(container, member)) return false;
    this.memberships.push({ containerDescriptor: container, memberDescriptor: member });
    return true;
  }

  #unlink(container: string, member: string): boolean {
    const i = this.memberships.findIndex((m) => m.containerDescriptor === container && m.memberDescriptor === member);
    if (i < 0) return false;
    this.memberships.splice(i, 1);
    return true;
  }

  /** data {GroupId, GroupName, MemberId, MemberDisplayName}: storage keys, the group's account name, the member's name. */
  #auditMembership(op: 'Add' | 'Remove', container: string, member: string, audit: AuditContext): void {
    const group = this.subject(container);
    const m = this.subject(member);
    if (!group || !m) return;
    const projectId = /^vstfs:\/\/\/Classification\/TeamProject\/(.+)$/.exec(String(group.domain ?? ''))?.[1];
    auditOf(this.#org).append(
      `Group.UpdateGroupMembership.${op}`,
      { GroupId: this.storageKeyOf(group), GroupName: String(group.principalName ?? group.displayName), MemberId: this.storageKeyOf(m), MemberDisplayName: m.displayName },
      { ...audit, ...(projectId !== undefined ? { projectId } : {}) },
    );
  }

  /** The access level (accountLicenseType) of an entitlement id while in the organization. */
  licenseOf(id: string): string | undefined {
    const e = this.entitlements(new Set()).find((x) => String(x.id).toLowerCase() === id.toLowerCase());
    return (e?.accessLevel as { accountLicenseType?: string } | undefined)?.accountLicenseType;
  }

  #auditLicense(actionId: string, user: GraphSubject, data: Record<string, unknown>, audit: AuditContext): void {
    const full = { UserIdentifier: String(user.originId), ...data };
    // The sentence names the user; the data keeps the documented keys.
    auditOf(this.#org).append(actionId, full, { ...audit, details: auditDetails(actionId, { ...full, UserDisplayName: user.displayName }) });
  }

  /** The aad user of a principal name, in the organization or not. */
  userByPrincipalName(principalName: string): GraphSubject | undefined {
    const wanted = principalName.toLowerCase();
    return this.users.find((u) => u.origin === 'aad' && String(u.principalName).toLowerCase() === wanted);
  }

  /**
   * Adds a user (a new aad identity unless the principal name is known) with an access level, into project groups by
   * `groupType`; returns the entitlement id. A project group that does not exist throws.
   */
  addUser(principalName: string, license: string, projectGroups: Array<{ projectName: string; groupType: string }>, audit: AuditContext = {}): string {
    const op: AuditContext = { ...audit, correlationId: audit.correlationId ?? randomUUID() };
    const groups = projectGroups.map((g) => {
      const group = this.groups.find((x) => x.principalName === `[${g.projectName}]\\${GROUP_TYPES[g.groupType] ?? g.groupType}`);
      if (!group) throw new Error(`no ${g.groupType} group in project ${g.projectName}`);
      return group;
    });
    let user = this.userByPrincipalName(principalName);
    // Already in the organization: a new access level is a change (Licensing.Modified), the same one none.
    const previous = user && this.entitledUser(String(user.originId)) ? this.licenseOf(String(user.originId)) : undefined;
    if (!user) {
      const originId = randomUUID();
      const alias = principalName.split('@')[0] ?? principalName;
      user = this.#subject('user', `aad.${b64(`${originId}:${this.#ctx.name}`)}`, alias, {
        metaType: 'member',
        directoryAlias: alias,
        domain: this.tenantId,
        principalName,
        mailAddress: principalName,
        origin: 'aad',
        originId,
      });
      this.users.push(user);
      this.#byDescriptor.set(user.descriptor, user);
    }
    const id = String(user.originId);
    this.#removed.delete(id);
    this.#licenses.set(id, license);
    if (previous === undefined) this.#auditLicense('Licensing.Assigned', user, { AccessLevel: LICENSES[license] ?? license }, op);
    else if (previous !== license) this.#auditLicense('Licensing.Modified', user, { AccessLevel: LICENSES[license] ?? license, PreviousAccessLevel: LICENSES[previous] ?? previous }, op);
    for (const group of groups) this.addMembership(group.descriptor, user.descriptor, op);
    return id;
  }

  /** The user of an entitlement id, while in the organization. */
  entitledUser(id: string): GraphSubject | undefined {
    const user = this.users.find((u) => u.origin === 'aad' && String(u.originId).toLowerCase() === id.toLowerCase());
    return user && !this.#removed.has(String(user.originId)) ? user : undefined;
  }

  /** Sets the access level of a user in the organization; writes `Licensing.Modified` when it changed. */
  setLicense(id: string, license: string, audit: AuditContext = {}): void {
    const user = this.entitledUser(id);
    const previous = user ? this.licenseOf(id) : undefined;
    const key = user ? String(user.originId) : id;
    this.#licenses.set(key, license);
    if (user && previous !== license) {
      this.#auditLicense('Licensing.Modified', user, { AccessLevel: LICENSES[license] ?? license, PreviousAccessLevel: previous === undefined ? null : (LICENSES[previous] ?? previous) }, audit);
    }
  }

  /**
   * Removes the user from the organization: its entitlement and every membership go. Writes `Licensing.Removed` (the
   * memberships that go with it write no entries of their own).
   */
  removeUser(id: string, audit: AuditContext = {}): void {
    const user = this.entitledUser(id);
    if (!user) return;
    const license = this.licenseOf(id);
    this.#removed.add(String(user.originId));
    for (let i = this.memberships.length - 1; i >= 0; i--) if (this.memberships[i]?.memberDescriptor === user.descriptor) this.memberships.splice(i, 1);
    this.#auditLicense('Licensing.Removed', user, { AccessLevel: license === undefined ? null : (LICENSES[license] ?? license) }, audit);
  }

  /**
   * The organization's Entra groups and users as the directory Microsoft Graph sees them (by Entra object id): the
   * Graph stand-in reads and changes their members here, so Azure DevOps's memberships show the change at once.
   */
  entraDirectory(): EntraDirectory {
    const groupOf = (oid: string) => this.groups.find((g) => g.origin === 'aad' && String(g.originId).toLowerCase() === oid.toLowerCase());
    const userOf = (oid: string) => this.users.find((u) => u.origin === 'aad' && String(u.originId).toLowerCase() === oid.toLowerCase());
    return {
      members: (groupId) => {
        const g = groupOf(groupId);
        if (!g) return undefined;
        return this.memberships.filter((m) => m.containerDescriptor === g.descriptor).flatMap((m) => {
          const oid = this.subject(m.memberDescriptor)?.originId;
          return typeof oid === 'string' ? [oid] : [];
        });
      },
      exists: (objectId) => userOf(objectId) !== undefined || groupOf(objectId) !== undefined,
      add: (groupId, memberId) => void this.#link(groupOf(groupId)!.descriptor, (userOf(memberId) ?? groupOf(memberId))!.descriptor),
      remove: (groupId, memberId) => void this.#unlink(groupOf(groupId)!.descriptor, (userOf(memberId) ?? groupOf(memberId))!.descriptor),
    };
  }
}

/** Entra groups' direct members by object id, as the Microsoft Graph stand-in serves them. */
export interface EntraDirectory {
  /** The member object ids of a group; undefined when there is no such group. */
  members(groupId: string): string[] | undefined;
  /** Whether a directory object (user or group) exists. */
  exists(objectId: string): boolean;
  add(groupId: string, memberId: string): void;
  remove(groupId: string, memberId: string): void;
}
