/**
 * Action-run jobs: one queued Port action run → the executor (actions/executor.ts) → the end of the run reported to
 * Port. The outcome is kept in the job before it is reported, so only the report is tried again when Port cannot be
 * reached (the job fails with the transport's error, BullMQ retries it with backoff, then keeps it in the failed set);
 * a FAILURE outcome is an answer, not a job failure, and is never retried. A job whose worker stopped mid-run (its lock
 * lapsed, or shutdown handed it back) runs again only when its action is repeatable.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { ActionExecutor, assertEnabledKnown } from '../actions/executor.js';
import { PortRunReporter, type RunApi } from '../actions/report.js';
import type { ActionOutcome, ActionToolkit } from '../actions/types.js';
import { PortClient } from '../catalog/port/index.js';
import type { PortAppConfig } from '../config/appConfig.js';
import { howToSet, secretValues, type Settings } from '../config/settings.js';
import type { Logger } from '../observability/log.js';
import type { SyncMetrics } from '../observability/metrics.js';
import type { OrgTarget } from '../sync/resync.js';
import { buildTargets } from '../sync/targets.js';
import { UserInputError } from '../util/errors.js';
import { VERSION } from '../util/version.js';
import type { ActionJobData } from './cluster.js';

/** What builds an installation's actions (actions/toolkit.ts in production, a test's own actions in tests). */
export type ToolkitFactory = (o: { settings: Settings; config: PortAppConfig; log: Logger; redis: Redis; targets: OrgTarget[] }) => ActionToolkit;

export interface ActionJobsOptions {
  settings: Settings;
  config: PortAppConfig;
  log: Logger;
  /** The replica's state connection (the catalog refresh keeps entity hashes and origins there). */
  redis: Redis;
  toolkit: ToolkitFactory;
  metrics?: SyncMetrics;
  /** Blueprints must exist before the catalog refresh writes an entity. */
  ready?: () => Promise<void>;
  /** Where runs are reported (default: Port, with the settings' credentials). */
  reports?: RunApi;
}

export interface ActionJobs {
  process(job: Job): Promise<ActionOutcome>;
  close(): Promise<void>;
}

/** The Port client runs are reported with. */
export function reportClient(settings: Settings, log: Logger): PortClient {
  if (!settings.portClientId || !settings.portClientSecret) {
    throw new UserInputError(`actions are enabled (ACTIONS_ENABLED) but Port credentials are missing, so runs cannot be verified or reported: ${howToSet('portClientId')}, and ${howToSet('portClientSecret')}`);
  }
  return new PortClient(
    { clientId: settings.portClientId, clientSecret: settings.portClientSecret, baseUrl: settings.portBaseUrl, integrationIdentifier: settings.integrationIdentifier, version: VERSION },
    {},
    log.child({ component: 'port' }),
  );
}

/** Waits for the blueprints before the first entity an action's refresh writes. */
function gated(toolkit: ActionToolkit, ready: (() => Promise<void>) | undefined): ActionToolkit {
  if (!ready || !toolkit.refresh) return toolkit;
  const refresh = toolkit.refresh.bind(toolkit);
  return {
    ...toolkit,
    refresh: (client) => {
      const inner = refresh(client);
      return inner && { kindChanged: async (kind, hint) => (await ready(), inner.kindChanged(kind, hint)) };
    },
  };
}

export function createActionJobs(o: ActionJobsOptions): ActionJobs {
  const log = o.log.child({ component: 'actions' });
  const secrets = secretValues(o.settings);
  const port = o.reports ? undefined : reportClient(o.settings, log);
  const reports: RunApi = o.reports ?? port!;
  const targets = buildTargets(o.settings, log);
  const toolkit = o.toolkit({ settings: o.settings, config: o.config, log, redis: o.redis, targets });
  assertEnabledKnown(o.settings.actionsEnabled, toolkit.actions);
  const executor = new ActionExecutor({
    toolkit: gated(toolkit, o.ready),
    targets,
    enabled: o.settings.actionsEnabled,
    allowDeprovision: o.settings.actionsAllowDeprovision,
    secrets,
    log,
  });

  async function process(job: Job): Promise<ActionOutcome> {
    const data = job.data as ActionJobData;
    const runId = data.run.port_context.runId;
    const reporter = new PortRunReporter(reports, runId, log, secrets);
    let outcome = data.outcome;
    if (!outcome) {
      const def = executor.action(data.run.action);
      if (data.startedAt && def?.repeatable === false) {
        outcome = {
          status: 'FAILURE',
          message: `The worker running this action stopped before it ended (started ${data.startedAt}). ${def.identifier} is not started twice: check in Azure DevOps whether it happened, and run it again if it did not.`,
        };
      } else {
        if (data.startedAt) log.warn({ runId, startedAt: data.startedAt }, 'an action run was interrupted before it ended; running it again (the action is repeatable)');
        await job.updateData({ ...data, startedAt: new Date().toISOString() });
        outcome = await executor.execute(data.run, reporter, { apply: true });
      }
      await job.updateData({ ...data, outcome });
      o.metrics?.actionEnded(data.run.action, outcome.status);
      for (const t of targets) o.metrics?.recordAdo(t.client.org.name, t.client.stats);
    }
    // Throws when Port cannot be reached: the job is tried again, and the next attempt only reports.
    await reporter.finish(outcome);
    if (port) o.metrics?.recordPort(port.stats);
    return outcome;
  }

  return { process, close: async () => toolkit.close?.() };
}
