/**
 * ado_run_pipeline against the Azure DevOps simulator's runs API, over loopback: the run queued with its branch,
 * parameters and variables, followed to completion (the simulator completes a queued run after a number of reads, or
 * on command: nothing waits on a clock), SUCCESS or FAILURE by its result with its link, progress shown as status
 * updates, the bounded wait and the signal, dry-run, permission failure, inputs naming nothing, and the catalog
 * (Port simulator) showing the run queued and then completed.
 */
import type { AdoClient } from '../../src/ado/client.js';
import { runPipelineAction } from '../../src/actions/pipelineRun.js';
import { actionHarness, adoClient, runAction, type ActionHarness } from '../helpers/actions.js';
import type { AdoSimulator } from '../simulators/ado/index.js';
import type { PortSimulator } from '../simulators/port/index.js';

const NO_EXECUTE_PAT = 'build-read-only-pat';
/** Polls as fast as the simulator answers; the simulator decides when a run completes. */
const action = runPipelineAction({ pollIntervalMs: 1 });

describe('pipeline run action', () => {
  const h = actionHarness({ pats: { [NO_EXECUTE_PAT]: ['vso.build'] }, scale: { projects: 2, reposPerProject: 1, pipelinesPerProject: 2, buildsPerPipeline: 1 } });
  let sim: AdoSimulator;
  let port: PortSimulator;
  let client: AdoClient;
  let catalog: ActionHarness['catalog'];
  let project: { id: string; name: string };

  beforeAll(() => {
    ({ sim, port, client, catalog } = h);
    project = sim.dataset.org('acme')!.projects.record(0);
  });

  const posts = () => sim.requests.filter((r) => r.method === 'POST' && /\/runs$/.test(r.path));
  const runEntity = (pipelineId: number, runId: number) => port.entity('adoPipelineRun', `${project.id}-${pipelineId}-${runId}`);

  it('queues a run with its branch, parameters and variables, follows it to success, and the catalog shows it completed', async () => {
    sim.runs.setPlan({ readsToComplete: 3, result: 'succeeded' });
    const inputs = { project: project.name, pipeline: 'ci', branch: 'feature/x', templateParameters: { environment: 'dev', dryRun: false }, variables: { verbosity: 'high' } };
    const states: string[] = [];
    const out = await runAction(action, {
      client,
      inputs,
      refresh: catalog.refresher,
      onUpdate: () => {
        const queued = sim.runs.queued.at(-1);
        if (queued) states.push(runEntity(queued.run.pipelineId, queued.run.id)?.properties.state as string);
      },
    });
    const queued = sim.runs.queued.at(-1)!;
    expect(queued.body).toEqual({
      resources: { repositories: { self: { refName: 'refs/heads/feature/x' } } },
      templateParameters: { environment: 'dev', dryRun: false },
      variables: { verbosity: { value: 'high', isSecret: false } },
    });
    const link = `${sim.orgUrl()}/${project.id}/_build/results?buildId=${queued.run.id}`;
    expect(out.outcome).toEqual({ status: 'SUCCESS', message: expect.stringMatching(/^The run \S+ of pipeline "ci" \(1\) of project ".*" on feature\/x succeeded$/), links: [link] });
    expect(out.updates.map((u) => u.statusLabel)).toEqual([expect.stringMatching(/: inProgress$/), expect.stringMatching(/: completed$/)]);
    expect(out.updates.every((u) => u.links?.[0] === link)).toBe(true);
    expect(out.lines).toEqual([`Queued run ${queued.run.buildNumber} of pipeline "ci" (1) of project "${project.name}" on feature/x: ${link}`]);
    // The catalog had the run in progress as soon as it was queued, and completed at the end.
    expect(states[0]).toBe('inProgress');
    expect(runEntity(1, queued.run.id)?.properties).toEqual({ state: 'completed', result: 'succeeded', link });
  });

  it('ends FAILURE with the link when the run fails, and finds a pipeline by id', async () => {
    sim.runs.setPlan({ readsToComplete: 1, result: 'failed' });
    const out = await runAction(action, { client, inputs: { project: project.id, pipeline: 2 }, refresh: catalog.refresher });
    const queued = sim.runs.queued.at(-1)!;
    expect(queued.run.pipelineId).toBe(2);
    expect(queued.body).toEqual({});
    expect(out.outcome).toEqual({ status: 'FAILURE', message: expect.stringMatching(/ of pipeline "release" \(2\) .* ended failed$/), links: [expect.stringContaining(`buildId=${queued.run.id}`)] });
    expect(runEntity(2, queued.run.id)?.properties).toMatchObject({ state: 'completed', result: 'failed' });
  });

  it('follows a run that completes on command, ending by its result', async () => {
    sim.runs.setPlan({ readsToComplete: 0 });
    const out = await runAction(action, {
      client,
      inputs: { project: project.name, pipeline: 'ci' },
      onUpdate: (u) => {
        if (u.statusLabel?.endsWith('inProgress')) sim.runs.complete(sim.runs.queued.at(-1)!.run.id, 'canceled');
      },
    });
    expect(out.outcome.status).toBe('FAILURE');
    expect(out.outcome.message).toMatch(/ended canceled$/);
  });

  it('stops following after the longest wait, and with the signal, the run left running', async () => {
    sim.runs.setPlan({ readsToComplete: 0 });
    const impatient = runPipelineAction({ pollIntervalMs: 1, maxWaitMs: 0 });
    const out = await runAction(impatient, { client, inputs: { project: project.name, pipeline: 'ci' } });
    expect(out.outcome).toEqual({ status: 'FAILURE', message: expect.stringMatching(/did not complete within 0 s; it is still running/), links: [expect.stringContaining('buildId=')] });

    const stop = new AbortController();
    const before = posts().length;
    await expect(
      runAction(action, { client, inputs: { project: project.name, pipeline: 'ci' }, signal: stop.signal, onUpdate: () => stop.abort() }),
    ).rejects.toThrow(/abort/i);
    expect(posts().length).toBe(before + 1);
  });

  it('dry-run names the pipeline and queues nothing', async () => {
    const before = posts().length;
    const out = await runAction(action, { client, inputs: { project: project.name, pipeline: 'release', branch: 'main' }, apply: false, refresh: catalog.refresher });
    expect(out.outcome).toEqual({ status: 'SUCCESS', message: `dry-run: would queue a run of pipeline "release" (2) of project "${project.name}" on main; nothing was started` });
    expect(posts().length).toBe(before);
  });

  it('fails naming the scope when the PAT may read builds but not queue them', async () => {
    const queued = sim.runs.queued.length;
    const out = await runAction(action, { client: adoClient(sim, NO_EXECUTE_PAT), inputs: { project: project.name, pipeline: 'ci' } });
    expect(out.outcome.status).toBe('FAILURE');
    expect(out.outcome.message).toContain('HTTP 403');
    expect(out.outcome.message).toContain('vso.build_execute');
    expect(out.outcome.message).not.toContain(NO_EXECUTE_PAT);
    expect(posts().at(-1)?.status).toBe(403);
    expect(sim.runs.queued.length).toBe(queued);
  });

  it('fails naming what does not exist: a project, a pipeline name or id', async () => {
    const before = sim.runs.queued.length;
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ project: 'Nope', pipeline: 'ci' }, 'no project "Nope" in organization "acme"'],
      [{ project: project.name, pipeline: 'deploy' }, `no pipeline "deploy" in project "${project.name}"`],
      [{ project: project.name, pipeline: 99 }, `no pipeline 99 in project "${project.name}"`],
    ];
    for (const [inputs, message] of cases) {
      const out = await runAction(action, { client, inputs });
      expect(out.outcome).toEqual({ status: 'FAILURE', message });
    }
    expect(sim.runs.queued.length).toBe(before);
  });
});
