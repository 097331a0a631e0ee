/**
 * `ado_run_pipeline`: queue a run of a YAML pipeline (`POST {project}/_apis/pipelines/{id}/runs` with the branch,
 * template parameters and variables), then follow it (`GET …/runs/{runId}`) until its `state` is completed, showing
 * each state on the run in Port with the run's link, and end SUCCESS or FAILURE by its `result`. Following is bounded
 * (a poll interval, a longest wait) and stops with the context's signal. Queueing twice would start two runs, so the
 * action is not repeatable.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { API } from '../kinds/shared/api.js';
import { getIfExists, projectById } from '../kinds/shared/events.js';
import { pipelinePages, projectPath, type PipelineRef } from '../kinds/shared/pipelines.js';
import type { ProjectRef } from '../kinds/shared/listings.js';
import type { FetchContext } from '../kinds/types.js';
import { errorMessage } from '../util/errors.js';
import { audit, failure, failureFrom, input, lookupContext, orgName, refreshCatalog, requiredInput, success, type PermissionNeed } from './common.js';
import { ActionFailure, type ActionContext, type ActionDefinition, type ActionOutcome } from './types.js';

const NEED: PermissionNeed = {
  pat: 'vso.build_execute (Build: Read & execute)',
  identity: 'the "Queue builds" permission on the pipeline',
};

export interface FollowOptions {
  /** Between two reads of the run's state. */
  pollIntervalMs: number;
  /** After this long, the run is left running and the action ends FAILURE with its link. */
  maxWaitMs: number;
}

export const DEFAULT_FOLLOW: FollowOptions = { pollIntervalMs: 15_000, maxWaitMs: 6 * 3_600_000 };

interface Run {
  id: number;
  name?: string;
  state?: string;
  result?: string;
  _links?: { web?: { href?: string } };
}

/** A pipeline by id, or by name (`folder\name` to tell apart two of one name). */
async function findPipeline(ctx: FetchContext, project: ProjectRef, pipeline: string): Promise<PipelineRef> {
  if (/^\d+$/.test(pipeline)) {
    const found = await getIfExists<PipelineRef>(ctx, ctx.client.url(projectPath(project, `pipelines/${pipeline}`)));
    if (!found) throw new ActionFailure(`no pipeline ${pipeline} in project "${project.name}"`);
    return found;
  }
  const wanted = pipeline.replace(/^\\+/, '').toLowerCase();
  const matches: PipelineRef[] = [];
  for await (const page of pipelinePages(ctx, project)) {
    for (const p of page) {
      const folder = typeof p.folder === 'string' ? p.folder.replace(/^\\+/, '') : '';
      const full = `${folder ? `${folder}\\` : ''}${p.name ?? ''}`.toLowerCase();
      if (p.name?.toLowerCase() === wanted || full === wanted) matches.push(p);
    }
  }
  if (matches.length === 1) return matches[0] as PipelineRef;
  if (matches.length === 0) throw new ActionFailure(`no pipeline "${pipeline}" in project "${project.name}"`);
  throw new ActionFailure(`"${pipeline}" names ${matches.length} pipelines in project "${project.name}" (ids ${matches.map((m) => m.id).join(', ')}); give its id or folder\\name`);
}

function runBody(ctx: ActionContext): Record<string, unknown> {
  const branch = input(ctx, 'branch');
  const body: Record<string, unknown> = {};
  if (branch) body.resources = { repositories: { self: { refName: branch.startsWith('refs/') ? branch : `refs/heads/${branch}` } } };
  const parameters = ctx.inputs.templateParameters as Record<string, unknown> | undefined;
  if (parameters && Object.keys(parameters).length > 0) body.templateParameters = parameters;
  const variables = ctx.inputs.variables as Record<string, string> | undefined;
  if (variables && Object.keys(variables).length > 0) {
    body.variables = Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, { value, isSecret: false }]));
  }
  return body;
}

/** Reads the run until it completes (or the wait runs out), showing each new state on the run in Port. */
async function follow(ctx: ActionContext, url: string, run: Run, links: string[], o: FollowOptions): Promise<Run | undefined> {
  const deadline = Date.now() + o.maxWaitMs;
  let current = run;
  while (current.state !== 'completed') {
    if (Date.now() >= deadline) return undefined;
    await sleep(o.pollIntervalMs, undefined, { signal: ctx.signal });
    const previous = current.state;
    current = (await ctx.client.get<Run>(url, { 'api-version': API.ga }, ctx.signal)).data;
    if (current.state !== previous) await ctx.report.update({ statusLabel: `Run ${current.name ?? current.id}: ${current.state ?? 'unknown'}`, links });
  }
  return current;
}

async function runPipeline(ctx: ActionContext, o: FollowOptions): Promise<ActionOutcome> {
  let queued: { label: string; links: string[] } | undefined;
  try {
    const fctx = lookupContext(ctx);
    const projectName = requiredInput(ctx, 'project');
    const project = await projectById(fctx, projectName);
    if (!project) return failure(`no project "${projectName}" in ${orgName(ctx)}`);
    const pipeline = await findPipeline(fctx, project, requiredInput(ctx, 'pipeline'));
    const body = runBody(ctx);
    const branch = input(ctx, 'branch');
    const what = `pipeline "${pipeline.name ?? pipeline.id}" (${pipeline.id}) of project "${project.name}"${branch ? ` on ${branch}` : ''}`;
    if (!ctx.apply) return success(`dry-run: would queue a run of ${what}; nothing was started`);
    const runsPath = projectPath(project, `pipelines/${pipeline.id}/runs`);
    const run = (await ctx.client.request<Run>(ctx.client.url(runsPath), { method: 'POST', query: { 'api-version': API.ga }, body, signal: ctx.signal })).data;
    const links = run._links?.web?.href ? [run._links.web.href] : [];
    const label = `run ${run.name ?? run.id} of ${what}`;
    queued = { label, links };
    await audit(ctx, `Queued ${label}${links[0] ? `: ${links[0]}` : ''}`, { change: 'run-pipeline', project: project.id, pipeline: pipeline.id, pipelineRunId: run.id });
    const hint = { projectId: project.id, pipelineId: pipeline.id, runId: run.id };
    await refreshCatalog(ctx, 'pipeline-run', hint);
    await ctx.report.update({ statusLabel: `Run ${run.name ?? run.id}: ${run.state ?? 'queued'}`, links });
    const done = await follow(ctx, ctx.client.url(`${runsPath}/${run.id}`), run, links, o);
    if (!done) return failure(`The ${label} did not complete within ${duration(o.maxWaitMs)}; it is still running, follow it in Azure DevOps`, links);
    await refreshCatalog(ctx, 'pipeline-run', hint);
    if (done.result === 'succeeded') return success(`The ${label} succeeded`, links);
    return failure(`The ${label} ended ${done.result ?? 'without a result'}`, links);
  } catch (err) {
    if (ctx.signal?.aborted) throw err;
    if (queued) return failure(`The ${queued.label} was queued, but following it failed: ${errorMessage(err)}`, queued.links);
    return failureFrom(ctx, err, 'queue a pipeline run', NEED);
  }
}

function duration(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}

/** The action, following runs with `follow` (tests shorten the poll interval). */
export function runPipelineAction(follow: Partial<FollowOptions> = {}): ActionDefinition {
  const o = { ...DEFAULT_FOLLOW, ...follow };
  return {
    identifier: 'ado_run_pipeline',
    title: 'Run an Azure Pipelines pipeline',
    repeatable: false,
    inputSchema: {
      type: 'object',
      properties: {
        project: { type: 'string', minLength: 1, description: 'The project: its name or id' },
        pipeline: {
          type: ['string', 'integer'],
          minLength: 1,
          minimum: 1,
          description: 'The pipeline: its id, or its name (folder\\name when two share a name)',
        },
        branch: { type: 'string', minLength: 1, description: 'The branch to run (main or refs/heads/main; default: the pipeline\'s default branch)' },
        templateParameters: {
          type: 'object',
          additionalProperties: { type: ['string', 'number', 'boolean'] },
          description: 'Values of the pipeline\'s runtime parameters, by name',
        },
        variables: { type: 'object', additionalProperties: { type: 'string' }, description: 'Values of variables settable at queue time, by name' },
      },
      required: ['project', 'pipeline'],
      additionalProperties: false,
    },
    permissions: [`PAT scope ${NEED.pat}`, NEED.identity],
    run: (ctx) => runPipeline(ctx, o),
  };
}
