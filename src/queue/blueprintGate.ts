/** Blueprint bootstrap in cluster mode: the first job of a replica that needs them creates the missing blueprints. */
import type { Redis } from 'ioredis';
import { bootstrapBlueprints } from '../catalog/port/index.js';
import type { PortAppConfig } from '../config/appConfig.js';
import type { Settings } from '../config/settings.js';
import type { Logger } from '../observability/log.js';
import { buildPortTarget } from '../sync/portTarget.js';

/**
 * A function that resolves once the blueprints exist: the bootstrap runs once per replica, shared by the jobs that
 * wait for it, and again on the next call after a failure. `skip`: always resolves (`--skip-blueprints`).
 */
export function blueprintGate(o: { settings: Settings; config: PortAppConfig; log: Logger; state: Redis; skip?: boolean }): () => Promise<void> {
  const { settings, config, log, state } = o;
  let blueprints: Promise<void> | undefined;
  return () => {
    if (o.skip) return Promise.resolve();
    blueprints ??= (async () => {
      const port = buildPortTarget(settings, config, log, state);
      try {
        await bootstrapBlueprints(port.client, settings.blueprintsDir, log);
      } finally {
        await port.close();
      }
    })().catch((err) => {
      blueprints = undefined;
      throw err;
    });
    return blueprints;
  };
}
