import type { FlowJob, FlowJobNode } from 'bullmq';
import type { PortAppConfig, ResourceConfig } from '../config/appConfig.js';

export interface ResourceJobData {
  runId: string;
  organization: string;
  index: number;
  kind: string;
}

export interface RunJobData {
  runId: string;
  startedAt: string;
  reason: string;
  organizations: string[];
  resourceIndexes: number[];
}

/**
 * A resource can run beside the ones before it only when nothing ties it to them: its blueprint is a literal that no
 * other resource writes (so it never merges into, or is merged into by, another resource's entities) and it maps no
 * relations (so it never needs earlier entities to exist). Everything else is ordered after every earlier resource.
 */
export function isIndependent(resources: ResourceConfig[], index: number): boolean {
  const literal = (r: ResourceConfig) => /^\s*"([^"\\]+)"\s*$/.exec(r.port.entity.mappings.blueprint)?.[1];
  const mine = literal(resources[index]!);
  if (!mine) return false;
  if (resources.some((r, i) => i !== index && literal(r) === mine)) return false;
  const relations = (resources[index]!.port.entity.mappings as { relations?: Record<string, unknown> }).relations;
  return !relations || Object.keys(relations).length === 0;
}

/**
 * The BullMQ flow of one full resync. Children run before their parent, so within an organization a resource that
 * depends on earlier ones is the parent of the jobs it must follow (a chain in config order); independent resources
 * are leaves that any replica may pick up at once. The run job (stale deletion) is the parent of every organization's
 * heads. All resource jobs set `ignoreDependencyOnFailure`: a failed resource still lets the run job finish, which sees
 * the failure in the run's summaries and skips deletion.
 */
export function planResyncFlow(o: {
  queueName: string;
  runId: string;
  config: PortAppConfig;
  organizations: string[];
  reason: string;
  attempts: number;
  backoffMs: number;
}): FlowJob {
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
      const data: ResourceJobData = { runId: o.runId, organization, index, kind: r.kind };
      const base = { name: 'resource', queueName: o.queueName, data, opts: { ...resourceOpts, jobId: `${o.runId}-${safeId(organization)}-${index}` } };
      if (isIndependent(o.config.resources, index) || orgHeads.length === 0) orgHeads.push(base);
      else orgHeads = [{ ...base, children: orgHeads }];
    });
    heads.push(...orgHeads);
  }
  const data: RunJobData = {
    runId: o.runId,
    startedAt: new Date().toISOString(),
    reason: o.reason,
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
