/**
 * The audit log (GET _apis/audit/auditlog) over loopback: paging newest first, the time window, the entries that
 * memberships, access levels and repository changes write (over HTTP and through sim.changes), storage keys that resolve
 * back to descriptors, the vso.auditlog scope, and the errors.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startAdoSimulator, type AdoSimulator, type AuditLogEntry } from './ado/index.js';

interface AuditPage {
  decoratedAuditLogEntries: AuditLogEntry[];
  continuationToken: string | null;
  hasMore: boolean;
}

const GUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const NO_AUDIT_PAT = 'pat-without-auditlog';
const AUDIT_PAT = 'pat-with-auditlog';

/** A window from `since` to a minute from now: leaves out the entries other tests date in the future. */
function recent(since: string): Record<string, string> {
  return { startTime: since, endTime: new Date(Date.now() + 60_000).toISOString() };
}

function basic(pat: string): string {
  return `Basic ${Buffer.from(`:${pat}`).toString('base64')}`;
}

describe('ado simulator: audit log', () => {
  let sim: AdoSimulator;
  beforeAll(async () => {
    sim = await startAdoSimulator({
      organizations: ['acme', 'globex'],
      pats: { [NO_AUDIT_PAT]: ['vso.graph', 'vso.code'], [AUDIT_PAT]: ['vso.auditlog'] },
      scale: { projects: 2, reposPerProject: 3 },
    });
  });
  afterAll(() => sim.close());

  const call = async (method: string, path: string, o: { pat?: string; body?: unknown; contentType?: string } = {}) => {
    const headers: Record<string, string> = { authorization: basic(o.pat ?? sim.pat) };
    if (o.body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
    const res = await fetch(`${sim.url}${path}`, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
    const text = await res.text();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each test reads the shape its route serves
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as any };
  };
  const auditPage = async (org: string, query: Record<string, string>, pat?: string) => {
    const qs = new URLSearchParams({ ...query, 'api-version': '7.1-preview.1' });
    const res = await call('GET', `/${org}/_apis/audit/auditlog?${qs}`, { pat });
    return res as { status: number; body: AuditPage & Record<string, unknown> };
  };
  /** Every entry of a window, page by page. */
  const auditAll = async (org: string, query: Record<string, string> = {}) => {
    const out: AuditLogEntry[] = [];
    let token: string | undefined;
    for (;;) {
      const { status, body } = await auditPage(org, { ...query, ...(token ? { continuationToken: token } : {}) });
      expect(status).toBe(200);
      out.push(...body.decoratedAuditLogEntries);
      if (!body.hasMore) return out;
      token = body.continuationToken!;
    }
  };

  it('starts empty, pages newest first (batchSize 2 over 5 entries: 3 pages), and nothing repeats or goes missing', async () => {
    expect((await auditPage('globex', {})).body).toEqual({ decoratedAuditLogEntries: [], continuationToken: null, hasMore: false });
    expect(sim.changes.auditEntries('globex')).toHaveLength(0);
    const base = Date.parse('2026-12-05T10:00:00Z');
    // Written out of order: the log orders by timestamp.
    for (const i of [2, 0, 4, 1, 3]) {
      sim.changes.audit('Project.CreateCompleted', { ProjectId: `p-${i}`, ProjectName: `Project ${i}` }, { org: 'globex', at: new Date(base + i * 60_000) });
    }
    const pages: AuditPage[] = [];
    let token: string | undefined;
    for (;;) {
      const { status, body } = await auditPage('globex', { batchSize: '2', ...(token ? { continuationToken: token } : {}) });
      expect(status).toBe(200);
      expect(body).not.toHaveProperty('value');
      pages.push(body);
      if (!body.hasMore) break;
      expect(body.continuationToken).toBe(body.decoratedAuditLogEntries.at(-1)!.id);
      token = body.continuationToken!;
    }
    expect(pages.map((p) => p.decoratedAuditLogEntries.length)).toEqual([2, 2, 1]);
    expect(pages.map((p) => p.hasMore)).toEqual([true, true, false]);
    const entries = pages.flatMap((p) => p.decoratedAuditLogEntries);
    expect(entries.map((e) => e.data.ProjectName)).toEqual(['Project 4', 'Project 3', 'Project 2', 'Project 1', 'Project 0']);
    expect(new Set(entries.map((e) => e.id)).size).toBe(5);
    expect(entries[0]).toMatchObject({
      timestamp: '2026-12-05T10:04:00.0000000+00:00',
      scopeType: 'organization',
      scopeDisplayName: 'globex (Organization)',
      actionId: 'Project.CreateCompleted',
      area: 'Project',
      category: 'create',
      categoryDisplayName: 'Create',
      details: 'Project 4 project was created successfully',
      projectId: null,
      projectName: null,
    });
    for (const e of entries) {
      expect(e.id).toMatch(new RegExp(`^\\d{19};${e.actorUserId};${GUID}$`));
      expect(e.correlationId).toMatch(new RegExp(`^${GUID}$`));
      expect(e.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00$/);
      for (const key of ['activityId', 'actorUserId', 'actorDisplayName', 'actorUPN', 'authenticationMechanism', 'scopeId', 'ipAddress', 'userAgent', 'details', 'data']) expect(e).toHaveProperty(key);
    }
    // The ids sort newest first, as the service's reverse ticks do.
    expect([...entries.map((e) => e.id)].sort()).toEqual(entries.map((e) => e.id));
    // batchSize is capped at 1000; the token of the last page still names its last entry.
    const all = await auditPage('globex', { batchSize: '5000' });
    expect(all.body.decoratedAuditLogEntries).toHaveLength(5);
    expect(all.body).toMatchObject({ hasMore: false, continuationToken: entries[4]!.id });
    // The journal, in the order written; another organization's log is its own.
    expect(sim.changes.auditEntries('globex').map((e) => e.data.ProjectName)).toEqual(['Project 2', 'Project 0', 'Project 4', 'Project 1', 'Project 3']);
  });

  it('serves startTime <= timestamp < endTime, and orders entries written at one instant as written', async () => {
    const entries = await auditAll('globex');
    const ts = (name: string) => entries.find((e) => e.data.ProjectName === name)!.timestamp;
    const window = await auditAll('globex', { startTime: ts('Project 1'), endTime: ts('Project 3') });
    expect(window.map((e) => e.data.ProjectName)).toEqual(['Project 2', 'Project 1']);
    expect((await auditAll('globex', { startTime: '2026-12-05T10:02:30Z' })).map((e) => e.data.ProjectName)).toEqual(['Project 4', 'Project 3']);
    expect((await auditAll('globex', { endTime: '2026-12-05T10:01:00Z' })).map((e) => e.data.ProjectName)).toEqual(['Project 0']);
    expect(await auditAll('globex', { startTime: '2026-12-05T10:03:00Z', endTime: '2026-12-05T10:03:00Z' })).toEqual([]);

    const at = new Date('2026-12-06T00:00:00Z');
    const first = sim.changes.audit('Pipelines.PipelineCreated', { PipelineName: 'a' }, { org: 'globex', at, projectName: sim.dataset.org('globex')!.projects.record(0).name });
    const second = sim.changes.audit('Pipelines.PipelineDeleted', { PipelineName: 'a' }, { org: 'globex', at });
    expect(first).toMatchObject({ category: 'create', area: 'Pipelines', projectId: sim.dataset.org('globex')!.projects.record(0).id });
    expect(second.category).toBe('remove');
    const sameInstant = await auditAll('globex', { startTime: at.toISOString() });
    expect(sameInstant.map((e) => e.actionId)).toEqual(['Pipelines.PipelineDeleted', 'Pipelines.PipelineCreated']);
    expect(sameInstant[1]!.timestamp).toBe('2026-12-06T00:00:00.0000000+00:00');
    expect(sameInstant[0]!.timestamp).toBe('2026-12-06T00:00:00.0000001+00:00');
  });

  it('answers a bad startTime, endTime or continuation token with a 400 Azure DevOps error', async () => {
    const bad: Array<Record<string, string>> = [{ startTime: 'yesterday' }, { endTime: '2026-13-45T99:00:00Z' }, { continuationToken: 'not-a-token' }];
    for (const query of bad) {
      const { status, body } = await auditPage('acme', query);
      expect(status).toBe(400);
      expect(body).toMatchObject({ $id: '1', innerException: null, errorCode: 0 });
      expect(String(body.message)).toContain(Object.values(query)[0]);
      expect(String(body.typeKey)).toMatch(/Exception$/);
    }
  });

  it('asks a scope-limited PAT for vso.auditlog (403 without it, 200 with it); the full PAT reads it', async () => {
    const refused = await auditPage('acme', {}, NO_AUDIT_PAT);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ typeKey: 'UnauthorizedRequestException' });
    expect(String(refused.body.message)).toMatch(/^VS30063: .*vso\.auditlog/);
    // The same PAT reads other things.
    expect((await call('GET', '/acme/_apis/graph/groups', { pat: NO_AUDIT_PAT })).status).toBe(200);
    expect((await auditPage('acme', {}, AUDIT_PAT)).status).toBe(200);
    expect((await auditPage('acme', {})).status).toBe(200);
  });

  it('goes through the pipeline: latency faults and the response cache apply', async () => {
    sim.setFaults({ latencyMs: 60 });
    try {
      const t0 = performance.now();
      expect((await auditPage('globex', { batchSize: '1' })).status).toBe(200);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
    } finally {
      sim.setFaults({});
    }
    const off = sim.cacheResponses();
    try {
      const a = await auditPage('globex', { batchSize: '3' });
      const b = await auditPage('globex', { batchSize: '3' });
      expect(b.body).toEqual(a.body);
    } finally {
      off();
    }
  });

  it('writes Group.UpdateGroupMembership.Add/Remove for membership writes over HTTP, with storage keys that resolve to the descriptors', async () => {
    const groups = (await call('GET', '/acme/_apis/graph/groups')).body.value as Array<{ descriptor: string; principalName: string; domain: string }>;
    const users = (await call('GET', '/acme/_apis/graph/users?subjectTypes=aad')).body.value as Array<{ descriptor: string; displayName: string; originId: string }>;
    const project = sim.dataset.org('acme')!.projects.record(1);
    const readers = groups.find((g) => g.principalName === `[${project.name}]\\Readers`)!;
    const members = new Set(((await call('GET', `/acme/_apis/graph/memberships/${readers.descriptor}?direction=down`)).body.value as Array<{ memberDescriptor: string }>).map((m) => m.memberDescriptor));
    const user = users.find((u) => !members.has(u.descriptor))!;
    const since = new Date().toISOString();

    const put = await call('PUT', `/acme/_apis/graph/memberships/${user.descriptor}/${readers.descriptor}?api-version=7.1-preview.1`);
    expect(put.status).toBe(201);
    // A second PUT changes nothing and writes nothing.
    expect((await call('PUT', `/acme/_apis/graph/memberships/${user.descriptor}/${readers.descriptor}?api-version=7.1-preview.1`)).status).toBe(201);
    const added = (await auditAll('acme', recent(since))).filter((e) => e.actionId.startsWith('Group.'));
    expect(added).toHaveLength(1);
    const entry = added[0]!;
    expect(entry).toMatchObject({
      actionId: 'Group.UpdateGroupMembership.Add',
      area: 'Group',
      category: 'modify',
      categoryDisplayName: 'Modify',
      authenticationMechanism: 'PAT',
      projectId: project.id,
      projectName: project.name,
      data: { GroupName: readers.principalName, MemberDisplayName: user.displayName },
    });
    expect(Object.keys(entry.data).sort()).toEqual(['GroupId', 'GroupName', 'MemberDisplayName', 'MemberId']);
    expect(entry.data.GroupId).toMatch(new RegExp(`^${GUID}$`));
    expect(entry.data.MemberId).toBe(user.originId);
    expect(entry.details).toContain(user.displayName);

    const group = await call('GET', `/acme/_apis/graph/descriptors/${String(entry.data.GroupId)}?api-version=7.1-preview.1`);
    expect(group.status).toBe(200);
    expect(group.body.value).toBe(readers.descriptor);
    expect((await call('GET', `/acme/_apis/graph/descriptors/${String(entry.data.MemberId).toUpperCase()}`)).body.value).toBe(user.descriptor);
    // And back: graph/storagekeys/{descriptor}, which the subjects' _links.storageKey point at.
    expect((await call('GET', `/acme/_apis/graph/storagekeys/${readers.descriptor}`)).body.value).toBe(entry.data.GroupId);
    expect((await call('GET', `/acme/_apis/Graph/StorageKeys/${user.descriptor}`)).body.value).toBe(user.originId);
    const unknown = await call('GET', '/acme/_apis/graph/descriptors/00000000-0000-0000-0000-00000000abcd');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ typeKey: 'GraphSubjectNotFoundException' });
    expect(String(unknown.body.message)).toMatch(/^VS860018: /);
    expect((await call('GET', '/acme/_apis/graph/storagekeys/aad.bm9wZQ')).status).toBe(404);

    expect((await call('DELETE', `/acme/_apis/graph/memberships/${user.descriptor}/${readers.descriptor}`)).status).toBe(200);
    const removed = (await auditAll('acme', recent(since))).filter((e) => e.actionId.startsWith('Group.'));
    expect(removed.map((e) => e.actionId)).toEqual(['Group.UpdateGroupMembership.Remove', 'Group.UpdateGroupMembership.Add']);
    expect(removed[0]!.data).toEqual(entry.data);

    // sim.changes: the same entries; an Entra group's members change in Entra and write nothing here.
    const at = new Date('2027-01-01T00:00:00Z');
    expect(sim.changes.addGroupMember(readers.descriptor, user.descriptor, { at })).toBe(true);
    expect(sim.changes.addGroupMember(readers.descriptor, user.descriptor, { at })).toBe(false);
    expect(sim.changes.removeGroupMember(readers.descriptor, user.descriptor, { at })).toBe(true);
    const changed = await auditAll('acme', { startTime: at.toISOString() });
    expect(changed.map((e) => [e.actionId, e.authenticationMechanism, e.data.MemberId])).toEqual([
      ['Group.UpdateGroupMembership.Remove', 'FedAuth', user.originId],
      ['Group.UpdateGroupMembership.Add', 'FedAuth', user.originId],
    ]);
    const entraGroup = groups.find((g) => g.descriptor.startsWith('aadgp.'))!;
    expect(() => sim.changes.addGroupMember(entraGroup.descriptor, user.descriptor)).toThrow(/Entra/);
    const before = sim.changes.auditEntries().length;
    const directory = sim.entraDirectory();
    const entraId = String((await call('GET', `/acme/_apis/graph/storagekeys/${entraGroup.descriptor}`)).body.value);
    directory.add(entraId, user.originId);
    expect(sim.changes.auditEntries()).toHaveLength(before);
  });

  it('writes Licensing.Assigned/Modified/Removed, and the entitlement listing reflects the changes', async () => {
    const since = new Date().toISOString();
    const project = sim.dataset.org('acme')!.projects.record(0);
    const post = await call('POST', '/acme/_apis/userentitlements?api-version=7.1-preview.3', {
      body: { accessLevel: { accountLicenseType: 'stakeholder' }, user: { principalName: 'new.person@acme.example.com', subjectKind: 'user' }, projectEntitlements: [{ group: { groupType: 'projectContributor' }, projectRef: { id: project.id } }] },
    });
    expect(post.body.isSuccess).toBe(true);
    const userId = String(post.body.operationResult.userId);
    const assigned = await auditAll('acme', recent(since));
    expect(assigned.map((e) => e.actionId)).toEqual(['Group.UpdateGroupMembership.Add', 'Licensing.Assigned']);
    expect(assigned[1]!.data).toEqual({ UserIdentifier: userId, AccessLevel: 'Stakeholder' });
    expect(assigned[1]).toMatchObject({ category: 'create', authenticationMechanism: 'PAT' });
    expect(assigned[0]!.data).toMatchObject({ MemberId: userId, GroupName: `[${project.name}]\\Contributors` });
    // One operation, one correlation id.
    expect(assigned[0]!.correlationId).toBe(assigned[1]!.correlationId);

    const at = new Date('2027-02-01T00:00:00Z');
    sim.changes.setAccessLevel(userId, 'advanced', { at });
    sim.changes.setAccessLevel(userId, 'advanced', { at }); // unchanged: no entry
    const listed = async () => (await call('GET', '/acme/_apis/userentitlements')).body.items as Array<{ id: string; accessLevel: { accountLicenseType: string; licenseDisplayName: string } }>;
    expect((await listed()).find((e) => e.id === userId)!.accessLevel).toMatchObject({ accountLicenseType: 'advanced', licenseDisplayName: 'Basic + Test Plans' });
    const modified = await auditAll('acme', { startTime: at.toISOString() });
    expect(modified).toHaveLength(1);
    expect(modified[0]).toMatchObject({ actionId: 'Licensing.Modified', area: 'Licensing', category: 'modify', data: { UserIdentifier: userId, AccessLevel: 'Basic + Test Plans', PreviousAccessLevel: 'Stakeholder' } });
    expect(modified[0]!.details).toContain('new.person');

    // The PATCH route writes the same entry.
    const patch = await call('PATCH', `/acme/_apis/userentitlements/${userId}`, { body: [{ op: 'replace', path: '/accessLevel', value: { accountLicenseType: 'express' } }], contentType: 'application/json-patch+json' });
    expect(patch.body.isSuccess).toBe(true);
    const patched = (await auditAll('acme', recent(since))).filter((e) => e.actionId === 'Licensing.Modified' && e.authenticationMechanism === 'PAT');
    expect(patched.map((e) => e.data)).toEqual([{ UserIdentifier: userId, AccessLevel: 'Basic', PreviousAccessLevel: 'Basic + Test Plans' }]);

    const later = new Date('2027-02-02T00:00:00Z');
    sim.changes.removeUser(userId, { at: later });
    expect((await listed()).some((e) => e.id === userId)).toBe(false);
    expect((await call('GET', `/acme/_apis/userentitlements/${userId}`)).status).toBe(404);
    const descriptor = String(post.body.userEntitlement.user.descriptor);
    expect((await call('GET', `/acme/_apis/graph/memberships/${descriptor}?direction=up`)).body.count).toBe(0);
    const removed = await auditAll('acme', { startTime: later.toISOString() });
    expect(removed).toHaveLength(1);
    expect(removed[0]).toMatchObject({ actionId: 'Licensing.Removed', category: 'remove', data: { UserIdentifier: userId, AccessLevel: 'Basic' } });
    expect(() => sim.changes.removeUser(userId)).toThrow(/no user/);
    expect(() => sim.changes.setAccessLevel(userId, 'express')).toThrow(/no user/);
    // A removed user's storage key still resolves.
    expect((await call('GET', `/acme/_apis/graph/descriptors/${userId}`)).body.value).toBe(descriptor);
  });

  it('renames and deletes repositories: listings (organization and project), GET and the audit log show it', async () => {
    const org = sim.dataset.org('acme')!;
    const project = org.projects.record(1);
    const [keep, renamed, deleted] = [...sim.dataset.repositories('acme', project.id)];
    const at = new Date('2027-03-01T00:00:00Z');

    sim.changes.renameRepository(renamed!.id, 'renamed-repo', { at });
    const projectList = async () => ((await call('GET', `/acme/${encodeURIComponent(project.name)}/_apis/git/repositories`)).body.value as Array<{ id: string; name: string }>);
    const orgList = async () => ((await call('GET', '/acme/_apis/git/repositories?api-version=7.1')).body as { count: number; value: Array<{ id: string; name: string }> });
    expect((await projectList()).find((r) => r.id === renamed!.id)!.name).toBe('renamed-repo');
    expect((await orgList()).value.find((r) => r.id === renamed!.id)!.name).toBe('renamed-repo');
    expect((await call('GET', `/acme/_apis/git/repositories/${renamed!.id}`)).body.name).toBe('renamed-repo');
    expect((await call('GET', `/acme/${project.id}/_apis/git/repositories/renamed-repo`)).body.id).toBe(renamed!.id);
    expect((await call('GET', `/acme/${project.id}/_apis/git/repositories/${encodeURIComponent(renamed!.name)}`)).status).toBe(404);
    expect(() => sim.changes.renameRepository(renamed!.id, keep!.name)).toThrow(/already has/);

    sim.changes.deleteRepository(`${project.name}/${deleted!.name}`, { at: new Date(at.getTime() + 1000) });
    const listed = await orgList();
    expect(listed.count).toBe(5);
    expect(listed.value.some((r) => r.id === deleted!.id)).toBe(false);
    expect((await projectList()).map((r) => r.id)).toEqual([keep!.id, renamed!.id]);
    expect(listed.value).toEqual([...sim.dataset.repositories('acme')].map((r) => expect.objectContaining({ id: r.id, name: r.name })));
    expect(sim.dataset.counts('acme').repositories).toBe(5);
    for (const path of [`/acme/_apis/git/repositories/${deleted!.id}`, `/acme/${project.id}/_apis/git/repositories/${encodeURIComponent(deleted!.name)}`, `/acme/${project.id}/_apis/git/repositories/${deleted!.id}/pullrequests`]) {
      const gone = await call('GET', path);
      expect(gone.status).toBe(404);
      expect(String(gone.body.message)).toMatch(/^TF401019: /);
    }
    const prs = (await call('GET', `/acme/${project.id}/_apis/git/pullrequests?searchCriteria.status=all&$top=1000`)).body.value as Array<{ repository: { id: string } }>;
    expect(prs.length).toBeGreaterThan(0);
    expect(prs.some((p) => p.repository.id === deleted!.id)).toBe(false);
    expect(() => sim.changes.deleteRepository(deleted!.id)).toThrow(/no repository/);

    const entries = await auditAll('acme', { startTime: at.toISOString() });
    expect(entries.map((e) => e.actionId)).toEqual(['Git.RepositoryDeleted', 'Git.RepositoryRenamed']);
    expect(entries[1]).toMatchObject({ area: 'Git', category: 'modify', projectId: project.id, projectName: project.name, data: { RepoId: renamed!.id, RepoName: 'renamed-repo', PreviousRepoName: renamed!.name, ProjectId: project.id } });
    expect(entries[0]).toMatchObject({ category: 'remove', categoryDisplayName: 'Remove', projectId: project.id, projectName: project.name, data: { RepoId: deleted!.id, RepoName: deleted!.name, ProjectId: project.id } });
    expect(Object.keys(entries[0]!.data).sort()).toEqual(['ProjectId', 'RepoId', 'RepoName']);
  });
});
