import { RedisRepositoryChanges } from '../../sync/repositoryChanges.js';
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

async function start(argv: string[], workersOnly: boolean): Promise<{ settings: Settings; log: Logger; cluster: Cluster; events: EventSubscription[] }> {
  const { flags } = parseCommandArgs(argv, workersOnly ? 'worker' : 'serve');
  const settings = loadSettings(flags);
  const log = commandLogger(settings).child({ mode: workersOnly ? 'worker' : 'serve' });
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
  return { settings, log, cluster, events: requiredSubscriptions(loaded.config) };
}

/** Resolves with the exit code once SIGTERM/SIGINT has been handled. */
function untilSignal(log: Logger, settings: Settings, stop: () => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal, graceMs: settings.shutdownGraceMs }, 'shutting down: no new jobs; running ones finish or are handed back');
      const hard = setTimeout(() => {
        log.error('shutdown took too long; exiting');
        process.exit(1);
      }, settings.shutdownGraceMs + 5000);
      hard.unref();
      stop().then(
        () => resolve(0),
        (err) => {
          log.error({ err: (err as Error).message }, 'error during shutdown');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  });
}

export async function workerCommand(argv: string[]): Promise<number> {
  const { settings, log, cluster } = await start(argv, true);
  log.info({ worker: cluster.workerId, concurrency: settings.workerConcurrency, webhookConcurrency: settings.webhookConcurrency }, 'worker started');
  return untilSignal(log, settings, () => cluster.close(settings.shutdownGraceMs));
}

export async function serveCommand(argv: string[]): Promise<number> {
  const { settings, log, cluster, events } = await start(argv, false);
  const app = buildServer({
    log,
    redis: cluster.producer,
    webhookQueue: cluster.webhookQueue,
    coalesceKeys: cluster.keys,
    repositoryChanges: new RedisRepositoryChanges(cluster.producer, cluster.keys.base),
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
  if (settings.appHost) {
    // In the background, once per cluster (Redis lock); failures are logged and never stop the server.
    void reconcileAtStart({ settings, events, redis: cluster.producer, log: log.child({ component: 'service-hooks' }) });
  } else {
    log.info('APP_HOST is not set: service-hook subscriptions are not created or repaired (set it, or run ado-sync webhooks sync)');
  }
  return untilSignal(log, settings, async () => {
    await app.close();
    await cluster.close(settings.shutdownGraceMs);
  });
}
