import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Settings } from '../config/settings.js';
import { secretValues } from '../config/settings.js';
import type { EventSubscription } from '../kinds/types.js';
import { clusterKeys } from '../queue/cluster.js';
import type { OrgTarget } from '../sync/resync.js';
import { buildTargets } from '../sync/targets.js';
import { errorMessage, scrubSecrets } from '../util/errors.js';
import type { Logger } from '../observability/log.js';
import { reconcileSubscriptions, type ReconcileResult } from './reconcile.js';

export interface StartupReconcile {
  status: 'done' | 'locked' | 'skipped';
  results: ReconcileResult[];
  /** Organizations whose reconcile failed as a whole (listing or permission error), messages without secrets. */
  errors: Array<{ organization: string; message: string }>;
}

const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/** The producer connection may still be connecting when the server starts listening. */
async function redisReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    redis.once('ready', onReady);
  });
}

export function hooksLockKey(settings: Pick<Settings, 'integrationIdentifier'>): string {
  return `${clusterKeys(settings).base}:hooks-lock`;
}

/**
 * `serve` start: reconciles the subscriptions of every organization once per cluster. Replicas starting together race
 * for a Redis `SET NX PX` lock keyed by the integration identifier; the losers skip. The lock is released when done,
 * so a later start (a rollout with a new app host) reconciles again. Never throws: failures are logged per
 * organization and returned.
 */
export async function reconcileAtStart(o: {
  settings: Settings;
  events: EventSubscription[];
  redis: Redis;
  log: Logger;
  /** Lock lifetime, a bound on a crashed holder (default 10 minutes). */
  lockMs?: number;
  targets?: OrgTarget[];
}): Promise<StartupReconcile> {
  const { settings, log } = o;
  const out: StartupReconcile = { status: 'skipped', results: [], errors: [] };
  if (!settings.appHost) return out;
  const secrets = secretValues(settings);
  const key = hooksLockKey(settings);
  const owner = randomUUID();
  try {
    await redisReady(o.redis, 15_000);
    const got = await o.redis.set(key, owner, 'PX', o.lockMs ?? 600_000, 'NX');
    if (got !== 'OK') {
      log.info('service-hook subscriptions: another replica is reconciling them; skipped');
      out.status = 'locked';
      return out;
    }
  } catch (err) {
    log.error({ err: scrubSecrets(errorMessage(err), secrets) }, 'service-hook subscriptions: could not take the cluster lock (Redis); not reconciled');
    out.errors.push({ organization: '*', message: scrubSecrets(errorMessage(err), secrets) });
    return out;
  }
  try {
    const targets = o.targets ?? buildTargets(settings, log);
    for (const t of targets) {
      const organization = t.client.org.name;
      try {
        const r = await reconcileSubscriptions({ client: t.client, settings, events: o.events, log, pageSize: settings.pageSize });
        out.results.push(r);
        const level = r.failed > 0 ? 'warn' : 'info';
        log[level](
          { org: organization, desired: r.desired, created: r.created, kept: r.kept, repaired: r.repaired, removed: r.removed, failed: r.failed, errors: r.errors.slice(0, 5) },
          'service-hook subscriptions reconciled',
        );
      } catch (err) {
        const message = scrubSecrets(errorMessage(err), secrets);
        out.errors.push({ organization, message });
        log.error({ org: organization, err: message }, 'service-hook subscriptions not reconciled; the server keeps running');
      }
    }
    out.status = 'done';
  } catch (err) {
    const message = scrubSecrets(errorMessage(err), secrets);
    out.errors.push({ organization: '*', message });
    log.error({ err: message }, 'service-hook subscriptions not reconciled; the server keeps running');
  } finally {
    await o.redis.eval(RELEASE, 1, key, owner).catch(() => undefined);
  }
  return out;
}
