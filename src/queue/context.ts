/** What the jobs of one replica share in cluster mode: settings, the state connection, its keys and identity. */
import type { Redis } from 'ioredis';
import type { PortAppConfig } from '../config/appConfig.js';
import type { Settings } from '../config/settings.js';
import type { Logger } from '../observability/log.js';
import type { ClusterKeys } from './cluster.js';
import type { SyncMetrics } from '../observability/metrics.js';

export interface ClusterContext {
  settings: Settings;
  config: PortAppConfig;
  /** The replica's logger (carries its worker id). */
  log: Logger;
  /** Run state, summaries, locks and slots (fail-slow connection). */
  state: Redis;
  keys: ClusterKeys;
  /** `host-pid`: names the replica in summaries, the last run and BullMQ. */
  workerId: string;
  metrics: SyncMetrics;
  /** Names of the configured organizations. */
  organizations: string[];
  /** Resolves once the catalog has the blueprints (see blueprintGate.ts). */
  ensureBlueprints: () => Promise<void>;
}
