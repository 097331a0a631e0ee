/**
 * Incremental runs driven by the audit log (#20), end to end: `ado-sync resync` then `resync --incremental` (the real
 * CLI) against the Azure DevOps simulator (its audit log written by the changes made between the runs), the Port
 * simulator and Redis. Identity and structure changes are read back where the audit log points; deletions it proves (or
 * a refetch answering 404) are deleted; without an audit log the kinds are listed whole and the summary says why.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { Redis } from 'ioredis';
import { runCli } from '../helpers/cli.js';
import { syncEnv } from '../helpers/env.js';
import { deleteKeys } from '../helpers/redisKeys.js';
import { startAdoSimulator } from '../simulators/ado/index.js';
import { graphOf } from '../simulators/ado/data/graph.js';
import { startPortSimulator } from '../simulators/port/index.js';
import type { Blueprint } from '../simulators/port/types.js';

const REDIS = 'redis://127.0.0.1:6379';
const resource = (kind: string, blueprint: string, identifier: string, properties: Record<string, string> = {}) => ({
  kind,
  selector: { query: 'true' },
  port: { entity: { mappings: { identifier, title: '.name // .displayName // .id | tostring', blueprint: `"${blueprint}"`, properties } } },
});
const CONFIG = yaml.dump({
  resources: [
    resource('project', 'project', '.id'),
    resource('repository', 'repository', '.id'),
    resource('pipeline', 'pipeline', '.__projectId + "/" + (.id | tostring)'),
    resource('group-member', 'groupMember', '.__group.descriptor + "/" + .descriptor'),
    resource('user-entitlement', 'userEntitlement', '.id', { license: '.accessLevel.accountLicenseType' }),
  ],
});
const BLUEPRINTS: Blueprint[] = ['project', 'repository', 'pipeline', 'groupMember', 'userEntitlement'].map((identifier) => ({
  identifier,
  title: identifier,
  schema: { properties: identifier === 'userEntitlement' ? { license: { type: 'string' } } : ({} as Record<string, Record<string, unknown>>) },
}));

describe('incremental runs from the audit log', () => {
  let redis: Redis;
  const identifiers: string[] = [];
  const file = join(mkdtempSync(join(tmpdir(), 'ado-sync-audit-')), 'config.yml');
  writeFileSync(file, CONFIG);

  beforeAll(() => {
    redis = new Redis(REDIS);
  });
  afterAll(async () => {
    for (const id of identifiers) await deleteKeys(redis, `ado-sync:${id}:*`);
    await redis.quit();
  });

  async function setup(name: string, pats?: Record<string, string[]>) {
    const sim = await startAdoSimulator({ pats, scale: { projects: 2, reposPerProject: 3, pipelinesPerProject: 2, pullRequestsPerRepo: 0, workItemsPerProject: 0 } });
    const port = await startPortSimulator({ blueprints: BLUEPRINTS });
    const identifier = `audit-${name}-${process.pid}-${Date.now()}`;
    identifiers.push(identifier);
    const env = (extra: NodeJS.ProcessEnv = {}) => syncEnv(sim, port, { INTEGRATION_IDENTIFIER: identifier, REDIS_URL: REDIS, PORT_APP_CONFIG: file, LOG_LEVEL: 'warn', ...extra });
    return { sim, port, env, close: async () => Promise.all([sim.close(), port.close()]) };
  }

  it('reads what the audit log names, deletes what it proves gone (or a refetch answers 404 for), and nothing else', async () => {
    const { sim, port, env, close } = await setup('changes');
    try {
      const full = await runCli(['resync', '--skip-blueprints'], { env: env() });
      expect(full.code).toBe(0);
      // Nothing changed yet: the audit-driven kinds read nothing but the audit log (and the one-request listings).
      const quietFrom = sim.requests.length;
      const quiet = await runCli(['resync', '--incremental', '--skip-blueprints'], { env: env() });
      expect(quiet.code).toBe(0);
      const quietPaths = sim.requests.slice(quietFrom).map((r) => r.path.replace(/^\/acme/, ''));
      expect(quietPaths.filter((p) => !/\/_apis\/(audit\/auditlog|projects|git\/repositories)$/.test(p))).toEqual([]);
      expect(quiet.stderr).toContain('resources[3] group-member: incremental: the audit log has no change for this kind; nothing read');
      const g = graphOf(sim.dataset.org('acme')!);
      // A group with members: one member removed, and a user (not yet a member) added.
      const edge = g.memberships.find((m) => g.groups.some((x) => x.descriptor === m.containerDescriptor) && m.memberDescriptor.startsWith('aad.'))!;
      const group = edge.containerDescriptor;
      const newcomer = g.users.find((u) => u.origin === 'aad' && !g.hasMembership(group, u.descriptor))!;
      // Two other users: one relicensed, one removed from the organization (neither the member nor the newcomer).
      const others = new Set([edge.memberDescriptor, newcomer.descriptor].map((d) => String(g.subject(d)!.originId)));
      const entitled = port.entities('userEntitlement').filter((e) => !others.has(e.identifier));
      const [relicensed, removed] = [entitled[0]!, entitled[1]!];
      expect(relicensed.properties.license).not.toBe('stakeholder');
      expect(port.entity('groupMember', `${group}/${edge.memberDescriptor}`)).toBeDefined();
      const repos = port.entities('repository');
      const [renamed, deleted, unlisted] = [repos[0]!, repos[1]!, repos[2]!];
      const pipelines = port.entities('pipeline');
      const deletedPipeline = pipelines[0]!;
      const [pipelineProject, pipelineId] = deletedPipeline.identifier.split('/') as [string, string];
      const projectCount = port.entities('project').length;

      sim.changes.setAccessLevel(relicensed.identifier, 'stakeholder');
      sim.changes.removeUser(removed.identifier);
      sim.changes.removeGroupMember(group, edge.memberDescriptor);
      sim.changes.addGroupMember(group, newcomer.descriptor);
      sim.changes.renameRepository(renamed.identifier, 'renamed-by-audit');
      sim.changes.deleteRepository(deleted.identifier);
      // Gone from its listing without an audit entry: not proven, so it stays.
      sim.patchResponses('/_apis/git/repositories$', (b) => ({ ...b, value: b.value.filter((r: { id: string }) => r.id !== unlisted.identifier), count: b.count - 1 }));
      // A pipeline deleted: the audit log names it and its project; the project's listing no longer has it.
      sim.patchResponses(`/${pipelineProject}/_apis/pipelines$`, (b) => ({ ...b, value: b.value.filter((p: { id: number }) => String(p.id) !== pipelineId), count: b.count - 1 }));
      sim.changes.audit('Pipelines.PipelineDeleted', { PipelineId: Number(pipelineId), PipelineName: deletedPipeline.title, ProjectId: pipelineProject }, { projectId: pipelineProject });

      const before = sim.requests.length;
      port.clearRequests();
      const inc = await runCli(['resync', '--incremental', '--skip-blueprints'], { env: env() });
      expect(inc.code).toBe(0);
      // Port is asked only about entities the run would skip as unchanged: never about the relicensed user, which is
      // written whatever Port holds.
      const asked = port.requestsTo('POST', /\/entities\/search$/).map((r) => JSON.stringify(r.body));
      expect(asked.some((b) => b.includes(repos[3]!.identifier))).toBe(true);
      expect(asked.some((b) => b.includes(relicensed.identifier))).toBe(false);
      const requests = sim.requests.slice(before);

      // Licenses: the two users named are read by id; no listing of every entitlement.
      expect(port.entity('userEntitlement', relicensed.identifier)!.properties.license).toBe('stakeholder');
      expect(port.entity('userEntitlement', removed.identifier)).toBeUndefined();
      expect(requests.filter((r) => /\/_apis\/userentitlements$/.test(r.path))).toEqual([]);
      expect(requests.filter((r) => /\/_apis\/userentitlements\/[^/]+$/.test(r.path)).length).toBe(2);
      // Memberships: only the group named is read again; the member removed is deleted, the one added written.
      expect(port.entity('groupMember', `${group}/${edge.memberDescriptor}`)).toBeUndefined();
      expect(port.entity('groupMember', `${group}/${newcomer.descriptor}`)).toBeDefined();
      const membershipReads = requests.filter((r) => r.path.includes('/_apis/graph/memberships/'));
      expect(new Set(membershipReads.map((r) => decodeURIComponent(r.path.split('/_apis/graph/memberships/')[1]!)))).toEqual(new Set([group]));
      expect(requests.filter((r) => r.path.endsWith('/_apis/graph/groups'))).toEqual([]);
      // Repositories: listed whole (one request); the renamed one has its new name, the deleted one is gone, the one
      // merely missing from the listing stays.
      expect(port.entity('repository', renamed.identifier)!.title).toBe('renamed-by-audit');
      expect(port.entity('repository', deleted.identifier)).toBeUndefined();
      expect(port.entity('repository', unlisted.identifier)).toBeDefined();
      // Pipelines: only the project named is listed again; the deleted pipeline is gone, the others stay.
      expect(port.entity('pipeline', deletedPipeline.identifier)).toBeUndefined();
      expect(port.entities('pipeline')).toHaveLength(pipelines.length - 1);
      const pipelineListings = requests.filter((r) => r.path.endsWith('/_apis/pipelines'));
      expect(pipelineListings.map((r) => r.path.split('/').at(-3))).toEqual([pipelineProject]);
      // Projects: listed whole, none deleted (the audit log proves no deletion).
      expect(port.entities('project')).toHaveLength(projectCount);
      // The five audit-driven resources' cursors fall within a minute or two: their passes share the reads (one per
      // minute the windows start in); every read is from a cursor minus the overlap.
      const audit = requests.filter((r) => r.path.endsWith('/_apis/audit/auditlog'));
      expect(audit.length).toBeGreaterThan(0);
      expect(audit.length).toBeLessThanOrEqual(2);
      for (const r of audit) expect(Date.parse(String(r.query.startTime))).toBeLessThan(Date.now() - 9 * 60_000);
      expect(inc.stderr).toMatch(/resources\[2\] pipeline: incremental: 1 audit log entry about this kind/);
      expect(inc.stderr).not.toContain(sim.pat);

    } finally {
      await close();
    }
  }, 60_000);

  it('deletes nothing from a pass that missed a part (another group could not be read); the next complete pass does', async () => {
    const { sim, port, env, close } = await setup('incomplete');
    try {
      expect((await runCli(['resync', '--skip-blueprints'], { env: env() })).code).toBe(0);
      const g = graphOf(sim.dataset.org('acme')!);
      const groupsWithMembers = [...new Set(g.memberships.filter((m) => m.memberDescriptor.startsWith('aad.')).map((m) => m.containerDescriptor))].filter((d) => g.groups.some((x) => x.descriptor === d));
      const [group, other] = [groupsWithMembers[0]!, groupsWithMembers[1]!];
      const member = g.memberships.find((m) => m.containerDescriptor === group && m.memberDescriptor.startsWith('aad.'))!.memberDescriptor;
      const key = `${group}/${member}`;
      expect(port.entity('groupMember', key)).toBeDefined();
      sim.changes.removeGroupMember(group, member);
      // An entry naming subjects that cannot be resolved: every group's members are read; one group's listing fails.
      sim.changes.audit('Group.UpdateGroupMembership.Add', { GroupId: '00000000-0000-4000-8000-0000000dead1', MemberId: '00000000-0000-4000-8000-0000000dead2' });
      sim.setFaults({ failPaths: [{ pattern: `/_apis/graph/memberships/${other}$`, status: 404 }] });
      let partial: Awaited<ReturnType<typeof runCli>>;
      try {
        partial = await runCli(['resync', '--incremental', '--skip-blueprints'], { env: env() });
      } finally {
        sim.setFaults({ failPaths: [] });
      }
      expect(partial.stderr).toMatch(/resources\[3\] group-member: incremental: a membership entry names a group or member that cannot be resolved/);
      expect(partial.stderr).toContain('not found (deleted while syncing?)');
      expect(port.entity('groupMember', key)).toBeDefined();
      // Its cursor stayed: the next pass reads the same entries, completes, and deletes the membership.
      const next = await runCli(['resync', '--incremental', '--skip-blueprints'], { env: env() });
      expect(next.code).toBe(0);
      expect(port.entity('groupMember', key)).toBeUndefined();
    } finally {
      await close();
    }
  }, 60_000);

  it('without an audit log (no "View audit log" permission, or an answer that does not prove itself), lists those kinds whole, says why, and deletes nothing', async () => {
    const { sim, port, env, close } = await setup('unavailable', { 'no-audit-pat-5f2d81': ['vso.code', 'vso.build', 'vso.graph', 'vso.memberentitlementmanagement', 'vso.project'] });
    try {
      expect((await runCli(['resync', '--skip-blueprints'], { env: env() })).code).toBe(0);
      const entitled = port.entities('userEntitlement');
      const removed = entitled[0]!;
      sim.changes.removeUser(removed.identifier);
      const relicensed = entitled[1]!;
      sim.changes.setAccessLevel(relicensed.identifier, 'stakeholder');

      const inc = await runCli(['resync', '--incremental', '--skip-blueprints'], { env: env({ ADO_PERSONAL_ACCESS_TOKEN: 'no-audit-pat-5f2d81' }) });
      expect(inc.code).toBe(0);
      expect(inc.stderr).toMatch(/resources\[4\] user-entitlement: incremental: audit log skipped \(no permission to read it .*vso\.auditlog.*\); listed whole/);
      expect(inc.stderr).toMatch(/resources\[3\] group-member: incremental: audit log skipped/);
      // Listed whole: the change is read; the removed user is not proven gone, so its entity stays.
      expect(port.entity('userEntitlement', relicensed.identifier)!.properties.license).toBe('stakeholder');
      expect(port.entity('userEntitlement', removed.identifier)).toBeDefined();
      expect(inc.stderr).not.toContain('no-audit-pat-5f2d81');

      // An answer promising more without a way to get it is not "no change": listed whole again.
      sim.patchResponses('/_apis/audit/auditlog$', (b) => ({ ...b, hasMore: true, continuationToken: null }));
      const malformed = await runCli(['resync', '--incremental', '--skip-blueprints'], { env: env() });
      expect(malformed.code).toBe(0);
      expect(malformed.stderr).toMatch(/resources\[4\] user-entitlement: incremental: audit log skipped \(it could not be read: audit log: hasMore without a new continuationToken/);
      expect(port.entity('userEntitlement', removed.identifier)).toBeDefined();
    } finally {
      await close();
    }
  }, 60_000);
});
