import type { FlowJob, FlowJobNode } from 'bullmq';
import type { PortAppConfig } from '../config/appConfig.js';
import { isIndependent } from '../sync/resourceOrder.js';

/**
 * What a run reads: `full`, everything (then stale deletion); `incremental`, only what changed since each resource's
 * change cursor (sync/changeCursors.ts), and nothing deleted.
 */
export type ResyncMode = 'full' | 'incremental';

export interface ResourceJobData {
  runId: string;
  organization: string;
  index: number;
  kind: string;
  /** Absent in jobs queued before runs had modes: full. */
  mode?: ResyncMode;
}

export interface RunJobData {
  runId: string;
  startedAt: string;
  reason: string;
  organizations: string[];
  resourceIndexes: number[];
  /** Absent in jobs queued before runs had modes: full. */
  mode?: ResyncMode;
}

/**
 * The BullMQ flow of one resync, full or incremental (the same shape: only what the jobs read and the run job's
 * deletion differ). Children run before their parent, so within an organization a resource that
 * depends on earlier ones is the parent of the jobs it must follow (a chain in config order); independent resources
 * are leaves that any replica may pick up at once. The run job (stale deletion) is the parent of every organization's
 * heads. All resource jobs set `ignoreDependencyOnFailure`: a failed resource still lets the run job finish, which sees
 * the failure in the run's summaries and skips deletion.
 */
export function planResyncFlow(o: {
  queueName: string;
  runId: string;
  mode?: ResyncMode;
  config: PortAppConfig;
  organizations: string[];
  reason: string;
  attempts: number;
  backoffMs: number;
}): FlowJob {
  const mode: ResyncMode = o.mode ?? 'full';
  const resourceOpts = {
    attempts: o.attempts,
    backoff: { type: 'exponential', delay: o.backoffMs },
    ignoreDependencyOnFailure: true,
    removeOnComplete: { age: 7 * 24 * 3600, count: 5000 },
    removeOnFail: false,
  };
  const heads: FlowJobNode[] = [];
  for (const organization of o.organizations) {
    let orgHeads: FlowJobNode[] = [];
    o.config.resources.forEach((r, index) => {
      const data: ResourceJobData = { runId: o.runId, organization, index, kind: r.kind, mode };
      const base = { name: 'resource', queueName: o.queueName, data, opts: { ...resourceOpts, jobId: `${o.runId}-${safeId(organization)}-${index}` } };
      if (isIndependent(o.config, index) || orgHeads.length === 0) orgHeads.push(base);
      else orgHeads = [{ ...base, children: orgHeads }];
    });
    heads.push(...orgHeads);
  }
  const data: RunJobData = {
    runId: o.runId,
    startedAt: new Date().toISOString(),
    reason: o.reason,
    mode,
    organizations: o.organizations,
    resourceIndexes: o.config.resources.map((_, i) => i),
  };
  return {
    name: 'run',
    queueName: o.queueName,
    data,
    opts: { jobId: o.runId, attempts: o.attempts, backoff: { type: 'exponential', delay: o.backoffMs }, removeOnComplete: { age: 30 * 24 * 3600, count: 100 }, removeOnFail: false },
    children: heads,
  };
}

export function safeId(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_');
}
