/**
 * How the runs queued through the runs API go on: each read of a queued run (`GET pipelines/{id}/runs/{runId}`) counts
 * down, and the run completes with the planned result when the count reaches zero; a test may also complete one on
 * command. Nothing depends on time, so tests never wait on a clock.
 */
import type { BuildRec } from './pipelines.js';

export type RunResult = 'succeeded' | 'failed' | 'canceled';

export interface RunPlan {
  /** Reads of a queued run after which it completes; 0: only on command. */
  readsToComplete: number;
  result: RunResult;
}

export interface QueuedRun {
  run: BuildRec;
  /** The request body as posted (branch, template parameters, variables). */
  body: unknown;
  readsLeft: number;
  result: RunResult;
}

export class RunControl {
  plan: RunPlan = { readsToComplete: 2, result: 'succeeded' };
  readonly queued: QueuedRun[] = [];

  /** Runs queued from now on follow this plan. */
  setPlan(plan: Partial<RunPlan>): void {
    this.plan = { ...this.plan, ...plan };
  }

  add(run: BuildRec, body: unknown): void {
    this.queued.push({ run, body, readsLeft: this.plan.readsToComplete, result: this.plan.result });
  }

  /** A read of the run: a queued one may complete. */
  onRead(run: BuildRec): void {
    const q = this.queued.find((x) => x.run === run);
    if (!q || run.status === 'completed' || q.readsLeft <= 0) return;
    if (--q.readsLeft === 0) finish(run, q.result);
  }

  /** Completes a queued run now (its planned result unless one is given). */
  complete(runId: number, result?: RunResult): void {
    const q = this.queued.find((x) => x.run.id === runId);
    if (!q) throw new Error(`ado simulator: no queued run ${runId}`);
    finish(q.run, result ?? q.result);
  }
}

function finish(run: BuildRec, result: RunResult): void {
  run.status = 'completed';
  run.result = result;
  run.finishMs = Date.now();
}
