import type { DeclarationClaims } from '../kinds/types.js';
import { MemoryDeclarationClaims, RedisDeclarationClaims } from './declarationClaims.js';
import { RedisChangeCursors, type ChangeCursors } from './changeCursors.js';
import { RedisChangeJournal } from './changeJournal.js';
import { Redis } from 'ioredis';
import { PortClient, PortCatalog } from '../catalog/port/index.js';
import { PortSink } from '../catalog/portSink.js';
import type { PortAppConfig } from '../config/appConfig.js';
import { howToSet, settingName, type Settings } from '../config/settings.js';
import { errorMessage, UserInputError } from '../util/errors.js';
import { assertIntegrationIdentifier } from '../catalog/port/ownership.js';
import type { Logger } from '../observability/log.js';
import { VERSION } from '../util/version.js';
import { MemoryEntityStateStore, RedisEntityStateStore, type EntityStateStore } from './state.js';
import { MemoryEntityOrigins, RedisEntityOrigins, type EntityOrigins } from './entityOrigins.js';

export interface PortTarget {
  client: PortClient;
  sink: PortSink;
  catalog: PortCatalog;
  state: EntityStateStore;
  /** Which organization produced each entity (Redis keeps it across runs; memory only for this run). */
  origins: EntityOrigins;
  /** Who declares which entity (GitOps), across runs. */
  claims: DeclarationClaims;
  /** Change cursors for incremental runs: only with Redis (a process's memory does not outlive the run). */
  cursors?: ChangeCursors;
  /** The journal of announced pushes the server keeps (cluster mode), for per-repository incremental passes. */
  /** The journal of changes announced to `serve` (with Redis), for incremental passes. */
  journal?: RedisChangeJournal;
  /** The Redis connection (REDIS_URL), when there is one. */
  redis?: Redis;
  close(): Promise<void>;
}

/** Port client, sink and catalog for one run, with entity hashes in Redis when REDIS_URL is set (else in memory). */
export function buildPortTarget(settings: Settings, config: PortAppConfig, log: Logger, redis?: Redis): PortTarget {
  if (!settings.portClientId || !settings.portClientSecret) {
    throw new UserInputError(`no Port credentials: ${howToSet('portClientId')}, and ${howToSet('portClientSecret')}`);
  }
  if (settings.adoptOceanIdentifier) {
    try {
      assertIntegrationIdentifier(settings.adoptOceanIdentifier, settingName('adoptOceanIdentifier'));
    } catch (err) {
      throw new UserInputError(errorMessage(err));
    }
  }
  const client = new PortClient(
    { clientId: settings.portClientId, clientSecret: settings.portClientSecret, baseUrl: settings.portBaseUrl, integrationIdentifier: settings.integrationIdentifier, version: VERSION },
    {},
    log.child({ component: 'port' }),
  );
  let ownRedis: Redis | undefined;
  if (!redis && settings.redisUrl) redis = ownRedis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: false });
  const state: EntityStateStore = redis
    ? new RedisEntityStateStore({ redis, prefix: `ado-sync:${settings.integrationIdentifier}` })
    : new MemoryEntityStateStore();
  const origins: EntityOrigins = redis ? new RedisEntityOrigins(redis, `ado-sync:${settings.integrationIdentifier}`) : new MemoryEntityOrigins();
  const claims: DeclarationClaims = redis ? new RedisDeclarationClaims(redis, `ado-sync:${settings.integrationIdentifier}`) : new MemoryDeclarationClaims();
  const sink = new PortSink({
    client,
    createMissingRelatedEntities: config.createMissingRelatedEntities,
    enableMergeEntity: config.enableMergeEntity,
    deleteDependentEntities: config.deleteDependentEntities,
    adoptOceanIdentifier: settings.adoptOceanIdentifier,
    state,
    log: log.child({ component: 'port-sink' }),
  });
  return {
    client,
    sink,
    catalog: sink.catalog,
    state,
    origins,
    claims,
    cursors: redis ? new RedisChangeCursors(redis, `ado-sync:${settings.integrationIdentifier}`) : undefined,
    journal: redis ? new RedisChangeJournal(redis, `ado-sync:${settings.integrationIdentifier}`) : undefined,
    redis,
    close: async () => {
      await sink.close();
      await ownRedis?.quit();
    },
  };
}
