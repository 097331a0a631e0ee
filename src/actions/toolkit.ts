/**
 * The installation's actions as the executor gets them: the registry's actions, Microsoft Graph (Entra ID auth only)
 * and, when changes are applied, the catalog refresh writing to Port (the same sink, ownership and entity hashes as a
 * live event). Built once per process: by the action-run worker (queue/actionJobs.ts) and by `ado-sync actions run`.
 */
import type { PortAppConfig } from '../config/appConfig.js';
import type { Settings } from '../config/settings.js';
import type { Logger } from '../observability/log.js';
import { CatalogRefresher } from '../sync/catalogRefresh.js';
import { buildPortTarget, type PortTarget } from '../sync/portTarget.js';
import type { OrgTarget } from '../sync/resync.js';
import { createMicrosoftGraph } from '../sync/targets.js';
import type { Redis } from 'ioredis';
import { actionsWith } from './registry.js';
import type { ActionToolkit } from './types.js';

export interface ToolkitOptions {
  settings: Settings;
  /** The port-app-config the catalog refresh maps with; without it (a dry-run) there is no refresh. */
  config?: PortAppConfig;
  log: Logger;
  /** The organizations the executor acts on: the refresh refetches from the same clients. */
  targets: OrgTarget[];
  /** Entity hashes and origins (cluster mode); without it they are kept in memory. */
  redis?: Redis;
}

export function createActionToolkit(o: ToolkitOptions): ActionToolkit {
  const graph = createMicrosoftGraph(o.settings, o.log);
  let port: PortTarget | undefined;
  let refresher: CatalogRefresher | undefined;
  if (o.config) {
    port = buildPortTarget(o.settings, o.config, o.log, o.redis);
    refresher = new CatalogRefresher({
      config: o.config,
      targets: o.targets,
      log: o.log.child({ component: 'catalog-refresh' }),
      pageSize: o.settings.pageSize,
      sink: port.sink,
      catalog: port.catalog,
      state: port.state,
      origins: port.origins,
    });
  }
  return {
    actions: actionsWith({ pipelinePollMs: o.settings.actionsPipelinePollMs }),
    graph: () => graph,
    refresh: refresher ? (client) => ({ kindChanged: (kind, hint) => refresher.kindChanged(kind, { ...hint, organization: client.org.name }) }) : undefined,
    close: async () => {
      await refresher?.close();
      await port?.close();
    },
  };
}
