import { JOURNAL_BEAT_MS, RedisChangeJournal } from '../../sync/changeJournal.js';
import { createActionToolkit } from '../../actions/toolkit.js';
import { loadAppConfig } from '../../config/appConfig.js';
import { loadSettings, type Settings } from '../../config/settings.js';
import { resolvePortBaseUrl } from '../../catalog/port/index.js';
import { checkJqExpressions } from '../../mapping/check.js';
import { requiredSubscriptions } from '../../serviceHooks/desired.js';
import { reconcileAtStart } from '../../serviceHooks/startup.js';
import type { EventSubscription } from '../../kinds/types.js';
import { startCluster, type Cluster } from '../../queue/runtime.js';
import { buildServer, httpReachable } from '../../server/app.js';
import { commandLogger, type Logger } from '../../observability/log.js';
import { parseCommandArgs } from '../args.js';

interface Started {
  settings: Settings;
  log: Logger;
  cluster: Cluster;
  events: EventSubscription[];
  /** Resolves when SIGTERM/SIGINT arrives; listened for before any worker starts. */
  signalled: Promise<string>;
}

async function start(argv: string[], workersOnly: boolean): Promise<Started> {
  const { flags } = parseCommandArgs(argv, workersOnly ? 'worker' : 'serve');
  const settings = loadSettings(flags);
  const log = commandLogger(settings).child({ mode: workersOnly ? 'worker' : 'serve' });
  // Before the cluster starts: its workers may take a job before startCluster returns, and a SIGTERM then must hand
  // the job back, not kill the process with it.
  const signalled = shutdownSignal(log, settings.shutdownGraceMs);
  log.info('starting');
  const loaded = loadAppConfig(settings.configFile);
  await checkJqExpressions(loaded);
  const cluster = await startCluster({
    settings,
    config: loaded.config,
    log,
    workers: true,
    skipBlueprints: flags['skip-blueprints'] === true,
    actionToolkit: (o) => createActionToolkit(o),
  });
  return { settings, log, cluster, events: requiredSubscriptions(loaded.config), signalled };
}

/**
 * Listens for the first SIGTERM/SIGINT. From then on the process has `graceMs` + 5 s to stop (also when the signal came
 * while it was still starting), or it exits 1.
 */
function shutdownSignal(log: Logger, graceMs: number): Promise<string> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: string) => {
      if (received) return;
      received = true;
      log.info({ signal, graceMs }, 'shutting down: no new jobs; running ones finish or are handed back');
      const hard = setTimeout(() => {
        log.error('shutdown took too long; exiting');
        process.exit(1);
      }, graceMs + 5000);
      hard.unref();
      resolve(signal);
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  });
}

/** Resolves with the exit code once the signal has been handled. */
async function untilSignal(started: Started, stop: () => Promise<void>): Promise<number> {
  await started.signalled;
  try {
    await stop();
    return 0;
  } catch (err) {
    started.log.error({ err: (err as Error).message }, 'error during shutdown');
    return 1;
  }
}

export async function workerCommand(argv: string[]): Promise<number> {
  const started = await start(argv, true);
  const { settings, log, cluster } = started;
  log.info({ worker: cluster.workerId, concurrency: settings.workerConcurrency, webhookConcurrency: settings.webhookConcurrency }, 'worker started');
  return untilSignal(started, () => cluster.close(settings.shutdownGraceMs));
}

export async function serveCommand(argv: string[]): Promise<number> {
  const started = await start(argv, false);
  const { settings, log, cluster, events } = started;
  const journal = new RedisChangeJournal(cluster.producer, cluster.keys.base);
  const app = buildServer({
    log,
    redis: cluster.producer,
    webhookQueue: cluster.webhookQueue,
    coalesceKeys: cluster.keys,
    journal,
    queues: [cluster.resyncQueue, cluster.webhookQueue, ...(cluster.actionQueue ? [cluster.actionQueue] : [])],
    metrics: cluster.metrics,
    webhookSecret: settings.webhookSecret,
    webhookAuthUsername: settings.webhookAuthUsername,
    adminToken: settings.adminToken,
    metricsToken: settings.metricsToken,
    triggerResync: cluster.triggerResync,
    // The workers checked the Port credentials at start: actions need them to verify and report runs.
    actions: cluster.actionQueue && settings.portClientSecret ? { queue: cluster.actionQueue, secret: settings.portClientSecret } : undefined,
    catalogReachable: httpReachable(resolvePortBaseUrl({ baseUrl: settings.portBaseUrl })),
  });
  if (cluster.actionQueue) log.info({ actions: settings.actionsEnabled }, 'POST /actions/port accepts signed Port action runs');
  if (!settings.webhookSecret) log.warn('WEBHOOK_SECRET is not set: POST /webhooks/azure-devops refuses every event (401); live events are off');
  await app.listen({ port: settings.serverPort, host: settings.serverHost });
  const address = app.server.address();
  log.info({ port: typeof address === 'object' && address ? address.port : settings.serverPort, worker: cluster.workerId }, 'server listening');
  // While it accepts events, the server keeps the journal live: incremental runs trust it only over a window it covered.
  const beat = () => void journal.beat().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not mark the change journal live'));
  const beating = settings.webhookSecret ? setInterval(beat, JOURNAL_BEAT_MS) : undefined;
  beating?.unref();
  if (beating) beat();
  if (settings.appHost) {
    // In the background, once per cluster (Redis lock); failures are logged and never stop the server.
    void reconcileAtStart({ settings, events, redis: cluster.producer, log: log.child({ component: 'service-hooks' }) });
  } else {
    log.info('APP_HOST is not set: service-hook subscriptions are not created or repaired (set it, or run ado-sync webhooks sync)');
  }
  return untilSignal(started, async () => {
    clearInterval(beating);
    await app.close();
    await cluster.close(settings.shutdownGraceMs);
  });
}
