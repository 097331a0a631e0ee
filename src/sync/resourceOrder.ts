import type { PortAppConfig, ResourceConfig } from '../config/appConfig.js';
import { normalizeQuotes } from '../mapping/quotes.js';

/** The blueprint a resource writes when its mapping names it as a string literal (either quote style), else undefined. */
export const literalBlueprint = (r: ResourceConfig): string | undefined => /^\s*"([^"\\]+)"\s*$/.exec(normalizeQuotes(r.port.entity.mappings.blueprint))?.[1];

/**
 * A resource can run beside the others only when nothing ties it to them:
 * - its blueprint is a literal that no other resource writes, and every other blueprint is a literal too (a computed
 *   one could name any blueprint), so it never merges into, or is merged into by, another resource's entities;
 * - it maps no relations, or the catalog creates missing relation targets (`createMissingRelatedEntities`, the
 *   default), so it never needs earlier entities to exist: the target's own upsert later fills in the placeholder.
 * Everything else runs after every resource before it, as config order says.
 */
export function isIndependent(config: Pick<PortAppConfig, 'resources' | 'createMissingRelatedEntities'>, index: number): boolean {
  const resources = config.resources;
  const mine = literalBlueprint(resources[index]!);
  if (!mine) return false;
  for (const [i, r] of resources.entries()) {
    if (i === index) continue;
    const theirs = literalBlueprint(r);
    if (theirs === undefined || theirs === mine) return false;
  }
  if (config.createMissingRelatedEntities !== false) return true;
  const relations = resources[index]!.port.entity.mappings.relations;
  return !relations || Object.keys(relations).length === 0;
}

/**
 * Runs `run` for the given resource indexes, started in config order: an independent resource as soon as fewer than
 * `concurrency` are running, any other once everything started before it has finished. Results come back in the
 * order given. Stops starting new ones once `signal` is aborted or one has rejected; the rejection is raised after the
 * running ones end.
 */
export async function runResourcesInOrder<T>(o: {
  config: Pick<PortAppConfig, 'resources' | 'createMissingRelatedEntities'>;
  indexes: number[];
  concurrency: number;
  signal?: AbortSignal;
  run: (index: number) => Promise<T>;
}): Promise<T[]> {
  const limit = Math.max(1, o.concurrency);
  const running = new Set<Promise<unknown>>();
  const started: Array<Promise<T>> = [];
  let failed = false;
  for (const index of o.indexes) {
    const alone = !isIndependent(o.config, index);
    while (running.size >= (alone ? 1 : limit)) await Promise.race(running);
    if (o.signal?.aborted || failed) break;
    const p = o.run(index);
    started.push(p);
    const settled: Promise<void> = p.then(
      () => void running.delete(settled),
      () => {
        failed = true;
        running.delete(settled);
      },
    );
    running.add(settled);
    // A dependent resource is also waited for by everything after it.
    if (alone) await settled;
  }
  const results = await Promise.allSettled(started);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
