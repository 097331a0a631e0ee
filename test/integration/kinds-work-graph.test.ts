import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';
import { graphOf } from '../simulators/ado/data/graph.js';
import { lookupSubjects, SUBJECTS_PER_LOOKUP } from '../../src/kinds/shared/graph.js';
import { harness } from './kinds-work.harness.js';

describe('graph and entitlement kinds', () => {
  let sim: AdoSimulator;
  beforeAll(async () => {
    sim = await startAdoSimulator({ scale: { projects: 3, servicePrincipals: 4 }, pageLimits: { graph: 7, userEntitlements: 10 } });
  });
  afterAll(() => sim.close());

  const graph = () => graphOf(sim.dataset.org('acme')!);
  const since = () => sim.requests.length;
  const byDescriptor = (items: Array<Record<string, unknown>>) => items.map((i) => String(i.descriptor)).sort();

  it('user (default source) lists user entitlements, following the body continuation token', async () => {
    const start = since();
    const items = await harness(sim).run('user');
    const expected = graph().users.filter((u) => u.origin === 'aad');
    expect(items.map((e) => (e.user as { descriptor: string }).descriptor).sort()).toEqual(byDescriptor(expected));
    for (const e of items) expect((e.accessLevel as { accountLicenseType?: string }).accountLicenseType).toBeDefined();
    const reqs = sim.requests.slice(start);
    expect(reqs.every((r) => r.path.endsWith('/_apis/userentitlements'))).toBe(true);
    expect(reqs).toHaveLength(Math.ceil(expected.length / 10));
    expect(reqs[0]!.query.continuationToken).toBeUndefined();
    expect(reqs[1]!.query.continuationToken).toBeDefined();
  });

  it('user includeFields becomes select=, and apiVersion below 6 pages with top/skip', async () => {
    let start = since();
    await harness(sim).run('user', { includeFields: ['license', 'projects'] });
    expect(sim.requests[start]!.query.select).toBe('license,projects');
    start = since();
    await harness(sim).run('user', { apiVersion: '5.1-preview.2' }).catch(() => undefined);
    expect(sim.requests[start]!.query).toMatchObject({ top: '10000', skip: '0', 'api-version': '5.1-preview.2' });
  });

  it('user source=graph lists graph users with header paging and the subjectTypes filter', async () => {
    let start = since();
    const all = await harness(sim).run('user', { source: 'graph' });
    expect(byDescriptor(all)).toEqual(byDescriptor(graph().users));
    const reqs = sim.requests.slice(start);
    expect(reqs).toHaveLength(Math.ceil(graph().users.length / 7));
    expect(reqs.every((r) => r.path.endsWith('/_apis/graph/users') && r.query['api-version'] === '7.1-preview.1')).toBe(true);
    for (const u of all) expect(u.__groups).toBeUndefined();

    start = since();
    const svc = await harness(sim).run('user', { source: 'graph', subjectTypes: ['svc'] });
    expect(svc).toHaveLength(3);
    expect(svc.every((u) => String(u.descriptor).startsWith('svc.'))).toBe(true);
    expect(sim.requests[start]!.query.subjectTypes).toBe('svc');
  });

  it('user includeGroupMemberships adds __groups and the sorted project names of those groups as __projects', async () => {
    const start = since();
    const users = await harness(sim).run('user', { source: 'graph', includeGroupMemberships: true });
    const g = graph();
    const projects = [...sim.dataset.projects()].map((p) => p.name);
    for (const u of users) {
      const expected = g.memberships.filter((m) => m.memberDescriptor === u.descriptor).map((m) => m.containerDescriptor).sort();
      const groups = u.__groups as Array<{ descriptor: string; principalName: string }>;
      expect(groups.map((x) => x.descriptor).sort()).toEqual(expected);
      const names = [...new Set(groups.map((x) => /^\[([^\]]+)\]/.exec(x.principalName)?.[1]).filter((n): n is string => !!n && projects.includes(n)))].sort();
      expect(u.__projects).toEqual(names);
    }
    const user0 = users.find((u) => u.descriptor === g.users[0]!.descriptor)!;
    expect((user0.__projects as string[]).length).toBeGreaterThan(0);
    const reqs = sim.requests.slice(start);
    expect(reqs.filter((r) => r.path.includes('/_apis/graph/memberships/'))).toHaveLength(g.users.length);
    for (const r of reqs.filter((x) => x.path.includes('/memberships/'))) expect(r.query.direction).toBe('Up');
    // One subject lookup per page of users, not per user.
    expect(reqs.filter((r) => r.method === 'POST' && r.path.endsWith('/graph/subjectlookup')).length).toBeLessThanOrEqual(Math.ceil(g.users.length / 7));
  });

  it('group lists every group, Entra groups included', async () => {
    const items = await harness(sim).run('group');
    expect(byDescriptor(items)).toEqual(byDescriptor(graph().groups));
    expect(items.some((x) => String(x.descriptor).startsWith('aadgp.'))).toBe(true);
  });

  it('group-member yields each direct member resolved by subject lookup, with __group; Entra group members resolve', async () => {
    const start = since();
    const items = await harness(sim).run('group-member');
    const g = graph();
    const expected = g.memberships.map((m) => `${m.containerDescriptor}>${m.memberDescriptor}`).sort();
    expect(items.map((m) => `${(m.__group as { descriptor: string }).descriptor}>${String(m.descriptor)}`).sort()).toEqual(expected);
    const entraMembers = items.filter((m) => String(m.descriptor).startsWith('aadgp.'));
    expect(entraMembers.length).toBeGreaterThan(0);
    for (const m of entraMembers) expect(m.subjectKind).toBe('group');
    const fromEntra = items.filter((m) => String((m.__group as { descriptor: string }).descriptor).startsWith('aadgp.'));
    expect(fromEntra.length).toBeGreaterThan(0);
    const reqs = sim.requests.slice(start);
    for (const r of reqs.filter((x) => x.path.includes('/memberships/'))) expect(r.query.direction).toBe('Down');
    expect(reqs.filter((r) => r.path.includes('/memberships/'))).toHaveLength(g.groups.length);
  });

  it('subject lookups go in chunks of 500 descriptors; unknown descriptors are left out', async () => {
    const g = graph();
    const known = [...g.users, ...g.groups, ...g.servicePrincipals].map((s) => s.descriptor);
    const unknown = Array.from({ length: 1100 }, (_, i) => `aad.unknown-${i}`);
    const start = since();
    const found = await lookupSubjects(harness(sim).ctx, [...unknown, ...known, ...known]);
    expect([...found.keys()].sort()).toEqual([...known].sort());
    const posts = sim.requests.slice(start).filter((r) => r.method === 'POST' && r.path.endsWith('/graph/subjectlookup'));
    expect(posts).toHaveLength(Math.ceil((unknown.length + known.length) / SUBJECTS_PER_LOOKUP));
  });

  it('service-principal lists the service principals', async () => {
    const items = await harness(sim).run('service-principal');
    expect(items).toHaveLength(4);
    expect(byDescriptor(items)).toEqual(byDescriptor(graph().servicePrincipals));
    for (const sp of items) expect(sp.applicationId).toBeDefined();
  });

  it('user-entitlement lists access levels, with $filter and select', async () => {
    const all = await harness(sim).run('user-entitlement');
    expect(all).toHaveLength(graph().users.filter((u) => u.origin === 'aad').length);
    const start = since();
    const basic = await harness(sim).run('user-entitlement', { filter: "licenseId eq 'Account-Express'", includeFields: ['license'] });
    expect(basic.length).toBeGreaterThan(0);
    expect(basic.length).toBeLessThan(all.length);
    for (const e of basic) expect((e.accessLevel as { accountLicenseType: string }).accountLicenseType).toBe('express');
    expect(sim.requests[start]!.query).toMatchObject({ $filter: "licenseId eq 'Account-Express'", select: 'license' });
  });

  it('a failing graph listing fails the kind instead of yielding nothing', async () => {
    sim.setFaults({ failPaths: [{ pattern: '/graph/groups$', status: 403 }] });
    try {
      await expect(harness(sim).run('group-member')).rejects.toThrow(/403/);
    } finally {
      sim.setFaults({});
    }
  });
});
