/**
 * Mapping rate of each resource of a port-app-config, in a fresh process, as the worker maps: the resync benchmark
 * runs this as a child (with the worker's NODE_OPTIONS) so that the rate is not slowed by the benchmark process, whose
 * heap holds both simulators' data. Best of --rounds per resource: the fastest rate gives the smallest, strictest bound.
 *
 *   node dist/bench/mappingRate.js --config FILE --samples DIR [--rounds 3]
 *
 * DIR holds `<resource index>.json`: an array of raw items of that resource. Prints one JSON line on stdout:
 * `{"rates": {"<index>": items per second}}`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadAppConfig, type ResourceConfig } from '../src/config/appConfig.js';
import type { RawItem } from '../src/kinds/types.js';
import { ResourceMapper } from '../src/mapping/engine.js';

const { values } = parseArgs({
  options: { config: { type: 'string' }, samples: { type: 'string' }, rounds: { type: 'string', default: '3' } },
});
if (!values.config || !values.samples) throw new Error('usage: mappingRate --config FILE --samples DIR [--rounds N]');
const resources = loadAppConfig(values.config).config.resources as ResourceConfig[];
const ROUNDS = Math.max(1, Number(values.rounds));
const PAGE = 1000;

async function rate(resource: ResourceConfig, items: RawItem[]): Promise<number> {
  const mapper = new ResourceMapper(resource, { poolSize: cpus().length });
  try {
    const t0 = performance.now();
    async function* pages() {
      for (let i = 0; i < items.length; i += PAGE) yield items.slice(i, i + PAGE);
    }
    for await (const page of mapper.mapPages(pages())) void page;
    return items.length / ((performance.now() - t0) / 1000);
  } finally {
    await mapper.close();
  }
}

const rates: Record<string, number> = {};
for (const [index, resource] of resources.entries()) {
  const file = join(values.samples, `${index}.json`);
  if (!existsSync(file)) continue;
  const sample = JSON.parse(readFileSync(file, 'utf8')) as RawItem[];
  if (sample.length === 0) continue;
  // Small kinds are repeated to a few thousand items so that pool start-up does not dominate the rate.
  const items: RawItem[] = [];
  while (items.length < Math.max(2000, sample.length)) items.push(...sample);
  let best = 0;
  for (let r = 0; r < ROUNDS; r++) best = Math.max(best, await rate(resource, items));
  rates[index] = best;
}
process.stdout.write(`${JSON.stringify({ rates })}\n`);
