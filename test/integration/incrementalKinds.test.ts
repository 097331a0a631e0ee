/**
 * The incremental pass of each kind driven by the audit log or the journal of announced changes (#20), in process:
 * the Azure DevOps simulator over loopback (its audit log written by the test), real jq, cursors in memory, and a
 * journal the test controls. With nothing announced each reads nothing (or only its one listing); with changes it reads
 * only the projects or repositories they name.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import yaml from 'js-yaml';
import { PatAuth } from '../../src/ado/auth.js';
import { AdoClient } from '../../src/ado/client.js';
import { parseOrganizationUrl } from '../../src/ado/orgUrl.js';
import { parseAppConfig, type PortAppConfig } from '../../src/config/appConfig.js';
import { silentLogger } from '../../src/observability/log.js';
import { MemoryChangeCursors } from '../../src/sync/changeCursors.js';
import { runFullResync, type FullResyncResult } from '../../src/sync/fullResync.js';
import { RecordingSink } from '../helpers/recorders.js';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';

const resource = (kind: string, identifier: string, selector: Record<string, unknown> = {}) => ({
  kind,
  selector: { query: 'true', ...selector },
  port: { entity: { mappings: { identifier, title: identifier, blueprint: `"${kind}"` } } },
});
const CONFIG = yaml.dump({
  resources: [
    resource('release', '.id | tostring'),
    resource('release-definition', '.__project.id + "/" + (.id | tostring)'),
    resource('repository-policy', '(.id | tostring) + "/" + .__repository.id'),
    resource('user', '.id // .descriptor'),
    resource('group', '.descriptor'),
    resource('file', '.repo.id + "/" + .file.path', { files: { path: 'README.md' } }),
    resource('folder', '.__repository.id + "/" + .path', { folders: [{ path: '*' }] }),
    resource('pipeline-run', '.__project.id + "/" + (.id | tostring)'),
    resource('pipeline-stage', '.id'),
  ],
});
const INDEX = { release: 0, definition: 1, policy: 2, user: 3, group: 4, file: 5, folder: 6, run: 7, stage: 8 } as const;

describe('incremental passes from the audit log and the journal', () => {
  let sim: AdoSimulator;
  let config: PortAppConfig;
  let client: AdoClient;
  const cursors = new MemoryChangeCursors();
  let pushed = new Set<string>();
  let announced: Record<string, string[]> = {};
  const journal = {
    since: async () => pushed,
    projects: async (kind: string) => ({ projectIds: new Set((announced[kind] ?? []).map((id) => id.toLowerCase())), reason: 'service-hook events' }),
  };

  beforeAll(async () => {
    sim = await startAdoSimulator({
      scale: { projects: 2, reposPerProject: 2, pullRequestsPerRepo: 0, workItemsPerProject: 0, pipelinesPerProject: 2, buildsPerPipeline: 2, releaseDefinitionsPerProject: 2, releasesPerDefinition: 2 },
    });
    config = parseAppConfig(CONFIG, 'incremental-kinds.yml').config;
    client = new AdoClient(parseOrganizationUrl(sim.orgUrl(), 'services'), new PatAuth(sim.pat), { maxAttempts: 1 });
  });
  afterAll(() => sim.close());

  /** Repositories with a README.md (the file resource's), from the full run. */
  let withReadme: string[] = [];

  async function run(incremental: boolean): Promise<{ result: FullResyncResult; paths: string[]; sink: RecordingSink }> {
    const before = sim.requests.length;
    const sink = new RecordingSink();
    const result = await runFullResync({ config, targets: [{ client }], sink, log: silentLogger, poolSize: 1, pageSize: 100, cursors, incremental: incremental ? { overlapMs: 10 * 60_000, journal } : undefined });
    expect(result.summaries.map((s) => [s.kind, s.status])).toEqual(result.summaries.map((s) => [s.kind, 'ok']));
    return { result, paths: sim.requests.slice(before).map((r) => r.path), sink };
  }
  const notes = (r: FullResyncResult, i: number) => r.summaries[i]!.notes ?? [];
  const projectsOf = (paths: string[], pattern: RegExp) => new Set(paths.filter((p) => pattern.test(p)).map((p) => p.split('/')[2]));

  it('with nothing announced, each reads nothing of its own', async () => {
    const full = await run(false);
    expect(full.result.summaries.every((s) => s.rawItems > 0)).toBe(true);
    withReadme = full.sink.written.filter((w) => w.resourceIndex === INDEX.file).map((w) => String(w.entity.identifier).split('/')[0]!);
    const { result, paths } = await run(true);
    for (const i of [INDEX.release, INDEX.definition, INDEX.policy, INDEX.user, INDEX.group]) {
      expect(notes(result, i)).toContain('incremental: the audit log has no change for this kind; nothing read');
    }
    expect(notes(result, INDEX.run)).toContain('incremental: 0 of 2 projects with pipeline-run events since then (service hooks)');
    expect(notes(result, INDEX.stage)).toContain('incremental: 0 of 2 projects with pipeline-stage events since then (service hooks)');
    expect(notes(result, INDEX.file)).toContain('incremental: files of the repositories pushed to since then (0 in the journal)');
    expect(result.summaries.reduce((n, s) => n + s.rawItems, 0)).toBe(0);
    const own = /\/_apis\/(release\/(releases|definitions)|policy\/configurations|userentitlements|graph\/(users|groups)|git\/repositories\/[^/]+\/items|pipelines\/\d+\/runs|build\/builds\/\d+\/timeline)$/;
    expect(paths.filter((p) => own.test(p))).toEqual([]);
  });

  it('reads only what the audit log entries and the announced events name', async () => {
    const org = sim.dataset.org('acme')!;
    const [p0, p1] = [org.projects.record(0), org.projects.record(1)];
    sim.changes.audit('Release.ReleaseCreated', { ReleaseName: 'Release-9', PipelineName: 'deploy' }, { projectId: p0.id });
    sim.changes.audit('Release.ReleasePipelineModified', { PipelineName: 'deploy' }, { projectId: p1.id });
    sim.changes.audit('Policy.PolicyConfigModified', { PolicyTypeDisplayName: 'Minimum number of reviewers' }, { projectId: p1.id });
    sim.changes.audit('Group.UpdateGroups.Modify', { GroupId: 'a-group' });
    const entitled = (await (await fetch(`${sim.orgUrl()}/_apis/userentitlements?api-version=7.1-preview.3`, { headers: { authorization: `Basic ${Buffer.from(`:${sim.pat}`).toString('base64')}` } })).json()) as { members?: Array<{ id: string }>; items?: Array<{ id: string }> };
    sim.changes.setAccessLevel((entitled.members ?? entitled.items)![0]!.id, 'stakeholder');
    const repo = { id: withReadme.at(-1)! };
    pushed = new Set([repo.id.toLowerCase()]);
    announced = { 'pipeline-run': [p1.id], 'pipeline-stage': [p0.id] };
    let inc: Awaited<ReturnType<typeof run>>;
    try {
      inc = await run(true);
    } finally {
      pushed = new Set();
      announced = {};
    }
    const { paths } = inc;
    expect(projectsOf(paths, /\/_apis\/release\/releases$/)).toEqual(new Set([p0.id]));
    expect(projectsOf(paths, /\/_apis\/release\/definitions$/)).toEqual(new Set([p1.id]));
    expect(projectsOf(paths, /\/_apis\/policy\/configurations$/)).toEqual(new Set([p1.id]));
    expect(projectsOf(paths, /\/_apis\/pipelines\/\d+\/runs$/)).toEqual(new Set([p1.id]));
    expect(projectsOf(paths, /\/_apis\/build\/builds\/\d+\/timeline$/)).toEqual(new Set([p0.id]));
    const items = paths.filter((p) => /\/_apis\/git\/repositories\/[^/]+\/items$/.test(p));
    expect(items.length).toBeGreaterThan(0);
    expect(new Set(items.map((p) => p.split('/')[6]))).toEqual(new Set([repo.id]));
    // A license changed: the users are listed whole; a group changed: the groups are.
    expect(notes(inc.result, INDEX.user)).toContain('incremental: 1 audit log entry about this kind');
    expect(notes(inc.result, INDEX.group)).toContain('incremental: 1 audit log entry about this kind');
    expect(inc.result.summaries[INDEX.user]!.rawItems).toBeGreaterThan(0);
    expect(inc.result.summaries[INDEX.group]!.rawItems).toBeGreaterThan(0);
    for (const i of [INDEX.release, INDEX.definition, INDEX.policy, INDEX.file, INDEX.folder, INDEX.run, INDEX.stage]) expect([inc.result.summaries[i]!.kind, inc.result.summaries[i]!.rawItems > 0]).toEqual([inc.result.summaries[i]!.kind, true]);
  });
});
