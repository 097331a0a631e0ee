/**
 * Pipelines area of one organization: YAML pipelines (= build definitions), builds (= pipeline runs), build
 * timelines and changes, environments with their deployment records, classic releases (vsrm) and test runs.
 * Shapes follow shared/ado-api-samples/{build,release,test}/ and research/ado-api.md §4.8–4.17.
 * Everything is generated once per organization on first use (the scale knobs keep it small) and memoised.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { DAY_MS, adoDate, hashString, rngFor, type Rng } from '../random.js';
import type { OrgData } from './dataset.js';
import type { IdentityRef, TeamProjectReference } from './types.js';

const S = {
  pipeline: hashString('sim.pipeline'),
  build: hashString('sim.build'),
  timeline: hashString('sim.timeline'),
  environment: hashString('sim.environment'),
  releaseDefinition: hashString('sim.releaseDefinition'),
  release: hashString('sim.release'),
  testRun: hashString('sim.testRun'),
};
const HOUR_MS = 3_600_000;

export type Json = Record<string, unknown>;

/** IdentityRef as build, release and test payloads embed it (no descriptor, no _links). */
export function shortIdentity(u: IdentityRef): Json {
  return { id: u.id, displayName: u.displayName, uniqueName: u.uniqueName, url: u.url, imageUrl: u.imageUrl };
}

export interface PipelineRec {
  id: number;
  projectIndex: number;
  name: string;
  folder: string;
  revision: number;
  repoIndex: number;
}

export interface BuildRec {
  id: number;
  projectIndex: number;
  pipelineId: number;
  buildNumber: string;
  queueMs: number;
  startMs: number;
  finishMs?: number;
  status: 'completed' | 'inProgress';
  result?: 'succeeded' | 'failed' | 'partiallySucceeded' | 'canceled';
  reason: string;
  sourceBranch: string;
  sourceVersion: string;
  requestedFor: number;
  stages: string[];
  /** Commits in the build (oldest first): sha, author identity index, timestamp. */
  changes: Array<{ sha: string; author: number; ms: number; message: string }>;
  guid: string;
  planId: string;
}

export interface EnvironmentRec {
  id: number;
  projectIndex: number;
  name: string;
  description: string;
  createdBy: number;
  createdMs: number;
  modifiedMs: number;
}

export interface DeploymentRecordRec {
  id: number;
  environmentId: number;
  build: BuildRec;
  stageName: string;
  jobName: string;
}

export interface ReleaseDefinitionRec {
  id: number;
  projectIndex: number;
  name: string;
  revision: number;
  createdBy: number;
  createdMs: number;
  modifiedMs: number;
  tags: string[];
  environments: Array<{ id: number; name: string; rank: number }>;
  pipelineId: number;
}

export interface ReleaseRec {
  id: number;
  definition: ReleaseDefinitionRec;
  name: string;
  status: 'active' | 'abandoned' | 'draft';
  createdMs: number;
  modifiedMs: number;
  createdBy: number;
  reason: string;
  tags: string[];
  sourceBranch: string;
  build: BuildRec | undefined;
}

export interface ReleaseDeploymentRec {
  id: number;
  release: ReleaseRec;
  environment: { id: number; name: string; rank: number };
  releaseEnvironmentId: number;
  status: 'succeeded' | 'failed' | 'inProgress' | 'notDeployed';
  startedMs: number;
  completedMs: number;
}

export interface TestRunRec {
  id: number;
  projectIndex: number;
  name: string;
  build: BuildRec | undefined;
  isAutomated: boolean;
  state: 'Completed' | 'InProgress' | 'Aborted';
  startedMs: number;
  completedMs: number;
  owner: number;
  total: number;
  passed: number;
  revision: number;
}

const PIPELINE_NAMES = ['ci', 'release', 'nightly', 'pr-validation', 'docs', 'security-scan'];
const STAGE_NAMES = ['Build', 'Test', 'Deploy'];
const ENV_NAMES = ['dev', 'staging', 'production', 'qa', 'perf'];
const RELEASE_ENV_NAMES = ['Dev', 'QA', 'PROD'];
const RESULTS = ['succeeded', 'succeeded', 'succeeded', 'failed', 'partiallySucceeded', 'canceled'] as const;
const MESSAGES = ['Fix flaky retry in client', 'Add health endpoint', 'Bump dependencies', 'Refactor config loader', 'Update README'];

export class PipelinesData {
  readonly pipelines: PipelineRec[] = [];
  /** All builds, newest queue time first (the order of queryOrder=queueTimeDescending). */
  readonly builds: BuildRec[] = [];
  readonly environments: EnvironmentRec[] = [];
  readonly deploymentRecords: DeploymentRecordRec[] = [];
  readonly releaseDefinitions: ReleaseDefinitionRec[] = [];
  /** Newest (highest id) first, as releases list by default. */
  readonly releases: ReleaseRec[] = [];
  /** Highest id first. */
  readonly releaseDeployments: ReleaseDeploymentRec[] = [];
  readonly testRuns: TestRunRec[] = [];
  readonly #buildsById = new Map<number, BuildRec>();
  /** Builds of each project in `builds` order, so a page of one project's list is a slice, not a scan of the org. */
  readonly #buildsByProject: BuildRec[][] = [];
  readonly #deploymentRecordsByEnvironment = new Map<number, DeploymentRecordRec[]>();
  readonly #deploymentsByRelease = new Map<ReleaseRec, ReleaseDeploymentRec[]>();

  constructor(readonly org: OrgData) {
    const ctx = org.ctx;
    const sc = ctx.scale;
    const ref = ctx.referenceMs;
    for (let p = 0; p < org.projects.count; p++) {
      for (let k = 0; k < sc.pipelinesPerProject; k++) {
        const g = p * sc.pipelinesPerProject + k;
        const rng = rngFor(ctx.seed, ctx.key, S.pipeline, g);
        const base = PIPELINE_NAMES[k % PIPELINE_NAMES.length] as string;
        this.pipelines.push({
          id: g + 1,
          projectIndex: p,
          name: k < PIPELINE_NAMES.length ? base : `${base}-${Math.floor(k / PIPELINE_NAMES.length) + 1}`,
          folder: k % 3 === 2 ? '\\tools' : '\\',
          revision: rng.int(1, 40),
          // The project's first repository is never disabled or empty.
          repoIndex: p * sc.reposPerProject,
        });
      }
    }
    for (const pl of this.pipelines) {
      for (let j = 0; j < sc.buildsPerPipeline; j++) {
        const id = (pl.id - 1) * sc.buildsPerPipeline + j + 1;
        this.builds.push(this.#build(pl, j, id, ref));
      }
    }
    this.builds.sort((a, b) => b.queueMs - a.queueMs || b.id - a.id);
    for (let p = 0; p < org.projects.count; p++) this.#buildsByProject.push([]);
    for (const b of this.builds) {
      this.#buildsById.set(b.id, b);
      this.#buildsByProject[b.projectIndex]?.push(b);
    }

    let recordId = 1;
    for (let p = 0; p < org.projects.count; p++) {
      const projectBuilds = this.buildsOfProject(p).filter((b) => b.status === 'completed').reverse();
      for (let e = 0; e < sc.environmentsPerProject; e++) {
        const g = p * sc.environmentsPerProject + e;
        const rng = rngFor(ctx.seed, ctx.key, S.environment, g);
        const createdMs = ref - rng.int(60, 300) * DAY_MS;
        const env: EnvironmentRec = {
          id: g + 1,
          projectIndex: p,
          name: e < ENV_NAMES.length ? (ENV_NAMES[e] as string) : `env-${e + 1}`,
          description: rng.chance(0.5) ? `Deployment target ${e + 1}` : '',
          createdBy: rng.int(0, 23),
          createdMs,
          modifiedMs: createdMs + rng.int(1, 50) * DAY_MS,
        };
        this.environments.push(env);
        for (const b of projectBuilds) {
          if (e > 0 && (b.id + e) % 2 !== 0) continue;
          this.deploymentRecords.push({ id: recordId++, environmentId: env.id, build: b, stageName: 'Deploy', jobName: `Deploy_${env.name}` });
        }
      }
    }

    let releaseId = 1;
    let deploymentId = 1;
    let releaseEnvId = 1;
    for (let p = 0; p < org.projects.count; p++) {
      const projectBuilds = this.buildsOfProject(p).filter((b) => b.status === 'completed');
      for (let d = 0; d < sc.releaseDefinitionsPerProject; d++) {
        const g = p * sc.releaseDefinitionsPerProject + d;
        const rng = rngFor(ctx.seed, ctx.key, S.releaseDefinition, g);
        const createdMs = ref - rng.int(100, 400) * DAY_MS;
        const def: ReleaseDefinitionRec = {
          id: g + 1,
          projectIndex: p,
          name: `${org.projects.record(p).name.replace(/\s+/g, '')}.CD${d === 0 ? '' : `-${d + 1}`}`,
          revision: rng.int(1, 20),
          createdBy: rng.int(0, 23),
          createdMs,
          modifiedMs: createdMs + rng.int(1, 90) * DAY_MS,
          tags: d % 2 === 0 ? ['web'] : ['web', 'critical'],
          environments: RELEASE_ENV_NAMES.map((name, i) => ({ id: g * RELEASE_ENV_NAMES.length + i + 1, name, rank: i + 1 })),
          pipelineId: this.pipelines.find((x) => x.projectIndex === p)?.id ?? 0,
        };
        this.releaseDefinitions.push(def);
        for (let r = 0; r < sc.releasesPerDefinition; r++) {
          const rr = rngFor(ctx.seed, ctx.key, S.release, releaseId);
          const created = ref - (sc.releasesPerDefinition - r) * 2 * DAY_MS - rr.int(0, 20) * HOUR_MS - g * 7 * 60_000;
          const status = r === 0 && sc.releasesPerDefinition > 1 ? 'abandoned' : r % 5 === 3 ? 'draft' : 'active';
          const rel: ReleaseRec = {
            id: releaseId++,
            definition: def,
            name: `Release-${r + 1}`,
            status,
            createdMs: created,
            modifiedMs: created + rr.int(1, 600) * 1000,
            createdBy: rr.int(0, 23),
            reason: r % 2 === 0 ? 'manual' : 'continuousIntegration',
            tags: r % 3 === 1 ? ['hotfix'] : [],
            sourceBranch: r % 3 === 1 ? 'refs/heads/release/1.0' : 'refs/heads/main',
            build: projectBuilds.length > 0 ? projectBuilds[(r + d) % projectBuilds.length] : undefined,
          };
          this.releases.push(rel);
          const deployTo = status === 'draft' ? 0 : status === 'abandoned' ? 1 : r % 2 === 0 ? 3 : 2;
          for (let i = 0; i < def.environments.length; i++) {
            const envId = releaseEnvId++;
            if (i >= deployTo) continue;
            const env = def.environments[i] as ReleaseDefinitionRec['environments'][number];
            const started = created + (i + 1) * HOUR_MS;
            this.releaseDeployments.push({
              id: deploymentId++,
              release: rel,
              environment: env,
              releaseEnvironmentId: envId,
              status: i === deployTo - 1 && rr.chance(0.3) ? 'failed' : 'succeeded',
              startedMs: started,
              completedMs: started + rr.int(60, 1800) * 1000,
            });
          }
        }
      }
    }
    this.releases.sort((a, b) => b.id - a.id);
    this.releaseDeployments.sort((a, b) => b.id - a.id);
    for (const d of this.releaseDeployments) {
      const list = this.#deploymentsByRelease.get(d.release) ?? [];
      list.push(d);
      this.#deploymentsByRelease.set(d.release, list);
    }

    let runId = 1;
    for (let p = 0; p < org.projects.count; p++) {
      const projectBuilds = this.buildsOfProject(p).filter((b) => b.status === 'completed');
      for (let t = 0; t < sc.testRunsPerProject; t++) {
        const rng = rngFor(ctx.seed, ctx.key, S.testRun, runId);
        // Every fourth run is a manual run without a build.
        const build = t % 4 === 3 || projectBuilds.length === 0 ? undefined : projectBuilds[t % projectBuilds.length];
        const started = build ? (build.finishMs ?? build.startMs) - 5 * 60_000 : ref - rng.int(1, 30) * DAY_MS;
        const total = rng.int(2, 6);
        this.testRuns.push({
          id: runId++,
          projectIndex: p,
          name: build ? `${build.buildNumber} unit tests` : `Manual run ${t + 1}`,
          build,
          isAutomated: build !== undefined,
          state: t % 7 === 5 ? 'Aborted' : 'Completed',
          startedMs: started,
          completedMs: started + rng.int(30, 600) * 1000,
          owner: rng.int(0, 23),
          total,
          passed: total - (t % 3 === 2 ? 1 : 0),
          revision: rng.int(2, 30),
        });
      }
    }
  }

  #build(pl: PipelineRec, j: number, id: number, ref: number): BuildRec {
    const ctx = this.org.ctx;
    const rng = rngFor(ctx.seed, ctx.key, S.build, id);
    const n = this.org.ctx.scale.buildsPerPipeline;
    // j = n-1 is the newest build of the pipeline; the newest build of each project's first pipeline is still running.
    const queueMs = ref - (n - j) * 6 * HOUR_MS - pl.id * 11 * 60_000 - rng.int(0, 300) * 1000;
    const startMs = queueMs + rng.int(2, 60) * 1000;
    const running = j === n - 1 && (pl.id - 1) % ctx.scale.pipelinesPerProject === 0;
    const stageCount = rng.int(2, 3);
    const changeCount = rng.int(1, 3);
    const changes: BuildRec['changes'] = [];
    for (let c = 0; c < changeCount; c++) {
      changes.push({
        sha: rng.sha(),
        author: rng.int(0, 23),
        ms: queueMs - (changeCount - c) * rng.int(1, 48) * HOUR_MS,
        message: MESSAGES[rng.int(0, MESSAGES.length - 1)] as string,
      });
    }
    const day = new Date(queueMs).toISOString().slice(0, 10).replace(/-/g, '');
    const rec: BuildRec = {
      id,
      projectIndex: pl.projectIndex,
      pipelineId: pl.id,
      buildNumber: `${day}.${j + 1}`,
      queueMs,
      startMs,
      status: running ? 'inProgress' : 'completed',
      reason: j % 2 === 0 ? 'individualCI' : 'manual',
      sourceBranch: j % 3 === 2 ? 'refs/heads/feature/x' : 'refs/heads/main',
      sourceVersion: (changes[changes.length - 1] as { sha: string }).sha,
      requestedFor: rng.int(0, 23),
      stages: STAGE_NAMES.slice(0, stageCount),
      changes,
      guid: rng.guid(),
      planId: rng.guid(),
    };
    if (!running) {
      rec.finishMs = startMs + rng.int(60, 1800) * 1000;
      rec.result = RESULTS[rng.int(0, RESULTS.length - 1)];
    }
    return rec;
  }

  /** A run queued now through the runs API (`POST pipelines/{id}/runs`): in progress until RunControl completes it. */
  queueRun(pl: PipelineRec, sourceBranch: string): BuildRec {
    const now = Date.now();
    const id = Math.max(0, ...this.#buildsById.keys()) + 1;
    const sha = randomBytes(20).toString('hex');
    const day = new Date(now).toISOString().slice(0, 10).replace(/-/g, '');
    const rec: BuildRec = {
      id,
      projectIndex: pl.projectIndex,
      pipelineId: pl.id,
      buildNumber: `${day}.${id}`,
      queueMs: now,
      startMs: now,
      status: 'inProgress',
      reason: 'manual',
      sourceBranch,
      sourceVersion: sha,
      requestedFor: 0,
      stages: STAGE_NAMES.slice(0, 2),
      changes: [{ sha, author: 0, ms: now, message: MESSAGES[0] as string }],
      guid: randomUUID(),
      planId: randomUUID(),
    };
    this.builds.unshift(rec);
    this.#buildsById.set(id, rec);
    this.#buildsByProject[pl.projectIndex]?.unshift(rec);
    return rec;
  }

  // ---- lookups ----

  project(p: number): TeamProjectReference {
    return this.org.projects.reference(p);
  }

  pipelinesOf(p: number): PipelineRec[] {
    return this.pipelines.filter((x) => x.projectIndex === p);
  }

  pipeline(p: number, id: number): PipelineRec | undefined {
    return this.pipelines.find((x) => x.projectIndex === p && x.id === id);
  }

  /** The project's builds, newest queue time first (shared array: callers copy before reordering). */
  buildsOfProject(p: number): readonly BuildRec[] {
    return this.#buildsByProject[p] ?? [];
  }

  /** The environment's deployment records, highest id first (memoised). */
  deploymentRecordsOf(environmentId: number): readonly DeploymentRecordRec[] {
    let list = this.#deploymentRecordsByEnvironment.get(environmentId);
    if (!list) {
      list = this.deploymentRecords.filter((r) => r.environmentId === environmentId).sort((a, b) => b.id - a.id);
      this.#deploymentRecordsByEnvironment.set(environmentId, list);
    }
    return list;
  }

  build(p: number, id: number): BuildRec | undefined {
    const b = this.#buildsById.get(id);
    return b?.projectIndex === p ? b : undefined;
  }

  // ---- wire shapes ----

  #core(): string {
    return this.org.ctx.orgUrl();
  }

  #identity(i: number): Json {
    return shortIdentity(this.org.identities.at(i));
  }

  pipelineJson(pl: PipelineRec): Json {
    const pid = this.project(pl.projectIndex).id;
    const url = `${this.#core()}/${pid}/_apis/pipelines/${pl.id}?revision=${pl.revision}`;
    return {
      _links: { self: { href: url }, web: { href: `${this.#core()}/${pid}/_build/definition?definitionId=${pl.id}` } },
      url,
      id: pl.id,
      revision: pl.revision,
      name: pl.name,
      folder: pl.folder,
    };
  }

  /** GET build/definitions/{id}: the definition reference plus its repository. */
  definitionJson(pl: PipelineRec): Json {
    const project = this.project(pl.projectIndex);
    const repo = this.org.repos.repository(pl.repoIndex, false);
    const url = `${this.#core()}/${project.id}/_apis/build/Definitions/${pl.id}?revision=${pl.revision}`;
    return {
      _links: { self: { href: url }, web: { href: `${this.#core()}/${project.id}/_build/definition?definitionId=${pl.id}` } },
      quality: 'definition',
      authoredBy: this.#identity(pl.id),
      queue: { _links: {}, id: 9, name: 'Azure Pipelines', pool: { id: 9, name: 'Azure Pipelines', isHosted: true } },
      process: { yamlFilename: `/.azure-pipelines/${pl.name}.yml`, type: 2 },
      repository: {
        properties: { cloneUrl: repo.remoteUrl, defaultBranch: repo.defaultBranch ?? 'refs/heads/main' },
        id: repo.id,
        type: 'TfsGit',
        name: repo.name,
        url: repo.remoteUrl,
        defaultBranch: repo.defaultBranch ?? 'refs/heads/main',
        clean: null,
        checkoutSubmodules: false,
      },
      id: pl.id,
      name: pl.name,
      url,
      uri: `vstfs:///Build/Definition/${pl.id}`,
      path: pl.folder,
      type: 'build',
      queueStatus: 'enabled',
      revision: pl.revision,
      project: this.#projectRef(pl.projectIndex),
    };
  }

  #projectRef(p: number): Json {
    const r = this.project(p);
    return { id: r.id, name: r.name, url: r.url, state: r.state, revision: r.revision, visibility: r.visibility, lastUpdateTime: r.lastUpdateTime };
  }

  buildJson(b: BuildRec): Json {
    const pl = this.pipelines[b.pipelineId - 1] as PipelineRec;
    const project = this.project(b.projectIndex);
    const repo = this.org.repos.repository(pl.repoIndex, false);
    const base = `${this.#core()}/${project.id}/_apis/build`;
    const rng: Rng = rngFor(this.org.ctx.seed, this.org.ctx.key, S.build, b.id, 1);
    const out: Json = {
      _links: {
        self: { href: `${base}/Builds/${b.id}` },
        web: { href: `${this.#core()}/${project.id}/_build/results?buildId=${b.id}` },
        sourceVersionDisplayUri: { href: `${base}/builds/${b.id}/sources` },
        timeline: { href: `${base}/builds/${b.id}/Timeline` },
        badge: { href: `${base}/status/${pl.id}` },
      },
      properties: {},
      tags: b.reason === 'manual' ? ['manual'] : [],
      validationResults: [],
      plans: [{ planId: b.planId }],
      triggerInfo: {},
      id: b.id,
      buildNumber: b.buildNumber,
      status: b.status,
      ...(b.result ? { result: b.result } : {}),
      queueTime: adoDate(b.queueMs, rng),
      startTime: adoDate(b.startMs, rng),
      ...(b.finishMs !== undefined ? { finishTime: adoDate(b.finishMs, rng) } : {}),
      url: `${base}/Builds/${b.id}`,
      definition: {
        drafts: [],
        id: pl.id,
        name: pl.name,
        url: `${base}/Definitions/${pl.id}?revision=${pl.revision}`,
        uri: `vstfs:///Build/Definition/${pl.id}`,
        path: pl.folder,
        type: 'build',
        queueStatus: 'enabled',
        revision: pl.revision,
        project: this.#projectRef(b.projectIndex),
      },
      buildNumberRevision: 1,
      project: this.#projectRef(b.projectIndex),
      uri: `vstfs:///Build/Build/${b.id}`,
      sourceBranch: b.sourceBranch,
      sourceVersion: b.sourceVersion,
      queue: { id: 9, name: 'Azure Pipelines', pool: { id: 9, name: 'Azure Pipelines', isHosted: true } },
      priority: 'normal',
      reason: b.reason,
      requestedFor: this.#identity(b.requestedFor),
      requestedBy: this.#identity(b.requestedFor),
      lastChangedDate: adoDate(b.finishMs ?? b.startMs, rng),
      lastChangedBy: this.#identity(b.requestedFor),
      orchestrationPlan: { planId: b.planId },
      logs: { id: 0, type: 'Container', url: `${base}/builds/${b.id}/logs` },
      repository: { id: repo.id, type: 'TfsGit', name: repo.name, url: repo.remoteUrl, clean: null, checkoutSubmodules: false },
      retainedByRelease: false,
      triggeredByBuild: null,
      appendCommitMessageToRunName: true,
    };
    return out;
  }

  runJson(b: BuildRec): Json {
    const pl = this.pipelines[b.pipelineId - 1] as PipelineRec;
    const pid = this.project(b.projectIndex).id;
    const rng: Rng = rngFor(this.org.ctx.seed, this.org.ctx.key, S.build, b.id, 1);
    const pipelineUrl = `${this.#core()}/${pid}/_apis/pipelines/${pl.id}?revision=${pl.revision}`;
    const url = `${this.#core()}/${pid}/_apis/pipelines/${pl.id}/runs/${b.id}`;
    const queued = adoDate(b.queueMs, rng);
    rng.u32();
    const finished = b.finishMs !== undefined ? adoDate(b.finishMs, rng) : undefined;
    return {
      _links: {
        self: { href: url },
        web: { href: `${this.#core()}/${pid}/_build/results?buildId=${b.id}` },
        'pipeline.web': { href: `${this.#core()}/${pid}/_build/definition?definitionId=${pl.id}` },
        pipeline: { href: pipelineUrl },
      },
      pipeline: { url: pipelineUrl, id: pl.id, revision: pl.revision, name: pl.name, folder: pl.folder },
      state: b.status === 'completed' ? 'completed' : 'inProgress',
      // The runs API documents RunResult as unknown | succeeded | failed | canceled: a partially succeeded build has no
      // value of its own there (the UI shows such runs as failed).
      ...(b.result ? { result: b.result === 'partiallySucceeded' ? 'failed' : b.result } : {}),
      createdDate: queued,
      ...(finished ? { finishedDate: finished } : {}),
      url,
      id: b.id,
      name: b.buildNumber,
    };
  }

  timelineJson(b: BuildRec): Json {
    const pid = this.project(b.projectIndex).id;
    const rng = rngFor(this.org.ctx.seed, this.org.ctx.key, S.timeline, b.id);
    const base = `${this.#core()}/${pid}/_apis/build/builds/${b.id}`;
    const timelineId = rng.guid();
    const records: Json[] = [];
    const span = ((b.finishMs ?? b.startMs + 600_000) - b.startMs) / b.stages.length;
    b.stages.forEach((stage, i) => {
      const start = b.startMs + i * span;
      const done = b.status === 'completed' || i < b.stages.length - 1;
      const result = done ? (i === b.stages.length - 1 && b.result ? b.result : 'succeeded') : null;
      const stageId = rng.guid();
      const phaseId = rng.guid();
      const jobId = rng.guid();
      const common = (order: number) => ({
        startTime: adoDate(start, rng),
        finishTime: done ? adoDate(start + span, rng) : null,
        currentOperation: null,
        percentComplete: done ? 100 : 40,
        state: done ? 'completed' : 'inProgress',
        result,
        resultCode: null,
        changeId: order,
        lastModified: adoDate(start + span, rng),
        errorCount: result === 'failed' ? 1 : 0,
        warningCount: 0,
        url: null,
        issues: [],
        attempt: 1,
        previousAttempts: [],
      });
      records.push(
        { id: stageId, parentId: null, type: 'Stage', name: stage, identifier: stage, order: i + 1, workerName: null, log: null, details: null, ...common(i * 4 + 1) },
        { id: phaseId, parentId: stageId, type: 'Phase', name: `${stage} job`, identifier: `${stage}.__default`, order: 1, workerName: null, log: null, details: null, ...common(i * 4 + 2) },
        { id: jobId, parentId: phaseId, type: 'Job', name: `${stage} job`, identifier: `${stage}.__default.__default`, order: 1, workerName: 'Hosted Agent', log: { id: i * 2 + 1, type: 'Container', url: `${base}/logs/${i * 2 + 1}` }, details: null, ...common(i * 4 + 3) },
        { id: rng.guid(), parentId: jobId, type: 'Task', name: `Run ${stage.toLowerCase()} script`, order: 1, workerName: 'Hosted Agent', log: { id: i * 2 + 2, type: 'Container', url: `${base}/logs/${i * 2 + 2}` }, details: null, task: { id: rng.guid(), name: 'CmdLine', version: '2.212.0' }, ...common(i * 4 + 4) },
      );
    });
    return {
      records,
      lastChangedBy: rng.guid(),
      lastChangedOn: adoDate(b.finishMs ?? b.startMs, rng),
      id: timelineId,
      changeId: records.length,
      url: `${base}/Timeline/${timelineId}`,
    };
  }

  /** Builds whose changes list is empty (every fifth): clients fall back to the source commit. */
  static hasNoChanges(b: BuildRec): boolean {
    return b.id % 5 === 0;
  }

  /** GET build/builds/{id}/changes (newest first, as the service lists them). */
  changesJson(b: BuildRec): Json[] {
    if (PipelinesData.hasNoChanges(b)) return [];
    const repo = this.org.repos.repository((this.pipelines[b.pipelineId - 1] as PipelineRec).repoIndex, false);
    return [...b.changes].reverse().map((c) => ({
      id: c.sha,
      message: c.message,
      type: 'TfsGit',
      author: { displayName: this.org.identities.at(c.author).displayName, id: this.org.identities.at(c.author).id, uniqueName: this.org.identities.at(c.author).uniqueName, imageUrl: this.org.identities.at(c.author).imageUrl },
      timestamp: new Date(c.ms).toISOString(),
      location: `${repo.url}/commits/${c.sha}`,
      displayUri: `${repo.webUrl}/commit/${c.sha}`,
      pusher: this.org.identities.at(c.author).uniqueName,
    }));
  }

  /** GET git/repositories/{repo}/commits/{sha} for a commit some build was made from (GitCommit shape). */
  commitJson(repoIndex: number, sha: string): Json | undefined {
    const lower = sha.toLowerCase();
    for (const b of this.builds) {
      const pl = this.pipelines[b.pipelineId - 1] as PipelineRec;
      if (pl.repoIndex !== repoIndex) continue;
      const c = b.changes.find((x) => x.sha === lower);
      if (!c) continue;
      const repo = this.org.repos.repository(repoIndex, false);
      const who = this.org.identities.at(c.author);
      const person = { name: who.displayName, email: who.uniqueName, date: new Date(c.ms).toISOString() };
      const url = `${repo.url}/commits/${c.sha}`;
      return {
        treeId: rngFor(this.org.ctx.seed, this.org.ctx.key, S.build, b.id, 2).sha(),
        commitId: c.sha,
        author: person,
        committer: person,
        comment: c.message,
        parents: [],
        changeCounts: { Add: 0, Edit: 1, Delete: 0 },
        url,
        remoteUrl: `${repo.webUrl}/commit/${c.sha}`,
        _links: { self: { href: url }, repository: { href: repo.url }, web: { href: `${repo.webUrl}/commit/${c.sha}` } },
      };
    }
    return undefined;
  }

  environmentJson(e: EnvironmentRec): Json {
    const project = this.project(e.projectIndex);
    const who = this.#identity(e.createdBy);
    return {
      id: e.id,
      name: e.name,
      description: e.description,
      createdBy: { displayName: who.displayName, id: who.id, uniqueName: who.uniqueName },
      createdOn: new Date(e.createdMs).toISOString(),
      lastModifiedBy: { displayName: who.displayName, id: who.id, uniqueName: who.uniqueName },
      lastModifiedOn: new Date(e.modifiedMs).toISOString(),
      project: { id: project.id, name: project.name },
    };
  }

  deploymentRecordJson(r: DeploymentRecordRec): Json {
    const b = r.build;
    const pl = this.pipelines[b.pipelineId - 1] as PipelineRec;
    const pid = this.project(b.projectIndex).id;
    return {
      id: r.id,
      requestIdentifier: `${b.planId}-${r.environmentId}`,
      environmentId: r.environmentId,
      serviceOwner: '00025394-6065-48ca-87d9-7f5672854ef7',
      definition: { id: pl.id, name: pl.name, _links: { web: { href: `${this.#core()}/${pid}/_build/definition?definitionId=${pl.id}` } } },
      owner: { id: b.id, name: b.buildNumber, _links: { web: { href: `${this.#core()}/${pid}/_build/results?buildId=${b.id}` } } },
      planType: 'Build',
      planId: b.planId,
      stageName: r.stageName,
      jobName: r.jobName,
      stageAttempt: 1,
      jobAttempt: 1,
      queueTime: new Date(b.startMs).toISOString(),
      startTime: new Date(b.startMs + 60_000).toISOString(),
      finishTime: new Date((b.finishMs ?? b.startMs) - 1000).toISOString(),
      result: b.result === 'canceled' ? 'canceled' : b.result === 'failed' ? 'failed' : 'succeeded',
      scopeId: pid,
      resourceId: 0,
    };
  }

  #vsrm(p: number): string {
    return `${this.#core()}/${this.project(p).id}/_apis/Release`;
  }

  releaseDefinitionJson(d: ReleaseDefinitionRec, expand: Set<string>): Json {
    const project = this.project(d.projectIndex);
    const url = `${this.#vsrm(d.projectIndex)}/definitions/${d.id}`;
    const last = this.releases.find((r) => r.definition === d);
    const out: Json = {
      source: 'userInterface',
      id: d.id,
      revision: d.revision,
      name: d.name,
      description: null,
      createdBy: this.#identity(d.createdBy),
      createdOn: new Date(d.createdMs).toISOString(),
      modifiedBy: this.#identity(d.createdBy),
      modifiedOn: new Date(d.modifiedMs).toISOString(),
      isDeleted: false,
      lastRelease: last
        ? { id: last.id, name: last.name, artifacts: [], _links: {}, description: '', releaseDefinition: { id: d.id, projectReference: null, _links: {} }, createdOn: new Date(last.createdMs).toISOString(), createdBy: this.#identity(last.createdBy), modifiedBy: null, reason: 'none' }
        : null,
      path: '\\',
      variableGroups: null,
      releaseNameFormat: 'Release-$(rev:r)',
      url,
      _links: { self: { href: url }, web: { href: `${this.#core()}/${project.id}/_release?definitionId=${d.id}` } },
      properties: {},
      projectReference: { id: project.id, name: project.name },
    };
    if (expand.has('environments')) {
      out.environments = d.environments.map((e) => ({ id: e.id, name: e.name, rank: e.rank, schedules: [], retentionPolicy: { daysToKeep: 30, releasesToKeep: 3, retainBuild: true } }));
    }
    if (expand.has('artifacts')) out.artifacts = [this.#artifact(d, undefined)];
    if (expand.has('triggers')) out.triggers = [{ artifactAlias: '_ci', triggerConditions: [], triggerType: 'artifactSource' }];
    if (expand.has('variables')) out.variables = {};
    if (expand.has('tags')) out.tags = d.tags;
    return out;
  }

  #artifact(d: ReleaseDefinitionRec, r: ReleaseRec | undefined): Json {
    const pl = this.pipelines[d.pipelineId - 1];
    const project = this.project(d.projectIndex);
    return {
      sourceId: `${project.id}:${pl?.id ?? 0}`,
      type: 'Build',
      alias: '_ci',
      definitionReference: {
        definition: { id: String(pl?.id ?? 0), name: pl?.name ?? '' },
        project: { id: project.id, name: project.name },
        ...(r ? { branch: { id: r.sourceBranch, name: r.sourceBranch }, version: { id: String(r.build?.id ?? ''), name: r.build?.buildNumber ?? '' } } : {}),
      },
      isPrimary: true,
      isRetained: false,
    };
  }

  releaseJson(r: ReleaseRec, expand: Set<string>): Json {
    const d = r.definition;
    const project = this.project(d.projectIndex);
    const base = this.#vsrm(d.projectIndex);
    const out: Json = {
      id: r.id,
      name: r.name,
      status: r.status,
      createdOn: new Date(r.createdMs).toISOString(),
      modifiedOn: new Date(r.modifiedMs).toISOString(),
      modifiedBy: this.#identity(r.createdBy),
      createdBy: this.#identity(r.createdBy),
      createdFor: this.#identity(r.createdBy),
      variables: {},
      variableGroups: [],
      releaseDefinition: {
        id: d.id,
        name: d.name,
        path: '\\',
        projectReference: null,
        url: `${base}/definitions/${d.id}`,
        _links: { self: { href: `${base}/definitions/${d.id}` }, web: { href: `${this.#core()}/${project.id}/_release?definitionId=${d.id}` } },
      },
      releaseDefinitionRevision: d.revision,
      description: '',
      reason: r.reason,
      releaseNameFormat: 'Release-$(rev:r)',
      keepForever: false,
      definitionSnapshotRevision: 1,
      logsContainerUrl: `${base}/releases/${r.id}/logs`,
      url: `${base}/releases/${r.id}`,
      _links: { self: { href: `${base}/releases/${r.id}` }, web: { href: `${this.#core()}/${project.id}/_release?releaseId=${r.id}&_a=release-summary` } },
      tags: r.tags,
      triggeringArtifactAlias: null,
      projectReference: { id: project.id, name: project.name },
      properties: {},
    };
    if (expand.has('environments')) {
      out.environments = d.environments.map((e) => {
        const dep = this.#deploymentsByRelease.get(r)?.find((x) => x.environment === e);
        return { id: e.id, releaseId: r.id, name: e.name, status: dep ? (dep.status === 'failed' ? 'rejected' : 'succeeded') : 'notStarted', rank: e.rank, definitionEnvironmentId: e.id };
      });
    }
    if (expand.has('artifacts')) out.artifacts = [this.#artifact(d, r)];
    return out;
  }

  releaseDeploymentJson(x: ReleaseDeploymentRec): Json {
    const r = x.release;
    const d = r.definition;
    const project = this.project(d.projectIndex);
    const base = this.#vsrm(d.projectIndex);
    const who = this.#identity(r.createdBy);
    return {
      id: x.id,
      release: {
        id: r.id,
        name: r.name,
        url: `${base}/releases/${r.id}`,
        artifacts: [],
        webAccessUri: `${this.#core()}/${project.id}/_release?releaseId=${r.id}&_a=release-summary`,
        _links: { self: { href: `${base}/releases/${r.id}` }, web: { href: `${this.#core()}/${project.id}/_release?releaseId=${r.id}&_a=release-summary` } },
      },
      releaseDefinition: {
        id: d.id,
        name: d.name,
        url: `${base}/definitions/${d.id}`,
        _links: { self: { href: `${base}/definitions/${d.id}` }, web: { href: `${this.#core()}/${project.id}/_release?definitionId=${d.id}` } },
      },
      releaseEnvironment: { id: x.releaseEnvironmentId, name: x.environment.name, _links: {} },
      definitionEnvironmentId: x.environment.id,
      attempt: 1,
      reason: r.reason === 'manual' ? 'manual' : 'automated',
      deploymentStatus: x.status,
      operationStatus: x.status === 'succeeded' ? 'Approved' : x.status === 'failed' ? 'PhaseFailed' : 'Queued',
      requestedBy: who,
      requestedFor: who,
      queuedOn: new Date(x.startedMs - 60_000).toISOString(),
      startedOn: new Date(x.startedMs).toISOString(),
      completedOn: new Date(x.completedMs).toISOString(),
      lastModifiedOn: new Date(x.completedMs).toISOString(),
      lastModifiedBy: who,
      conditions: [],
      preDeployApprovals: [],
      postDeployApprovals: [],
      projectReference: { id: project.id, name: project.name },
      _links: {},
    };
  }

  testRunJson(t: TestRunRec, details: boolean): Json {
    const project = this.project(t.projectIndex);
    const url = `${this.#core()}/${project.id}/_apis/test/Runs/${t.id}`;
    const owner = this.#identity(t.owner);
    const out: Json = {
      id: t.id,
      name: t.name,
      url,
      isAutomated: t.isAutomated,
      iteration: `${project.name}\\Sprint 1`,
      owner: details ? owner : { id: owner.id, displayName: owner.displayName },
      startedDate: new Date(t.startedMs).toISOString(),
      completedDate: new Date(t.completedMs).toISOString(),
      state: t.state,
      plan: { id: String(t.projectIndex + 1) },
      revision: t.revision,
    };
    if (t.build) out.build = { id: String(t.build.id), name: t.build.buildNumber, url: `${this.#core()}/${project.id}/_apis/build/Builds/${t.build.id}` };
    if (details) {
      Object.assign(out, {
        project: { id: project.id, name: project.name, url: project.url },
        postProcessState: 'Complete',
        totalTests: t.total,
        passedTests: t.passed,
        unanalyzedTests: t.total - t.passed,
        incompleteTests: 0,
        notApplicableTests: 0,
        createdDate: new Date(t.startedMs - 1000).toISOString(),
        lastUpdatedDate: new Date(t.completedMs).toISOString(),
        lastUpdatedBy: owner,
        webAccessUrl: `${this.#core()}/${project.id}/_TestManagement/Runs?_a=runCharts&runId=${t.id}`,
        runStatistics: [
          { state: 'Completed', outcome: 'Passed', count: t.passed },
          ...(t.total > t.passed ? [{ state: 'Completed', outcome: 'Failed', count: t.total - t.passed }] : []),
        ],
      });
    }
    return out;
  }

  /** GET test/runs/{id}/results: TestCaseResult items. */
  testResultsJson(t: TestRunRec): Json[] {
    const project = this.project(t.projectIndex);
    const runUrl = `${this.#core()}/${project.id}/_apis/test/Runs/${t.id}`;
    const out: Json[] = [];
    for (let i = 0; i < t.total; i++) {
      const id = 100000 + i;
      const name = `Tests.Unit.Case${i + 1}`;
      out.push({
        id,
        project: { id: project.id, name: project.name, url: project.url },
        startedDate: new Date(t.startedMs + i * 1000).toISOString(),
        completedDate: new Date(t.startedMs + i * 1000 + 800).toISOString(),
        durationInMs: 800,
        outcome: i < t.passed ? 'Passed' : 'Failed',
        revision: 1,
        state: 'Completed',
        testCase: { name },
        testRun: { id: String(t.id), name: t.name, url: runUrl },
        lastUpdatedDate: new Date(t.completedMs).toISOString(),
        priority: 0,
        computerName: 'fv-az123-456',
        ...(t.build ? { build: { id: String(t.build.id), name: t.build.buildNumber, url: `${this.#core()}/${project.id}/_apis/build/Builds/${t.build.id}` } } : {}),
        createdDate: new Date(t.startedMs).toISOString(),
        url: `${runUrl}/Results/${id}`,
        failureType: 'None',
        automatedTestName: name,
        automatedTestStorage: 'tests.unit.dll',
        automatedTestType: 'UnitTest',
        testCaseTitle: `Case${i + 1}`,
        owner: { id: '00000000-0000-0000-0000-000000000000', displayName: null },
        runBy: this.#identity(t.owner),
      });
    }
    return out;
  }

  /** GET test/codecoverage?buildId=&flags= (BuildCoverage list; modules only with flags & 1). */
  coverageJson(p: number, b: BuildRec, flags: number): Json[] {
    const project = this.project(p);
    const modules = flags & 1
      ? [{ blockCount: 20, blockData: flags & 4 ? 'Aw==' : null, name: 'app.dll', signature: this.#sig(b.id), signatureAge: 1, statistics: { blocksCovered: 12 + (b.id % 8), linesCovered: 40 + b.id }, functions: flags & 2 ? [{ name: 'Main', namespace: 'App', statistics: { blocksCovered: 3 } }] : [] }]
      : [];
    return [
      {
        configuration: { id: b.id, flavor: 'Debug', platform: 'Any CPU', uri: `vstfs:///Build/Build/${b.id}`, project: {} },
        state: '0',
        lastError: '',
        modules,
        codeCoverageFileUrl: `${this.#core()}/${project.name}/_api/_build/ItemContent?buildUri=vstfs%3A%2F%2F%2FBuild%2FBuild%2F${b.id}&path=%2FBuildCoverage%2Fapp.coverage`,
      },
    ];
  }

  #sig(n: number): string {
    return rngFor(this.org.ctx.seed, this.org.ctx.key, S.testRun, n, 7).guid();
  }
}

const cache = new WeakMap<OrgData, PipelinesData>();

/** The pipelines data of an organization (generated on first use). */
export function pipelinesOf(org: OrgData): PipelinesData {
  let d = cache.get(org);
  if (!d) {
    d = new PipelinesData(org);
    cache.set(org, d);
  }
  return d;
}
